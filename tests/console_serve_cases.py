"""`pandascreen-host serve --console` as a real process (run by test_console.py inside a
loopback-only namespace, since serve starts an iroh endpoint): the page answers on
127.0.0.1, an edit from it is published into serve's store; a LAN bind without a token is
refused with one line."""
import json
import signal
import urllib.error
import urllib.request

from iroh_serve_cases import CAMP, _serve, _until


def test_serve_console_answers_and_publishes_an_edit(tmp_path):
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns", "--console", "127.0.0.1:0")
    try:
        line, _ = _until(lines, lambda l: l.startswith("console: "))
        url = line.split(" ", 1)[1]
        with urllib.request.urlopen(url + "state.json", timeout=10) as r:
            state = json.loads(r.read())
        event = state["program"][0]["events"][0]
        before = len(state["changes"])
        req = urllib.request.Request(url + "edit", json.dumps({"action": "retitle", "id": event["id"],
                                                               "title": "From The Console"}).encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.loads(r.read()) == {"ok": True}
        _until(lines, lambda l: l.startswith("console: published retitle"))
        with urllib.request.urlopen(url + "state.json", timeout=10) as r:
            state = json.loads(r.read())
        assert len(state["changes"]) == before + 1 and "From The Console" in state["changes"][0]["what"]
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0


def test_serve_console_on_the_lan_needs_a_token(tmp_path):
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns", "--console", "0.0.0.0:0")
    out, err = p.communicate(timeout=30)
    assert p.returncode != 0 and "--console-token" in err
