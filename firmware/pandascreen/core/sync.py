"""[core] Transport-agnostic p2panda log-sync session (Have / PreSync / Operation / Done / Close).

A ``SyncSession`` is a step-based state machine: the transport pushes received bytes in with
``feed(data)`` and sends whatever ``outgoing()`` returns, until ``finished`` is true.  Sending
and receiving interleave freely, so a transport that polls both directions (``select`` on
CPython, see ``pandascreen.node.tcp``) cannot deadlock when both peers stream big batches.
``run(conn)`` is a simple blocking driver for connections whose ``send`` never blocks for
long (in-memory pipes, small syncs); ``sync_local`` syncs two in-process stores.

Wire order (p2panda-net 0.7, one byte stream, every message u32-BE framed postcard):

1. optional topic handshake: initiator ``Topic(t)``, acceptor ``Done``, initiator ``Done``;
2. each side: ``Sync(Have(heights of this log))``; on the remote's Have, ``PreSync{n, bytes}``
   + the missing operations in seq order per log + ``Done`` (or just ``Done``);
3. operations received until the remote's ``Done`` are ingested into the store (duplicates
   are no-ops; an invalid one aborts the session, what was ingested before it stays);
4. when Done was both sent and received each side sends ``Close`` and the session ends.
"""

import time

from pandascreen.core import postcard
from pandascreen.core.operation import OperationError, decode_header
from pandascreen.core.util import hexlify
from pandascreen.core.errors import SyncError

INITIATOR = "initiator"
ACCEPTOR = "acceptor"

