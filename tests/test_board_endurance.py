"""Four festival days on a satellite (tests/board_days.py: feeds, venue passes, frames, a reboot a
day, time-compressed as it says: a feed every 12 hours, every 24 for the synthetic festivals) for 38c3, 36c3 and FOSDEM 2021 (their real schedules from
../shared) and synthetic festivals of 550 and 600 venues, on MicroPython as flashed.

Each day is a memory scenario (pandascreen/testing/micropython.py): on the WebAssembly port the live heap after every
boot, feed and venue pass stays within PICO_W_LIVE_BUDGET, every venue of every feed is drawn
and no step fails.  Where $PANDASCREEN_MICROPYTHON_UNIX32 names a 32-bit unix MicroPython, the four
days run again from a blank flash at every heap size from 150 KB to 180 KB in 2 KB steps (``-X
heapsize``): a MemoryError or a fault at any size fails.

Measured on the WebAssembly port (MicroPython 1.27, this tree), largest step of any day: 38c3
~94 KB live, 600 venues ~95 KB (the feed keeps 565 of them, each read in place from 2 bytes of
offset), 24 KB under the budget.
"""
import os

import pytest

import board_days
from pandascreen.testing import micropython as ports
from pandascreen.testing.micropython import PICO_W_LIVE_BUDGET, MicroPythonError, run_scenario

HEAP_SIZES_KB = range(150, 181, 2)
# bytes live beyond the boot's (WebAssembly port): 38c3 (72 venues) ~4.5 KB, 600 venues ~5.7 KB:
# the organiser key decoded with its odd multiples (~2.4 KB, core/_ed25519_py.py ``_last_key``,
# kept from the first signature checked after a boot), the feed's Info and view, 2 bytes of
# offset per venue; an object per venue would keep ~25 KB more for 600.  No qstr pool grows after
# boot (tests/test_board_qstr.py): one more pool is ~4.5 KB in one piece.
FEED_KEEPS = 7 * 1024


def festival(name):
    if name.startswith("synthetic"):
        return board_days.synthetic(int(name[len("synthetic"):]))
    return board_days.real(name)


def _clear(folder):
    for f in ("last_time", "last_feed", "feed_state"):
        for path in (os.path.join(folder, f), os.path.join(folder, f + ".tmp")):
            if os.path.exists(path):
                os.remove(path)


def _flash_as_now(folder):
    """A ``setup`` for ``run_scenario`` that puts the board's flash files in ``folder`` back as they
    are now: a day's hard-cap run then starts from the flash the day before left, not from what
    that day's WebAssembly run wrote."""
    saved = {}
    for f in ("last_time", "last_feed", "feed_state"):
        path = os.path.join(folder, f)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                saved[f] = fh.read()

    def setup():
        _clear(folder)
        for f, data in saved.items():
            with open(os.path.join(folder, f), "wb") as fh:
                fh.write(data)
    return setup


def _hard_cap_days(scripts, expected, folder, libs):
    """The days again on the 32-bit unix port at every size of HEAP_SIZES_KB, from a blank flash."""
    for kb in HEAP_SIZES_KB:
        _clear(folder)
        for day, code in enumerate(scripts):
            proc = ports.run_unix32(code, "%dK" % kb, libs=libs, timeout=900)
            if proc.returncode != 0:
                raise MicroPythonError("day %d at -X heapsize=%dK failed:\n%s%s" % (day + 1, kb, proc.stdout, proc.stderr))
            assert [ln for ln in proc.stdout.splitlines() if not ln.startswith("LIVE ")] == expected[day], (kb, day + 1, proc.stdout)


@pytest.mark.parametrize("name", ["38c3", "36c3", "fosdem2021", "synthetic550", "synthetic600"])
def test_four_festival_days_on_a_satellite(name, flashed, tmp_path):
    schedule, fid = festival(name)
    per_day = 1 if name.startswith("synthetic") else board_days.FEEDS_PER_DAY
    issued = board_days.feeds(schedule, fid, str(tmp_path), board_days.first_start(schedule), per_day)
    if name.startswith("synthetic"):  # 550 venues all kept (by name), of 600 the rest counted
        assert issued[0][1] >= 550 and issued[0][1] + issued[0][2] == len(schedule.venues()), issued[0]
    scripts = board_days.scenarios(str(tmp_path), fid, issued)
    expected = board_days.expected(issued)
    largest = 0
    for day, code in enumerate(scripts):
        runs = run_scenario("%s day %d" % (name, day + 1), code, libs=[flashed], dirs=[str(tmp_path)], timeout=900,
                            setup=_flash_as_now(str(tmp_path)))
        for port, out in runs:  # the WebAssembly port, and the 32-bit unix one at 180 KB where named
            assert [ln for ln in out.splitlines() if not ln.startswith("LIVE ")] == expected[day], (port, out)
        out = runs[0][1]
        live = dict(ports.live_lines(out))
        largest = max([largest] + list(live.values()))
        # the feed on screen is read in place: what it keeps beyond its two buffers does not grow
        # with the venue count (an object per venue kept ~25 KB more for 600 venues)
        grown = max(n for step, n in live.items() if step.startswith(("feed_", "venues_"))) - live["boot"]
        assert grown < FEED_KEEPS, (grown, out)
    assert largest <= PICO_W_LIVE_BUDGET
    if ports.unix32_binary() is not None:  # else run_scenario listed the days as not run at a hard cap
        _hard_cap_days(scripts, expected, str(tmp_path), [flashed])
