"""Run a script under real MicroPython 1.27 from CPython: the two ports the tests and ``make bench`` use.

- the npm WebAssembly port (tests/mp/run.mjs; ``npm ci --prefix tests/mp`` installs the pinned
  @micropython/micropython-webassembly-pyscript).  Always there.  It is 32-bit (4-byte pointers,
  16-byte GC blocks, 31-bit small ints, as on an RP2040), but its heap grows on demand, so it
  cannot show a hard limit; what it shows exactly is the live heap: a line ``# live: NAME`` in the
  script prints ``LIVE NAME BYTES`` (gc.mem_alloc() after a collection, see run.mjs).
- a 32-bit unix build of MicroPython 1.27 with a hard ``-X heapsize`` cap, only where someone has
  one: $PANDASCREEN_MICROPYTHON_UNIX32 names it.  No package registry ships such a build, so
  nothing here builds or downloads one; without the variable the hard-cap runs are not run and
  the callers say so.  The same ``# live:`` lines work there (collected in place).
"""

import os
import re
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIRMWARE = os.path.dirname(os.path.dirname(HERE))
ROOT = os.path.dirname(FIRMWARE)
HARNESS_DIR = os.path.join(ROOT, "tests", "mp")
UNIX32_ENV = "PANDASCREEN_MICROPYTHON_UNIX32"
LIVE_LINE = re.compile(r"^#\s*live:\s*(.+?)\s*$", re.M)


class HarnessMissing(RuntimeError):
    pass


def wasm_ready():
    return shutil.which("node") is not None and os.path.isdir(
        os.path.join(HARNESS_DIR, "node_modules", "@micropython"))


def run_wasm(code, libs=None, dirs=(), timeout=600):
    """Run ``code`` on the WebAssembly port with ``libs`` (default firmware/) in /lib and the files
    of ``dirs`` at their host paths (written back afterwards); the CompletedProcess (text)."""
    if not wasm_ready():
        raise HarnessMissing("MicroPython harness missing: run `npm ci --prefix tests/mp` (make test does this)")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(code)
        script = fh.name
    try:
        cmd = ["node", os.path.join(HARNESS_DIR, "run.mjs")]
        for lib in libs or [FIRMWARE]:
            cmd += ["--lib", lib]
        for d in dirs:
            cmd += ["--dir", d]
        cmd.append(script)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HARNESS_DIR)
    finally:
        os.unlink(script)


def unix32_binary():
    """$PANDASCREEN_MICROPYTHON_UNIX32, or None when it is not set; HarnessMissing if it names no program."""
    path = os.environ.get(UNIX32_ENV)
    if not path:
        return None
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise HarnessMissing("%s=%s: no such executable (any 32-bit unix build of MicroPython 1.27 will do)"
                             % (UNIX32_ENV, path))
    return path


def collect_in_place(code):
    """``code`` with each ``# live: NAME`` line made a collection and a LIVE line in place (unix port)."""
    return "import gc\n" + LIVE_LINE.sub(
        lambda m: "gc.collect(); print('LIVE', %r, gc.mem_alloc())" % re.sub(r"\s+", "_", m.group(1)), code)


def run_unix32(code, heapsize, libs=None, timeout=600):
    """Run ``code`` on the 32-bit unix MicroPython capped at ``heapsize`` with ``libs`` (default
    firmware/) as MICROPYPATH; the CompletedProcess (text)."""
    binary = unix32_binary()
    if binary is None:
        raise HarnessMissing("%s is not set" % UNIX32_ENV)
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(libs or [FIRMWARE]))
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "main.py")
        with open(script, "w") as fh:
            fh.write(collect_in_place(code))
        return subprocess.run([binary, "-X", "heapsize=%s" % heapsize, script],
                              capture_output=True, text=True, timeout=timeout, cwd=d, env=env)


def live_lines(out):
    """[(step, bytes)] of the LIVE lines in ``out``, in order."""
    steps = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "LIVE" and parts[2].isdigit():
            steps.append((parts[1], int(parts[2])))
    return steps


def port_name():
    """The port ``run`` uses: "unix32" where one is named, else "wasm"."""
    return "unix32" if unix32_binary() else "wasm"


def run(code, libs=None, dirs=(), heapsize="180K", timeout=600):
    """Run ``code`` on the 32-bit unix port (hard ``heapsize`` cap) where one is named, else on the
    WebAssembly port (with ``dirs``, as ``run_wasm``); the CompletedProcess.  For ``make bench``,
    which works either way."""
    if unix32_binary():
        return run_unix32(code, heapsize, libs=libs, timeout=timeout)
    return run_wasm(code, libs=libs, dirs=dirs, timeout=timeout)
