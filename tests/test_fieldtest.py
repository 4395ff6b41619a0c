"""The field test (node/fieldtest.py) at a small size: the real app, 3 screens, a short cut.

It runs inside ``unshare -rnm`` with a private /run: its `ip netns` namespaces, bridge and veths
exist only in there, the host's network and /run/netns are never touched, nothing leaves."""
import json
import os
import subprocess
import sys

from conftest import SCHEDULES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_three_real_screens_sync_show_a_change_and_recover_from_a_cut():
    script = ('mount -t tmpfs tmpfs /run && exec "$@"')
    argv = ["unshare", "-rnm", "sh", "-c", script, "sh", sys.executable, "-m", "pandascreen.node.fieldtest",
            "--screens", "3", "--timeout", "120", "--partition", "5",
            "--schedule", os.path.join(SCHEDULES, "eventfahrplan_schedule-38c3-20251206.xml")]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=400)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0 and all(res["ok"].values()), r.stdout[-3000:] + r.stderr[-3000:]
    assert res["operations"] > 1000  # the whole 38c3 schedule, on every screen
    # every screen's display showed the change (correctness bounds, not speed claims)
    assert res["change_to_pixel_s"]["n"] == 3 and res["change_to_pixel_s"]["max"] < 30
    assert res["heal_to_pixel_s"]["n"] == 1 and res["heal_to_pixel_s"]["max"] < 120
    # make bench's network section prints these figures beside its floors (measured here too)
    from pandascreen.bench import network
    text = network.report({"floors": network._floors(), "quiet": res, "loaded": res, "seconds": 1})
    assert "cold start to the whole program" in text and "floors: app start-up" in text, text
