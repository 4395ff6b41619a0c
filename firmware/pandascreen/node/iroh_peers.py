"""Which peers an iroh node keeps and how it reaches them: dialling (QUIC, and when nobody
answers a TCP probe that says why), the wanted peers (at most ``max_peers`` per topic, organisers
always), redialling with jittered backoff, the plain resync beside live mode, and redialling soon
once the network is back.  The numbers and why: node/liveness.py.

Why its own module: keeping peers is policy over time, apart from one session
(node/iroh_session.py) and the bookkeeping of links (node/iroh_link.py).  ``PeerKeeper`` is a part
of ``IrohNode`` (node/iroh_transport.py) and uses its attributes (``_wanted``, ``_dialling``,
``links``, ...).
"""

import asyncio
import collections
import random
import time

import iroh

from pandascreen.core.errors import ConfigError, SyncError
from pandascreen.core.sync import ACCEPTOR, INITIATOR
from pandascreen.core.util import hexlify
from pandascreen.node import iroh_limits, liveness
from pandascreen.node.conn_limits import address_key
from pandascreen.node.iroh_address import PeerAddr, explain_connect_error, host_of, parse_peer, probe_tcp
from pandascreen.node.iroh_limits import discard
from pandascreen.node.iroh_link import Link
from pandascreen.node.iroh_relay import LAZY_WAIT

REDIAL_NAP = 10.0  # the reconnect loop's longest sleep (seconds) when no redial is due sooner


