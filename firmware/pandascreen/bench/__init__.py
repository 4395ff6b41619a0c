"""``make bench``: every figure beside its physical floor, measured in the same run.

Each section is a module here with ``run(quick=False) -> dict`` and ``report(dict) -> str``;
``python -m pandascreen.bench`` runs them in turn (``--only NAME`` for one, ``--quick`` for a
smoke run, ``--json`` for machine-readable output).  A section warms up before it measures
and repeats each measurement, reporting the median (and the spread where it matters).
Nothing here asserts a speed: tests only check that each section runs and reports.
"""

import time

# Sections in the order they print; each names a module in this package.
SECTIONS = ("ingest", "board", "feed", "frame", "live", "field", "page", "idle", "network")


def section(name):
    mod = __import__("pandascreen.bench." + name, None, None, ["run"])
    return mod


def timed(fn, repeats=5, warmup=1, clock=time.perf_counter):
    """Median and max time in seconds of ``fn()`` over ``repeats`` runs after ``warmup``.

    Wall time by default; ``clock=time.process_time`` counts only this process's CPU time,
    for figures compared with a CPU floor on a machine busy with other work."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = clock()
        fn()
        times.append(clock() - t)
    times.sort()
    return times[len(times) // 2], times[-1]
