"""Run code under real MicroPython from pytest: two ports for two kinds of claim.

- ``run_micropython``: the npm WebAssembly port, fine for logic.  The harness lives in
  tests/mp/ (``npm ci`` there installs the pinned @micropython/micropython-webassembly-pyscript);
  ``make test`` does that step.  Its heap grows without limit, so it cannot show memory limits.
- ``run_unix32``: the 32-bit unix port with a hard ``-X heapsize`` cap (31-bit small ints,
  16-bit bignum digits, 16-byte GC blocks, like an RP2040), for memory claims about a Pico W.
  The binary is $PANDASCREEN_MICROPYTHON_UNIX32, else <repo>/../shared/tools/micropython-unix32,
  else build/micropython-unix32 from ``make micropython-unix32 MICROPYTHON_DIR=...``.  A missing
  binary fails the test (never a skip), saying how to get one.
"""
import os
import shutil
import subprocess
import tempfile

from pandascreen.bench import board as board_bench  # finds and runs the 32-bit MicroPython

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


def unix32_binary():
    """Path of the 32-bit unix MicroPython, or raise MicroPythonError saying how to get one."""
    try:
        return board_bench.unix32_binary()
    except FileNotFoundError as e:
        raise MicroPythonError(str(e))


def run_unix32(code, heapsize="180K", libs=None, timeout=600):
    """Run ``code`` under the 32-bit unix MicroPython with a hard heap cap; return stdout.

    ``libs`` (default: firmware/) become MICROPYPATH.  Raises MicroPythonError with
    MicroPython's traceback (a MemoryError included) if the code raised.
    """
    unix32_binary()
    proc = board_bench.run_unix32(code, heapsize=heapsize, libs=libs or [FIRMWARE], timeout=timeout)
    if proc.returncode != 0:
        raise MicroPythonError("MicroPython (unix32, heap %s) failed:\n%s%s" % (heapsize, proc.stdout, proc.stderr))
    return proc.stdout
