"""One p2panda-net sync session over an iroh connection, as p2panda-net's session actor runs
it (sync/actors/session.rs): the topic handshake on bi-stream 1, then the topic log sync and live
mode on bi-stream 2 (``core.sync.SyncSession`` with ``handshake=False``), driven by a writer and a
reader task; a watchdog notices a peer that vanished or a session over its limits; each session
says what happened in one line per event.

Why its own module: what one session does is apart from which sessions a node holds
(node/iroh_link.py) and which peers it wants (node/iroh_peers.py).  ``SessionRunner`` is a part of
``IrohNode`` (node/iroh_transport.py) and uses its attributes (``timeout``, ``live``,
``dead_after``, ...).
"""

import asyncio
import time

import iroh

from pandascreen.core import postcard
from pandascreen.core.errors import SyncError
from pandascreen.core import log_sync
from pandascreen.core.sync import ACCEPTOR, INITIATOR, LOG_SYNC, SyncSession
from pandascreen.core.topic_handshake import TopicHandshake, short
from pandascreen.node import iroh_limits, liveness
from pandascreen.node.iroh_address import iroh_message
from pandascreen.node.iroh_limits import StreamRefused, discard

CLOSED_BY_SESSION = "sync protocol "  # a session's own close reason, as p2panda-net 0.7's ("... initiate completed")

READ_CHUNK = 65536
DEDUPE_AFTER = 2.0  # seconds a second live session with a peer must last before one of the two is closed
PULL_WAIT = 8.0  # seconds a session waits at most for another one's pull before it says what it holds
PULL_LOOK = 0.1  # seconds between looks while it waits
PULL_STALL = 2.0  # a pull that brought nothing for this long holds no one up
BIG_PULL = 100  # operations still to come: a pull this large is waited for even by a store holding some


def pulling(link, now):
    """The link's session sent its Have and still receives the remote's operations, and
    something arrived a moment ago."""
    s = link.session
    return (not link.ended and s is not None and s.state == LOG_SYNC
            and s.log_sync.receiving != log_sync.RECEIVED_DONE and now - link.last_progress < PULL_STALL)


def big_pull(link):
    """The link's pull has more than ``BIG_PULL`` operations still to come (its PreSync said)."""
    s = link.session
    total = s.remote_total_ops if s is not None else None
    return total is not None and total - s.ops_received > BIG_PULL


def _closed_by_peer(msg):
    """The peer closed the connection plainly (code 0), as p2panda-net does with a topic it does
    not sync: not a timeout or a reset, not an abort (code 1: a node stopping, a sync that made no
    progress) and not "busy" (a bound for our address): a cut, a loaded or a stopping peer must
    not make a topic unasked for good."""
    if "ConnectionClosed" in msg:
        return True
    return "ApplicationClosed" in msg and "error_code: 0," in msg and 'reason: b"busy"' not in msg


class SessionRunner:
    """Runs each ``Link``'s session (a part of ``IrohNode``)."""

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
                                       on_ingest=lambda n: self._changed(sub, n, link))
            await self._after_pulls(link)
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
                conn.close(0, ("%s%s completed" % (CLOSED_BY_SESSION, "initiate" if link.role == INITIATOR
                                                   else "accept")).encode())
            except Exception:
                pass
            ended = [l for l in self.links if l.ended]
            self.links = [l for l in self.links if not l.ended] + ended[-10:]
            self._refill()

    async def _after_pulls(self, link):
        """Wait, at most ``PULL_WAIT`` seconds (and 2 s under the session timeout, so a peer
        waiting for our Have does not give up), while another session of the topic is pulling: our Have
        then names what that pull brought, and the peer sends only the rest.  Without it a screen
        starting cold beside several peers took the whole program from each of them at once
        (the bytes on the wire are unchanged: our Have comes a moment later).  Only while our store
        holds nothing of the log, or the pull under way has more than ``BIG_PULL`` operations to
        come (a session that began late, the first pull a third done): a screen that has the
        program and lacks a change (a heal, a resync) says what it holds at once; the 50-screen
        field test took the change up to 8 s later on screens that waited there."""
        end = time.monotonic() + min(PULL_WAIT, self.timeout - 2.0)
        others = [l for l in self.links if l is not link and l.sub is link.sub]
        cold = not link.sub.store.heights(link.sub.log_id)
        while (any(pulling(l, time.monotonic()) and (cold or big_pull(l)) for l in others)
               and time.monotonic() < end):
            await asyncio.sleep(PULL_LOOK)
        link.last_progress = time.monotonic()  # the peer's Have is awaited from now on

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
        msg = iroh_message(e)
        s = link.session
        if iroh_limits.FULL_REASON.decode() in msg:
            link.full = True
            return ("the peer is full: it links as many peers as it keeps (an organiser, node/liveness.py); "
                    "the program comes from the others")
        if not link.handshake_done:
            if CLOSED_BY_SESSION in msg:  # the close a p2panda-net 0.7 session ends with
                return "the peer ended the session during the topic handshake (%s): it did not take it up" % msg
            return ("connection lost during the topic handshake (%s); a p2panda 0.6 node ends it "
                    "like this, it speaks CBOR on the same ALPN" % msg)
        if link.role == INITIATOR and (s is None or s.remote_heights is None) and _closed_by_peer(msg):
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
                    # the peer may hold its Have while a pull of its own runs (_after_pulls)
                    quiet = self.timeout + (PULL_WAIT if s.remote_heights is None else 0.0)
                    if not s.in_live_mode and time.monotonic() - link.last_progress > quiet:
                        raise SyncError("timed out after %gs without progress %s" % (quiet, s.where()))
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
                                        % iroh_message(e))
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

    def _report(self, link):
        s = link.session
        if not link._reported_have and s.remote_heights is not None:
            link._reported_have = True
            h = s.remote_heights
            self._heard_have(link, h)
            n = sum(h[pk][lid] + 1 for pk in h for lid in h[pk])
            self._event("%s holds %d operation(s) %s from %d author(s)" % (link.name, n, link.sub.what, len(h)))
        if not link._reported_sync and s.complete:
            link._reported_sync = True
            # only the peer's Close (or its next Have, reported above as
            # "holds") confirms what it stored; a live session has no Close after the sync
            unconfirmed = " (unconfirmed until its next Have)" if s.ops_sent and not s.confirmed else ""
            skipped = ("; skipped %d operation(s) of %d forked log(s)" % (s.ops_skipped, len(s.skipped_logs))
                       if s.ops_skipped else "")
            self._event("%s: synced, sent %d operation(s)%s, received %d (%d new)%s%s"
                        % (link.name, s.ops_sent, unconfirmed, s.ops_received, s.ops_new, skipped,
                           "; live" if s.in_live_mode else ""))
            link.synced.set()
            if s.in_live_mode:
                self._back(link, alone=not any(l is not link and l.sub is link.sub for l in self._live_links()))
                self._festival_synced(link)
                # a twin only when it stays: a plain round (a resync, an announcement) ends at once
                asyncio.get_running_loop().call_later(DEDUPE_AFTER, self._dedupe, link)

    def _summary(self, link):
        s = link.session
        if s is None:
            return "no sync"
        return "sent %d + %d live, received %d + %d live" % (s.ops_sent, s.live_sent, s.ops_received,
                                                             s.live_received)
