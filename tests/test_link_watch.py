"""The kernel's word that a link is back (node/link_watch.py), as a screen's network side starts it
(node/screen_network.py): a veth pair in a network namespace of the test's own (``unshare -rn``),
its far end taken down and up as the field test cuts a screen; and the node's answer to it (every
wanted peer due again at once)."""
import subprocess
import sys



CASE = r'''
import contextlib, subprocess
from pandascreen.node.poll import until
from pandascreen.node.screen_network import watch_links

def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, capture_output=True)

ip("link", "add", "near", "type", "veth", "peer", "name", "far")
ip("addr", "add", "10.99.0.1/24", "dev", "near")
ip("link", "set", "near", "up")
ip("link", "set", "far", "up")
backs = []

class Node:  # what the screen's network side hands the watch: the node's network_back
    def network_back(self):
        backs.append(1)

stack = contextlib.ExitStack()
watch = watch_links(Node(), stack)
try:
    ip("link", "set", "far", "down")   # the cut: near loses its carrier
    until(lambda: False, 0.5)
    quiet = len(backs)                 # a link going down is no news for the redials
    ip("link", "set", "far", "up")     # the heal
    ok = until(lambda: len(backs) > quiet, 5.0)
    print("down:", quiet, "up:", ok)
finally:
    stack.close()
print("stopped:", not watch._thread.is_alive())
'''


def _run_in_a_namespace(code):
    return subprocess.run(["unshare", "-rn", sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_a_link_that_comes_back_up_is_told_and_one_that_goes_down_is_not():
    out = _run_in_a_namespace(CASE)
    assert out.returncode == 0, out.stderr
    assert "down: 0 up: True" in out.stdout and "stopped: True" in out.stdout, out.stdout + out.stderr


def test_every_wanted_peer_is_due_again_when_the_link_is_back():
    """A cut screen's redials back off to 8 s and a dial begun in the cut waits for its QUIC
    timeout: with the kernel's word, the wanted peers are dialled again one per
    REDIAL_AFTER_HEAL, and a dial under way since before the heal is restarted."""
    import types

    from pandascreen.core.store import MemoryStore
    from pandascreen.core import operation
    from pandascreen.node import liveness
    from pandascreen.node.iroh_transport import IrohNode
    node = IrohNode(MemoryStore(), operation.festival_topic("linkfest"), bytes([5] * 32), reconnect=False)
    sub = node.subs[0]
    now = 1000.0
    waiting, dialling = liveness.Redial(now), liveness.Redial(now)
    for _ in range(4):
        waiting.failed(now)
    dialling.dialling(now - 5)
    node._wanted = {"a": {"peer": types.SimpleNamespace(node_ids=[b"a"]), "sub": sub, "redial": waiting},
                    "b": {"peer": types.SimpleNamespace(node_ids=[b"b"]), "sub": sub, "redial": dialling}}
    node._linked = lambda sub, peer: False
    node._redial_all_soon(now)
    assert waiting.due <= now + 2 * liveness.REDIAL_AFTER_HEAL
    assert dialling.dialling_since is None and dialling.due <= now + 2 * liveness.REDIAL_AFTER_HEAL
