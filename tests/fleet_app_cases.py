"""The fleet log end to end, as real processes: the `pandascreen` app (emulated screen) whose key the
organiser added to the festival group reports its status over iroh; `pandascreen-host serve
--console` syncs the fleet topic and the console's event stream shows the screen.  Run by
test_fleet_app.py inside a loopback-only namespace; every wait is bounded."""
import json
import time
import urllib.request

from pandascreen import __version__
from pandascreen.core import fleet
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore

SCREEN = bytes([35] * 32)


def test_pi_app_reports_into_serve_console_screens_table(tmp_path):
    """`pandascreen` (emulated screen) whose key the organiser added to the group reports its
    status; `serve --console` syncs the fleet topic and the page's event stream shows it."""
    from iroh_serve_cases import CAMP, _serve, _until, interrupt, start_screen
    from pandascreen_host.cli import main as host
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    screen_pk = public_key(SCREEN).hex()
    db, key = str(tmp_path / "f.db"), str(tmp_path / "org.key")
    assert host(["import", str(sched), "--store", db, "--key", key]) == 0
    assert host(["group", "add", screen_pk, "--level", "pull", "--festival-id", "slothcamp2031",
                 "--store", db, "--key", key]) == 0
    p, lines = _serve(tmp_path, "--no-mdns", "--console", "127.0.0.1:0")
    app = None
    try:
        listening, _ = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        url = _until(lines, lambda l: l.startswith("console: "))[0].split(" ", 1)[1]
        events = urllib.request.urlopen(url + "events", timeout=10)
        app = start_screen(tmp_path, node_id, addr, key=SCREEN)
        row = None
        deadline = time.monotonic() + 30
        for _ in range(200):  # one snapshot per change, at most every SSE_POLL
            if time.monotonic() > deadline:
                break
            line = events.readline()
            if not line.startswith(b"data: "):
                continue
            rows = json.loads(line[len(b"data: "):])["screens"]
            if rows:
                row = rows[0]
                break
        events.close()
        assert row is not None, "no screen appeared in the console's event stream"
        assert row["key"] == screen_pk and row["version"] == __version__ and row["uptime"] >= 0
        assert row["venue"] and row["shows"].startswith(row["venue"])
        _until(lines, lambda l: ("peer %s (fleet)" % screen_pk[:16]) in l)
        with SqliteStore(str(tmp_path / "screen.fleet.db")) as mine:  # the screen keeps its log
            assert public_key(SCREEN) in mine.heights(fleet.fleet_log_id("slothcamp2031"))
    finally:
        interrupt(app, p, grace=10)
    if app is not None:
        err = app.stderr.read()
        assert "Traceback" not in err, err[-2000:]
