"""A p2panda topic log sync session with one peer (p2panda-sync's topic_log_sync.rs): the thin
driver of three protocols, each a state machine of its own module.

    NEW -> HANDSHAKE -> LOG_SYNC -> COMPLETE     (Close exchanged; without live mode)
                                \\-> LIVE         (with live mode, until Close)

- ``core.topic_handshake``: Topic / Done, on its own QUIC stream over iroh (``handshake=False``
  here), or at the start of the one TCP stream (``handshake=True``);
- ``core.log_sync``: each side sends ``Have``, then ``PreSync`` + the operations the remote lacks
  + ``Done``; operations received are checked and ingested;
- ``core.live``: with ``live=True`` (as the p2panda Node always runs) the session stays open
  and carries ``Live`` operations both ways until one side sends ``Close``.

Without live mode each side sends ``Close`` when Done was both sent and received (Rust accepts
it and ends the session); it confirms to the sender that everything it sent is stored.

A ``SyncSession`` is driven by steps: the transport pushes received bytes in with
``feed(data)`` and sends whatever ``outgoing()`` returns, until ``finished`` is true.  Sending
and receiving interleave freely, so a transport that polls both directions (``select`` on
CPython, see ``pandascreen.node.tcp``; two asyncio tasks over iroh) cannot deadlock when both
peers stream big batches.  ``run(conn)`` is a simple blocking driver for connections whose
``send`` never blocks for long; ``sync_local`` syncs two in-process stores.

Wire order and bytes are those of p2panda-net 0.7: every message u32-BE framed postcard.
"""

import time

from pandascreen.core import postcard
from pandascreen.core.errors import SyncError
from pandascreen.core.live import LiveMode, close_frame, is_close
from pandascreen.core.log_sync import HAVE_MAX_FRAME, MAX_EVIDENCE, MAX_SYNC_FRAME, LogSync, compare
from pandascreen.core.topic_handshake import TopicHandshake

__all__ = ("ACCEPTOR", "INITIATOR", "HAVE_MAX_FRAME", "MAX_EVIDENCE", "MAX_SYNC_FRAME", "SyncError",
           "SyncSession", "compare", "pump_pair", "sync_local")

INITIATOR = "initiator"
ACCEPTOR = "acceptor"

