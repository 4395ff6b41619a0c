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
  or received from any other session: that is the relay) are pushed as ``Live`` to a few live
  sessions and announced to the others by a plain log-sync round (node/iroh_relay.py says which
  and how that maps to iroh-gossip), received ones are stored at once; ``Close`` is sent only
  when we end a live session.

Everything runs on one asyncio loop in a background thread, so callers (the screen's loop, the
host CLI) only see blocking, time-bounded calls and never wait on a dead peer: ``sync(peer)``
returns once the first sync is done (or fails within ``timeout``); live sessions and
reconnecting to wanted peers go on in the background.  How many peers a node keeps, when a
silent one counts as gone (a slow but alive one keeps its session), how redials back off and
how often a plain resync runs beside live mode: node/liveness.py.

This module is the node itself (its thread, loop, endpoint, the public calls); its other jobs
are one module each, mixed into ``IrohNode``: addresses and dial errors (node/iroh_address.py),
the links it holds and admits (node/iroh_link.py), one session (node/iroh_session.py), the peers
it keeps, redials and resyncs with (node/iroh_peers.py), what it relays to whom (node/iroh_relay.py).
"""

import asyncio
import logging
import threading
import time

import iroh

from pandascreen.core.errors import ConfigError, SyncError
from pandascreen.core.util import hexlify
from pandascreen.node import iroh_backtraces, iroh_ffi_bytes, iroh_limits, liveness
from pandascreen.node.iroh_address import DEFAULT_NETWORK_ID, iroh_message, node_id_of, sync_alpn
from pandascreen.node.iroh_link import LinkBook, Subscription
from pandascreen.node.iroh_peers import PeerKeeper
from pandascreen.node.iroh_relay import Relayer, brings_a_change
from pandascreen.node.iroh_session import SessionRunner, pulling
from pandascreen.node.iroh_topics import TopicFollower
from pandascreen.node.log_repeats import Repeats

log = logging.getLogger("pandascreen.node.iroh")
iroh_ffi_bytes.install()  # bytes to iroh in one copy (the module says why)
iroh_backtraces.library_backtraces_off()  # no backtrace symbolized per iroh error (the module says why)
# a screen's node looks at its stores this often (seconds): its own loop (node/app.py) and a
# phone's publish call notify() when they wrote, so the look only catches the rare other writer
# (a plain-TCP sync served to a peer); a laptop keeps the one-second default
SCREEN_STORE_LOOK = 10.0


class IrohNode(PeerKeeper, TopicFollower, LinkBook, SessionRunner, Relayer):
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
    ``dead_after``, ``max_peers``, ``resync_every`` (0: none), ``max_linked`` (an organiser's
    bound, None: none): node/liveness.py.
    The stores must be safe to use from another thread (``SqliteStore`` is).
    """

    def __init__(self, store, topic, seed, bind="0.0.0.0:0", network_id=DEFAULT_NETWORK_ID,
                 serve=True, live=True, timeout=10.0, connect_timeout=10.0, dead_after=liveness.DEAD_AFTER,
                 default_node_ids=(), on_change=None, say=None, poll_interval=1.0,
                 max_links=iroh_limits.MAX_LINKS, reconnect=True, max_per_address=iroh_limits.MAX_PER_ADDRESS,
                 session_deadline=iroh_limits.SESSION_DEADLINE, live_idle=iroh_limits.LIVE_IDLE,
                 live_lifetime=iroh_limits.LIVE_LIFETIME, also=(), max_peers=liveness.MAX_PEERS,
                 resync_every=liveness.RESYNC_EVERY, max_linked=None):
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
        self._init_places(max_linked)
        self.links = []
        self.errors = []
        self._errors_said = Repeats(self._event)
        # (topic, PeerAddr.who) -> {"spec", "peer", "sub", "redial" (liveness.Redial), "last_error", "task" (its redial)}
        self._wanted = {}
        self._redial_wake = None  # set: the reconnect loop looks at the redials again (node/iroh_peers.py)
        self._dialling = set()
        self._no_topic = {}  # (topic, PeerAddr.who) -> when that peer dropped our session for that topic
        self._loop = None
        self._thread = None
        self._endpoint = None
        self._ready = threading.Event()
        self._start_error = None
        self._stopping = False
        self._tasks = set()
        self._owed = {sub: set() for sub in self.subs}  # live sessions owed an announcement round
        self._change_owed = False  # a change (not only a backlog) is owed a round (node/iroh_relay.py)
        self.reachable = set()  # node ids we dialled once: they serve, so an announcement round reaches them
        self._announce = None  # set: a burst of new operations owes rounds (node/iroh_relay.py)

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
        self._listen_to_rights()
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
            raise SyncError("sync with %s failed: %s" % (peer, str(e) or type(e).__name__))

    def notify(self):
        """The store changed (an import, a publish): push the new operations to live peers now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._store_changed)
            except RuntimeError:
                pass

    def _store_changed(self):
        self._catch_up_group()
        self._wake_all()
        self._tell_spares()

    def _catch_up_group(self):
        """The festival group learns what another program wrote into the store, before the node
        pushes it: a screen that got a ``group add`` first dialled the fleet topic of a laptop
        that did not know it yet, and was refused."""
        catch_up = getattr(self.subs[0].store, "catch_up_group", None)
        try:
            changed = catch_up is not None and catch_up()
        except Exception as e:  # a store in trouble: its own errors are said where it writes
            self._record_error("internal: the group's catch-up: %s" % e)
            return
        if changed:
            self._event("the festival group changed (another program wrote to the store): in effect now")

    def catching_up(self):
        """Whether a sync is pulling a backlog of the festival's log now: its peer's ``PreSync``
        announced more than a change (node/iroh_relay.py ``brings_a_change``) and operations
        still arrive.  The screen's loop asks from its own thread (a look at the links, no
        lock): it draws less often meanwhile (node/app.py ``BACKLOG_FRAME_GAP``)."""
        now = time.monotonic()
        for link in list(self.links):
            s = link.session  # set once by the iroh thread, never unset: None until then
            if (s is not None and link.sub is self.subs[0] and pulling(link, now)
                    and s.remote_total_ops is not None and not brings_a_change(s)):
                return True
        return False

    def status(self):
        """One dict per session (running and ended ones of the last minutes)."""
        if self._loop is None:
            return []
        return self._submit(self._status()).result(5)

    def stop(self, grace=1.0):
        """End live sessions with Close, close the endpoint, stop the thread (bounded)."""
        if self._thread is None:
            return
        self._listen_to_rights(False)
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

    def _submit(self, coro):
        """Run ``coro`` on the node's loop; a node that stopped (a caller in another thread, such
        as discovery, racing ``stop``) closes it unrun: SyncError, no never-awaited coroutine."""
        loop = self._loop
        try:
            if loop is None or loop.is_closed():
                raise RuntimeError
            return asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:
            coro.close()
            raise SyncError("the iroh node is not running")

    def _thread_main(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._bind())
        except Exception as e:
            self._start_error = "cannot start the iroh endpoint on %s: %s" % (self.bind, iroh_message(e))
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
        if self.live:
            self._announce = asyncio.Event()
            self._spawn(self._announce_loop())

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
            what = iroh_message(e) if isinstance(e, iroh.IrohError) else e
            self._record_error("internal: %s: %s" % (type(e).__name__, what))

    def _event(self, line):
        try:
            self.say(line)
        except Exception:
            pass

    def _record_error(self, line):
        self.errors.append(line)
        del self.errors[:-20]
        self._errors_said(line)  # one like it a minute (node/log_repeats.py); ``errors`` keeps each

    def _changed(self, sub, n, link=None):
        if link is not None and link.session is not None and not link.session.in_live_mode:
            self._synced_in(sub, link)  # a sync brought them (node/iroh_relay.py: pushed, or a backlog announced)
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
                    if sub is self.subs[0]:
                        self._store_changed()
                    else:
                        self._wake_all()

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

    Returns ``(node, None)`` started, or ``(None, why)`` when iroh cannot run here, so the
    caller can fall back to plain TCP and say so.  A device key that is missing or not a key
    raises ConfigError: a screen with node-id peers would run on unreachable, "offline" for good.
    """
    from pandascreen.core.operation import festival_topic
    from pandascreen.node.device_key import device_seed
    seed = device_seed(cfg, config_dir)
    port = cfg.get("listen_port") or 0
    node = IrohNode(store, festival_topic(cfg["festival_id"]), seed, bind="0.0.0.0:%d" % port,
                    serve=bool(serve and port), default_node_ids=cfg.get("organiser_keys") or (),
                    on_change=on_change, say=say, also=also, poll_interval=SCREEN_STORE_LOOK)
    try:
        node.start()
    except SyncError as e:
        return None, str(e)
    return node, None
