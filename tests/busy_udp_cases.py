"""Ports, with the real processes: a UDP port for iroh that another program holds makes the screen
app and ``serve`` each say it in one line naming the port and what changes it, and exit 2 --
never run on without iroh, never a traceback; and serve and a screen at their defaults run side
by side on one machine.  Run by test_busy_udp.py inside a loopback-only namespace (iroh binds here); every wait
is bounded."""
import json
import os
import queue
import socket
import subprocess
import sys
import threading

import pytest

from pandascreen.core.crypto import public_key
from pandascreen.testing import festival as demofest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = bytes([7] * 32)


def _udp_held():
    """A UDP socket holding a port whose TCP twin is free; (socket, port)."""
    for _ in range(50):
        holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        holder.bind(("0.0.0.0", 0))
        port = holder.getsockname()[1]
        probe = socket.socket()
        try:
            probe.bind(("0.0.0.0", port))
            return holder, port
        except OSError:
            holder.close()
        finally:
            probe.close()
    raise RuntimeError("no UDP port with a free TCP twin")


def _run(argv, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host_tools")]))
    try:
        p = subprocess.run([sys.executable, "-m"] + argv, capture_output=True, text=True, env=env, timeout=40, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("still running after 40 s without iroh: %s" % (e.stderr or b"")[-800:])
    return p.returncode, p.stderr


def test_a_screen_whose_iroh_port_is_held_says_so_in_one_line_naming_listen_port(tmp_path):
    holder, port = _udp_held()
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()], "store": "screen.db",
           "listen_port": port, "feed_port": 0, "program_page_port": 0}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "device.key").write_bytes(bytes(range(32)))
    try:
        code, err = _run(["pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                          "--emulate", str(tmp_path / "screen.png")])
    finally:
        holder.close()
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert "port %d (UDP: iroh sync with screens and laptops) is already in use" % port in err, err
    assert '"listen_port"' in err, err


def test_serve_whose_iroh_port_is_held_says_so_in_one_line_naming_listen(tmp_path):
    from iroh_serve_cases import CAMP
    from pandascreen_host.cli import main as host
    store, key = tmp_path / "f.db", tmp_path / "org.key"
    assert host(["import", CAMP, "--store", str(store), "--key", str(key)]) == 0
    holder, port = _udp_held()
    try:
        code, err = _run(["pandascreen_host", "serve", "--store", str(store), "--key", str(key), "--no-mdns",
                          "--listen", "127.0.0.1:%d" % port])
    finally:
        holder.close()
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "port %d is already in use" % port in err and "choose another with --listen" in err, err


def test_serve_and_a_screen_at_their_defaults_run_side_by_side_on_one_machine(tmp_path):
    """serve with every listener that takes no port (--console, --program-page) and a screen with
    the config's defaults (iroh and the boards' sync on listen_port, the feed, the program page)
    on one machine: both run, and the screen takes the program from serve's default port."""
    from iroh_serve_cases import CAMP, _until, interrupt
    from pandascreen_host.cli import build_parser, main as host
    from pandascreen_host.serve import iroh_bind
    store, key = tmp_path / "f.db", tmp_path / "org.key"
    assert host(["import", CAMP, "--store", str(store), "--key", str(key)]) == 0
    serve_port = iroh_bind(build_parser().parse_args(["serve"]))[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host_tools")]))
    serve = subprocess.Popen([sys.executable, "-m", "pandascreen_host", "serve", "--store", str(store), "--key", str(key),
                              "--no-mdns", "--console", "--program-page"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in serve.stdout], daemon=True).start()
    screen = None
    try:
        listening, _ = _until(lines, lambda line: line.startswith("listening: node "), timeout=20)
        node_id = listening.split(" ")[2]
        cfg = {"festival_id": "slothcamp2031", "organisers": [node_id], "peers": ["%s@127.0.0.1:%d" % (node_id, serve_port)],
               "store": "screen.db", "key": "device.key", "render_interval": 0}
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        (tmp_path / "device.key").write_bytes(bytes(range(32)))
        os.chmod(str(tmp_path / "device.key"), 0o600)
        screen = subprocess.Popen([sys.executable, "-m", "pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                                   "--emulate", str(tmp_path / "screen.png")],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        _until(lines, lambda line: "synced, sent 8 operation(s)" in line, timeout=30)
        assert serve.poll() is None and screen.poll() is None
    finally:
        interrupt(screen, serve)
    said = screen.stdout.read() if screen is not None else ""
    assert "already in use" not in said and "Traceback" not in said, said[-2000:]


@pytest.mark.parametrize("key", [None, b"short"])
def test_a_screen_without_its_device_key_says_so_in_one_line(tmp_path, key):
    """A key file that is missing or is no key: one line naming it and what to do, exit 2; the
    screen ran on unreachable, "offline" for good."""
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()], "store": "screen.db",
           "listen_port": 0, "feed_port": 0, "program_page_port": 0,
           "peers": ["%s@127.0.0.1:9" % public_key(SEED).hex()]}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    if key is not None:
        (tmp_path / "device.key").write_bytes(key)
    code, err = _run(["pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                      "--emulate", str(tmp_path / "screen.png"), "--once"])
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert "device key %s" % (tmp_path / "device.key") in err and "pandascreen-host provision" in err, err
    # serving (its ports at their defaults): the same one line, before anything listens
    holder, port = _udp_held()
    holder.close()
    cfg = dict(cfg, listen_port=port)
    for name in ("feed_port", "program_page_port"):
        del cfg[name]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
    p = subprocess.run([sys.executable, "-m", "pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                        "--emulate", str(tmp_path / "screen.png")], capture_output=True, text=True, env=env,
                       timeout=40)
    assert p.returncode == 2 and (p.stdout + p.stderr).strip().count("\n") == 0, p.stdout + p.stderr


def test_a_screen_that_finds_its_peers_by_mdns_alone_does_not_run_deaf_without_its_device_key(tmp_path):
    """No peer configured (a provision without --peer): only iroh, found by mDNS, brings it the
    program, and iroh needs the key.  It ran on, saying "no peers" and "waiting for sync" for
    good; now the one line a node-id peer gets, exit 2."""
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()], "store": "screen.db",
           "listen_port": 0, "feed_port": 0, "program_page_port": 0, "peers": []}
    holder, port = _udp_held()
    holder.close()
    (tmp_path / "config.json").write_text(json.dumps(dict(cfg, listen_port=port)))
    code, err = _run(["pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                      "--emulate", str(tmp_path / "screen.png")])
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert "device key %s" % (tmp_path / "device.key") in err and "pandascreen-host provision" in err, err


def _screen_drawing(tmp_path, cfg, stderr):
    """The real app with ``cfg`` (emulated display), once it drew its first frame (bounded)."""
    import time
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
    p = subprocess.Popen([sys.executable, "-m", "pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                          "--emulate", str(tmp_path / "screen.png")], stdout=subprocess.PIPE, stderr=stderr,
                         text=True, env=env)
    deadline = time.monotonic() + 30
    while not (tmp_path / "screen.png").exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return p


def test_a_screen_with_plain_tcp_peers_only_runs_without_a_device_key(tmp_path):
    """No node-id peer: iroh is only for peers dialling in, and a screen without a key runs on
    plain TCP as it did (said in one line), rather than not starting."""
    import signal
    holder, port = _udp_held()
    holder.close()  # a free UDP port with a free TCP twin
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()], "store": "screen.db",
           "listen_port": port, "feed_port": 0, "program_page_port": 0, "peers": ["127.0.0.1:9"]}
    p = _screen_drawing(tmp_path, cfg, stderr=subprocess.STDOUT)
    try:
        assert p.poll() is None, p.stdout.read()
    finally:
        p.send_signal(signal.SIGINT)
        out = p.communicate(timeout=20)[0]
    assert p.returncode == 0 and "Traceback" not in out, out
    assert "iroh unavailable (cannot read the device key" in out, out


@pytest.mark.parametrize("first, second", [("SIGTERM", "SIGTERM"), ("SIGINT", "SIGINT"), ("SIGTERM", "SIGINT"),
                                           ("SIGHUP", "SIGTERM")])  # SIGHUP: the crew's SSH session dropped
def test_a_second_stop_signal_while_the_screen_stops_is_ignored(tmp_path, first, second):
    """Ctrl-C pressed twice, GNU timeout's TERM to the process and then to its group, a kill and
    then systemctl stop: the stop already under way (iroh's Close, mDNS's goodbye) is not cut
    short by a traceback."""
    import signal
    import time
    holder, port = _udp_held()
    holder.close()
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()], "store": "screen.db",
           "listen_port": port, "feed_port": 0, "program_page_port": 0}
    (tmp_path / "device.key").write_bytes(bytes(range(32)))
    os.chmod(str(tmp_path / "device.key"), 0o600)
    p = _screen_drawing(tmp_path, cfg, stderr=subprocess.PIPE)
    try:
        time.sleep(2.0)  # mDNS announcing
        assert p.poll() is None, p.communicate()
        p.send_signal(getattr(signal, first))
        time.sleep(0.1)  # the stop has begun
        p.send_signal(getattr(signal, second))
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0 and "Traceback" not in err, (p.returncode, err[-2000:])
