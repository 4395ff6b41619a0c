"""Which sessions an iroh node holds: one ``Link`` per session with one peer for one topic
(``Subscription``), admitting incoming connections within node/iroh_limits.py's bounds (per
address, in total, who is evicted when full), finding the live ones, and keeping one live
session per pair of nodes.

Why its own module: who is connected is bookkeeping apart from what a session says
(node/iroh_session.py) and from which peers a node wants (node/iroh_peers.py).  ``LinkBook`` is
a part of ``IrohNode`` (node/iroh_transport.py) and uses its attributes (``links``, ``subs``,
``max_links``, ...).
"""

import asyncio
import time

import iroh

from pandascreen.core.sync import ACCEPTOR, INITIATOR
from pandascreen.core.util import hexlify
from pandascreen.node import iroh_limits, liveness
from pandascreen.node.conn_limits import address_key
from pandascreen.node.iroh_address import host_of, iroh_message
from pandascreen.node.iroh_limits import StreamGuard


def relayable(store, ops):
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
        if role == INITIATOR and getattr(node, "reachable", None) is not None:
            node.reachable.add(remote_id)  # it took our dial: a round can reach it later
        self.remote_id = remote_id
        self.addr = addr
        self.dialled = None  # the PeerAddr we dialled (INITIATOR)
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
        self.full = False  # the peer closed our dial at once: it links no more peers (an organiser)
        self.last_progress = time.monotonic()
        self.last_heard = self.started  # the last byte from the peer (idle limit, eviction)
        self.guard = StreamGuard(conn, role)  # the streams the peer opens, policed
        self.live = None  # None: the node's setting; False: one plain sync (a resync)
        self.evicted = False
        self.known = {}  # what the peer is known to hold beyond this session's Have (node/iroh_relay.py)
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


class LinkBook:
    """The links of an ``IrohNode``: admit, find, dedupe, abort (a part of ``IrohNode``)."""

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

    def _linked(self, sub, peer):
        """A session of ``sub`` with ``peer`` runs that stays: not a plain round (a resync, an
        announcement), which ends at once and puts nothing back in the redial plan."""
        return any(not l.ended and l.sub is sub and l.remote_id in peer.node_ids and l.live is not False
                   for l in self.links)

    def _running(self):
        """The sessions that run, of any topic and direction (an evicted one is on its way out)."""
        return [l for l in self.links if not l.ended and not l.evicted]

    def _linked_ids(self):
        """The remote nodes a session of any topic runs with (either direction)."""
        return set(l.remote_id for l in self._running())

    def _full_for(self, node_id, host=None, dialling=False):
        """Whether an organiser (``max_linked``, node/liveness.py) turns away a session with
        ``node_id`` from IP address ``host``.
        * Never when that node is linked already (its other topic, a resync).
        * A place per address (a screen has one; ``conn_limits.address_key``: an IPv6 /64 is one),
          checked first: a stranger on one address takes one place, not all.
        * Never a screen it told "full" that dials again within ``FULL_SECOND_DIAL``: such a
          screen does so only when it has no other live peer, and the organiser is then its one
          way to the program (on a Wi-Fi that keeps screens apart, every screen is such a one).
        * Its own dials under way to screens it told "full" count for its own dials
          (``dialling``), not for a screen that dials in: that one is there, those may be cut off."""
        if self.max_linked is None:
            return False
        running = self._running()
        linked = set(l.remote_id for l in running)
        if node_id in linked:
            return False
        if dialling:
            return len(linked) + self._refilling >= self.max_linked
        if host is not None and any(address_key(host_of(l.addr)) == address_key(host) for l in running):
            return True
        if time.monotonic() - self._told_at.get(node_id, float("-inf")) <= liveness.FULL_SECOND_DIAL:
            return False
        return len(linked) >= self.max_linked

    def _wake_all(self):
        for link in self.links:
            if not link.ended:
                link.wake.set()

    def _crowded(self):
        """At least half of ``max_links`` sessions run (iroh_limits.LIVE_IDLE applies then)."""
        return sum(1 for l in self.links if not l.ended) * 2 >= self.max_links

    def _dedupe(self, link):
        """Two screens that found each other dial each other at once: two live sessions of one
        topic between the same pair carry every change twice (and relay it twice).  Both sides
        keep the one the node with the smaller id dialled; the other node, which dialled the
        second one, ends it with Close (one side only, so the two Closes never cross)."""
        twins = [l for l in self._live_links() if l.sub is link.sub and l.remote_id == link.remote_id
                 and l.live is not False]
        if link.ended or len(twins) < 2:
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

    def _abort(self, link, why):
        link.error = link.error or why
        try:
            link.conn.close(1, why.encode()[:100])
        except Exception:
            pass

    async def _accept_loop(self):
        while not self._stopping:
            try:
                incoming = await self._endpoint.accept_next()
            except Exception as e:
                if self._stopping:
                    return
                self._record_error("accepting failed: %s" % iroh_message(e))
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
            msg = iroh_message(e)
            if "no_application_protocol" in msg or "known protocol" in msg:
                msg = "it asked for another protocol (not p2panda log sync on this network)"
            self._record_error("incoming connection from %s refused: %s" % (where, msg))
            return
        except asyncio.TimeoutError:
            self._record_error("incoming connection from %s: handshake timed out" % where)
            return
        remote_id = conn.remote_id().to_bytes()
        iroh_limits.limit_stream_credit(conn, ACCEPTOR)
        host = host_of(where)
        running = self._running()
        incoming = [l for l in running if l.role == ACCEPTOR]
        same = len([l for l in incoming if host_of(l.addr) == host])
        if same >= self.max_per_address * len(self.subs):
            self._record_error("peer %s from %s refused: %d sessions already running from that address"
                               % (hexlify(remote_id)[:16], where, same))
            conn.close(0, b"busy")
            return
        if self._full_for(remote_id, host):
            self._spare_add(remote_id, where, told=True)
            self._event("peer %s from %s: told it is full (%d peers linked)"
                        % (hexlify(remote_id)[:16], where, len(self._linked_ids())))
            conn.close(0, iroh_limits.FULL_REASON)
            return
        self._admitted(remote_id)
        if len(running) >= self.max_links:
            victim = iroh_limits.choose_eviction(incoming, lambda l: host_of(l.addr), host)
            if victim is None:
                self._record_error("peer %s from %s refused: %d sessions already running"
                                   % (hexlify(remote_id)[:16], where, self.max_links))
                conn.close(0, b"busy")
                return
            victim.evicted = True
            self._abort(victim, "evicted: the node is full (%d sessions) and %s holds the most of them"
                        % (self.max_links, host_of(victim.addr)))
        link = Link(self, conn, ACCEPTOR, remote_id, where)
        await self._run_link(link)
