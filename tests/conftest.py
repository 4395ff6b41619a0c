import os
import sys

import pytest

# The screen's main keeps ssl out of its process (node/lean_process.py); tests that call it
# in-process leave the test run as it was: ssl is loaded before they run.
import ssl  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for sub in ("firmware", "host_tools", "tests"):
    p = os.path.join(ROOT, sub)
    if p not in sys.path:
        sys.path.insert(0, p)

# Real schedule files live in the steering repo's shared/ folder, beside the clone.
SCHEDULES = os.environ.get(
    "PANDASCREEN_SCHEDULES", os.path.join(os.path.dirname(ROOT), "shared", "schedules")
)


def pytest_terminal_summary(terminalreporter):
    """One line when memory scenarios ran on the WebAssembly port only (their live-heap budgets were
    checked; the hard -X heapsize runs need a 32-bit unix MicroPython, which no registry ships)."""
    from pandascreen.testing import micropython as mpy

    if mpy.HARD_CAP_NOT_RUN:
        terminalreporter.write_line(
            "hard-cap runs (-X heapsize=%s) not run for %d memory scenario(s): %s is not set "
            "(any 32-bit unix build of MicroPython 1.27 will do); their live-heap budgets were checked "
            "on the WebAssembly port" % (mpy.HARD_CAP, len(mpy.HARD_CAP_NOT_RUN), mpy.UNIX32_ENV))


@pytest.fixture(scope="module")
def flashed(tmp_path_factory):
    """The board's modules as `pandascreen-host flash` builds them (.mpy from mpy-cross), with the
    tests' fake hardware beside them: their /lib folder, built once per test module."""
    from pandascreen.bench import feed as feed_bench
    return feed_bench.flashed(str(tmp_path_factory.mktemp("flash")))


@pytest.fixture(scope="module")
def feed_hex():
    """The demo festival's feed, signed now (test_feed.py), as hex for a board harness."""
    from pandascreen.core.util import hexlify
    from test_feed import NOW, demo_feed, demo_store
    return hexlify(demo_feed(demo_store(), issued=NOW))
