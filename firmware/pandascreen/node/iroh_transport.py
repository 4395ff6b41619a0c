"""A p2panda-net 0.7 sync peer over iroh QUIC (PyPI ``iroh``), live mode included.

Why this shape: it follows p2panda-net's sync actors (sync/actors/session.rs, manager.rs), so a
screen, the organiser's ``pandascreen-host serve`` and a Rust p2panda Node speak the same thing:

* one iroh endpoint per device; its secret key IS the device's Ed25519 seed, so the node id is
  the device's public key (the organiser's node id is the organiser key screens trust);
* ALPN = BLAKE3(b"p2panda/log_sync/v1" || network_id), 32 raw bytes (p2panda-net lib.rs
  ``hash_protocol_id_with_network_id``); relays and discovery off: peers are dialled at
  ``node_id@ip:port``;
* the initiator opens bi-stream 1 for the topic handshake (Topic, Done / Done) and bi-stream 2
  for the topic log sync (``core.sync.SyncSession`` with ``handshake=False, live=True``); the
  acceptor accepts any topic and then drops the connection when it does not sync that topic,
  as the Rust manager does;
* a node may sync more than one topic (``also``: the festival's fleet log, core/fleet.py, beside
  its schedule), each with its own store: one topic = one connection = one session, as in
  p2panda-net; ``sync(peer)`` dials the first topic and, once that synced, the others in the
  background;
* after the first sync the session stays open: new operations in the store (imported, published,
  or received from any other session: that is the relay) are pushed as ``Live`` to every live
  session, received ones are stored at once; ``Close`` is sent only when we end a live session.

Everything runs on one asyncio loop in a background thread, so callers (the screen's loop, the
host CLI) only see blocking, time-bounded calls and never wait on a dead peer: ``sync(peer)``
returns once the first sync is done (or fails within ``timeout``); live sessions and
reconnecting to wanted peers go on in the background.  How many peers a node keeps, when a
silent one counts as gone (a slow but alive one keeps its session), how redials back off and
how often a plain resync runs beside live mode: node/liveness.py.
"""

import asyncio
import logging
import random
import socket
import threading
import time

import iroh

from pandascreen.core import postcard
from pandascreen.core.crypto import blake3, signing_key
from pandascreen.core.errors import ConfigError, SyncError
from pandascreen.core.sync import ACCEPTOR, INITIATOR, SyncSession
from pandascreen.core.topic_handshake import TopicHandshake, short
from pandascreen.core.util import hexlify, unhexlify
from pandascreen.node import iroh_limits, liveness
from pandascreen.node.iroh_limits import StreamGuard, StreamRefused, discard

log = logging.getLogger("pandascreen.node.iroh")

LOG_SYNC_PROTOCOL_ID = b"p2panda/log_sync/v1"
# p2panda-net lib.rs DEFAULT_NETWORK_ID
DEFAULT_NETWORK_ID = bytes([
    247, 69, 248, 242, 132, 120, 159, 230, 98, 100, 214, 200, 78, 40, 79, 94, 174, 8, 12, 27, 84,
    195, 246, 159, 132, 240, 79, 208, 1, 43, 132, 118,
])

READ_CHUNK = 65536


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
    return raw


def _iroh_message(e):
    """The last, human part of an iroh error (its message carries a Rust backtrace-like chain)."""
    try:
        text = e.message()
    except Exception:
        text = str(e)
    text = (text or type(e).__name__).strip().splitlines()
    return text[-1].strip() if text else type(e).__name__


def explain_connect_error(e, peer):
    """One line saying what went wrong dialling ``peer``, in the user's terms."""
    msg = _iroh_message(e)
    if "doesn't support any known protocol" in msg or "no_application_protocol" in msg:
        return ("%s speaks iroh but not p2panda log sync on this network (ALPN mismatch): another "
                "application, or a p2panda node with another network id" % peer.addr)
    if "UnknownIssuer" in msg or "invalid peer certificate" in msg:
        return "the node at %s is not the node id we dialled (%s)" % (peer.addr, str(peer))
    return "cannot connect to %s: %s" % (peer, msg)


def _host_of(addr):
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
    return "%s:%d has no iroh endpoint, only a TCP service that is not a p2panda node" % (host, port)


def _relayable(store, ops):
    """With a festival group (core/auth.py) only what it still lets us relay, each log cut at
    its first refused operation (a gap would make the receiver refuse the rest anyway)."""
    group = getattr(store, "authorizer", None)
    may_relay = getattr(group, "may_relay", None)
    if may_relay is None:
        return ops
    out, refused = [], set()
    for op in ops:
        key = (op.public_key, op.log_id)
        if key in refused:
            continue
        if not may_relay(op):
            refused.add(key)
            continue
        out.append(op)
    return out


def _unheld(ops, heights):
    """The operations a peer's Have did not say it holds: a screen that joins while its peers
    already hold the program takes it in and must not push all of it back to each of them."""
    if not heights:
        return ops
    return [op for op in ops if (heights.get(op.public_key) or {}).get(op.log_id, -1) < op.seq_num]


class Subscription:
    """One topic a node syncs: its 32-byte topic, the store its log lives in (log id =
    BLAKE3(topic)), a label for the event lines (None for the festival's own topic)."""

    def __init__(self, topic, store, label=None):
        from pandascreen.core.operation import log_id_for_topic
        self.topic = bytes(topic)
        self.store = store
        self.log_id = log_id_for_topic(self.topic)
        self.label = label
        self.seen_version = None
        self.what = "of this festival" if label is None else "of the %s log" % label


