"""p2panda's log sync protocol (p2panda-sync protocols/log_sync.rs): Have, PreSync, Operation, Done.

Why a module of its own: this is the one part of a sync session that moves operations, and so
the part a hostile peer aims at (frame sizes, foreign logs, forks).  The topic handshake before
it (``core.topic_handshake``) and live mode after it (``core.live``) know nothing of stores.

Both directions run at once, each as a small state machine of its own:

    sending:    AWAIT_REMOTE_HAVE --remote Have--> SENDING --last operation--> SENT_DONE
                        \\---------------- nothing to send: Done at once -------/
    receiving:  AWAIT_HAVE --Have--> AWAIT_PRESYNC --PreSync--> RECEIVING --Done--> RECEIVED_DONE
                                            \\------------------ Done -----------------/

Our Have opens the sending side (``begin``); the exchange is ``done`` when we sent Done and
received the remote's.  Operations received are checked (log, signature) and ingested in batches (one the store
holds already, sent again by a concurrent session, is known by its hash and not checked again);
one that the store refuses (a fork, a gap) skips its author's log for the rest of the session and
is kept as evidence, so every other log still crosses.  Sends page through the store ``PAGE``
operations at a time: a peer that stops reading costs one page, not every operation it lacks.
"""

from pandascreen.core import postcard
from pandascreen.core.crypto import blake3
from pandascreen.core.errors import CannotStore, IngestError, OperationError, SyncError
from pandascreen.core.operation import decode as decode_operation
from pandascreen.core.operation import decode_header
from pandascreen.core.topic_handshake import short
from pandascreen.core.util import hexlify

# states of the sending side
AWAIT_REMOTE_HAVE = "await remote have"  # our Have is out; what to send follows from the remote's
SENDING = "sending"                      # PreSync is out; operations follow, then Done
SENT_DONE = "sent done"                  # our Done is out (after the operations, or at once)

# states of the receiving side
AWAIT_HAVE = "await have"                # only Have is valid
AWAIT_PRESYNC = "await presync"          # PreSync, or Done when the remote has nothing for us
RECEIVING = "receiving"                  # operations until Done
RECEIVED_DONE = "received done"          # the remote sent everything it had for us

# Memory a hostile peer can make us hold.  A frame is never larger than MAX_SYNC_FRAME (a body
# is far below it: core/auth.py limits bodies per kind); before the remote's PreSync only
# Have/Done fit (HAVE_MAX_FRAME), after it no frame may exceed what PreSync announced is still
# to come.
MAX_SYNC_FRAME = 1024 * 1024
HAVE_MAX_FRAME = 256 * 1024
FRAME_OVERHEAD = 64  # postcard enum tag + lengths + the u32 prefix, generously
PAGE = 64  # operations read from the store at a time, and ingested at a time
MAX_EVIDENCE = 8  # conflicting operations kept per session (fork evidence)


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


def _evidence(need, local_heights, remote_heights, fork_held, log_id):
    """Add to ``need`` our head of each log of ``log_id`` this store saw forked, where the peer
    holds as much or more (so ``compare`` sends it nothing): a peer holding the other history
    asks for nothing of ours and would never see it.  Sent, our head shows it the fork (its
    status says so); a peer holding our history takes it as a duplicate.  One operation per
    forked log and session, only while a fork is known (core/store_forks.py).  Returns how many."""
    if not fork_held:
        return 0
    key = bytes(log_id)
    added = 0
    for author, log in list(fork_held):  # a copy: another thread may record a fork meanwhile
        ours = (local_heights.get(author) or {}).get(log_id)
        theirs = (remote_heights.get(author) or {}).get(log_id)
        if log != key or ours is None or theirs is None or theirs < ours:
            continue
        need.setdefault(author, {})[log_id] = (ours - 1 if ours > 0 else None, ours)
        added += 1
    return added


def _sorted(keys):
    out = list(keys)
    out.sort()
    return out


def _page_end(lo, until):
    # the highest seq number of the page after ``lo`` (exclusive; None: from the start)
    return min(until, PAGE - 1 if lo is None else lo + PAGE)


