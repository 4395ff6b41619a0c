"""A satellite's loop interns no string after boot (board/board.py on MicroPython, as flashed).

WHY: MicroPython keeps every interned string (qstr) for good, in pools it grows by doubling: the
next pool of a board that has loaded its modules is ~4.5 KB in one piece, allocated mid-frame
wherever one string is interned at run time (indexing a str interns the character taken out).  So
after the modules are loaded, taking feeds, saving them with their state, drawing every venue in
any script, frames and a reboot from flash must add no qstr at all: a fixed heap, whatever the
alphabet.

Each day is one script (no ``# live:`` lines: the WebAssembly harness compiles a script part by
part at those lines and would intern the part's names itself); ``micropython.qstr_info()`` after
the boot and at the end of the day must count the same strings.
"""
import re

import board_days
from pandascreen.testing.micropython import LIVE_LINE, run_micropython

TITLES = ("Grüße aus Köln", "Théâtre à l'Élysée", "Привет, мир", "Καλημέρα κόσμε", "東京の夜", "Party 🎉🎶",
          "ʻOkina ‘quoted’ — dash…")


def festival():
    """(Schedule, festival id): three venues, a talk every hour, titles in many scripts."""
    t0 = 1784800800
    fid = "qstrfest"
    changes = [("festival", "create", fid, {"name": "Fête 東京", "utc_offset": 120})]
    for v in range(3):
        changes.append(("venue", "create", "v%d" % v, {"name": "Bühne %d 舞台" % v, "order": v}))
    for d in range(board_days.DAYS):
        for k in range(12):
            start = t0 + d * 86400 + k * 3600
            for v in range(3):
                changes.append(("event", "create", "e%d-%d-%d" % (d, k, v), {
                    "venue": "v%d" % v, "title": "%s %d" % (TITLES[(k + v + d) % len(TITLES)], k),
                    "start": start, "end": start + 3000, "speakers": ["Σπύρος Ö. %d" % v]}))
    return board_days._schedule(changes), fid


QSTRS = re.compile(r"n_qstr=(\d+)")

BOOTED = """
import micropython
micropython.qstr_info()
"""


def test_a_satellite_interns_no_string_after_boot(flashed, tmp_path):
    schedule, fid = festival()
    issued = board_days.feeds(schedule, fid, str(tmp_path), board_days.first_start(schedule))
    assert any(i[1] for i in issued)
    expected = board_days.expected(issued)
    for day in range(2):  # the first boot (blank flash), then a reboot from the saved feed and state
        script = board_days.scenarios(str(tmp_path), fid, issued)[day]
        boot_line = 'print("boot", s.from_flash, s.view_source.info is not None)'
        assert boot_line in script
        code = LIVE_LINE.sub("", script.replace(boot_line, boot_line + BOOTED)) + BOOTED
        out = run_micropython(code, libs=[flashed], dirs=[str(tmp_path)], timeout=600)
        lines = [ln for ln in out.splitlines() if not ln.startswith("qstr pool")]
        assert lines == expected[day], out
        counts = [int(n) for n in QSTRS.findall(out)]
        assert len(counts) == 2 and counts[1] == counts[0], "day %d: qstrs after boot, at the end: %r\n%s" % (
            day + 1, counts, out)
