"""Run a script under real MicroPython 1.27 from CPython: the two ports the tests, the demo and
``make bench`` use, and the live-heap budget a scenario must keep.

- the npm WebAssembly port (tests/mp/run.mjs; ``npm ci --prefix tests/mp`` installs the pinned
  @micropython/micropython-webassembly-pyscript; ``make test`` and ``make bench`` do it).  It is
  32-bit (4-byte pointers, 16-byte GC blocks, 31-bit small ints, as on an RP2040), but its heap
  grows on demand, so it cannot show a hard limit; what it shows exactly is the live heap: a line
  ``# live: NAME`` in the script prints ``LIVE NAME BYTES`` (gc.mem_alloc() after a collection,
  see run.mjs).  The harness is found beside this package in a clone (tests/mp), or where
  $PANDASCREEN_MP_HARNESS names it.
- a 32-bit unix build of MicroPython 1.27 with a hard ``-X heapsize`` cap, only where someone has
  one: $PANDASCREEN_MICROPYTHON_UNIX32 names it.  No package registry ships such a build, so
  nothing here builds or downloads one; without the variable the hard-cap runs are not run and
  the callers say so.  The same ``# live:`` lines work there (collected in place).

For pytest: ``run_micropython`` runs logic on the WebAssembly port; ``run_scenario`` checks a
memory claim.  The scenario marks its steps with ``# live: NAME`` lines; the heap still live at
each step must stay within ``budget``; where a 32-bit unix build is named, the same scenario runs
again there with a hard ``-X heapsize`` cap; where it is not, the scenario is listed in
``HARD_CAP_NOT_RUN`` and tests/conftest.py says so in one line at the end of the run (no skip: the
live-heap budget is checked either way).

The live-heap budget for a Pico W (``PICO_W_LIVE_BUDGET``) and why:

- a Pico W has about 201 KB of heap free after boot (gc.mem_free() on MicroPython 1.27, before
  Wi-Fi starts); about 21 KB of it is kept for Wi-Fi, its sockets and the HTTP exchange, which
  leaves ``PICO_W_HEAP_KB`` = 180 KB (the hard cap);
- MicroPython's GC neither moves objects nor collects before an allocation fails, so a run needs
  more heap than it keeps live.  Hard-cap runs of the 38c3 satellite loop on a 32-bit unix build
  needed about 112 KB of heap for about 74 KB live: ``FRAGMENTATION`` = 112 / 74 = 1.51.  The
  same loop as tests/test_board.py runs it now (bench/feed.py ``_FITS``) needed 106 KB for 86.7 KB
  live on a 32-bit unix build of MicroPython 1.27 (x1.22); the budget takes the larger factor;
- so what stays live at any step may be at most 180 / 1.51 = 119 KB: ``PICO_W_LIVE_BUDGET`` =
  119 KB.  The figures measured on the WebAssembly port are in tests/test_board.py; the largest
  step of any satellite scenario keeps about 87 KB live, 32 KB (27 %) under the budget.
"""

import os
import re
import shutil
import subprocess
import tempfile

FIRMWARE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = os.path.dirname(FIRMWARE)
TESTS = os.path.join(ROOT, "tests")
HARNESS_DIR = os.environ.get("PANDASCREEN_MP_HARNESS") or os.path.join(TESTS, "mp")
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
        raise HarnessMissing("MicroPython harness missing in %s: run `npm ci --prefix tests/mp` in a clone "
                             "(make test and make bench do this) or name it in $PANDASCREEN_MP_HARNESS" % HARNESS_DIR)
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


BOARD_FAKES = ("__init__.py", "sockets.py", "canvas.py", "flash.py")


def add_fakes(lib, names=BOARD_FAKES):
    """Copy the fakes ``names`` (files of this package, as source) into ``lib``, a board's /lib as
    flashed (pandascreen_host.flash.compile_board), which never holds them: a scenario then runs
    the flashed modules beside the socket or canvas stand-ins it talks to.  Returns ``lib``."""
    here = os.path.dirname(os.path.abspath(__file__))
    dest = os.path.join(lib, "pandascreen", "testing")
    os.makedirs(dest, exist_ok=True)
    for name in names:
        shutil.copy(os.path.join(here, name), os.path.join(dest, name))
    return lib


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


