"""A UDP port for iroh that another program holds: the screen app and ``serve`` each say it in one
line naming the port and what changes it, and exit 2 -- never run on without iroh, never a
traceback.  Run by test_busy_udp.py inside a loopback-only namespace (iroh binds here); every wait
is bounded."""
import json
import os
import socket
import subprocess
import sys

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
