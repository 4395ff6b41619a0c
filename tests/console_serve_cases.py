"""`pandascreen-host serve --console` as a real process (run by test_console.py inside a
loopback-only namespace, since serve starts an iroh endpoint): the page answers on
127.0.0.1 (and to a --console-name, not to a foreign Host), an edit carrying the page's secret
is published into serve's store and one without it is not; a LAN bind without a token is
refused with one line."""
import json
import re
import signal
import urllib.error
import urllib.request

import pytest

from iroh_serve_cases import CAMP, _serve, _until


def test_serve_console_answers_and_publishes_an_edit(tmp_path):
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns", "--console", "127.0.0.1:0",
                      "--console-name", "laptop.local")
    try:
        line, _ = _until(lines, lambda l: l.startswith("console: "))
        url = line.split(" ", 1)[1]
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        with urllib.request.urlopen(url + "state.json", timeout=10) as r:
            state = json.loads(r.read())
        with urllib.request.urlopen(urllib.request.Request(
                url + "state.json", headers={"Host": "laptop.local:%d" % port}), timeout=10) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(
                url + "state.json", headers={"Host": "evil.example:%d" % port}), timeout=10)
        assert refused.value.code == 403
        with urllib.request.urlopen(url, timeout=10) as r:
            secret = re.search(rb'name="console-secret" content="([^"]+)"', r.read()).group(1).decode()
        event = state["program"][0]["events"][0]
        before = len(state["changes"])
        edit = json.dumps({"action": "retitle", "id": event["id"], "title": "From The Console"}).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:  # what a foreign page's form would send
            urllib.request.urlopen(urllib.request.Request(url + "edit", edit, {"Content-Type": "text/plain"}),
                                   timeout=10)
        assert refused.value.code == 415
        req = urllib.request.Request(url + "edit", edit, {"Content-Type": "application/json",
                                                          "X-Console-Secret": secret})
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