# states of a session
NEW = "new"                # nothing sent yet (``start`` queues the opening message)
HANDSHAKE = "handshake"    # the topic handshake runs
LOG_SYNC = "log sync"      # Have / PreSync / Operation / Done in both directions
COMPLETE = "complete"      # Done sent and received; our Close is queued, the remote's awaited
LIVE = "live"              # Done sent and received; Live operations both ways until Close


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
        self.log_id = bytes(log_id)
        self.topic = bytes(topic) if topic is not None else self.log_id
        self.chunk_size = chunk_size
        self.state = NEW
        self.error = None
        self._handshake = None
        if handshake:
            self._handshake = TopicHandshake(role, topic=self.topic if role == INITIATOR else None,
                                             accepts=self.topic if role == ACCEPTOR else None)
        # ids of the operations sent to / received from this peer (live mode; None without): what
        # live mode does not send back, and what a relay knows this peer holds (node/iroh_relay.py)
        self.seen = seen = set() if live else None
        self.log_sync = LogSync(store, self.log_id, self._queue, min(max_frame, MAX_SYNC_FRAME), seen,
                                progress, on_ingest)
        self.live_mode = LiveMode(store, self.log_id, self._queue, seen, on_ingest) if live else None
        self._reader = postcard.FrameReader(self.log_sync.frame_limit())
        self._out = []
        self._out_len = 0
        self._t0 = None
        self._duration_ms = None
        self._remote_closed = False  # the remote's Close after the log sync (no live mode)
        self._eof = False
        self.bytes_sent = 0
        self.bytes_received = 0
        # What the remote confirmed holding.  Without live mode the remote sends Close only
        # after it received our Done and stored every operation before it, so Close confirms
        # ``ops_sent``; a disconnect or an error confirms nothing.
        self.ops_confirmed = 0

    # ------------------------------------------------------------- what the protocols counted
    ops_sent = property(lambda self: self.log_sync.ops_sent)
    ops_received = property(lambda self: self.log_sync.ops_received)
    ops_skipped = property(lambda self: self.log_sync.ops_skipped)
    ops_evidence = property(lambda self: self.log_sync.ops_evidence)
    ops_to_send = property(lambda self: self.log_sync.ops_to_send)
    forks = property(lambda self: self.log_sync.forks)
    skipped_logs = property(lambda self: self.log_sync.skipped_logs)
    remote_heights = property(lambda self: self.log_sync.remote_heights)
    remote_total_ops = property(lambda self: self.log_sync.remote_total_ops)
    remote_total_bytes = property(lambda self: self.log_sync.remote_total_bytes)
    start_version = property(lambda self: self.log_sync.start_version)
    live_sent = property(lambda self: self.live_mode.live_sent if self.live_mode else 0)
    live_received = property(lambda self: self.live_mode.live_received if self.live_mode else 0)
    ops_new = property(lambda self: self.log_sync.ops_new + (self.live_mode.ops_new if self.live_mode else 0))

    # ----------------------------------------------------------------------------- public API
    def start(self):
        """Queue the opening message(s); called automatically by ``feed``/``outgoing``."""
        if self.state != NEW:
            return
        self._t0 = _now_ms()
        if self._handshake is None:
            self._begin_log_sync()
        else:
            self.state = HANDSHAKE
            self._handshake.start()
            self._queue(self._handshake.take())

    @property
    def complete(self):
        """Done sent and received: everything was exchanged (a live session goes on)."""
        return self.state in (COMPLETE, LIVE)

    @property
    def in_live_mode(self):
        return self.state == LIVE

    @property
    def done_sending(self):
        """Nothing more will be queued: Close sent (live) or the sync exchange is complete."""
        return self.state == COMPLETE or self.state == LIVE and self.live_mode.close_sent

    @property
    def finished(self):
        """Nothing more will happen: without live mode, complete + our Close flushed + the
        remote closed (Close or end of stream); in live mode, a Close was exchanged or the
        stream ended after ours."""
        if self._out:
            return False
        if self.state == COMPLETE:
            return self._remote_closed or self._eof
        if self.state == LIVE:
            return self.live_mode.remote_closed or (self.live_mode.close_sent and self._eof)
        return False

    @property
    def confirmed(self):
        """True when the remote confirmed holding everything we sent (its Close after our
        Done, or nothing was to be sent and the exchange completed)."""
        return self.complete and self.ops_confirmed >= self.ops_sent

    def feed(self, data):
        """Process bytes received from the remote (any piece size). Raises ``SyncError``."""
        self._check_ok()
        self.start()
        self.bytes_received += len(data)
        try:
            try:
                frames = self._reader.feed(data)
            except postcard.FrameError as e:
                raise SyncError("peer sent a broken frame: %s" % e)
            for payload in frames:
                self._handle(payload)
            self.log_sync.flush()
        except SyncError as e:
            self._stop(str(e))
            self.log_sync.salvage()
            raise
        self._maybe_complete()

    def outgoing(self, limit=None):
        """Bytes to send now (``b""`` when there is nothing right now); at most about ``limit``."""
        self._check_ok()
        self.start()
        limit = limit or self.chunk_size
        if self.state == LOG_SYNC:
            self.log_sync.fill(limit - self._out_len)
            self._maybe_complete()
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
        if self.state != LIVE or self.error is not None:
            return 0
        return self.live_mode.push(ops)

    def close(self):
        """End a live session: queue ``Close`` (then wait for the remote to end the stream)."""
        if self.state == LIVE:
            self.live_mode.close()

    def eof(self):
        """The remote closed its side of the stream. Raises ``SyncError`` unless we were done."""
        self._eof = True
        if self.error is not None:
            return
        if self.state == LIVE:
            if not (self.live_mode.close_sent or self.live_mode.remote_closed):
                # Rust: UnexpectedStreamClosure.  Everything received so far is stored.
                self._fail("peer ended the live session without Close")
            return
        if self.state != COMPLETE:
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
            "ops_evidence": self.ops_evidence,
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
                try:
                    if out:
                        conn.send(out)
                        continue
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

    def where(self):
        """Where the session is, in words (for error messages)."""
        if self.state == HANDSHAKE:
            return "during the topic handshake"
        if self.state == LIVE:
            return "in live mode"
        return self.log_sync.where()

    # ----------------------------------------------------------------------------- internals
    def _check_ok(self):
        if self.error is not None:
            raise SyncError(self.error)

    def _stop(self, msg):
        self.error = msg
        self._out = []
        self._out_len = 0

    def _fail(self, msg):
        self._stop(msg)
        raise SyncError(msg)

    def _queue(self, framed):
        if framed:
            self._out.append(framed)
            self._out_len += len(framed)

    def _begin_log_sync(self):
        self.state = LOG_SYNC
        self.log_sync.begin()

    def _maybe_complete(self):
        if self.state != LOG_SYNC or not self.log_sync.done:
            return
        if self.live_mode is not None:
            self.state = LIVE
            return
        self.state = COMPLETE
        # Close confirms to the sender that we hold all it sent; after skipping a forked log
        # we do not (it sees the stream end unconfirmed, and our next Have)
        if not self.ops_skipped:
            self._queue(close_frame())

    def _handle(self, payload):
        state = self.state
        if state == COMPLETE:
            # Only Close matters now; anything else (a Rust peer's Live messages) is ignored.
            if is_close(payload):
                self._remote_closed = True
                self.ops_confirmed = self.ops_sent
            return
        if state == HANDSHAKE:
            self._handshake.handle(payload)
            self._queue(self._handshake.take())
            if self._handshake.done:
                self._begin_log_sync()
            return
        try:
            msg = postcard.decode_message(payload)
        except postcard.UnsupportedMessage as e:
            raise SyncError("peer sent a message we cannot handle: %s" % e)
        except postcard.PostcardError as e:
            raise SyncError("peer sent a malformed sync message: %s" % e)
        if state == LIVE:
            self.live_mode.handle(msg)
            return
        if msg[0] == "close":
            raise SyncError("peer closed the session %s" % self.where())
        if msg[0] == "live":
            raise SyncError("protocol error: peer sent Live before the sync finished")
        self.log_sync.handle(msg)
        self._reader.max_size = self.log_sync.frame_limit()
        self._maybe_complete()


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
            if a.complete and b.complete and not a.in_live_mode and not b.in_live_mode:
                # both skipped a forked log, so neither sends Close: each ends its stream once
                # done sending, as a transport does (node/iroh_session.py, node/tcp.py)
                a.eof()
                b.eof()
                continue
            raise SyncError("sync sessions stalled (a: %s, b: %s)" % (a.state, b.state))
    raise SyncError("sync did not finish within %d rounds" % max_rounds)
