"""Where and what an iroh peer is: the p2panda log sync ALPN, node ids, ``<node id>@host:port``
peers, and one line that says why a dial failed.

Why its own module: the config, the CLI and the tests parse peers and word dial errors without
an endpoint; nothing here holds a connection (node/iroh_transport.py runs the node).
"""

import socket

from pandascreen.core import postcard
from pandascreen.core.crypto import blake3, signing_key
from pandascreen.core.errors import ConfigError
from pandascreen.core.util import hexlify, unhexlify

LOG_SYNC_PROTOCOL_ID = b"p2panda/log_sync/v1"
# p2panda-net lib.rs DEFAULT_NETWORK_ID
DEFAULT_NETWORK_ID = bytes([
    247, 69, 248, 242, 132, 120, 159, 230, 98, 100, 214, 200, 78, 40, 79, 94, 174, 8, 12, 27, 84,
    195, 246, 159, 132, 240, 79, 208, 1, 43, 132, 118,
])


def sync_alpn(network_id=DEFAULT_NETWORK_ID):
    """The log sync ALPN of a p2panda network: BLAKE3(protocol id || network id)."""
    network_id = bytes(network_id)
    if len(network_id) != 32:
        raise ConfigError("a p2panda network id is 32 bytes, got %d" % len(network_id))
    return blake3(LOG_SYNC_PROTOCOL_ID + network_id)


def node_id_of(seed):
    """Node id (= Ed25519 public key) of a device seed."""
    return signing_key(seed).public_key


class PeerAddr:
    """Where to dial a peer: its node id(s) to try and one ``host:port`` (UDP)."""

    def __init__(self, node_ids, host, port):
        self.node_ids = [bytes(n) for n in node_ids]
        self.host = host
        self.port = port

    @property
    def addr(self):
        return ("[%s]:%d" if ":" in self.host else "%s:%d") % (self.host, self.port)

    @property
    def who(self):
        """What names the peer whatever its address: its node id when one is given (a node
        announces several addresses, and iroh reaches it by any it knows), else the address."""
        return hexlify(self.node_ids[0]) if len(self.node_ids) == 1 else self.addr

    def __str__(self):
        if len(self.node_ids) == 1:
            return "%s@%s" % (hexlify(self.node_ids[0])[:16], self.addr)
        return self.addr


def parse_peer(peer, default_node_ids=()):
    """``"<64 hex node id>@host:port"``, ``"host:port"`` or a ``(host, port)`` tuple.

    Without a node id the ``default_node_ids`` (the organisers' keys: the organiser's node id
    is its public key) are tried in turn.  Raises ``ConfigError``.
    """
    node_ids = []
    if isinstance(peer, tuple):
        host, port = peer
        if "@" in host:
            hex_id, _, host = host.partition("@")
            node_ids = [_parse_node_id(hex_id, peer)]
    else:
        text = str(peer)
        if "@" in text:
            hex_id, _, text = text.partition("@")
            node_ids = [_parse_node_id(hex_id, peer)]
        host, _, port = text.rpartition(":")
        host = host.strip("[]")
        try:
            port = int(port)
        except ValueError:
            raise ConfigError("peer %r: the port is not a number" % (peer,))
    if not host or not 0 < int(port) < 65536:
        raise ConfigError("peer %r must look like <node id>@host:port" % (peer,))
    if not node_ids:
        node_ids = list(default_node_ids)
    if not node_ids:
        raise ConfigError("peer %r has no node id (write it as <64 hex node id>@%s:%s)" % (peer, host, port))
    return PeerAddr(node_ids, host, int(port))


def _parse_node_id(text, peer):
    try:
        raw = unhexlify(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigError("peer %r: the node id must be 64 hex characters" % (peer,))
    try:
        import iroh  # a screen's node loads it anyway; it reads node ids as the dial will
    except ImportError:  # a machine without iroh's binding dials no node id
        return raw
    try:
        iroh.EndpointId.from_bytes(raw)
    except iroh.IrohError:
        raise ConfigError("peer %r: the node id is not an Ed25519 public key (copy it from the peer's "
                          "\"listening: node ...\" line)" % (peer,))
    return raw


def iroh_message(e):
    """The last, human part of an iroh error (its message carries a Rust backtrace-like chain)."""
    try:
        text = e.message()
    except Exception:
        text = str(e)
    text = (text or type(e).__name__).strip().splitlines()
    return text[-1].strip() if text else type(e).__name__


def explain_connect_error(e, peer):
    """One line saying what went wrong dialling ``peer``, in the user's terms."""
    msg = iroh_message(e)
    if "doesn't support any known protocol" in msg or "no_application_protocol" in msg:
        return ("%s speaks iroh but not p2panda log sync on this network (ALPN mismatch): another "
                "application, or a p2panda node with another network id" % peer.addr)
    if "UnknownIssuer" in msg or "invalid peer certificate" in msg:
        return "the node at %s is not the node id we dialled (%s)" % (peer.addr, str(peer))
    return "cannot connect to %s: %s" % (peer, msg)


def host_of(addr):
    """The IP of "ip:port" / "[v6]:port" (the whole string when it has no port)."""
    a = str(addr)
    if a.startswith("["):
        return a[1:].split("]")[0]
    if a.count(":") == 1:
        return a.split(":")[0]
    return a


def probe_tcp(host, port, timeout=1.0):
    """Why did QUIC get no answer?  Look at the same port over TCP (bounded, loopback in tests)."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return "nothing answers on %s:%d (QUIC or TCP): is the peer running, is the address right?" % (host, port)
    try:
        sock.settimeout(timeout)
        try:
            sock.sendall(postcard.frame_handshake(("topic", bytes(32))))
            data = sock.recv(64)
        except OSError:
            data = b""
    finally:
        sock.close()
    what = postcard.guess_foreign(data) if data else None
    if what:
        return "%s:%d has no iroh endpoint; over TCP it looks like %s" % (host, port, what)
    if data[:5] == postcard.frame_handshake(("done",)):
        return ("%s:%d is a plain-TCP pandascreen peer (the MicroPython transport), not an iroh "
                "node" % (host, port))
    # a screen's plain-TCP sync ends a probe's handshake (a topic of zeros) this way too: its iroh
    # endpoint on the same port may be there and only slow to answer
    return ("%s:%d has a TCP service that ended the probe without a word (a screen's plain-TCP sync "
            "does): the peer may be up with its iroh endpoint busy, or UDP may be blocked on the way"
            % (host, port))