class LogSync:
    """The log sync of one session: what the remote lacks goes out, what it sends comes in.

    ``send(framed)`` queues bytes for the remote; ``seen`` (a set, or None) collects the ids of
    operations sent and received, for live mode's de-duplication.  ``progress(received, total)``
    and ``on_ingest(n_changed)`` are as for ``core.sync.SyncSession``.
    """

    def __init__(self, store, log_id, send, max_frame, seen=None, progress=None, on_ingest=None):
        self.store = store
        self.log_id = log_id
        self.send = send
        self.max_frame = max_frame
        self.seen = seen
        self.progress = progress
        self.on_ingest = on_ingest
        self.sending = AWAIT_REMOTE_HAVE
        self.receiving = AWAIT_HAVE
        self.start_version = None  # store.version when our Have was built (live: push from here)
        self.remote_heights = None
        self.remote_total_ops = None
        self.remote_total_bytes = None
        self.ops_sent = 0
        self.ops_received = 0
        self.ops_new = 0
        self.ops_skipped = 0
        self.ops_evidence = 0  # of the operations sent, heads of forked logs (``_evidence``), not news
        self.ops_to_send = 0  # operations announced in our PreSync and not sent yet
        self.skipped_logs = set()  # (author, log id) of logs that conflict with ours
        self.forks = []
        self._announced_left = None  # bytes the remote's PreSync still owes us
        self._plan = []  # [(pk, log_id, after, until)] still to stream
        self._page = []  # the current page of operations (at most PAGE)
        self._page_idx = 0
        self._batch = []  # received operations not ingested yet

    @property
    def done(self):
        """Done sent and received: everything was exchanged."""
        return self.sending == SENT_DONE and self.receiving == RECEIVED_DONE

    def begin(self):
        """Queue our Have (the heights of the log we hold)."""
        self.start_version = getattr(self.store, "version", None)
        self.send(postcard.frame_message(("have", self.store.heights(self.log_id))))

    def frame_limit(self):
        """The largest frame the remote may send now (see MAX_SYNC_FRAME)."""
        if self.receiving in (AWAIT_HAVE, AWAIT_PRESYNC):
            return min(self.max_frame, HAVE_MAX_FRAME)
        left = self._announced_left
        cap = self.max_frame if left is None else min(self.max_frame, left + FRAME_OVERHEAD)
        return max(cap, FRAME_OVERHEAD)

    def where(self):
        """Where the exchange is, in words (for error messages)."""
        if self.receiving == AWAIT_HAVE:
            return "before its Have message"
        if self.receiving == RECEIVING:
            return "mid-stream (received %d of %s operations)" % (
                self.ops_received, "?" if self.remote_total_ops is None else self.remote_total_ops)
        if self.receiving == AWAIT_PRESYNC:
            return "before finishing the sync"
        return "before we finished sending (%d operations sent)" % self.ops_sent

    # ------------------------------------------------------------------------------ receiving
    def handle(self, msg):
        """One decoded message of the log sync (Have, PreSync, Operation, Done)."""
        kind = msg[0]
        state = self.receiving
        if state == AWAIT_HAVE:
            if kind != "have":
                raise SyncError("protocol error: expected Have from peer, got %s" % kind)
            self.receiving = AWAIT_PRESYNC
            self._on_have(msg[1])
        elif kind == "have":
            raise SyncError("protocol error: peer sent Have twice")
        elif state == RECEIVED_DONE:
            raise SyncError("protocol error: peer sent %s after Done" % kind)
        elif kind == "presync":
            if state != AWAIT_PRESYNC:
                raise SyncError("protocol error: peer sent PreSync twice")
            self._on_presync(msg[1], msg[2])
        elif kind == "op":
            if state != RECEIVING:
                raise SyncError("protocol error: peer sent an Operation before PreSync")
            self._on_op(msg[1], msg[2])
        elif kind == "done":
            self.flush()
            self.receiving = RECEIVED_DONE
            self._announced_left = None  # live messages follow: the absolute cap again

    def _on_presync(self, total_ops, total_bytes):
        self.receiving = RECEIVING
        self.remote_total_ops = total_ops
        self.remote_total_bytes = total_bytes
        self._announced_left = total_bytes
        if self.progress is not None:
            self.progress(0, total_ops)

    def _on_op(self, header_bytes, body):
        n = self.ops_received + 1
        size = len(header_bytes) + (len(body) if body else 0)
        if size > self._announced_left:
            raise SyncError("protocol error: peer sent more operation bytes than its PreSync "
                            "announced (%s)" % self.remote_total_bytes)
        self._announced_left -= size
        op_hash = blake3(header_bytes)
        if self.store.holds(op_hash):
            # sent by another session too: the same header bytes, checked when stored; only its
            # log is checked here (a store may hold another festival's log too)
            ext = decode_header(header_bytes).extensions
            self._check_log(n, ext.log_id if ext is not None else None)
            self.ops_received = n
            if self.seen is not None:
                self.seen.add(op_hash)
            return
        try:
            # decoded and signature-checked once here; the store takes the Operation as is
            op = decode_operation(header_bytes, body, op_hash, empty_body_is_none=True)
        except OperationError as e:
            raise SyncError("invalid operation #%d from peer: rejected operation: %s" % (n, e))
        self._check_log(n, op.log_id)
        self.ops_received = n
        if self.seen is not None:
            self.seen.add(op.hash)
        if (op.public_key, op.log_id) in self.skipped_logs:
            self.ops_skipped += 1
            return
        self._batch.append(op)
        if len(self._batch) >= PAGE:
            self.flush()

    def _check_log(self, n, log_id):
        if log_id != self.log_id:
            raise SyncError("invalid operation #%d from peer: it belongs to another log (%s), not %s"
                            % (n, short(log_id) if log_id is not None else "none", short(self.log_id)))

    def flush(self):
        """Ingest the operations received and not stored yet."""
        batch = self._batch
        if not batch:
            return
        self._batch = []
        first = self.ops_received - len(batch) + 1
        try:
            if len(batch) > 1:
                changed = self.store.ingest_many(batch)
            else:
                changed = int(self.store.ingest_op(batch[0])[1])
        except CannotStore as e:  # nothing was refused: the disk takes no writes
            raise SyncError("operations from the peer not stored: %s" % e)
        except IngestError:  # find the bad one(s) op by op, skip their logs
            changed = self._ingest_one_by_one(batch, first)
        self.ops_new += changed
        if changed and self.on_ingest is not None:
            self.on_ingest(changed)
        if self.progress is not None:
            self.progress(self.ops_received, self.remote_total_ops)

    def _ingest_one_by_one(self, batch, first):
        # An operation that conflicts with our log (a fork), or does not chain, skips that
        # author's log for the rest of the session and is kept as evidence (at most
        # MAX_EVIDENCE); every other log goes on, so updates behind it still cross.
        # (Operations stored before the bad one count as duplicates here: ops_new undercounts.)
        changed = 0
        for i in range(len(batch)):
            op = batch[i]
            key = (op.public_key, op.log_id)
            if key in self.skipped_logs:
                self.ops_skipped += 1
                continue
            try:
                _, new = self.store.ingest_op(op)
            except CannotStore as e:
                raise SyncError("operations from the peer not stored: %s" % e)
            except IngestError as e:
                self.skipped_logs.add(key)
                self.ops_skipped += 1
                if len(self.forks) < MAX_EVIDENCE:
                    self.forks.append({"author": hexlify(op.public_key), "seq_num": op.seq_num,
                                       "reason": str(e)[:200], "header": op.header_bytes,
                                       "index": first + i})
                continue
            if new:
                changed += 1
        return changed

    def salvage(self):
        """The session failed on a later message: still keep the valid operations received
        before it (each was checked when it arrived and is checked by the store again)."""
        batch = self._batch
        self._batch = []
        for op in batch:
            try:
                _, new = self.store.ingest_op(op)
            except IngestError:
                break
            if new:
                self.ops_new += 1

    # -------------------------------------------------------------------------------- sending
    def _on_have(self, remote_heights):
        self.remote_heights = remote_heights
        heights = self.store.heights(self.log_id)
        need = compare(heights, remote_heights)
        self.ops_evidence = _evidence(need, heights, remote_heights, self.store.fork_held, self.log_id)
        # core/auth.py: relay only what the festival group still allows (a log stops at its
        # first refused op: no gaps), managers' logs first (their group ops let others write)
        group = getattr(self.store, "authorizer", None)
        authors = _sorted(need) if group is None else group.relay_order(_sorted(need))
        count = 0
        total_bytes = 0
        for pk in authors:
            logs = need[pk]
            for log_id in _sorted(logs):
                after, until = logs[log_id]
                n, size, last = self._count(pk, log_id, after, until, group)
                count += n
                total_bytes += size
                if last is not None:
                    self._plan.append((pk, log_id, after, last))
        if count:
            self.send(postcard.frame_message(("presync", count, min(total_bytes, postcard.U32_MAX))))
            self.sending = SENDING
            self.ops_to_send = count
        else:
            self._plan = []
            self._send_done()

    def _count(self, pk, log_id, after, until, group):
        """``(operations, bytes, last seq)`` we may send of one log after ``after``.

        Counted page by page (PreSync needs the totals first); the sends page through the store
        again, so no list of every missing operation is built."""
        count = 0
        size = 0
        last = None
        lo = after
        while True:
            hi = _page_end(lo, until)
            for op in self.store.operations(pk, log_id, lo, hi):
                if group is not None and not group.may_relay(op):
                    return count, size, last
                count += 1
                last = op.seq_num
                size += len(op.header_bytes) + (len(op.body) if op.body else 0)
            if hi >= until:
                return count, size, last
            lo = hi

    def fill(self, room):
        """Queue operations of about ``room`` bytes at most, then Done after the last one."""
        if self.sending != SENDING:
            return
        queued = 0
        while queued < room and self.ops_to_send > 0:
            if self._page_idx >= len(self._page):
                self._page = self._next_page()
                self._page_idx = 0
                if not self._page:
                    break
            op = self._page[self._page_idx]
            self._page_idx += 1
            self.ops_to_send -= 1
            framed = postcard.frame_message(("op", op.header_bytes, op.body))
            self.send(framed)
            queued += len(framed)
            if self.seen is not None:
                self.seen.add(op.hash)
            self.ops_sent += 1
        if self.ops_to_send <= 0 or not self._plan and self._page_idx >= len(self._page):
            self._plan = []
            self._page = []
            self._page_idx = 0
            self._send_done()

    def _send_done(self):
        self.send(postcard.frame_message(("done",)))
        self.sending = SENT_DONE

    def _next_page(self):
        """The next at most PAGE operations of the send plan (empty when it is used up)."""
        plan = self._plan
        while plan:
            pk, log_id, after, until = plan[0]
            hi = _page_end(after, until)
            page = self.store.operations(pk, log_id, after, hi)  # at most PAGE: one per seq_num
            last = page[-1].seq_num if page else hi
            if last >= until:
                plan.pop(0)
            else:
                plan[0] = (pk, log_id, last, until)
            if page:
                return page
        return []
