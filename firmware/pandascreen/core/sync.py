"""Transport-agnostic p2panda topic log sync session (Have / PreSync / Operation / Done,
then optionally Live / Close), after p2panda-sync's log_sync.rs and topic_log_sync.rs.

A ``SyncSession`` is a step-based state machine: the transport pushes received bytes in with
``feed(data)`` and sends whatever ``outgoing()`` returns, until ``finished`` is true.  Sending
and receiving interleave freely, so a transport that polls both directions (``select`` on
CPython, see ``pandascreen.node.tcp``; two asyncio tasks in ``pandascreen.node.iroh_transport``)
cannot deadlock when both peers stream big batches.  ``run(conn)`` is a simple blocking driver
for connections whose ``send`` never blocks for long; ``sync_local`` syncs two in-process stores.

Wire order (p2panda-net 0.7, every message u32-BE framed postcard):

1. topic handshake (``core.topic_handshake``): on its own QUIC stream over iroh
   (``handshake=False`` here), or at the start of the one TCP stream (``handshake=True``);
2. each side: ``Sync(Have(heights of this log))``; on the remote's Have, ``PreSync{n, bytes}``
   + the missing operations in seq order per log + ``Done`` (or just ``Done``);
3. operations received until the remote's ``Done`` are checked (signature, log) and ingested
   (duplicates are no-ops; an invalid one aborts the session, what was ingested before stays);
4. without live mode each side sends ``Close`` when Done was both sent and received (Rust
   accepts it and ends the session); with ``live=True`` (as the p2panda Node always runs) the
   session stays open: ``push(ops)`` sends ``Live(header, body)`` for operations the remote has
   not seen from us or sent us (a de-duplication set, like Rust's), received Live operations
   are ingested one by one at once, and ``close()`` sends ``Close`` and waits for the remote
   to end the stream -- Close is only ever sent to end a live session, as Rust does.
"""

import time

from pandascreen.core import postcard
from pandascreen.core.operation import OperationError, decode_header
from pandascreen.core.operation import decode as decode_operation
from pandascreen.core.topic_handshake import TopicHandshake
from pandascreen.core.util import hexlify
from pandascreen.core.errors import IngestError, SyncError

INITIATOR = "initiator"
ACCEPTOR = "acceptor"

_CLOSE_PAYLOAD = postcard.encode_message(("close",))

# Memory a hostile peer can make us hold.  A frame is never larger than
# MAX_SYNC_FRAME (a body is far below it: core/auth.py limits bodies per kind); before the
# remote's PreSync only Have/Done fit (HAVE_MAX_FRAME), after it no frame may exceed what
# PreSync announced is still to come.  Sends page through the store PAGE operations at a time.
MAX_SYNC_FRAME = 1024 * 1024
HAVE_MAX_FRAME = 256 * 1024
FRAME_OVERHEAD = 64  # postcard enum tag + lengths + the u32 prefix, generously
PAGE = 64
MAX_EVIDENCE = 8  # conflicting operations kept per session (fork evidence)


def _now_ms():
    try:
        return time.ticks_ms()  # MicroPython
    except AttributeError:
        return int(time.monotonic() * 1000)


def _elapsed_ms(start):
    try:
        return time.ticks_diff(time.ticks_ms(), start)
    except AttributeError:
        return int(time.monotonic() * 1000) - start


def _live():
    # imported on first use: a MicroPython board never enters live mode, and its heap is small
    from pandascreen.core import live
    return live


def compare(local_heights, remote_heights):
    """What the remote is missing: ``{pk: {log_id: (after_exclusive_or_None, until_inclusive)}}``.

    ``after`` is the remote's height (send seq numbers above it) or None when the remote has
    nothing of that log; ``until`` is our height.
    """
    need = {}
    for pk in local_heights:
        remote_logs = remote_heights.get(pk) or {}
        logs = local_heights[pk]
        for log_id in logs:
            ours = logs[log_id]
            theirs = remote_logs.get(log_id)
            if theirs is None:
                rng = (None, ours)
            elif theirs < ours:
                rng = (theirs, ours)
            else:
                continue
            need.setdefault(pk, {})[log_id] = rng
    return need


def _sorted(keys):
    out = list(keys)
    out.sort()
    return out


def _short(b):
    return hexlify(b)[:16]


