"""`pandascreen-host serve` as a real process on 127.0.0.1: says where it listens, serves the
store over iroh, re-imports the watched file and pushes the change live, stops on Ctrl-C."""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from pandascreen.core import operation
from pandascreen.core.errors import SyncError
from pandascreen.core.schedule import Schedule
from pandascreen.node.iroh_transport import IrohNode
from pandascreen.node.sqlite_store import SqliteStore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CAMP = os.path.join(HERE, "fixtures", "frab_json_camp.json")
SCREEN = bytes([21] * 32)


def _serve(tmp_path, *extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host_tools")]))
    p = subprocess.Popen([sys.executable, "-m", "pandascreen_host", "serve", "--store", str(tmp_path / "f.db"),
                          "--key", str(tmp_path / "org.key"), "--listen", "127.0.0.1:0"] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l.rstrip("\n")) for l in p.stdout], daemon=True).start()
    return p, lines


def start_screen(tmp_path, node_id, addr, key=SCREEN, stdout=subprocess.PIPE, stderr=subprocess.PIPE):
    """The real `pandascreen` app (emulated display, ``tmp_path/screen.png``) of serve's festival,
    with serve's node (``node_id`` at ``addr``) as its organiser and its one configured peer."""
    (tmp_path / "device.key").write_bytes(key)
    os.chmod(str(tmp_path / "device.key"), 0o600)
    cfg = {"festival_id": "slothcamp2031", "organisers": [node_id], "peers": ["%s@%s" % (node_id, addr)],
           "listen_port": 0, "store": "screen.db", "key": "device.key", "render_interval": 0}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
    return subprocess.Popen([sys.executable, "-m", "pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                             "--emulate", str(tmp_path / "screen.png")], stdout=stdout, stderr=stderr, text=True,
                            env=env)


def _until(lines, pred, timeout=10.0):
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=max(0.01, end - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if pred(line):
            return line, seen
    raise AssertionError("not seen; got %r" % seen)


def interrupt(*procs, grace=5):
    """Ctrl-C each still running process, then kill what has not ended after ``grace`` s."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_serve_watch_live_push_and_ctrl_c(tmp_path):
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched))
    store = SqliteStore(str(tmp_path / "screen.db"))
    node = None
    try:
        listening, seen = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        assert len(node_id) == 64 and addr.startswith("127.0.0.1:")
        org_pk = bytes.fromhex(node_id)
        assert any("organiser %s" % node_id in l for l in seen)  # node id = organiser key
        topic = operation.festival_topic("slothcamp2031")
        node = IrohNode(store, topic, SCREEN, bind="127.0.0.1:0", serve=False, timeout=3.0)
        node.start()
        st = node.sync("%s@%s" % (node_id, addr))
        assert st["ops_new"] == 8 and st["live"]
        _until(lines, lambda l: "holds 0 operation(s)" in l)
        _until(lines, lambda l: "synced, sent 8 operation(s)" in l)
        # the organiser edits the file: the screen has it pushed live, long before a resync
        # (how fast is make bench's change-to-pixel)
        sched.write_text(open(CAMP, encoding="utf-8").read().replace('"Opening of Sloth Camp"', '"Opening (late)"'))
        deadline = time.monotonic() + 20
        while store.count() < 9 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.count() == 9, "live push did not arrive"
        sch = Schedule.from_store(store, operation.log_id_for_topic(topic), authors=[org_pk])
        assert any(e.title == "Opening (late)" for e in sch.all_events())
        _until(lines, lambda l: "sent 1 live operation(s)" in l)
        # a broken edit is reported and the old schedule keeps being served
        sched.write_text("{}")
        _until(lines, lambda l: l.startswith("error: ") and "still serving" in l)
        # Ctrl-C: live sessions end with Close, exit 0
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0
        _until(lines, lambda l: l == "stopped")
        # the screen's side heard the Close: its live session with serve ended at once
        deadline = time.monotonic() + 5
        while node.live_peers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert node.live_peers() == []
        assert "Traceback" not in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        if node is not None:
            node.stop()
        store.close()


def test_serve_also_serves_plain_tcp_for_pi_screens_without_iroh(tmp_path):
    from pandascreen.node.tcp import sync_with
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--tcp", "127.0.0.1:0")
    try:
        line, _ = _until(lines, lambda l: l.startswith("listening: plain TCP"))
        port = int(line.rsplit(":", 1)[1])
        from pandascreen.core.store import MemoryStore
        topic = operation.festival_topic("slothcamp2031")
        screen = MemoryStore()
        st = sync_with(screen, operation.log_id_for_topic(topic), "127.0.0.1", port, topic=topic, timeout=5)
        assert st["ops_new"] == 8
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0


def test_serve_stores_nothing_a_stranger_sends(tmp_path):
    """The laptop's store is guarded like a screen's: a hostile peer dialling serve
    directly gets nothing stored there (and so nothing relayed to the screens)."""
    from pandascreen.core import schema
    from pandascreen.core.crypto import public_key
    from pandascreen.core.store import MemoryStore
    from pandascreen.node.tcp import sync_with
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--tcp", "127.0.0.1:0")
    try:
        line, _ = _until(lines, lambda l: l.startswith("listening: plain TCP"))
        port = int(line.rsplit(":", 1)[1])
        topic = operation.festival_topic("slothcamp2031")
        log = operation.log_id_for_topic(topic)
        stranger = bytes([0x66] * 32)
        hostile = MemoryStore()
        hostile.publish_many(stranger, [schema.make_body("event", "create", "beer%d" % i, {
            "venue": "v", "title": "FREE BEER", "start": 1, "end": 2}) for i in range(50)], log, 1000)
        st = sync_with(hostile, log, "127.0.0.1", port, topic=topic, timeout=5)
        assert st["ops_sent"] == 50 and st["ops_new"] == 8  # it got the program, we got nothing
        held = SqliteStore(str(tmp_path / "f.db"))
        try:
            assert public_key(stranger) not in held.heights(log) and held.count() == 8
        finally:
            held.close()
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0


def test_serve_without_a_festival_says_what_to_do(tmp_path):
    from pandascreen_host.cli import main
    key = tmp_path / "org.key"
    key.write_bytes(os.urandom(32))
    code = main(["serve", "--store", str(tmp_path / "empty.db"), "--key", str(key), "--listen", "127.0.0.1:0"])
    assert code == 2


def test_pi_screen_process_follows_serve_live(tmp_path):
    """The real `pandascreen` app (emulated screen) dials serve's node id and redraws on an edit."""
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched))
    app = None
    try:
        listening, _ = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        png = tmp_path / "screen.png"
        app = start_screen(tmp_path, node_id, addr)
        _until(lines, lambda l: "synced, sent 8 operation(s)" in l, timeout=15)
        deadline = time.monotonic() + 5
        while not png.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        before = png.stat().st_mtime_ns
        sched.write_text(open(CAMP, encoding="utf-8").read().replace('"Opening of Sloth Camp"', '"Opening (late)"'))
        _until(lines, lambda l: "sent 1 live operation(s)" in l)
        t = time.monotonic()
        while png.stat().st_mtime_ns == before and time.monotonic() - t < 15:
            time.sleep(0.005)
        assert png.stat().st_mtime_ns != before, "the screen did not redraw after the live update"
        with SqliteStore(str(tmp_path / "screen.db")) as s:
            assert s.count() == 9
    finally:
        interrupt(app, p)