class Link:
    """One sync session with one remote node (either direction) for one topic, as the node
    sees it; an incoming one learns its topic (``sub``) from the handshake."""

    def __init__(self, node, conn, role, remote_id, addr, sub=None):
        self.node = node
        self.sub = sub
        self.conn = conn
        self.role = role
        self.remote_id = remote_id
        self.addr = addr
        self.started = time.monotonic()
        self.session = None
        self.send = None
        self.recv = None
        self.wake = asyncio.Event()
        self.synced = asyncio.Event()
        self.cursor = None
        self.error = None
        self.ended = False
        self.ended_at = None
        self.handshake_done = False
        self.unsubscribed = False  # the peer dropped us after the handshake: not its topic
        self.last_progress = time.monotonic()
        self.last_heard = self.started  # the last byte from the peer (idle limit, eviction)
        self.guard = StreamGuard(conn, role)  # the streams the peer opens, policed
        self.live = None  # None: the node's setting; False: one plain sync (a resync)
        self.evicted = False
        self.end_reason = None  # why we ended a session that had no error (idle, lifetime)
        self._reported_have = False
        self._reported_sync = False

    @property
    def name(self):
        label = self.sub.label if self.sub is not None else None
        return "peer %s%s" % (hexlify(self.remote_id)[:16], " (%s)" % label if label else "")

    def status(self):
        s = self.session
        st = s.stats() if s is not None else {}
        st.update({"peer": hexlify(self.remote_id), "addr": self.addr, "role": self.role,
                   "topic": (self.sub.label or "festival") if self.sub is not None else None,
                   "live": bool(s is not None and s.in_live_mode and not self.ended),
                   "error": self.error})
        return st