class PeerKeeper:
    """Dial, keep and redial the peers of an ``IrohNode`` (a part of it)."""

    # on_peers(live): called from the node's thread when the festival topic's first live session
    # reached its sync while none was live (True), or its last live session ended (False); a
    # screen's loop then redraws its footer ("synced", "alone since": core/controller.py)
    on_peers = None

    def _peers_changed(self, link, live):
        if self.on_peers is not None and link.sub is self.subs[0]:
            try:
                self.on_peers(live)
            except Exception as e:  # the screen's business; the node goes on
                self._record_error("internal: on_peers: %s" % e)

    async def _sync(self, peer_spec, timeout, background=False, refill=False, probe=True):
        """Sync the festival topic with the peer (the caller waits for it), then the other
        topics in the background (their errors are recorded, never raised).  An organiser at its
        bound dials no one new (``refill``: a dial that took its place, see ``_refill``)."""
        try:
            peer = parse_peer(peer_spec, self.default_node_ids)
        except ConfigError as e:
            raise SyncError(str(e))
        if not refill and all(self._full_for(node_id, dialling=True) for node_id in peer.node_ids):
            raise iroh_limits.PeerFull("not dialled: this node links %d peers already, as many as it keeps"
                                       % self.max_linked)
        st = await self._sync_topic(self.subs[0], peer_spec, peer, timeout, background, probe=probe)
        self._other_topics(peer_spec, peer, timeout, new_session=not st.get("already_live"))
        return st

    async def _sync_topic(self, sub, peer_spec, peer, timeout, background=False, probe=True):
        for link in self.links:
            if (not link.ended and link.sub is sub and link.remote_id in peer.node_ids
                    and link.session is not None and link.session.in_live_mode):
                self._want(sub, peer_spec, peer)  # redialled by us if that session ends
                st = link.status()
                st["already_live"] = True
                return st
        for link in self.links:
            if (not link.ended and link.sub is sub and link.remote_id in peer.node_ids
                    and not link.synced.is_set() and link.live is not False
                    and (link.role == INITIATOR or not background)):
                # a sync with that peer is under way, dialled by us or by it: wait for it rather than
                # dial a second one (under load a sync takes seconds, and a screen that found a peer
                # by mDNS while that peer's dial to it was syncing dialled a twin, closed right after);
                # a background caller (the screen's loop) never waits for the peer's own dial
                end = time.monotonic() + timeout
                while not link.synced.is_set() and not link.ended and time.monotonic() < end:
                    await asyncio.sleep(0.25)
                if link.role == ACCEPTOR and (link.ended or (link.synced.is_set() and not link.status()["live"])):
                    break  # its dial failed, or was a plain resync: ours goes ahead
                # found: wanted, whatever became of that session (serve never redials a screen)
                self._want(sub, peer_spec, peer)
                if link.synced.is_set():
                    return link.status()
                if link.ended:
                    raise (iroh_limits.PeerFull if link.full else SyncError)(
                        link.error or "the session with %s ended before the sync finished" % peer)
                raise SyncError("sync with %s still under way; it goes on in the background" % peer)
        key = (sub.topic, peer.who)
        entry = self._wanted.get(key)
        if entry is not None and entry.get("full") and (
                self._told_full(entry) or time.monotonic() < entry["redial"].due != float("inf")):
            # an mDNS announcement again, the screen's loop: a dial now would take a place that is
            # kept for screens with no other peer, and not at once (node/iroh_link.py _full_for)
            raise iroh_limits.PeerFull("not dialled: %s said it is full, and asked again later" % peer)
        if background and entry is not None:
            raise SyncError("not connected to %s, redialling in the background (last: %s)"
                            % (peer, entry.get("last_error") or "connecting"))
        entry = self._want(sub, peer_spec, peer)
        try:
            st = await self._dial(sub, peer, key, timeout, probe=probe)
        except SyncError as e:
            if entry is not None:
                entry["last_error"] = str(e)
                entry["full"] = isinstance(e, iroh_limits.PeerFull)
                if entry["full"] and entry["redial"].due != float("inf"):
                    entry["redial"].told_full(time.monotonic())
            raise
        if entry is not None:  # redialled where it answered last
            entry["spec"], entry["peer"] = peer_spec, peer
        return st

    def _want(self, sub, peer_spec, peer):
        """Keep ``peer`` wanted for ``sub``, redialled whenever no session with it runs (when the
        node redials at all, and the peer is an organiser or there is room); its entry or None.
        Also a peer found while a session it dialled runs: that peer may not redial us (serve
        does not), and an organiser must not be lost at the next cut.  One entry per node
        (``PeerAddr.who``), however many addresses it was dialled at: mDNS gives every address a
        node announces, and one entry each was redialled at each cut and counted against
        ``max_peers`` as many times; a sync that succeeds moves the entry to its address."""
        key = (sub.topic, peer.who)
        entry = self._wanted.get(key)
        if (self.live and self.reconnect and not self._stopping and entry is None
                and (set(peer.node_ids) & set(self.default_node_ids) or self._room_for(sub))):
            entry = self._wanted[key] = {"spec": peer_spec, "peer": peer, "sub": sub,
                                         "redial": liveness.Redial(time.monotonic())}
            self._wake_redials()
        return entry

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
            self._wake_redials()  # a first dial that failed leaves its peer due for a redial
        iroh_limits.limit_stream_credit(conn, INITIATOR)
        link = Link(self, conn, INITIATOR, node_id, peer.addr, sub)
        link.dialled = peer
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
            if link.full:
                raise iroh_limits.PeerFull(link.error)
            if link.unsubscribed and sub is not self.subs[0]:
                # a peer without that topic (older, or Rust): not again until its festival session is
                # new or NO_TOPIC_AGAIN has passed (node/iroh_topics.py)
                self._wanted.pop(key, None)
                self._no_topic[key] = time.monotonic()
            raise (iroh_limits.TopicRefused if link.unsubscribed else SyncError)(
                link.error or "the session with %s ended before the sync finished" % peer)
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
        """Keep a live session with every wanted peer: redial with jittered backoff (liveness.Redial).
        Sleeps until the earliest redial is due, or until ``_wake_redials`` says the plan changed
        (a session ended, a peer was heard again, a dial ended, a peer became wanted)."""
        self._redial_wake = asyncio.Event()
        while not self._stopping:
            self._redial_wake.clear()
            try:
                await asyncio.wait_for(self._redial_wake.wait(), self._redial_wait(time.monotonic()))
            except asyncio.TimeoutError:
                pass
            now = time.monotonic()
            for key, entry in list(self._wanted.items()):
                peer, sub, redial = entry["peer"], entry["sub"], entry["redial"]
                if now < redial.due or key in self._dialling or self._linked(sub, peer) or self._told_full(entry):
                    continue
                redial.due = float("inf")  # until this dial ends
                redial.dialling(now)
                self._dialling.add(key)
                entry["task"] = self._spawn(self._redial(key, entry))

    def _redial_wait(self, now):
        """Seconds until the earliest redial of a wanted peer that is neither linked nor being
        dialled, at most ``REDIAL_NAP``: a missed wake costs a late redial, never a lost one."""
        due = [max(e["redial"].due, e["redial"].full_until) if self._told_full(e) else e["redial"].due
               for k, e in self._wanted.items()
               if k not in self._dialling and e["redial"].due != float("inf") and not self._linked(e["sub"], e["peer"])]
        return max(0.0, min(due + [now + REDIAL_NAP]) - now)

    def _wake_redials(self):
        """The redial plan changed: the reconnect loop looks again now."""
        if self._redial_wake is not None:
            self._redial_wake.set()

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
            entry["full"] = False
        except asyncio.CancelledError:
            raise  # a stale dial after a heal (_back): cancelled() already set the next one
        except iroh_limits.PeerFull as e:
            redial.told_full(time.monotonic())
            entry["last_error"] = str(e)
            entry["full"] = True
        except Exception as e:
            redial.failed(time.monotonic())
            entry["last_error"] = str(e)
            entry["full"] = False
            if str(e).split(":")[0] != (before or "").split(":")[0]:  # say it once, not every redial
                self._record_error("reconnect to %s failed: %s" % (entry["peer"], e))
        finally:
            if redial.due == float("inf"):  # cancelled
                redial.failed(time.monotonic())
            if entry.get("task") is asyncio.current_task():
                entry["task"] = None
            self._wake_redials()

    def _init_places(self, max_linked):
        """An organiser's places (node/liveness.py): ``max_linked`` (None: no bound) and its list
        of screens to dial back."""
        self.max_linked = max_linked
        self._spare = collections.OrderedDict()  # node id -> "ip:port": told "full" or linked before
        self._told_at = {}  # node id in _spare -> when it was last told "full" (monotonic)
        self._refilling = 0  # dials of such screens under way
        self._spare_waits = collections.OrderedDict()  # node id -> liveness.Redial, newest last: when a
        # screen whose session ended is dialled back
        self._refill_later = None  # the timer of the next look at the list, while every screen on it waits
        self._telling = None  # the task of rounds with such screens after a change
        self._spares_told = None  # the festival store's version they last heard of

    def _told_full(self, entry):
        """A wanted peer (an organiser) said it is full: it is not redialled while a live session
        of its topic runs with another peer, until ``FULL_RETRY`` after that (node/liveness.py)."""
        return (entry.get("full") and time.monotonic() < entry["redial"].full_until
                and any(l.sub is entry["sub"] and l.remote_id not in entry["peer"].node_ids
                        for l in self._live_links()))

    def _spare_add(self, node_id, addr, told=False, lasted=None):
        """An organiser remembers a screen it told "full", or whose live session ended after
        ``lasted`` seconds, to dial when it has room: one per address (``conn_limits.address_key``:
        an IPv4 address, an IPv6 /64; a screen has one), so a stranger's many node ids on one
        address cannot push the screens out of the list.  A screen whose session ended is dialled
        back after a redial's wait (``liveness.Redial``), growing while its sessions end soon after
        they began: a screen that cannot store what it is sent (a full SD card) ends each at once."""
        if lasted is not None:
            wait = self._spare_waits.pop(node_id, None) or liveness.Redial(time.monotonic())
            wait.ended(time.monotonic(), lasted)
            self._spare_waits[node_id] = wait
            # kept while the screen is dialled or linked too, so its wait grows; the oldest go
            while len(self._spare_waits) > 2 * (liveness.ORGANISER_SPARES + (self.max_linked or 0)):
                self._spare_waits.popitem(last=False)
        self._spare.pop(node_id, None)
        where = address_key(host_of(addr))
        for other in [k for k, a in self._spare.items() if address_key(host_of(a)) == where]:
            del self._spare[other]
        self._spare[node_id] = addr
        while len(self._spare) > liveness.ORGANISER_SPARES:
            self._spare.popitem(last=False)
        if told:  # when: a second dial soon after comes from a screen with no other peer
            self._told_at[node_id] = time.monotonic()
        for gone in [k for k in self._told_at if k not in self._spare]:
            del self._told_at[gone]

    def _admitted(self, node_id):
        """An organiser took a session of ``node_id`` (any topic): "full" next time again.  It
        stays on the list: only its live festival session takes it off (``_refill``), whose end
        puts it back; another topic's end puts nothing back."""
        self._told_at.pop(node_id, None)

    def _refill(self):
        """An organiser linked to fewer peers than its bound dials screens of its list (told "full",
        or linked before), one per free place: screens told so do not dial it again while they
        have other peers.  Asked whenever a session of the node ends."""
        if self.max_linked is None or self._stopping or self._loop is None:
            return
        linked = self._linked_ids()
        # a screen linked live in the festival topic leaves the list (that session's end puts it
        # back); one in a plain round (an announcement, a resync) or only in another topic stays
        # on it, dialled once that session is over
        staying = set(l.remote_id for l in self._running() if l.live is not False and l.sub is self.subs[0])
        for node_id in staying.intersection(self._spare):
            del self._spare[node_id]
        room = self.max_linked - len(linked) - self._refilling
        now = time.monotonic()
        due = {k: self._spare_waits[k].due if k in self._spare_waits else now
               for k in self._spare if k not in linked}
        ready = [k for k in due if due[k] <= now]
        while room > 0 and ready:
            node_id = ready.pop(random.randrange(len(ready)))
            spec = "%s@%s" % (hexlify(node_id), self._spare.pop(node_id))
            self._refilling += 1
            room -= 1
            self._spawn(self._refill_one(spec))
        if self._refill_later is not None:
            self._refill_later.cancel()
            self._refill_later = None
        waiting = [due[k] for k in due if k in self._spare]  # not dialled just now
        if room > 0 and waiting:  # every screen left waits: look again when the first may be dialled
            self._refill_later = self._loop.call_later(max(0.0, min(waiting) - now), self._refill)

    async def _refill_one(self, spec):
        try:
            await self._sync(spec, self.timeout + self.connect_timeout, background=True, refill=True, probe=False)
        except SyncError as e:
            self._event("dialled %s to fill a place: %s" % (spec[:16], e))
        finally:
            self._refilling -= 1
            self._refill()

    def _tell_spares(self):
        """The festival store of an organiser changed: a few screens of its list (``_spare``) hear
        of it in an announcement round (``_rounds_with_spares``)."""
        if self.max_linked is None or not self.live or self._stopping or not self._spare:
            return
        if self._telling is None or self._telling.done():
            self._telling = self._spawn(self._rounds_with_spares())

    async def _rounds_with_spares(self):
        """A plain log-sync round with ``ORGANISER_SPARE_ROUNDS`` screens of the organiser's list,
        picked at random, per change of its festival store (node/liveness.py): its linked
        screens may all be cut off while they still count as live, and then nothing else brings
        a change to the others.  After the eager pushes (``LAZY_WAIT``); a screen that holds the
        change by then answers with its ``Have`` and receives nothing."""
        sub = self.subs[0]
        while not self._stopping:
            await asyncio.sleep(random.uniform(*LAZY_WAIT))
            version = sub.store.version
            if version == self._spares_told or self._stopping:
                return
            self._spares_told = version
            await self._round_with_spares("announcement")

    async def _round_with_spares(self, why):
        """One plain round with each of ``ORGANISER_SPARE_ROUNDS`` screens of the organiser's list
        (not linked now), at random; waits for them at most ``LAZY_WAIT[1]`` seconds."""
        if self._stopping:
            return
        linked = self._linked_ids()
        free = [k for k in self._spare if k not in linked]
        picks = random.sample(free, min(liveness.ORGANISER_SPARE_ROUNDS, len(free)))
        rounds = [self._spawn(self._round(self.subs[0], node_id, self._spare[node_id], why)) for node_id in picks]
        if rounds:
            await asyncio.wait(rounds, timeout=LAZY_WAIT[1])

    async def _resync_loop(self):
        """Beside live mode: now and then one plain sync with one live peer of the festival
        topic, each in turn, so a live message lost on the way is repaired (node/liveness.py)."""
        sub = self.subs[0]
        asked = {}  # node id -> when the resync last asked it
        while not self._stopping:
            await asyncio.sleep(liveness.resync_wait(every=self.resync_every))
            peers = {}
            for l in self._live_links():
                if l.sub is sub and l.live is not False:
                    peers[l.remote_id] = l.addr
            if self.max_linked is not None and not self._stopping:
                # an organiser's resync also goes to screens it told "full": a group of them linked
                # only to each other hears nothing of it otherwise (node/liveness.py)
                await self._round_with_spares("resync")
            self._other_topics_of_live_peers()  # a topic a peer refused a while ago is asked again
            if not peers or self._stopping:
                continue
            node_id = liveness.resync_peer(list(peers), asked, time.monotonic())
            st = await self._round(sub, node_id, peers[node_id], "resync")
            # a forked log's head sent as evidence (core/log_sync.py) is no repair
            sent = (st or {}).get("ops_sent", 0) - (st or {}).get("ops_evidence", 0)
            if st and (st.get("ops_new") or sent > 0):
                self._event("resync with %s repaired what live mode had missed: received %d new, sent %d "
                            "operation(s)" % ("%s@%s" % (hexlify(node_id)[:16], peers[node_id]), st.get("ops_new", 0),
                                              sent))

    async def _round(self, sub, node_id, addr, why):
        """One plain log-sync round (no live mode) with a peer we are live with: the resync, and
        the relay's announcement (node/iroh_relay.py).  Its stats, or None when it failed."""
        try:
            peer = parse_peer("%s@%s" % (hexlify(node_id), addr))
        except ConfigError:
            return None
        key = ("round", sub.topic, str(peer))
        if key in self._dialling:
            return None
        try:
            return await self._dial(sub, peer, key, self.timeout + self.connect_timeout, probe=False, live=False)
        except SyncError as e:
            self._event("%s with %s: %s" % (why, peer, e))
            return None

    def _ended(self, link):
        """A session ended: its peer, when wanted, is redialled after a jittered wait."""
        if not any(l is not link and l.sub is link.sub for l in self._live_links()):
            self._peers_changed(link, False)
        if any(l is not link and l.sub is link.sub and l.remote_id == link.remote_id for l in self._live_links()):
            return  # another session with that peer is live (a resync ended, or a duplicate)
        now = time.monotonic()
        if self.max_linked is not None and link.sub is self.subs[0]:
            self._spare_add(link.remote_id, link.addr, lasted=now - link.started)  # dialled back when it has room
        for entry in self._wanted.values():
            redial = entry["redial"]
            if entry["sub"] is not link.sub or link.remote_id not in entry["peer"].node_ids or redial.due == float("inf"):
                continue
            if now - link.started >= liveness.SHORT_SESSION:
                entry["full"] = False  # the organiser had a place for us: ask it as any peer again
            redial.ended(now, now - link.started)
        self._wake_redials()

    def _back(self, link, alone):
        """A session reached its sync: when its peer had been away, or we had no live peer
        (``alone``), the network is back, so the peers still waiting for a redial are due soon."""
        if alone:
            self._peers_changed(link, True)
        entry = next((e for e in self._wanted.values()
                      if e["sub"] is link.sub and link.remote_id in e["peer"].node_ids), None)
        if not alone and (entry is None or not entry.get("last_error")):
            return
        if entry is not None:
            entry["last_error"] = None
        now = time.monotonic()
        for key, e in self._wanted.items():
            if e is entry or self._linked(e["sub"], e["peer"]):
                continue
            if e["redial"].healed(now):  # a dial begun before the heal: its packets went into the cut
                task = e.get("task")
                if task is not None and not task.done():
                    task.cancel()
                # a task cancelled before it ran runs none of its code, so its mark goes here
                self._dialling.discard(key)
                e["redial"].cancelled(now)
        self._wake_redials()