# -- for pytest: logic and memory scenarios on the WebAssembly port --------------------------
PICO_W_FREE_AFTER_BOOT_KB = 201
WIFI_KB = 21
PICO_W_HEAP_KB = PICO_W_FREE_AFTER_BOOT_KB - WIFI_KB          # 180: the hard cap
HARD_CAP_NEEDED_KB, HARD_CAP_LIVE_KB = 112, 74                 # 38c3 loop, 32-bit unix build: heap needed, live
FRAGMENTATION = HARD_CAP_NEEDED_KB / float(HARD_CAP_LIVE_KB)   # 1.51
PICO_W_LIVE_BUDGET = int(PICO_W_HEAP_KB / FRAGMENTATION * 1024)  # 119 KB
HARD_CAP = "%dK" % PICO_W_HEAP_KB

# scenarios whose hard-cap run did not happen in this pytest run (conftest.py reports them)
HARD_CAP_NOT_RUN = []


class MicroPythonError(AssertionError):
    pass


class OverBudget(MicroPythonError):
    pass


def run_micropython(code, libs=None, dirs=(), timeout=600):
    """Run ``code`` on the WebAssembly port with firmware/ (or ``libs``) in /lib and the files of
    ``dirs`` at their host paths; return stdout.  Raises MicroPythonError with MicroPython's
    traceback if the code raised."""
    try:
        proc = run_wasm(code, libs=libs or [FIRMWARE], dirs=dirs, timeout=timeout)
    except HarnessMissing as e:
        raise MicroPythonError(str(e))
    if proc.returncode != 0:
        raise MicroPythonError("MicroPython failed:\n" + proc.stdout + proc.stderr)
    return proc.stdout


def check_budget(out, budget):
    """The LIVE lines of ``out``; OverBudget naming each step over ``budget`` bytes."""
    steps = live_lines(out)
    if not steps:
        raise MicroPythonError("the scenario printed no live-heap figures ('# live: NAME' lines):\n" + out)
    over = ["%s %d bytes" % s for s in steps if s[1] > budget]
    if over:
        raise OverBudget("live heap over the budget of %d bytes at: %s\n%s" % (budget, ", ".join(over), out))
    return steps


def run_scenario(name, code, budget=PICO_W_LIVE_BUDGET, libs=None, dirs=(), heapsize=HARD_CAP, timeout=600,
                 setup=None):
    """Run a memory scenario; [(runtime, stdout)] for the caller's checks.

    Always the WebAssembly port, every ``# live:`` step within ``budget`` bytes; then, where
    $PANDASCREEN_MICROPYTHON_UNIX32 is set, the 32-bit unix port capped at ``heapsize`` (it
    must run to the end: a MemoryError fails).  Scenarios that touch files name their folders in
    ``dirs`` (the unix port sees the host's files directly); ``setup()``, if given, puts them back
    in their first state before each run."""
    libs = libs or [FIRMWARE]
    if setup:
        setup()
    out = run_micropython(code, libs=libs, dirs=dirs, timeout=timeout)
    steps = check_budget(out, budget)
    print("%s, live heap on the WebAssembly port (budget %.1f KB): %s" % (
        name, budget / 1024.0, ", ".join("%s %.1f KB" % (k, n / 1024.0) for k, n in steps)))
    runs = [("wasm", out)]
    try:
        binary = unix32_binary()
    except HarnessMissing as e:
        raise MicroPythonError(str(e))
    if binary is None:
        HARD_CAP_NOT_RUN.append(name)
        return runs
    if setup:
        setup()
    proc = run_unix32(code, heapsize, libs=libs, timeout=timeout)
    if proc.returncode != 0:
        raise MicroPythonError("MicroPython (32-bit unix, -X heapsize=%s) failed:\n%s%s"
                               % (heapsize, proc.stdout, proc.stderr))
    runs.append(("unix32-" + heapsize, proc.stdout))
    return runs
