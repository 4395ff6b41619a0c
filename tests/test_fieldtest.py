"""The field test (node/fieldtest.py) with 4 screens, bounded well under a minute.

It runs inside ``unshare -rnm`` with a private /run: its `ip netns` namespaces, bridge and veths
exist only in there, the host's network and /run/netns are never touched, nothing leaves."""
import json
import os
import subprocess
import sys

from conftest import SCHEDULES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_four_screens_discover_sync_get_a_change_and_converge():
    script = ('mount -t tmpfs tmpfs /run && exec "$@"')
    argv = ["unshare", "-rnm", "sh", "-c", script, "sh", sys.executable, "-m", "pandascreen.node.fieldtest",
            "--screens", "4", "--timeout", "30",
            "--schedule", os.path.join(SCHEDULES, "eventfahrplan_schedule-38c3-20251206.xml")]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["operations"] > 1000  # the whole 38c3 schedule
    assert res["change_to_frame_s"]["max"] < 10  # a correctness bound, not a speed claim
    assert res["max_links"] <= 8