def test_serve_with_the_readmes_feed_and_console_ports(tmp_path):
    """`serve --feed 0.0.0.0:8026 --console`: boards get the feed on 8026, the console is on its
    own default port and says so in its URL.  In a private network namespace."""
    import urllib.request
    from pandascreen.core import feed
    from pandascreen_host import laptop_ports
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns", "--feed", "0.0.0.0:%d" % feed.FEED_PORT,
                      "--console")
    try:
        _until(lines, lambda l: l.startswith("listening: signed screen feed") and ":%d/" % feed.FEED_PORT in l)
        _until(lines, lambda l: l == "console: http://127.0.0.1:%d/" % laptop_ports.CONSOLE)
        with urllib.request.urlopen("http://127.0.0.1:%d/pandascreen/feed/slothcamp2031" % feed.FEED_PORT,
                                    timeout=5) as r:
            assert r.headers["Content-Type"] == "application/cbor" and r.read()
        with urllib.request.urlopen("http://127.0.0.1:%d/" % laptop_ports.CONSOLE, timeout=5) as r:
            assert b"<html" in r.read().lower()
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0


def test_serve_with_a_busy_console_port_says_so_in_one_line(tmp_path):
    import socket
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns", "--console", "127.0.0.1:%d" % port)
        _, err = p.communicate(timeout=30)
    finally:
        holder.close()
    assert p.returncode == 2, err
    assert "Traceback" not in err and [l for l in err.splitlines() if l.startswith("error:")] == \
        [l for l in err.splitlines() if "already in use" in l], err
    assert "port %d is already in use" % port in err and "choose another with --console" in err, err