class IrohNode:
    """A p2panda log sync node for one festival topic over iroh (see the module doc).

    ``also``: more topics to sync, ``(topic, store, label)`` each (the fleet log: its own store,
    guarded by core/fleet.FleetGuard); peers that do not sync one of them just drop that session.
    ``seed`` is the device's 32-byte Ed25519 seed (the endpoint's secret key).  ``bind`` is
    ``"ip:port"`` (``"127.0.0.1:0"`` in tests).  ``serve=False`` does not accept sessions.
    ``default_node_ids`` are tried for peers given without a node id.  ``on_change()`` is
    called from the node's thread whenever a session changed the festival store; ``say(line)`` gets one
    line per event (peer connected, what it holds, operations sent, errors).
    ``max_links``, ``max_per_address``, ``session_deadline``, ``live_idle``, ``live_lifetime``:
    what a peer can make the node hold (defaults and reasons in node/iroh_limits.py);
    ``dead_after``, ``max_peers``, ``resync_every`` (0: none): node/liveness.py.
    The stores must be safe to use from another thread (``SqliteStore`` is).
    """

    def __init__(self, store, topic, seed, bind="0.0.0.0:0", network_id=DEFAULT_NETWORK_ID,
                 serve=True, live=True, timeout=10.0, connect_timeout=10.0, dead_after=liveness.DEAD_AFTER,
                 default_node_ids=(), on_change=None, say=None, poll_interval=1.0,
                 max_links=iroh_limits.MAX_LINKS, reconnect=True, max_per_address=iroh_limits.MAX_PER_ADDRESS,
                 session_deadline=iroh_limits.SESSION_DEADLINE, live_idle=iroh_limits.LIVE_IDLE,
                 live_lifetime=iroh_limits.LIVE_LIFETIME, also=(), max_peers=liveness.MAX_PEERS,
                 resync_every=liveness.RESYNC_EVERY):
        self.subs = [Subscription(topic, store)] + [Subscription(*t) for t in also]
        if len(set(sub.topic for sub in self.subs)) != len(self.subs):
            raise ConfigError("a topic is given twice")
        self.store = store
        self.topic = self.subs[0].topic
        self.log_id = self.subs[0].log_id
        self.seed = bytes(seed)
        self.node_id_bytes = node_id_of(self.seed)
        self.node_id = hexlify(self.node_id_bytes)
        self.bind = bind
        self.alpn = sync_alpn(network_id)
        self.serve = serve
        self.live = live
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        # node ids cost nothing, so incoming sessions are limited per IP address (per topic: a
        # peer opens one session for each); the bounds and why: node/iroh_limits.py
        self.max_per_address = max_per_address
        self.session_deadline = session_deadline
        self.live_idle = live_idle
        self.live_lifetime = live_lifetime
        self.dead_after = dead_after
        self.default_node_ids = [bytes(k) for k in default_node_ids]
        self.on_change = on_change
        self.say = say or (lambda line: log.info("%s", line))
        self.poll_interval = poll_interval
        self.max_links = max_links
        self.max_peers = max_peers
        self.resync_every = resync_every
        self.reconnect = reconnect
        self.links = []
        self.errors = []
        self._wanted = {}  # (topic, str(PeerAddr)) -> {"spec", "peer", "sub", "redial" (liveness.Redial), "last_error"}
        self._dialling = set()
        self._no_topic = set()  # (topic, str(peer)): that peer dropped our session for that topic
        self._loop = None
        self._thread = None
        self._endpoint = None
        self._ready = threading.Event()
        self._start_error = None
        self._stopping = False
        self._tasks = set()

    # ------------------------------------------------------------------ thread-safe public API
    def start(self):
        """Bind the endpoint and start serving; raises ``SyncError`` when it cannot bind."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._thread_main, name="pandascreen-iroh", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise SyncError("the iroh endpoint did not start within 15 s")
        if self._start_error is not None:
            self._thread.join(5)
            self._thread = None
            raise SyncError(self._start_error)
        return self

    def addresses(self):
        """``ip:port`` strings this node can be dialled at (UDP)."""
        ep = self._endpoint
        if ep is None:
            return []
        addrs = list(ep.addr().direct_addresses())
        if not addrs:
            addrs = [a for a in ep.bound_sockets() if not a.startswith("[::]") and not a.startswith("0.0.0.0")]
        addrs.sort(key=lambda a: a.startswith("["))  # IPv4 first
        return addrs

    def ticket(self, addr=None):
        """``<node id>@ip:port``: what a screen's config lists as a peer."""
        return "%s@%s" % (self.node_id, addr or self.addresses()[0])

    def sync(self, peer, timeout=None, background=False):
        """Sync with ``peer`` (see ``parse_peer``) and stay live with it; blocking and bounded.

        Returns the session stats (``ops_new``, ``ops_sent``, ..., ``live``).  With a live
        session to that node already running, returns its stats at once.  Raises ``SyncError``.
        ``background=True`` (a screen's loop): once a peer was dialled, never wait for it again;
        the node keeps redialling it by itself, and this returns its live session's stats or
        raises at once with the last error.
        """
        timeout = self.timeout + self.connect_timeout if timeout is None else timeout
        fut = self._submit(self._sync(peer, timeout, background))
        try:
            return fut.result(timeout + 2)
        except SyncError:
            raise
        except Exception as e:  # concurrent.futures.TimeoutError and anything unexpected
            fut.cancel()
            raise SyncError("sync with %s failed: %s" % (peer, e or type(e).__name__))

    def notify(self):
        """The store changed (an import, a publish): push the new operations to live peers now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake_all)
            except RuntimeError:
                pass

    def status(self):
        """One dict per session (running and ended ones of the last minutes)."""
        if self._loop is None:
            return []
        return self._submit(self._status()).result(5)

    def stop(self, grace=1.0):
        """End live sessions with Close, close the endpoint, stop the thread (bounded)."""
        if self._thread is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._submit(self._shutdown(grace)).result(grace + 6)
            except Exception as e:
                log.warning("iroh node shutdown: %s", e)
            try:
                self._loop.call_soon_threadsafe(self._loop.stop)
            except RuntimeError:
                pass
        self._thread.join(5)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ loop thread
    def _submit(self, coro):
        if self._loop is None:
            raise SyncError("the iroh node is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _thread_main(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._bind())
        except Exception as e:
            self._start_error = "cannot start the iroh endpoint on %s: %s" % (self.bind, _iroh_message(e))
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            # cancelled tasks cancel the ones they own: let each round end (bounded) before the
            # loop closes, so no task is destroyed pending and no error goes unretrieved
            for _ in range(3):
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                if not pending:
                    break
                for t in pending:
                    t.cancel()
                    t.add_done_callback(iroh_limits.retrieve)
                try:
                    loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
                except Exception:
                    pass
            loop.close()

    async def _bind(self):
        opts = iroh.EndpointOptions(
            preset=iroh.preset_minimal(), relay_mode=iroh.RelayMode.disabled(), bind_addr=self.bind,
            alpns=[self.alpn] if self.serve else [], secret_key=self.seed)
        self._endpoint = await iroh.Endpoint.bind(opts)
        if self._endpoint.id().to_bytes() != self.node_id_bytes:
            raise SyncError("iroh derived another node id from the device key")
        for sub in self.subs:
            sub.seen_version = sub.store.version
        if self.serve:
            self._spawn(self._accept_loop())
        self._spawn(self._watch_store())
        if self.reconnect:
            self._spawn(self._reconnect_loop())
        if self.live and self.resync_every:
            self._spawn(self._resync_loop())

    def _spawn(self, coro):
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._task_done)
        return t

    def _task_done(self, task):
        """Every background task's error is retrieved and recorded (one line, no traceback)."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        e = task.exception()
        if e is not None:
            what = _iroh_message(e) if isinstance(e, iroh.IrohError) else e
            self._record_error("internal: %s: %s" % (type(e).__name__, what))

    def _event(self, line):
        try:
            self.say(line)
        except Exception:
            pass

    def _record_error(self, line):
        self._event(line)
        self.errors.append(line)
        del self.errors[:-20]

    async def _status(self):
        return [link.status() for link in self.links]

    def live_peers(self):
        """Node ids (hex) of the peers in a live session of the festival topic, however they were
        found (configured, mDNS, dialled in): the screen's footer counts them as heard."""
        festival = self.subs[0]
        return sorted(set(hexlify(l.remote_id) for l in list(self.links)
                          if l.sub is festival and not l.ended and l.session is not None and l.session.in_live_mode))

    def _live_links(self):
        return [l for l in self.links if not l.ended and l.session is not None and l.session.in_live_mode]

    def _wake_all(self):
        for link in self.links:
            if not link.ended:
                link.wake.set()

    def _changed(self, sub, n):
        self._wake_all()
        if self.on_change is not None and sub is self.subs[0]:
            try:
                self.on_change()
            except Exception as e:
                log.warning("on_change: %s", e)

    async def _watch_store(self):
        # Catches changes made outside the node (an import in this or another process).
        while not self._stopping:
            await asyncio.sleep(self.poll_interval)
            for sub in self.subs:
                try:
                    v = sub.store.version
                except Exception:
                    continue
                if v != sub.seen_version:
                    sub.seen_version = v
                    self._wake_all()

    # ---- dialling
    async def _sync(self, peer_spec, timeout, background=False):
        """Sync the festival topic with the peer (the caller waits for it), then the other
        topics in the background (their errors are recorded, never raised)."""
        try:
            peer = parse_peer(peer_spec, self.default_node_ids)
        except ConfigError as e:
            raise SyncError(str(e))
        st = await self._sync_topic(self.subs[0], peer_spec, peer, timeout, background)
        for sub in self.subs[1:]:
            key = (sub.topic, str(peer))
            if not st.get("already_live"):
                self._no_topic.discard(key)  # a new festival session (the peer restarted): ask again
            if key not in self._no_topic and key not in self._dialling and not self._linked(sub, peer):
                self._spawn(self._sync_quietly(sub, peer_spec, peer, timeout))
        return st

    def _linked(self, sub, peer):
        return any(not l.ended and l.sub is sub and l.remote_id in peer.node_ids for l in self.links)

    async def _sync_quietly(self, sub, peer_spec, peer, timeout):
        try:
            await self._sync_topic(sub, peer_spec, peer, timeout, background=True)
        except SyncError as e:
            if "redialling in the background" not in str(e):  # the redial says its own errors
                self._record_error("%s topic with %s: %s" % (sub.label, peer, e))

    async def _sync_topic(self, sub, peer_spec, peer, timeout, background=False, probe=True):
        for link in self.links:
            if (not link.ended and link.sub is sub and link.remote_id in peer.node_ids
                    and link.session is not None and link.session.in_live_mode):
                st = link.status()
                st["already_live"] = True
                return st
        for link in self.links:
            if (not link.ended and link.sub is sub and link.remote_id in peer.node_ids and link.role == INITIATOR
                    and not link.synced.is_set() and link.live is not False):
                # a sync with that peer is under way: wait for it rather than dial a second one
                end = time.monotonic() + timeout
                while not link.synced.is_set() and not link.ended and time.monotonic() < end:
                    await asyncio.sleep(0.25)
                if link.synced.is_set():
                    return link.status()
                if link.ended:
                    raise SyncError(link.error or "the session with %s ended before the sync finished" % peer)
                raise SyncError("sync with %s still under way; it goes on in the background" % peer)
        key = (sub.topic, str(peer))
        entry = self._wanted.get(key)
        if background and entry is not None:
            raise SyncError("not connected to %s, redialling in the background (last: %s)"
                            % (peer, entry.get("last_error") or "connecting"))
        if (self.live and self.reconnect and not self._stopping and entry is None
                and (set(peer.node_ids) & set(self.default_node_ids) or self._room_for(sub))):
            entry = self._wanted[key] = {"spec": peer_spec, "peer": peer, "sub": sub,
                                         "redial": liveness.Redial(time.monotonic())}
        try:
            return await self._dial(sub, peer, key, timeout, probe=probe)
        except SyncError as e:
            if entry is not None:
                entry["last_error"] = str(e)
            raise

    def _room_for(self, sub):
        """Keep at most ``max_peers`` wanted peers per topic (node/liveness.py says why): when
        full, one that is away makes room; when none is, the newcomer is dialled once, not kept."""
        mine = [k for k, e in self._wanted.items() if e["sub"] is sub
                and not set(e["peer"].node_ids) & set(self.default_node_ids)]  # organisers: always kept
        if len(mine) < self.max_peers:
            return True
        away = [k for k in mine if self._wanted[k].get("last_error") and not self._linked(sub, self._wanted[k]["peer"])]
        if not away:
            return False
        del self._wanted[away[0]]
        return True

    async def _dial(self, sub, peer, key, timeout, probe=True, live=None):
        self._dialling.add(key)
        try:
            conn, node_id = await self._connect(peer, probe)
        finally:
            self._dialling.discard(key)
        iroh_limits.limit_stream_credit(conn, INITIATOR)
        link = Link(self, conn, INITIATOR, node_id, peer.addr, sub)
        link.live = self.live if live is None else live
        self.links.append(link)  # before the task runs: the reconnect loop must see it
        task = self._spawn(self._run_link(link))
        waiter = asyncio.ensure_future(link.synced.wait())
        try:
            await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if link.synced.is_set():
            return link.status()
        if task.done():
            if link.unsubscribed and sub is not self.subs[0]:
                # a peer without that topic (older, or Rust): not again until its festival session is new
                self._wanted.pop(key, None)
                self._no_topic.add(key)
            raise SyncError(link.error or "the session with %s ended before the sync finished" % peer)
        if link.session is not None and time.monotonic() - link.last_progress < self.timeout:
            # a loaded peer sends slowly but sends: the caller stops waiting, the sync goes on
            # (bounded by the session's own progress timeout and deadline)
            raise SyncError("sync with %s still under way after %gs; it goes on in the background"
                            % (peer, timeout))
        self._abort(link, "no sync within %gs" % timeout)
        raise SyncError("sync with %s did not finish within %gs" % (peer, timeout))

    async def _connect(self, peer, probe=True):
        last = None
        for node_id in peer.node_ids:
            addr = iroh.EndpointAddr(iroh.EndpointId.from_bytes(node_id), None, [peer.addr])
            fut = asyncio.ensure_future(self._endpoint.connect(addr, self.alpn))
            try:
                done, _ = await asyncio.wait({fut}, timeout=self.connect_timeout)
            except asyncio.CancelledError:  # the caller gave up: the dial's own end is retrieved
                discard(fut)
                raise
            if not done:
                discard(fut)
                if not probe:  # a redial of a peer that is away: the first failure said why
                    raise SyncError("no iroh answer from %s within %gs" % (peer.addr, self.connect_timeout))
                why = await asyncio.get_running_loop().run_in_executor(None, probe_tcp, peer.host, peer.port)
                raise SyncError("no iroh answer from %s within %gs: %s" % (peer.addr, self.connect_timeout, why))
            try:
                return fut.result(), node_id
            except iroh.IrohError as e:
                last = explain_connect_error(e, PeerAddr([node_id], peer.host, peer.port))
                if "is not the node id" not in last:
                    break
        raise SyncError(last)

    async def _reconnect_loop(self):
        """Keep a live session with every wanted peer: redial with jittered backoff (liveness.Redial)."""
        while not self._stopping:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for key, entry in list(self._wanted.items()):
                peer, sub, redial = entry["peer"], entry["sub"], entry["redial"]
                if now < redial.due or key in self._dialling or self._linked(sub, peer):
                    continue
                redial.due = float("inf")  # until this dial ends
                self._dialling.add(key)
                self._spawn(self._redial(key, entry))

    async def _redial(self, key, entry):
        self._dialling.discard(key)
        before = entry.get("last_error")
        redial = entry["redial"]
        try:
            # the TCP probe only at the first failure: a peer away for long costs one QUIC dial per redial
            await self._sync_topic(entry["sub"], entry["spec"], entry["peer"], self.timeout + self.connect_timeout,
                                   probe=not before)
            redial.succeeded()
            redial.due = time.monotonic()  # live now; when the session ends, _ended sets the wait
            entry["last_error"] = None
        except Exception as e:
            redial.failed(time.monotonic())
            entry["last_error"] = str(e)
            if str(e).split(":")[0] != (before or "").split(":")[0]:  # say it once, not every redial
                self._record_error("reconnect to %s failed: %s" % (entry["peer"], e))
        finally:
            if redial.due == float("inf"):  # cancelled
                redial.failed(time.monotonic())

    async def _resync_loop(self):
        """Beside live mode: now and then one plain sync with one live peer of the festival
        topic, picked at random, so a live message lost on the way is repaired (node/liveness.py)."""
        sub = self.subs[0]
        while not self._stopping:
            await asyncio.sleep(liveness.resync_wait(every=self.resync_every))
            peers = {}
            for l in self._live_links():
                if l.sub is sub and l.live is not False:
                    peers[l.remote_id] = l.addr
            if not peers or self._stopping:
                continue
            node_id = random.choice(sorted(peers))
            try:
                peer = parse_peer("%s@%s" % (hexlify(node_id), peers[node_id]))
            except ConfigError:
                continue
            key = ("resync", sub.topic, str(peer))
            if key in self._dialling:
                continue
            try:
                st = await self._dial(sub, peer, key, self.timeout + self.connect_timeout, probe=False, live=False)
            except SyncError as e:
                self._event("resync with %s: %s" % (peer, e))
                continue
            if st.get("ops_new") or st.get("ops_sent"):
                self._event("resync with %s repaired what live mode had missed: received %d new, sent %d "
                            "operation(s)" % (peer, st.get("ops_new", 0), st.get("ops_sent", 0)))

    def _ended(self, link):
        """A session ended: its peer, when wanted, is redialled after a jittered wait."""
        if any(l is not link and l.sub is link.sub and l.remote_id == link.remote_id for l in self._live_links()):
            return  # another session with that peer is live (a resync ended, or a duplicate)
        now = time.monotonic()
        for entry in self._wanted.values():
            redial = entry["redial"]
            if entry["sub"] is not link.sub or link.remote_id not in entry["peer"].node_ids or redial.due == float("inf"):
                continue
            if now - link.started < 30:  # ended soon after it began: back off further
                redial.failed(now)
            else:
                redial.due = max(redial.due, now + liveness.jittered(redial.backoff))

    def _back(self, link, alone):
        """A session reached its sync: when its peer had been away, or we had no live peer
        (``alone``), the network is back, so the peers still waiting for a redial are due soon."""
        entry = next((e for e in self._wanted.values()
                      if e["sub"] is link.sub and link.remote_id in e["peer"].node_ids), None)
        if not alone and (entry is None or not entry.get("last_error")):
            return
        if entry is not None:
            entry["last_error"] = None
        now = time.monotonic()
        for e in self._wanted.values():
            if e is not entry and e["redial"].due != float("inf") and not self._linked(e["sub"], e["peer"]):
                e["redial"].healed(now)

    # ---- accepting
    async def _accept_loop(self):
        while not self._stopping:
            try:
                incoming = await self._endpoint.accept_next()
            except Exception as e:
                if self._stopping:
                    return
                self._record_error("accepting failed: %s" % _iroh_message(e))
                await asyncio.sleep(0.2)
                continue
            if incoming is None:
                return
            if self._stopping:
                try:
                    await incoming.refuse()
                except Exception:
                    pass
                continue
            self._spawn(self._accept(incoming))

    async def _accept(self, incoming):
        where = "?"
        try:
            remote = await incoming.remote_addr()
            where = str(getattr(remote, "addr", remote))
            accepting = await asyncio.wait_for(incoming.accept(), self.timeout)
            conn = await asyncio.wait_for(accepting.connect(), self.timeout)
        except iroh.IrohError as e:
            msg = _iroh_message(e)
            if "no_application_protocol" in msg or "known protocol" in msg:
                msg = "it asked for another protocol (not p2panda log sync on this network)"
            self._record_error("incoming connection from %s refused: %s" % (where, msg))
            return
        except asyncio.TimeoutError:
            self._record_error("incoming connection from %s: handshake timed out" % where)
            return
        remote_id = conn.remote_id().to_bytes()
        iroh_limits.limit_stream_credit(conn, ACCEPTOR)
        host = _host_of(where)
        running = [l for l in self.links if not l.ended and not l.evicted]
        incoming = [l for l in running if l.role == ACCEPTOR]
        same = len([l for l in incoming if _host_of(l.addr) == host])
        if same >= self.max_per_address * len(self.subs):
            self._record_error("peer %s from %s refused: %d sessions already running from that address"
                               % (hexlify(remote_id)[:16], where, same))
            conn.close(0, b"busy")
            return
        if len(running) >= self.max_links:
            victim = iroh_limits.choose_eviction(incoming, lambda l: _host_of(l.addr), host)
            if victim is None:
                self._record_error("peer %s from %s refused: %d sessions already running"
                                   % (hexlify(remote_id)[:16], where, self.max_links))
                conn.close(0, b"busy")
                return
            victim.evicted = True
            self._abort(victim, "evicted: the node is full (%d sessions) and %s holds the most of them"
                        % (self.max_links, _host_of(victim.addr)))
        link = Link(self, conn, ACCEPTOR, remote_id, where)
        await self._run_link(link)

    # ---- one session
    async def _run_link(self, link):
        link.started = time.monotonic()
        if link not in self.links:
            self.links.append(link)
        conn = link.conn
        self._event("%s connected (%s, %s)" % (link.name, "we dialled" if link.role == INITIATOR else "incoming",
                                                 link.addr))
        guard = asyncio.ensure_future(self._guard(link))
        try:
            await self._handshake(link)
            if link.ended:
                return
            if link.role == INITIATOR:
                bi = await conn.open_bi()
            else:
                bi = await self._bounded(link.guard.next_stream(), "the sync stream")
            link.send, link.recv = bi.send(), bi.recv()
            sub = link.sub
            link.session = SyncSession(sub.store, sub.log_id, link.role, topic=sub.topic, handshake=False,
                                       live=self.live if link.live is None else link.live,
                                       on_ingest=lambda n: self._changed(sub, n))
            link.session.start()
            link.cursor = link.session.start_version
            await self._pump(link)
            await self._delivered(link)
            self._event("%s: session ended (%s%s)" % (link.name, self._summary(link),
                                                       "; %s" % link.end_reason if link.end_reason else ""))
        except SyncError as e:
            link.error = link.error or str(e)  # ours first: we closed it (a refused stream, eviction)
            self._record_error("%s: %s" % (link.name, link.error))
        except iroh.IrohError as e:
            lost = self._lost(link, e)
            link.error = link.error or lost
            self._record_error("%s: %s" % (link.name, link.error))
        except asyncio.CancelledError:
            link.error = link.error or "cancelled"
            raise
        except Exception as e:  # one bad peer must never take the node down
            link.error = "unexpected %s: %s" % (type(e).__name__, e)
            self._record_error("%s: %s" % (link.name, link.error))
        finally:
            discard(guard)
            _, early_read = link.guard.take_early()
            if early_read is not None:
                discard(early_read)
            link.ended = True
            link.ended_at = time.monotonic()
            if link.sub is not None and link.session is not None and link.live is not False:
                self._ended(link)
            try:
                conn.close(0, b"sync protocol %s completed" % (b"initiate" if link.role == INITIATOR else b"accept"))
            except Exception:
                pass
            ended = [l for l in self.links if l.ended]
            self.links = [l for l in self.links if not l.ended] + ended[-10:]

    async def _delivered(self, link, grace=1.0):
        """Wait, at most ``grace`` seconds, until the peer has read our finished stream to its end
        (quinn's ``stopped``): the connection is closed next, and a close discards what QUIC has
        not sent yet, so under load the peer's read failed instead of ending (a scripted
        p2panda-net acceptor in tests/iroh_cases.py saw it)."""
        try:
            await asyncio.wait_for(link.send.stopped(), grace)
        except Exception:  # timed out, or the peer already closed: nothing more to deliver
            pass

    def _lost(self, link, e):
        msg = _iroh_message(e)
        s = link.session
        if not link.handshake_done:
            return ("connection lost during the topic handshake (%s); a p2panda 0.6 node ends it "
                    "like this, it speaks CBOR on the same ALPN" % msg)
        if link.role == INITIATOR and (s is None or s.remote_heights is None):
            link.unsubscribed = True
            return ("connection lost right after the topic handshake (%s); a p2panda node drops the "
                    "connection like this when it does not sync %s" % (
                        msg, "this festival's topic" if link.sub.label is None else "the %s topic" % link.sub.label))
        if s is None:
            return "connection lost before the log sync started: %s" % msg
        return "connection lost %s: %s" % (s.where(), msg)

    async def _guard(self, link):
        """Police the streams the peer opens (iroh_limits.StreamGuard); a refused one ends the
        link with its reason."""
        try:
            await link.guard.run()
        except StreamRefused as e:
            why = "closed: it %s" % e
            self._abort(link, why)
            link.guard.streams.put_nowait(SyncError(why))  # for the handshake or session waiting on one

    async def _bounded(self, aw, what):
        try:
            return await asyncio.wait_for(aw, self.timeout)
        except asyncio.TimeoutError:
            raise SyncError("no %s from the peer within %gs" % (what, self.timeout))

    async def _handshake(self, link):
        conn = link.conn
        if link.role == INITIATOR:
            bi = await self._bounded(conn.open_bi(), "handshake stream")
            hs = TopicHandshake(INITIATOR, topic=link.sub.topic)
        else:
            bi = await self._bounded(link.guard.next_stream(), "handshake stream")
            hs = TopicHandshake(ACCEPTOR)
        send, recv = bi.send(), bi.recv()
        reader = postcard.FrameReader(iroh_limits.HANDSHAKE_READ)
        hs.start()
        deadline = time.monotonic() + self.timeout
        while True:
            out = hs.take()
            if out:
                await self._bounded(send.write_all(out), "progress writing the handshake")
            if hs.done:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise SyncError("topic handshake timed out after %gs" % self.timeout)
            try:
                data = await asyncio.wait_for(recv.read(iroh_limits.HANDSHAKE_READ), left)
            except asyncio.TimeoutError:
                raise SyncError("topic handshake timed out after %gs" % self.timeout)
            if not data:
                raise SyncError("peer ended the topic handshake early; a p2panda 0.6 node does this "
                                "(same ALPN, CBOR messages), so does a node not syncing our topic")
            try:
                frames = reader.feed(data)
            except postcard.FrameError as e:
                raise SyncError("peer sent a broken handshake frame: %s" % e)
            for payload in frames:
                hs.handle(payload)
            # set before our answer is written: the peer opens the sync stream only after it
            link.guard.answered = hs.topic is not None
        link.handshake_done = True
        link.guard.handshake_over.set()
        try:
            await send.finish()
        except Exception:
            pass
        if link.role == ACCEPTOR:
            link.sub = next((sub for sub in self.subs if sub.topic == hs.topic), None)
        if link.sub is None or hs.topic != link.sub.topic:
            # Rust's manager: not subscribed to that topic -> drop the connection, no message.
            self._event("%s asked for topic %s, which this node does not sync: dropped"
                        % (link.name, short(hs.topic)))
            link.ended = True
        elif not getattr(link.sub.store.authorizer, "may_sync", lambda key: True)(link.remote_id):
            # the topic's guard names who may sync it (core/fleet.FleetGuard: the festival group)
            link.error = "%s is not in the festival group: the %s topic is not synced with it" % (
                link.name, link.sub.label or "festival")
            self._event(link.error)
            link.ended = link.unsubscribed = True

    async def _pump(self, link):
        writer = asyncio.ensure_future(self._writer(link))
        reader = asyncio.ensure_future(self._reader(link))
        watchdog = asyncio.ensure_future(self._watchdog(link))
        tasks = {writer, reader, watchdog}
        try:
            while reader in tasks and writer in tasks:
                done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    if t.exception() is not None:
                        raise t.exception()
            # One side is over: give the other a moment to flush (our Close, a final read).
            link.wake.set()
            rest = {t for t in (writer, reader) if not t.done()}
            if rest:
                await asyncio.wait(rest, timeout=1.0)
        finally:
            for t in (writer, reader, watchdog):
                discard(t)  # the first error was raised above; the others are retrieved here

    async def _writer(self, link):
        s = link.session
        finished_stream = False
        while True:
            link.wake.clear()
            if s.in_live_mode:
                self._pull(link)
            out = s.outgoing()
            if out:
                await self._bounded(link.send.write_all(out), "progress sending (the peer stopped reading)")
                link.last_progress = time.monotonic()
                continue
            self._report(link)
            if s.finished:
                break
            if s.done_sending:
                if not finished_stream:
                    finished_stream = True
                    try:
                        await link.send.finish()
                    except Exception:
                        pass
            await link.wake.wait()
        if not finished_stream:
            try:
                await link.send.finish()
            except Exception:
                pass

    async def _reader(self, link):
        s = link.session
        early, pending = link.guard.take_early()  # what the guard read before the handshake ended
        try:
            if early:
                link.last_progress = link.last_heard = time.monotonic()
                s.feed(early)
                link.wake.set()
            while not s.finished:
                if pending is None:
                    pending = asyncio.ensure_future(link.recv.read(READ_CHUNK))
                # live mode has no deadline to check: sleep until the peer sends (no wake-ups)
                done, _ = await asyncio.wait({pending}, timeout=None if s.in_live_mode else 0.5)
                if not done:
                    if not s.in_live_mode and time.monotonic() - link.last_progress > self.timeout:
                        raise SyncError("timed out after %gs without progress %s" % (self.timeout, s.where()))
                    if not s.complete and time.monotonic() - link.started > self.session_deadline:
                        raise SyncError("did not finish the sync within the session deadline of %gs %s"
                                        % (self.session_deadline, s.where()))
                    if s.complete and not s.in_live_mode and time.monotonic() - link.last_progress > 2:
                        return  # everything exchanged, our Close is out; theirs is a courtesy
                    continue
                fut, pending = pending, None
                try:
                    data = fut.result()
                except iroh.IrohError as e:
                    if s.finished or s.done_sending:
                        return
                    if s.in_live_mode:
                        raise SyncError("peer went away in live mode (%s); everything received is stored"
                                        % _iroh_message(e))
                    raise
                link.last_progress = link.last_heard = time.monotonic()
                if not data:
                    s.eof()
                    link.wake.set()
                    return
                s.feed(data)
                link.wake.set()
        finally:
            if pending is not None:
                discard(pending)

    async def _watchdog(self, link):
        """Notice a peer that vanished without closing: ours go out, nothing comes back for
        ``dead_after`` seconds (node/liveness.py: a slow but alive peer keeps its session).
        And end an incoming live session at its idle or lifetime limit (iroh_limits)."""
        conn = link.conn
        silence = liveness.Silence(self.dead_after)
        closing_since = None
        tick = min(2.0, self.dead_after / 4.0)  # a few looks per dead_after, no busier
        while not link.ended:
            await asyncio.sleep(tick)
            if closing_since is None:
                why = self._over_limit(link)
                if why:
                    closing_since = time.monotonic()
                    link.end_reason = why
                    link.session.close()
                    link.wake.set()
            elif time.monotonic() - closing_since > iroh_limits.CLOSE_GRACE:
                raise SyncError("%s, and the peer did not answer our Close" % link.end_reason)
            try:
                st = conn.stats()
            except Exception:
                return
            gone = silence.see(st.udp_tx_datagrams, st.udp_rx_datagrams, time.monotonic())
            if gone:
                raise SyncError(gone)

    def _over_limit(self, link):
        """Why an incoming live session must end now (None while it may go on)."""
        s = link.session
        if link.role != ACCEPTOR or s is None or not s.in_live_mode:
            return None
        now = time.monotonic()
        # a festival can be quiet for hours: the idle limit frees slots only when they run short
        if now - link.last_heard > self.live_idle and self._crowded():
            return "closed: nothing from the peer for %.0fs (limit %gs while the node is over half full)" % (
                now - link.last_heard, self.live_idle)
        if now - link.started > self.live_lifetime:
            return "closed at the live session lifetime of %gs; the peer may redial" % self.live_lifetime
        return None

    def _dedupe(self, link):
        """Two screens that found each other dial each other at once: two live sessions of one
        topic between the same pair carry every change twice (and relay it twice).  Both sides
        keep the one the node with the smaller id dialled; the other node, which dialled the
        second one, ends it with Close (one side only, so the two Closes never cross)."""
        twins = [l for l in self._live_links() if l.sub is link.sub and l.remote_id == link.remote_id
                 and l.live is not False]
        if len(twins) < 2:
            return
        keep_role = INITIATOR if self.node_id_bytes < link.remote_id else ACCEPTOR
        keep = [l for l in twins if l.role == keep_role][:1] or twins[:1]
        for l in twins:
            if l is not keep[0] and l.role == INITIATOR and l.end_reason is None:
                l.end_reason = "a second live session with that peer (both dialled at once); the other one stays"
                # after this turn of the writer (which may be reporting right now): Close is then sent
                # before the stream ends
                asyncio.get_running_loop().call_soon(self._close_live, l)

    @staticmethod
    def _close_live(link):
        if not link.ended and link.session is not None:
            link.session.close()
            link.wake.set()

    def _crowded(self):
        """At least half of ``max_links`` sessions run (iroh_limits.LIVE_IDLE applies then)."""
        return sum(1 for l in self.links if not l.ended) * 2 >= self.max_links

    def _pull(self, link):
        """Queue Live for what the store got since this link last looked."""
        store, log_id = link.sub.store, link.sub.log_id
        v = store.version
        if v == link.cursor:
            return
        ops = store.operations_since(link.cursor, log_id=log_id)
        if ops is None:  # a prune since (every fleet status prunes): offer the whole log, the dedup set filters
            ops = list(store.all_operations(log_id))
        link.cursor = v
        ops = _unheld(_relayable(store, ops), link.session.remote_heights)
        n = link.session.push(ops)
        if n:
            self._event("%s: sent %d live operation(s)" % (link.name, n))

    def _report(self, link):
        s = link.session
        if not link._reported_have and s.remote_heights is not None:
            link._reported_have = True
            h = s.remote_heights
            n = sum(h[pk][lid] + 1 for pk in h for lid in h[pk])
            self._event("%s holds %d operation(s) %s from %d author(s)" % (link.name, n, link.sub.what, len(h)))
        if not link._reported_sync and s.complete:
            link._reported_sync = True
            # only the peer's Close (or its next Have, reported above as
            # "holds") confirms what it stored; a live session has no Close after the sync
            unconfirmed = " (unconfirmed until its next Have)" if s.ops_sent and not s.confirmed else ""
            skipped = ("; skipped %d operation(s) of %d forked log(s)" % (s.ops_skipped, len(s._skipped))
                       if s.ops_skipped else "")
            self._event("%s: synced, sent %d operation(s)%s, received %d (%d new)%s%s"
                        % (link.name, s.ops_sent, unconfirmed, s.ops_received, s.ops_new, skipped,
                           "; live" if s.in_live_mode else ""))
            link.synced.set()
            if s.in_live_mode:
                self._back(link, alone=not any(l is not link and l.sub is link.sub for l in self._live_links()))
                self._dedupe(link)

    def _summary(self, link):
        s = link.session
        if s is None:
            return "no sync"
        return "sent %d + %d live, received %d + %d live" % (s.ops_sent, s.live_sent, s.ops_received,
                                                             s.live_received)

    def _abort(self, link, why):
        link.error = link.error or why
        try:
            link.conn.close(1, why.encode()[:100])
        except Exception:
            pass

    async def _shutdown(self, grace):
        self._stopping = True
        self._wanted.clear()
        try:
            self._endpoint.set_alpns([])  # refuse new sessions while the live ones say Close
        except Exception:
            pass
        for link in self.links:
            if not link.ended and link.session is not None:
                link.session.close()
                link.wake.set()
        end = time.monotonic() + grace
        while time.monotonic() < end and any(not l.ended for l in self.links):
            await asyncio.sleep(0.05)
        for link in self.links:
            if not link.ended:
                self._abort(link, "node stopping")
        try:
            # bounded: iroh waits for closing connections to drain (up to ~3 s after a failed dial)
            await asyncio.wait_for(self._endpoint.close(), 0.3)
        except Exception:
            pass
        # drop every handle so iroh frees the UDP sockets (a restart may bind the same port)
        self._endpoint = None
        for link in self.links:
            link.conn = link.send = link.recv = None
            link.guard.drop()
        import gc
        gc.collect()


