"""Ctrl-C once serve is serving stops it cleanly, exit 0 (pandascreen_host/serve.py ``_serve``),
whichever part it lands in.  Serve's own test process (program_page_serve_cases.py) found a Ctrl-C
sent as soon as serve said where its program page listens ending serve as "interrupted", 130: on
a loaded machine it landed in the writing of that very line, before the loop that stops cleanly."""

import io
import os
import shutil
import threading
import types

from pandascreen_host import serve
from pandascreen_host.cli import build_parser

CAMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "frab_json_camp.json")


class CtrlCOnLine(io.StringIO):
    """Serve's output, where Ctrl-C arrives while the line starting with ``prefix`` is written."""

    def __init__(self, prefix):
        super().__init__()
        self.prefix = prefix
        self.interrupted = False

    def write(self, text):
        super().write(text)
        if text.startswith(self.prefix) and not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return len(text)


def _fake_node(args, store, topic, seed, network_id, say, fleet_subscription, running):
    """Serve's iroh node, stood in for: what serve asks of it while it starts and serves."""
    from pandascreen.core.crypto import public_key
    node = types.SimpleNamespace(store=store, node_id_bytes=public_key(seed), node_id=public_key(seed).hex(),
                                 addresses=lambda: ["127.0.0.1:1"], notify=lambda: None, stopped=[])
    running.callback(lambda: node.stopped.append(True))
    _fake_node.made = node
    return node


def test_ctrl_c_while_serve_says_where_its_program_page_listens_is_a_clean_stop(tmp_path, monkeypatch):
    sched = tmp_path / "camp.json"
    shutil.copy(CAMP, sched)
    args = build_parser().parse_args([
        "serve", "--store", str(tmp_path / "f.db"), "--key", str(tmp_path / "org.key"), "--watch", str(sched),
        "--no-mdns", "--listen", "127.0.0.1:0", "--program-page", "127.0.0.1:0"])
    monkeypatch.setattr(serve, "_start_node", _fake_node)
    out = CtrlCOnLine("listening: program page for phones at ")
    stop = threading.Event()
    bound = threading.Timer(30, stop.set)  # the loop ends by itself should no Ctrl-C come
    bound.start()
    try:
        code = serve.run(args, out=out, err=io.StringIO(), stop=stop)
    except KeyboardInterrupt:  # caught here, or pytest would stop the whole run
        code = "interrupted"
    finally:
        bound.cancel()
    assert out.interrupted and not stop.is_set()
    assert code == 0 and _fake_node.made.stopped == [True]
    assert out.getvalue().splitlines()[-2:] == ["stopping: closing live sessions", "stopped"]
