"""Run code under real MicroPython 1.27 from pytest (the ports: pandascreen/bench/micropython.py).

- ``run_micropython``: the npm WebAssembly port, for logic.
- ``run_scenario``: a memory claim.  The scenario marks its steps with ``# live: NAME`` lines; on
  the WebAssembly port (32-bit: 4-byte pointers, 16-byte GC blocks, as on an RP2040) the heap still
  live at each step (gc.collect(); gc.mem_alloc()) must stay within ``budget``.  Where
  $PANDASCREEN_MICROPYTHON_UNIX32 names a 32-bit unix build of MicroPython 1.27, the same scenario
  runs again there with a hard ``-X heapsize`` cap; where it does not, the scenario is listed in
  ``HARD_CAP_NOT_RUN`` and conftest.py says so in one line at the end of the run (no skip: the
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

from pandascreen.bench import micropython as ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIRMWARE = os.path.join(ROOT, "firmware")

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


def harness_ready():
    return ports.wasm_ready()


def run_micropython(code, libs=None, dirs=(), timeout=600):
    """Run ``code`` on the WebAssembly port with firmware/ (or ``libs``) in /lib and the files of
    ``dirs`` at their host paths; return stdout.  Raises MicroPythonError with MicroPython's
    traceback if the code raised."""
    try:
        proc = ports.run_wasm(code, libs=libs or [FIRMWARE], dirs=dirs, timeout=timeout)
    except ports.HarnessMissing as e:
        raise MicroPythonError(str(e))
    if proc.returncode != 0:
        raise MicroPythonError("MicroPython failed:\n" + proc.stdout + proc.stderr)
    return proc.stdout


def check_budget(out, budget):
    """The LIVE lines of ``out``; OverBudget naming each step over ``budget`` bytes."""
    steps = ports.live_lines(out)
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
        binary = ports.unix32_binary()
    except ports.HarnessMissing as e:
        raise MicroPythonError(str(e))
    if binary is None:
        HARD_CAP_NOT_RUN.append(name)
        return runs
    if setup:
        setup()
    proc = ports.run_unix32(code, heapsize, libs=libs, timeout=timeout)
    if proc.returncode != 0:
        raise MicroPythonError("MicroPython (32-bit unix, -X heapsize=%s) failed:\n%s%s"
                               % (heapsize, proc.stdout, proc.stderr))
    runs.append(("unix32-" + heapsize, proc.stdout))
    return runs
