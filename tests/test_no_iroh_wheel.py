"""A Pi screen where no iroh wheel loads (32-bit Raspberry Pi OS, musl) runs on its plain-TCP
peers; its node-id peers cannot be reached, which it says once at start, not as a raw codec error
at every sync round.  The missing wheel is a module named ``iroh`` that fails to import."""
import json
import os
import subprocess
import sys

from pandascreen.core.crypto import public_key
from pandascreen.testing import festival as demofest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_node_id_peers_are_said_unreachable_once_not_synced_with_as_host_names(tmp_path):
    fake = tmp_path / "noiroh"
    fake.mkdir()
    (fake / "iroh.py").write_text('raise ImportError("no iroh wheel for this platform")\n')
    org = public_key(bytes([9] * 32)).hex()
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [org], "store": "screen.db", "listen_port": 0,
           "feed_port": 0, "program_page_port": 0, "peers": ["%s@127.0.0.1:9" % org]}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "device.key").write_bytes(bytes(range(32)))
    os.chmod(str(tmp_path / "device.key"), 0o600)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake), os.path.join(ROOT, "firmware")]))
    p = subprocess.run([sys.executable, "-m", "pandascreen.node.app", "--config", str(tmp_path / "config.json"),
                        "--emulate", str(tmp_path / "screen.png"), "--once"], capture_output=True, text=True,
                       env=env, timeout=60)
    said = p.stdout + p.stderr
    assert p.returncode == 0 and "Traceback" not in said, said
    assert "iroh unavailable (the iroh package cannot be loaded" in said and "node-id peers cannot be reached" in said
    assert "idna" not in said and "sync with" not in said, said
