"""Run code under real MicroPython (the npm WebAssembly port) from pytest.

The harness lives in tests/mp/ (``npm ci`` there installs the pinned
@micropython/micropython-webassembly-pyscript); ``make test`` does that step.
"""
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIRMWARE = os.path.join(ROOT, "firmware")
HARNESS = os.path.join(HERE, "mp", "run.mjs")


class MicroPythonError(AssertionError):
    pass


def harness_ready():
    return shutil.which("node") is not None and os.path.isdir(
        os.path.join(HERE, "mp", "node_modules", "@micropython")
    )


def run_micropython(code, libs=None, timeout=600):
    """Run ``code`` in MicroPython with firmware/ (or ``libs``) on sys.path; return stdout.

    Raises MicroPythonError with MicroPython's traceback if the code raised.
    """
    if not harness_ready():
        raise MicroPythonError(
            "MicroPython harness missing: run `npm ci --prefix tests/mp` (make test does this)"
        )
    libs = libs or [FIRMWARE]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(code)
        script = fh.name
    try:
        cmd = ["node", HARNESS]
        for lib in libs:
            cmd += ["--lib", lib]
        cmd.append(script)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=os.path.join(HERE, "mp"))
    finally:
        os.unlink(script)
    if proc.returncode != 0:
        raise MicroPythonError("MicroPython failed:\n" + proc.stdout + proc.stderr)
    return proc.stdout