def device_node(cfg, store, config_dir, serve=True, on_change=None, say=None, also=()):
    """The Pi screen's iroh node from its config: the device key (``cfg["key"]``, relative to
    the config's folder), UDP ``listen_port`` (0 = any port; serve only when > 0), the
    organisers' keys as node ids for peers written without one; ``also``: more topics (the
    fleet log, ``node/fleet_report.subscription``).

    Returns ``(node, None)`` started, or ``(None, why)`` when iroh cannot run here (no wheel
    for this platform, no key), so the caller can fall back to plain TCP and say so.
    """
    import os
    path = cfg.get("key") or "device.key"
    if not os.path.isabs(path):
        path = os.path.join(config_dir, path)
    try:
        with open(path, "rb") as fh:
            seed = fh.read(33)
    except OSError as e:
        return None, "cannot read the device key %s: %s" % (path, e.strerror or e)
    if len(seed) != 32:
        return None, "the device key %s is not a 32-byte Ed25519 seed" % path
    from pandascreen.core.operation import festival_topic
    port = cfg.get("listen_port") or 0
    node = IrohNode(store, festival_topic(cfg["festival_id"]), seed, bind="0.0.0.0:%d" % port,
                    serve=bool(serve and port), default_node_ids=cfg.get("organiser_keys") or (),
                    on_change=on_change, say=say, also=also)
    try:
        node.start()
    except SyncError as e:
        return None, str(e)
    return node, None