class SyncSession:
    """One sync session with one remote peer for one log id (the festival's).

    ``role`` is ``"initiator"`` (the side that connected) or ``"acceptor"``.  ``topic`` is the
    32-byte topic sent in the handshake (default: the log id); the acceptor refuses a different
    one.  ``handshake=False`` skips the topic handshake (it ran on another stream).
    ``live=True`` keeps the session open after the sync (see the module doc).
    ``progress(received, total)`` is called as operations arrive (``total`` from the remote's
    PreSync); ``on_ingest(n_changed)`` after operations changed the store.
    """

    def __init__(self, store, log_id, role, topic=None, handshake=True, progress=None,
                 max_frame=postcard.DEFAULT_MAX_FRAME, chunk_size=65536, live=False, on_ingest=None):
        if role not in (INITIATOR, ACCEPTOR):
            raise ValueError("role must be 'initiator' or 'acceptor', not %r" % (role,))
        self.store = store
        self.log_id = bytes(log_id)
        self.role = role
        self.topic = bytes(topic) if topic is not None else self.log_id
        self.handshake = handshake
        self.live = live
        self.progress = progress
        self.on_ingest = on_ingest
        self.chunk_size = chunk_size
        self.max_frame = min(max_frame, MAX_SYNC_FRAME)
        self._reader = postcard.FrameReader(min(self.max_frame, HAVE_MAX_FRAME))
        self._announced_left = None  # bytes the remote's PreSync still owes us
        self._hs = None
        if handshake:
            self._hs = TopicHandshake(role, topic=self.topic if role == INITIATOR else None,
                                      accepts=self.topic if role == ACCEPTOR else None)
        self._out = []
        self._out_len = 0
        self._started = False
        self._t0 = None
        self._duration_ms = None
        # phases: "handshake", "sync", "complete" (Done sent+received; Close queued unless live),
        # "live"
        self._phase = None
        self._remote_have = False
        self._remote_presync = False
        self._remote_done = False
        self._send_plan = None  # [(pk, log_id, after, until)] still to stream, None before Have
        self._send_page = []  # the current page of operations (at most PAGE)
        self._send_idx = 0
        self._send_left = 0  # operations announced in our PreSync not sent yet
        self._sent_done = False
        self._remote_closed = False
        self._close_sent = False
        self._eof = False
        self._seen = set() if live else None  # op ids sent to / received from this peer
        self.start_version = None  # store.version when our Have was built (live: push from here)
        self.error = None
        self._batch = []
        self.ops_sent = 0
        self.ops_received = 0
        self.ops_new = 0
        self.live_sent = 0
        self.live_received = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.remote_total_ops = None
        self.remote_total_bytes = None
        self.remote_heights = None
        # fix 6: logs skipped because an operation conflicts with what we hold (a fork) or
        # does not chain; the session goes on without them.  ``forks`` keeps the evidence.
        self._skipped = set()
        self.forks = []
        self.ops_skipped = 0
        # fix 7: what the remote confirmed holding.  Without live mode the remote sends Close
        # only after it received our Done and stored every operation before it, so Close
        # confirms ``ops_sent``; a disconnect or an error confirms nothing.
        self.ops_confirmed = 0

    # ----------------------------------------------------------------------------- public API
    def start(self):
        """Queue the opening message(s); called automatically by ``feed``/``outgoing``."""
        if self._started:
            return
        self._started = True
        self._t0 = _now_ms()
        if self._hs is None:
            self._begin_sync()
        else:
            self._phase = "handshake"
            self._hs.start()
            self._queue(self._hs.take())

    @property
    def complete(self):
        """Done sent and received: everything was exchanged (a live session goes on)."""
        return self._phase in ("complete", "live")

    @property
    def in_live_mode(self):
        return self._phase == "live"

    @property
    def done_sending(self):
        """Nothing more will be queued: Close sent (live) or the sync exchange is complete."""
        return self._close_sent or self._phase == "complete"

    @property
    def finished(self):
        """Nothing more will happen: without live mode, complete + our Close flushed + the
        remote closed (Close or end of stream); in live mode, a Close was exchanged or the
        stream ended after ours."""
        if self._out:
            return False
        if self._phase == "complete":
            return self._remote_closed or self._eof
        if self._phase == "live":
            return self._remote_closed or (self._close_sent and self._eof)
        return False

    def feed(self, data):
        """Process bytes received from the remote (any piece size). Raises ``SyncError``."""
        self._check_ok()
        self.start()
        self.bytes_received += len(data)
        try:
            try:
                frames = self._reader.feed(data)
            except postcard.FrameError as e:
                self._fail("peer sent a broken frame: %s" % e)
            for payload in frames:
                self._handle(payload)
        except SyncError:
            self._salvage()
            raise
        if self._batch:
            self._flush_batch()
        self._maybe_complete()

    def outgoing(self, limit=None):
        """Bytes to send now (``b""`` when there is nothing right now); at most about ``limit``."""
        self._check_ok()
        self.start()
        limit = limit or self.chunk_size
        self._fill(limit)
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out = []
        self._out_len = 0
        self.bytes_sent += len(data)
        if self.complete and self._duration_ms is None:
            self._duration_ms = _elapsed_ms(self._t0)
        return data

    def push(self, ops):
        """Live mode: queue ``Live`` for each of ``ops`` the remote has not seen from us or sent
        us.  Returns how many were queued (0 before live mode or after Close)."""
        if self._phase != "live" or self._close_sent or self._remote_closed or self.error is not None:
            return 0
        n = 0
        for op in ops:
            if op.log_id != self.log_id or op.hash in self._seen:
                continue
            self._seen.add(op.hash)
            self._queue(postcard.frame_message(_live().live_message(op)))
            n += 1
        self.live_sent += n
        return n

    def close(self):
        """End a live session: queue ``Close`` (then wait for the remote to end the stream)."""
        if self._phase == "live" and not self._close_sent and not self._remote_closed:
            self._close_sent = True
            self._queue(postcard.frame(_CLOSE_PAYLOAD))

    @property
    def confirmed(self):
        """True when the remote confirmed holding everything we sent (its Close after our
        Done, or nothing was to be sent and the exchange completed)."""
        return self._sent_done and self.ops_confirmed >= self.ops_sent and self.complete

    def eof(self):
        """The remote closed its side of the stream. Raises ``SyncError`` unless we were done."""
        self._eof = True
        if self.error is not None:
            return
        if self._phase == "live":
            if not (self._close_sent or self._remote_closed):
                # Rust: UnexpectedStreamClosure.  Everything received so far is stored.
                self._fail("peer ended the live session without Close")
            return
        if self._phase != "complete":
            self._fail("peer disconnected %s" % self.where())

    def stats(self):
        ms = self._duration_ms
        if ms is None and self._t0 is not None:
            ms = _elapsed_ms(self._t0)
        return {
            "ops_sent": self.ops_sent,
            "ops_received": self.ops_received,
            "ops_new": self.ops_new,
            "live_sent": self.live_sent,
            "live_received": self.live_received,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "remote_total_ops": self.remote_total_ops,
            "remote_total_bytes": self.remote_total_bytes,
            "ops_confirmed": self.ops_confirmed,
            "confirmed": self.confirmed,
            "ops_skipped": self.ops_skipped,
            "forks": [dict(f) for f in self.forks],
            "duration": (ms or 0) / 1000.0,
        }

    def run(self, conn, recv_size=65536):
        """Blocking driver over ``conn.send(bytes)``, ``conn.recv(n)`` (b"" at EOF), ``conn.close()``.

        Sends everything that is ready before reading, so ``conn.send`` must not block forever
        (use ``pandascreen.node.tcp`` for sockets).  Returns ``stats()``; raises ``SyncError``.
        """
        try:
            self.start()
            while not self.finished:
                out = self.outgoing()
                if out:
                    try:
                        conn.send(out)
                    except OSError as e:
                        if self.complete:
                            break
                        raise SyncError("connection failed %s: %s" % (self.where(), e))
                    continue
                try:
                    data = conn.recv(recv_size)
                except OSError as e:
                    if self.complete:
                        break
                    raise SyncError("connection failed %s: %s" % (self.where(), e))
                if not data:
                    self.eof()
                    break
                self.feed(data)
        finally:
            try:
                conn.close()
            except Exception:
                pass
        return self.stats()

    # ----------------------------------------------------------------------------- internals
    def _check_ok(self):
        if self.error is not None:
            raise SyncError(self.error)

    def _fail(self, msg):
        self.error = msg
        self._out = []
        self._out_len = 0
        raise SyncError(msg)

    def _salvage(self):
        # The session failed on a later message: still keep the valid operations received
        # before it (each one was checked when it arrived and is checked by the store again).
        batch = self._batch
        self._batch = []
        for op in batch:
            try:
                _, new = self.store.ingest_op(op)
            except IngestError:
                break
            if new:
                self.ops_new += 1

    def where(self):
        """Where the session is, in words (for error messages)."""
        if self._phase == "handshake":
            return "during the topic handshake"
        if self._phase == "live":
            return "in live mode"
        if not self._remote_have:
            return "before its Have message"
        if self._remote_presync and not self._remote_done:
            return "mid-stream (received %d of %s operations)" % (
                self.ops_received, "?" if self.remote_total_ops is None else self.remote_total_ops)
        if not self._remote_done:
            return "before finishing the sync"
        return "before we finished sending (%d operations sent)" % self.ops_sent

    def _queue(self, framed):
        if framed:
            self._out.append(framed)
            self._out_len += len(framed)

    def _begin_sync(self):
        self._phase = "sync"
        self.start_version = getattr(self.store, "version", None)
        heights = self.store.heights(self.log_id)
        self._queue(postcard.frame_message(("have", heights)))

    def _fill(self, limit):
        # Streams at most ``limit`` bytes a call, one store page (PAGE operations) in memory:
        # a peer that stops reading costs one page, not every operation it lacks.
        if self._send_plan is None or self._sent_done:
            return
        while self._out_len < limit and self._send_left > 0:
            if self._send_idx >= len(self._send_page):
                self._send_page = self._next_page()
                self._send_idx = 0
                if not self._send_page:
                    break
            op = self._send_page[self._send_idx]
            self._send_idx += 1
            self._send_left -= 1
            self._queue(postcard.frame_message(("op", op.header_bytes, op.body)))
            if self._seen is not None:
                self._seen.add(op.hash)
            self.ops_sent += 1
        if self._send_left <= 0 or not self._send_plan and self._send_idx >= len(self._send_page):
            self._send_plan = []
            self._send_page = []
            self._send_idx = 0
            self._queue(postcard.frame_message(("done",)))
            self._sent_done = True
            self._maybe_complete()

    def _next_page(self):
        """The next at most PAGE operations of the send plan (empty when it is used up)."""
        plan = self._send_plan
        while plan:
            pk, log_id, after, until = plan[0]
            hi = until if after is None else min(until, after + PAGE)
            if after is None:
                hi = min(until, PAGE - 1)
            page = self.store.operations(pk, log_id, after, hi)
            if len(page) > PAGE:
                page = page[:PAGE]
            last = page[-1].seq_num if page else hi
            if last >= until:
                plan.pop(0)
            else:
                plan[0] = (pk, log_id, last, until)
            if page:
                return page
        return []

    def _maybe_complete(self):
        if self._phase == "sync" and self._sent_done and self._remote_done:
            if self.live:
                self._phase = "live"
            else:
                self._phase = "complete"
                # Close confirms to the sender that we hold all it sent; after skipping a
                # forked log we do not (it sees the stream end unconfirmed, and our next Have)
                if not self.ops_skipped:
                    self._queue(postcard.frame(_CLOSE_PAYLOAD))

    def _handle(self, payload):
        phase = self._phase
        if phase == "complete":
            # Only Close matters now; anything else (a Rust peer's Live messages) is ignored.
            if payload == _CLOSE_PAYLOAD:
                self._remote_closed = True
                self.ops_confirmed = self.ops_sent
            return
        if phase == "handshake":
            self._hs.handle(payload)
            self._queue(self._hs.take())
            if self._hs.done:
                self._begin_sync()
            return
        try:
            msg = postcard.decode_message(payload)
        except postcard.UnsupportedMessage as e:
            self._fail("peer sent a message we cannot handle: %s" % e)
        except postcard.PostcardError as e:
            self._fail("peer sent a malformed sync message: %s" % e)
        kind = msg[0]
        if phase == "live":
            self._handle_live(msg)
            return
        if kind == "close":
            self._remote_closed = True
            self._fail("peer closed the session %s" % self.where())
        if kind == "live":
            self._fail("protocol error: peer sent Live before the sync finished")
        if not self._remote_have:
            if kind != "have":
                self._fail("protocol error: expected Have from peer, got %s" % kind)
            self._on_have(msg[1])
            return
        if kind == "have":
            self._fail("protocol error: peer sent Have twice")
        if self._remote_done:
            self._fail("protocol error: peer sent %s after Done" % kind)
        if kind == "presync":
            if self._remote_presync:
                self._fail("protocol error: peer sent PreSync twice")
            self._remote_presync = True
            self.remote_total_ops = msg[1]
            self.remote_total_bytes = msg[2]
            self._announced_left = msg[2]
            self._bound_frames()
            if self.progress is not None:
                self.progress(0, msg[1])
        elif kind == "op":
            if not self._remote_presync:
                self._fail("protocol error: peer sent an Operation before PreSync")
            self._on_op(msg[1], msg[2])
        elif kind == "done":
            if self._batch:
                self._flush_batch()
            self._remote_done = True
            self._announced_left = None  # live messages follow: the absolute cap again
            self._bound_frames()
            self._maybe_complete()

    def _handle_live(self, msg):
        kind = msg[0]
        if kind == "close":
            self._remote_closed = True
            return
        if kind != "live":
            self._fail("protocol error: peer sent %s in live mode" % kind)
        if self._remote_closed:
            return
        try:
            op = _live().operation_from_live(msg[1], msg[2])
        except OperationError as e:
            self._fail("invalid live operation from peer: %s" % e)
        if op.hash in self._seen:
            return
        self._seen.add(op.hash)
        if op.log_id != self.log_id:
            self._fail("invalid live operation from peer: it belongs to another log (%s), not %s"
                       % (_short(op.log_id) if op.log_id is not None else "none", _short(self.log_id)))
        try:
            _, new = self.store.ingest_op(op)
        except IngestError as e:  # a gap or fork; the next sync repairs a gap
            self._fail("live operation from peer not stored: %s" % e)
        self.live_received += 1
        if new:
            self.ops_new += 1
            if self.on_ingest is not None:
                self.on_ingest(1)
        else:
            # a guard may answer an operation it did not store with what it holds of that log
            # (core/fleet.FleetGuard: a screen that lost its fleet file learns where its log is)
            answer = getattr(getattr(self.store, "authorizer", None), "answer", None)
            if answer is not None:
                self.push(answer(op))

    def _ingest_one_by_one(self, batch, first):
        # Fix 6: an operation that conflicts with our log (a fork), or does not chain, skips
        # that author's log for the rest of the session and is kept as evidence (at most
        # MAX_EVIDENCE); every other log goes on, so updates behind it still cross.
        # (Operations stored before the bad one count as duplicates here: ops_new undercounts.)
        changed = 0
        for i in range(len(batch)):
            op = batch[i]
            key = (op.public_key, op.log_id)
            if key in self._skipped:
                self.ops_skipped += 1
                continue
            try:
                _, new = self.store.ingest_op(op)
            except IngestError as e:
                self._skipped.add(key)
                self.ops_skipped += 1
                if len(self.forks) < MAX_EVIDENCE:
                    self.forks.append({"author": hexlify(op.public_key), "seq_num": op.seq_num,
                                       "reason": str(e)[:200], "header": op.header_bytes,
                                       "index": first + i})
                continue
            if new:
                changed += 1
        return changed

    def _on_have(self, remote_heights):
        self._remote_have = True
        self.remote_heights = remote_heights
        local = self.store.heights(self.log_id)
        need = compare(local, remote_heights)
        plan = []
        count = 0
        total_bytes = 0
        # core/auth.py: relay only what the festival group still allows (a log stops at its
        # first refused op: no gaps), managers' logs first (their group ops let others write)
        group = getattr(self.store, "authorizer", None)
        authors = _sorted(need) if group is None else group.relay_order(_sorted(need))
        for pk in authors:
            logs = need[pk]
            for log_id in _sorted(logs):
                after, until = logs[log_id]
                # counted page by page (PreSync needs the totals first); the sends page
                # through the store again, so no list of every missing operation is built
                last = None
                lo = after
                while True:
                    hi = min(until, PAGE - 1 if lo is None else lo + PAGE)
                    page = self.store.operations(pk, log_id, lo, hi)
                    refused = False
                    for op in page:
                        if group is not None and not group.may_relay(op):
                            refused = True
                            break
                        count += 1
                        last = op.seq_num
                        total_bytes += len(op.header_bytes) + (len(op.body) if op.body else 0)
                    if refused or hi >= until:
                        break
                    lo = hi
                if last is not None:
                    plan.append((pk, log_id, after, last))
        if count:
            self._queue(postcard.frame_message(("presync", count, min(total_bytes, postcard.U32_MAX))))
            self._send_plan = plan
            self._send_left = count
        else:
            self._queue(postcard.frame_message(("done",)))
            self._send_plan = []
            self._sent_done = True

    def _bound_frames(self):
        # no frame may be larger than what PreSync still announces (plus framing), nor than
        # the absolute cap: a partial frame can never make us buffer more than that
        left = self._announced_left
        cap = self.max_frame if left is None else min(self.max_frame, left + FRAME_OVERHEAD)
        self._reader.max_size = max(cap, FRAME_OVERHEAD)

    def _on_op(self, header_bytes, body):
        n = self.ops_received + 1
        size = len(header_bytes) + (len(body) if body else 0)
        if self._announced_left is not None:
            if size > self._announced_left:
                self._fail("protocol error: peer sent more operation bytes than its PreSync "
                           "announced (%s)" % self.remote_total_bytes)
            self._announced_left -= size
            self._bound_frames()
        try:
            header = decode_header(header_bytes)
        except OperationError as e:
            self._fail("invalid operation #%d from peer: %s" % (n, e))
        ext = header.extensions
        if ext is None or ext.log_id != self.log_id:
            self._fail("invalid operation #%d from peer: it belongs to another log (%s), not %s"
                       % (n, _short(ext.log_id) if ext is not None else "none", _short(self.log_id)))
        if body is not None and not body and header.payload_size == 0:
            body = None
        try:
            # decoded and signature-checked once here; the store takes the Operation as is
            op = decode_operation(header_bytes, body)
        except OperationError as e:
            self._fail("invalid operation #%d from peer: rejected operation: %s" % (n, e))
        self.ops_received = n
        if self._seen is not None:
            self._seen.add(op.hash)
        if (op.public_key, op.log_id) in self._skipped:
            self.ops_skipped += 1
            return
        self._batch.append(op)
        if len(self._batch) >= 64:
            self._flush_batch()

    def _flush_batch(self):
        batch = self._batch
        self._batch = []
        first = self.ops_received - len(batch) + 1
        changed = 0
        try:
            changed = self.store.ingest_many(batch) if len(batch) > 1 else \
                int(self.store.ingest_op(batch[0])[1]) if batch else 0
        except IngestError:  # find the bad one(s) op by op, skip their logs
            changed = self._ingest_one_by_one(batch, first)
        self.ops_new += changed
        if changed and self.on_ingest is not None:
            self.on_ingest(changed)
        if self.progress is not None:
            self.progress(self.ops_received, self.remote_total_ops)


def sync_local(store_a, log_id, store_b, handshake=True, max_rounds=100000):
    """Sync two in-process stores through a pair of sessions; returns ``(stats_a, stats_b)``."""
    a = SyncSession(store_a, log_id, INITIATOR, handshake=handshake)
    b = SyncSession(store_b, log_id, ACCEPTOR, handshake=handshake)
    pump_pair(a, b, max_rounds)
    return a.stats(), b.stats()


def pump_pair(a, b, max_rounds=100000):
    """Drive two sessions against each other in memory until both are finished."""
    for _ in range(max_rounds):
        if a.finished and b.finished:
            return
        out_a = a.outgoing()
        out_b = b.outgoing()
        if out_a:
            b.feed(out_a)
        if out_b:
            a.feed(out_b)
        if not out_a and not out_b and not (a.finished and b.finished):
            # a finished side closes its end of the stream, as a transport would
            if a.finished and b.complete and not b.finished:
                b.eof()
                continue
            if b.finished and a.complete and not a.finished:
                a.eof()
                continue
            raise SyncError("sync sessions stalled (a: %s, b: %s)" % (a._phase, b._phase))
    raise SyncError("sync did not finish within %d rounds" % max_rounds)