def test_a_pi_screen_under_an_idle_flood_keeps_running_and_serving(tmp_path):
    """1000 idle connections to a Pi screen's feed port, RLIMIT_NOFILE 256: the screen keeps
    running, and a board still gets the feed within 2 s."""
    from pandascreen.core.crypto import public_key
    from pandascreen_host.cli import main
    from test_conn_limits import fetch_feed, free_port, idle_connections
    assert main(["import", CAMP, "--store", str(tmp_path / "screen.db"), "--key", str(tmp_path / "device.key")]) == 0
    organiser = public_key(open(str(tmp_path / "device.key"), "rb").read())  # signs the feed without a grant
    feed_port = free_port()
    cfg = {"festival_id": "slothcamp2031", "organisers": [organiser.hex()], "listen_port": free_port(),
           "feed_port": feed_port, "store": "screen.db", "key": "device.key", "render_interval": 0}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    png = tmp_path / "screen.png"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
    low_limit = ("import resource, runpy, sys; hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; "
                 "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)); sys.argv[0] = 'pandascreen'; "
                 "runpy.run_module('pandascreen.node.app', run_name='__main__')")
    app = subprocess.Popen([sys.executable, "-c", low_limit, "--config", str(tmp_path / "config.json"),
                            "--emulate", str(png)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    flood = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (png.exists() and _answers(feed_port)):
            time.sleep(0.1)
        flood = idle_connections(feed_port, 1000, addresses=25)  # each fills its 4 slots again and again
        assert fetch_feed(feed_port, "slothcamp2031", [organiser])
        time.sleep(2)  # the screen's loop goes round (sync, draw) with the flood still open
        assert app.poll() is None, app.communicate(timeout=5)[0][-2000:]
        assert fetch_feed(feed_port, "slothcamp2031", [organiser])
    finally:
        for s in flood:
            s.close()
        interrupt(app)


def _answers(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_systemds_stop_ends_a_screen_and_serve_as_ctrl_c_does(tmp_path):
    """SIGTERM (systemctl stop, a reboot) stops the screen as Ctrl-C does: exit 0, its live session
    ended with a Close that serve records at once (not a lost link seen 15-30 s later); serve too."""
    from pandascreen_host.cli import main as host
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    assert host(["import", str(sched), "--store", str(tmp_path / "f.db"), "--key", str(tmp_path / "org.key")]) == 0
    p, lines = _serve(tmp_path, "--no-mdns")
    app = None
    try:
        listening, _ = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        app = start_screen(tmp_path, node_id, addr, stdout=subprocess.DEVNULL)
        _until(lines, lambda l: "synced, sent 8 operation(s)" in l and "live" in l, timeout=30)
        app.terminate()
        assert app.wait(10) == 0
        assert "Traceback" not in app.stderr.read()
        ended, seen = _until(lines, lambda l: "session ended" in l or "lost" in l or "stopped answering" in l,
                             timeout=10)
        assert "session ended" in ended, seen
        p.terminate()
        assert p.wait(10) == 0
        _until(lines, lambda l: l == "stopped")
        assert "Traceback" not in p.stderr.read()
    finally:
        interrupt(app, p)
        if app is not None:
            app.stderr.close()


def test_serve_links_at_most_its_bound_of_screens_and_tells_the_next_it_is_full(tmp_path):
    """The organiser's load stays flat with the festival's size (node/liveness.py): the screen
    after ``ORGANISER_PEERS`` hears "full" and takes the program from the others."""
    import pytest
    from pandascreen.core.errors import SyncError
    from pandascreen.node.liveness import ORGANISER_PEERS
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched))
    screens = []
    try:
        listening, _ = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        topic = operation.festival_topic("slothcamp2031")
        for i in range(ORGANISER_PEERS + 1):
            store = SqliteStore(str(tmp_path / ("s%d.db" % i)))
            node = IrohNode(store, topic, bytes([100 + i] * 32), bind="127.0.0.%d:0" % (20 + i), timeout=5.0,
                            connect_timeout=3.0, say=lambda line: None).start()
            screens.append((node, store))
        for node, store in screens[:-1]:
            assert node.sync("%s@%s" % (node_id, addr))["live"]
            assert store.count() == 8
        node, store = screens[-1]
        with pytest.raises(SyncError, match="full"):
            node.sync("%s@%s" % (node_id, addr))
        assert store.count() == 0
        node.sync(screens[0][0].ticket())
        assert store.count() == 8
        _until(lines, lambda l: "told it is full (%d peers linked)" % ORGANISER_PEERS in l)
    finally:
        for node, store in screens:
            node.stop()
            store.close()
        interrupt(p)


def test_serve_whose_store_was_lost_says_screens_hold_another_history_of_its_log(tmp_path):
    """The laptop's store is lost and the file imported again with the same key: a new log from
    seq 0, whose next operations screens refuse as a fork of the one they hold.  Serve says so
    in one line the organiser can act on, once."""
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched))
    store = SqliteStore(str(tmp_path / "screen.db"))
    node = again = None
    try:
        listening, _ = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        node = IrohNode(store, operation.festival_topic("slothcamp2031"), SCREEN, bind="127.0.0.1:0", serve=False,
                        timeout=3.0)
        node.start()
        assert node.sync("%s@%s" % (node_id, addr))["ops_new"] == 8
        sched.write_text(open(CAMP, encoding="utf-8").read().replace('"Opening of Sloth Camp"', '"Opening (late)"'))
        _until(lines, lambda l: "sent 1 live operation(s)" in l)
        interrupt(p)
        for name in os.listdir(str(tmp_path)):
            if name.startswith("f.db"):
                os.remove(str(tmp_path / name))
        sched.write_text(open(CAMP, encoding="utf-8").read())
        again, lines = _serve(tmp_path, "--watch", str(sched), "--listen", addr)
        _until(lines, lambda l: l.startswith("listening: node "))
        try:
            node.sync("%s@%s" % (node_id, addr))
        except SyncError:
            pass  # the session may end on the refused operation; serve has seen it either way
        line, seen = _until(lines, lambda l: "another history" in l, timeout=20)
        assert node_id[:16] in line and "at seq_num 7" in line, line  # two operations 7: the screen's and the new log's
        assert sum("another history" in l for l in seen) == 1
        # the screen, which holds more of the log, asks serve for nothing: serve's next sync with
        # it (here the screen's next resync round) shows it serve's head, and the screen's status
        # says "program forked" (core/log_sync.py _evidence)
        log = operation.log_id_for_topic(operation.festival_topic("slothcamp2031"))
        assert not store.forked([bytes.fromhex(node_id)], log)
        node._submit(node._round(node.subs[0], bytes.fromhex(node_id), addr, "resync")).result(20)
        assert store.forked([bytes.fromhex(node_id)], log)
    finally:
        interrupt(p, again)
        if node is not None:
            node.stop()
        store.close()


