"""The real `pandascreen` app (emulated screen) whose only peer, `pandascreen-host serve` over iroh,
goes away: its display says "alone since HH:MM" once no peer was reachable for ALONE_AFTER, and
"synced" again once serve is back.  Run by test_alone_app.py inside a loopback-only namespace;
every wait is bounded."""
import json
import subprocess
import time

from pandascreen.core.clock import ALONE, ALONE_AFTER, SYNCED
from pandascreen.node.liveness import REDIAL_MAX

SCREEN = bytes([41] * 32)
# a peer killed without a word is gone for the node after at most QUIC's idle timeout
SESSION_DEATH = 30


def _status(png):
    try:
        with open(str(png) + ".json", encoding="utf-8") as fh:
            return str(json.load(fh).get("status", ""))
    except (OSError, ValueError):
        return ""


def _until_status(png, prefix, timeout):
    """(seconds waited, the status) once the display's status starts with ``prefix``; bounded."""
    t0 = time.monotonic()
    status = ""
    while time.monotonic() - t0 < timeout:
        status = _status(png)
        if status.startswith(prefix + " "):
            return time.monotonic() - t0, status
        time.sleep(0.2)
    raise AssertionError("the display never said %r within %d s; it says %r" % (prefix, timeout, status))


def test_a_screen_whose_only_peer_goes_away_says_so_and_synced_when_it_is_back(tmp_path):
    from iroh_serve_cases import CAMP, _serve, _until, interrupt, start_screen
    from pandascreen_host.cli import main as host
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    assert host(["import", str(sched), "--store", str(tmp_path / "f.db"), "--key", str(tmp_path / "org.key")]) == 0
    serve, lines = _serve(tmp_path, "--no-mdns")
    app = back = None
    log = open(str(tmp_path / "app.log"), "w")
    try:
        listening, _ = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        png = tmp_path / "screen.png"
        app = start_screen(tmp_path, node_id, addr, key=SCREEN, stdout=log, stderr=subprocess.STDOUT)
        _until_status(png, SYNCED, 30)
        serve.kill()  # the only peer goes away without a word (power cut, a laptop closed)
        serve.wait(10)
        waited, said = _until_status(png, ALONE, ALONE_AFTER + SESSION_DEATH + 30)
        assert waited >= ALONE_AFTER, "said %r only %.0f s after its peer went away" % (said, waited)
        assert said[len(ALONE) + 1:].count(":") == 1, said  # "alone since HH:MM": when a peer was last heard
        back, _ = _serve(tmp_path, "--no-mdns", "--listen", addr)  # the same node id at the same address
        _until_status(png, SYNCED, REDIAL_MAX + 30)
    finally:
        interrupt(app, back)
        serve.kill()
        serve.wait(10)
        log.close()
    text = open(str(tmp_path / "app.log"), encoding="utf-8").read()
    assert "Traceback" not in text and "never retrieved" not in text, text[-3000:]