_CLOSE_PAYLOAD = postcard.encode_message(("close",))


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
    one.  ``handshake=False`` skips the topic handshake (both sides must agree).
    ``progress(received, total)`` is called as operations arrive (``total`` from the remote's
    PreSync).
    """

    def __init__(self, store, log_id, role, topic=None, handshake=True, progress=None,
                 max_frame=postcard.DEFAULT_MAX_FRAME, chunk_size=65536):
        if role not in (INITIATOR, ACCEPTOR):
            raise ValueError("role must be 'initiator' or 'acceptor', not %r" % (role,))
        self.store = store
        self.log_id = bytes(log_id)
        self.role = role
        self.topic = bytes(topic) if topic is not None else self.log_id
        self.handshake = handshake
        self.progress = progress
        self.chunk_size = chunk_size
        self._reader = postcard.FrameReader(max_frame)
        self._out = []
        self._out_len = 0
        self._started = False
        self._t0 = None
        self._duration_ms = None
        # phases: "hs_wait_done" (initiator), "hs_wait_topic", "hs_wait_final" (acceptor),
        # "sync", "complete" (Done sent+received, Close queued)
        self._phase = None
        self._sent_have = False
        self._remote_have = False
        self._remote_presync = False
        self._remote_done = False
        self._send_ops = None  # list of operations still to stream, or None before remote Have
        self._send_idx = 0
        self._sent_done = False
        self._remote_closed = False
        self._eof = False
        self.error = None
        self._batch = []
        self.ops_sent = 0
        self.ops_received = 0
        self.ops_new = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.remote_total_ops = None
        self.remote_total_bytes = None

    # ----------------------------------------------------------------------------- public API
    def start(self):
        """Queue the opening message(s); called automatically by ``feed``/``outgoing``."""
        if self._started:
            return
        self._started = True
        self._t0 = _now_ms()
        if not self.handshake:
            self._begin_sync()
        elif self.role == INITIATOR:
            self._phase = "hs_wait_done"
            self._queue(postcard.frame_handshake(("topic", self.topic)))
        else:
            self._phase = "hs_wait_topic"

    @property
    def complete(self):
        """Done sent and received: everything was exchanged (Close may still be in flight)."""
        return self._phase == "complete"

    @property
    def finished(self):
        """Complete, our Close is flushed and the remote closed (Close or end of stream)."""
        return (self._phase == "complete" and not self._out
                and (self._remote_closed or self._eof))

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
        if self._phase == "complete" and self._duration_ms is None:
            self._duration_ms = _elapsed_ms(self._t0)
        return data

    def eof(self):
        """The remote closed its side of the stream. Raises ``SyncError`` unless we were done."""
        self._eof = True
        if self.error is not None:
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
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "remote_total_ops": self.remote_total_ops,
            "remote_total_bytes": self.remote_total_bytes,
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
        # before it (each one is validated by the store as usual).
        batch = self._batch
        self._batch = []
        for hb, body in batch:
            try:
                _, new = self.store.ingest(hb, body)
            except ValueError:
                break
            if new:
                self.ops_new += 1

    def where(self):
        """Where the session is, in words (for error messages)."""
        if self._phase in ("hs_wait_done", "hs_wait_topic", "hs_wait_final"):
            return "during the topic handshake"
        if not self._remote_have:
            return "before its Have message"
        if self._remote_presync and not self._remote_done:
            return "mid-stream (received %d of %s operations)" % (
                self.ops_received, "?" if self.remote_total_ops is None else self.remote_total_ops)
        if not self._remote_done:
            return "before finishing the sync"
        return "before we finished sending (%d operations sent)" % self.ops_sent

    def _queue(self, framed):
        self._out.append(framed)
        self._out_len += len(framed)

    def _begin_sync(self):
        self._phase = "sync"
        heights = self.store.heights(self.log_id)
        self._queue(postcard.frame_message(("have", heights)))
        self._sent_have = True

    def _fill(self, limit):
        ops = self._send_ops
        if ops is None or self._sent_done:
            return
        while self._send_idx < len(ops) and self._out_len < limit:
            op = ops[self._send_idx]
            self._send_idx += 1
            self._queue(postcard.frame_message(("op", op.header_bytes, op.body)))
            self.ops_sent += 1
        if self._send_idx >= len(ops):
            self._send_ops = []
            self._send_idx = 0
            self._queue(postcard.frame_message(("done",)))
            self._sent_done = True
            self._maybe_complete()

    def _maybe_complete(self):
        if self._phase == "sync" and self._sent_done and self._remote_done:
            self._phase = "complete"
            self._queue(postcard.frame(_CLOSE_PAYLOAD))

    def _handle(self, payload):
        phase = self._phase
        if phase == "complete":
            # Only Close matters now; anything else (a Rust peer's Live messages) is ignored.
            if payload == _CLOSE_PAYLOAD:
                self._remote_closed = True
            return
        if phase in ("hs_wait_done", "hs_wait_topic", "hs_wait_final"):
            self._handle_handshake(payload)
            return
        try:
            msg = postcard.decode_message(payload)
        except postcard.UnsupportedMessage as e:
            self._fail("peer sent a message we cannot handle: %s" % e)
        except postcard.PostcardError as e:
            self._fail("peer sent a malformed sync message: %s" % e)
        kind = msg[0]
        if kind == "close":
            self._remote_closed = True
            self._fail("peer closed the session %s" % self.where())
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
            self._maybe_complete()

    def _handle_handshake(self, payload):
        try:
            msg = postcard.decode_handshake(payload)
        except postcard.PostcardError as e:
            self._fail("peer sent a malformed handshake message: %s" % e)
        phase = self._phase
        if phase == "hs_wait_done":
            if msg[0] != "done":
                self._fail("handshake error: expected Done from the acceptor, got %s" % msg[0])
            self._queue(postcard.frame_handshake(("done",)))
            self._begin_sync()
        elif phase == "hs_wait_topic":
            if msg[0] != "topic":
                self._fail("handshake error: expected a Topic from the initiator, got %s" % msg[0])
            if msg[1] != self.topic:
                self._fail("peer wants topic %s but this peer syncs topic %s"
                           % (_short(msg[1]), _short(self.topic)))
            self._queue(postcard.frame_handshake(("done",)))
            self._phase = "hs_wait_final"
        else:  # hs_wait_final
            if msg[0] != "done":
                self._fail("handshake error: expected Done from the initiator, got %s" % msg[0])
            self._begin_sync()

    def _on_have(self, remote_heights):
        self._remote_have = True
        local = self.store.heights(self.log_id)
        need = compare(local, remote_heights)
        ops = []
        total_bytes = 0
        for pk in _sorted(need):
            logs = need[pk]
            for log_id in _sorted(logs):
                after, until = logs[log_id]
                for op in self.store.operations(pk, log_id, after, until):
                    ops.append(op)
                    total_bytes += len(op.header_bytes) + (len(op.body) if op.body else 0)
        if ops:
            self._queue(postcard.frame_message(("presync", len(ops), min(total_bytes, postcard.U32_MAX))))
            self._send_ops = ops
        else:
            self._queue(postcard.frame_message(("done",)))
            self._send_ops = []
            self._sent_done = True

    def _on_op(self, header_bytes, body):
        n = self.ops_received + 1
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
        self.ops_received = n
        self._batch.append((header_bytes, body))
        if len(self._batch) >= 64:
            self._flush_batch()

    def _flush_batch(self):
        batch = self._batch
        self._batch = []
        first = self.ops_received - len(batch) + 1
        ingest_many = getattr(self.store, "ingest_many", None)
        if ingest_many is not None and len(batch) > 1:
            try:
                self.ops_new += ingest_many(batch)
            except ValueError as e:  # IngestError
                where = "" if first == 1 else " (batch starting at operation #%d)" % first
                self._fail("invalid operation from peer%s: %s" % (where, e))
        else:
            for i in range(len(batch)):
                hb, body = batch[i]
                try:
                    _, new = self.store.ingest(hb, body)
                except ValueError as e:  # IngestError
                    self._fail("invalid operation #%d from peer: %s" % (first + i, e))
                if new:
                    self.ops_new += 1
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
            raise SyncError("sync sessions stalled (a: %s, b: %s)" % (a._phase, b._phase))
    raise SyncError("sync did not finish within %d rounds" % max_rounds)