def test_a_screen_added_by_group_add_while_serve_runs_reports_to_it(tmp_path):
    """The screen logs that its key is not in the festival group and names `group add`; the
    organiser runs it in another terminal while serve runs.  serve takes the group operation
    as it stands in its store and the screen's status arrives in its fleet store."""
    from pandascreen.core import fleet
    from pandascreen.core.crypto import public_key
    from pandascreen.node import fleet_report
    from pandascreen_host.cli import main as host
    sched = tmp_path / "camp.json"
    sched.write_text(open(CAMP, encoding="utf-8").read())
    p, lines = _serve(tmp_path, "--watch", str(sched), "--no-mdns")
    app = None
    try:
        listening, _ = _until(lines, lambda l: l.startswith("listening: node "))
        _, _, node_id, _, addr = listening.split(" ")
        app = start_screen(tmp_path, node_id, addr, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lines, lambda l: "synced, sent 8 operation(s)" in l, timeout=15)
        assert host(["group", "add", public_key(SCREEN).hex(), "--level", "pull", "--store", str(tmp_path / "f.db"),
                     "--key", str(tmp_path / "org.key"), "--festival-id", "slothcamp2031"]) == 0
        _until(lines, lambda l: l.startswith("the festival group changed"), timeout=10)
        fleet_db = fleet_report.fleet_store_path(str(tmp_path / "f.db"))
        log = fleet.fleet_log_id("slothcamp2031")
        deadline = time.monotonic() + 60
        held = None
        while held is None and time.monotonic() < deadline:
            with SqliteStore(fleet_db) as fs:
                held = fs.latest(public_key(SCREEN), log)
            time.sleep(0.5)
        assert held is not None, "the screen's status never reached serve's fleet store"
    finally:
        interrupt(app, p)
