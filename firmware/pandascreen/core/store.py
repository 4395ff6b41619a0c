"""Operation stores: one contract, the p2panda ingest rules, and the store in RAM.

``BaseStore`` is the contract (modelled on gpiozero's pin ``Factory``): it holds every rule
once (validate, de-duplicate, backlink against the latest operation of the same author and
log, prune, timestamp range, body fill-in, publishing) and leaves only storage primitives to
the stores, so they cannot drift apart.  ``MemoryStore`` keeps everything in RAM (tests, the
demo, sync in memory); the Pi's persistent store is ``pandascreen.node.sqlite_store``, and a
MicroPython board keeps no store at all (it reads the laptop's signed feed).
"""


from pandascreen.core import operation
from pandascreen.core.errors import IngestError, OperationError, Unauthorized
from pandascreen.core.crypto import blake3, signing_key
from pandascreen.core.store_forks import MAX_FORKS, ForkRecord, log_key as _log_key  # noqa: F401 (MAX_FORKS re-exported)
from pandascreen.core.util import hexlify

# One timestamp rule in every store: p2panda timestamps are u64, SQLite integers are i64, so
# the common range is 0 <= timestamp < 2**63 (microseconds: good for ~292,000 years).
MAX_TIMESTAMP = (1 << 63) - 1


# what _admit decided for an operation
_DUPLICATE = 0
_NEW = 1
_FILL = 2


def _who(op):
    # only computed when an error is raised (hexlify on every op was measurable)
    return hexlify(op.public_key)[:16]


class _NoTransaction:
    """Context manager that does nothing (stores without transactions)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_TRANSACTION = _NoTransaction()


class BaseStore(ForkRecord):
    """Stores signed p2panda operations of festival logs under the ingest rules; the store
    contract (what to override: the comments below, checked by tests/test_store_contract.py)."""

    # The contract, gpiozero ``Factory`` style.  (Comments, not docstring: a board compiling
    # this file would need the whole docstring as one block of heap.)
    #
    # Descendants MUST override these primitives:
    #   _lookup(hash)       is an operation stored, and with its body?
    #   latest(pk, log)     the latest stored operation of one author's log
    #   _insert(op)         store a new operation (first dropping the earlier ones of its log
    #                       if it prunes); raises the version
    #   _fill_body(op)      give a stored body-less operation its body; raises the version
    #   position(hash)      (public_key, seq_num) of a stored operation
    #   heights, operations, all_operations, count        queries
    #   version, operations_since                         the change counter
    # Descendants MAY override, when they can do better than the default:
    #   has(hash)           default: _lookup
    #   _write()            context manager around every change, may nest; SQLite returns a
    #                       transaction, so ingest_many and publish_many commit once per batch
    #   close()             default: nothing to close
    #   write_failed        None, or "full" (the disk) or "cannot" (an I/O error, read-only) when
    #                       a write could not be stored, until a write commits: the screen says so
    # Everything else (ingest, ingest_op, ingest_many, check, publish, publish_many) is shared
    # and is not overridden.
    #
    # The change counter, for caches built from the store (the schedule view):
    #   store.version       an int that grows whenever the contents change (an insert, a body
    #                       filled in, a prune); an empty store has version 0
    #   store.operations_since(v, log_id=None)
    #                       the operations stored (or given their body) after version v, in
    #                       that order, each once, as stored now; or None if anything was
    #                       removed since v (a prune): "rebuild from all_operations()"
    #
    # Rules every store keeps:
    #   - an operation is stored once (by hash); has and count agree with the queries;
    #   - a log is a chain: seq_num 0, then each following the latest with a matching
    #     backlink; forks, replays and gaps raise IngestError -- unless the operation prunes,
    #     then the earlier operations of its log are dropped everywhere;
    #   - timestamps must be 0 <= t < 2**63, else IngestError;
    #   - an operation first stored without its body gets the body when it arrives with it
    #     (checked against payload_size/payload_hash); that counts as a change.

    write_failed = None

    # primitives a concrete store implements -------------------------------------------------
    def _lookup(self, op_hash):
        """None if ``op_hash`` is not stored, else True if its body is stored (or it has
        none), False if it was stored without its body."""
        raise NotImplementedError

    def latest(self, public_key, log_id):
        """Latest stored Operation of (author, log) or None."""
        raise NotImplementedError

    def _insert(self, op):
        """Store ``op`` (the rules were checked); if ``op.prune``, first drop every earlier
        operation of its (author, log).  Must raise the version."""
        raise NotImplementedError

    def _fill_body(self, op):
        """``op`` is stored without body; store it with ``op.body``.  Must raise the version."""
        raise NotImplementedError

    def heights(self, log_id=None):
        """``{public_key: {log_id: latest seq_num}}`` (only ``log_id`` if given)."""
        raise NotImplementedError

    def operations(self, public_key, log_id, after_seq=None, until_seq=None):
        """Operations of one author's log with after_seq < seq_num <= until_seq, by seq_num."""
        raise NotImplementedError

    def all_operations(self, log_id=None):
        """Every stored operation (of ``log_id`` if given), by author, log and seq_num."""
        raise NotImplementedError

    def count(self):
        """Number of stored operations."""
        raise NotImplementedError

    @property
    def version(self):
        raise NotImplementedError

    def operations_since(self, version, log_id=None):
        raise NotImplementedError

    def pages(self, log_id, page=500, authors=None):
        """Every operation of ``log_id`` (of the keys ``authors(key)`` accepts), read a page of
        one author's log at a time: the peak memory is one page, not the whole log."""
        heights = self.heights(log_id)
        for public_key in sorted(heights):
            if authors is not None and not authors(public_key):
                continue
            top = heights[public_key].get(bytes(log_id))
            after, span = -1, page
            while top is not None and after < top:
                ops = self.operations(public_key, log_id, after, after + span)
                for op in ops:
                    yield op
                after += span
                # a pruned log starts late: widen the window over the gap, narrow it again after
                span = page if ops else span * 2

    # an auth.Authorizer consulted for every operation (auth.guard sets it); None: all.
    # refused / last_refused: how many it dropped, and why the last one was
    authorizer = None
    refused = 0
    last_refused = None

    def position(self, op_hash):
        """``(public_key, seq_num)`` of a stored operation, or None (a removal's cut-off)."""
        raise NotImplementedError

    # optional overrides -----------------------------------------------------------------------
    def has(self, op_hash):
        return self._lookup(op_hash) is not None

    def holds(self, op_hash):
        """Stored with its body (or it has none): offered again, it would change nothing, so
        a sync need not check its signature again."""
        return self._lookup(op_hash) is True

    def _write(self):
        """Context manager around a change (or a batch of changes); may nest."""
        return _NO_TRANSACTION

    def close(self):
        pass

    def release_memory(self):
        """Let go of what the store caches and can read again (a SQLite store's page cache)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # shared logic -----------------------------------------------------------------------------
    @staticmethod
    def _decode(header_bytes, body=None):
        try:
            return operation.decode(header_bytes, body)
        except OperationError as e:
            raise IngestError("rejected operation: %s" % e)

    def _admit(self, op):
        """Apply the log rules to a decoded, signature-checked op: _NEW, _FILL or _DUPLICATE."""
        past = self.latest(op.public_key, op.log_id)
        seq = op.seq_num
        if past is not None and seq <= past.seq_num:
            # only an op at or below the log's height can be stored already (a new one, or
            # one removed by a prune, cannot): look it up only then
            stored = self._lookup(op.hash)
            if stored is None:
                here = self.operations(op.public_key, op.log_id, seq - 1, seq)
                if here:  # else an operation a prune dropped, offered again: no fork
                    self._fork(op, seq, here[0].hash, op.hash)
                raise IngestError(
                    "rejected operation: author %s already has seq_num %d in this log (fork or replay)"
                    % (_who(op), seq))
            if stored or op.body is None:
                return _DUPLICATE
            h = op.header
            if len(op.body) != h.payload_size or blake3(op.body) != h.payload_hash:
                raise IngestError("rejected body: it does not match payload_size/payload_hash "
                                  "of the stored operation")
            return _FILL
        ts = op.timestamp
        if ts < 0 or ts > MAX_TIMESTAMP:
            raise IngestError("rejected operation: timestamp %d is outside 0..2**63-1" % ts)
        if seq > 0 and not op.prune:
            if past is None:
                raise IngestError(
                    "rejected operation: seq_num %d of author %s arrived before seq_num 0..%d"
                    % (seq, _who(op), seq - 1))
            if seq != past.seq_num + 1:
                raise IngestError(
                    "rejected operation: seq_num %d of author %s does not follow the stored %d (gap)"
                    % (seq, _who(op), past.seq_num))
            try:
                operation.validate_backlink(past.header, op, past.hash)
            except OperationError as e:
                backlink = op.header.backlink
                if backlink is not None and backlink != past.hash:  # its seq_num - 1 is not ours
                    self._fork(op, past.seq_num, past.hash, backlink)
                raise IngestError("rejected operation: %s" % e)
        return _NEW

    def check(self, header_bytes, body=None):
        """Decode + validate without storing. Returns (op, would_change_the_store)."""
        op = self._decode(header_bytes, body)
        return op, self._admit(op) != _DUPLICATE

    def ingest_op(self, op):
        """Store an already decoded and signature-checked ``operation.Operation`` (from
        ``operation.decode`` or ``operation.create``) under the log rules.

        Returns ``(op, changed)``: changed is False for a duplicate.  Raises IngestError.
        """
        with self._write():
            return op, self._apply(op)

    def _apply(self, op):
        # the rules and the change, inside a _write() the caller holds
        if self.authorizer is not None:
            # The festival group decides what this peer stores and so relays (core/auth.py).
            # A refused operation is dropped like a duplicate (counted, reason kept), checked
            # first so a stranger's flood costs one dict lookup per op and cannot end a sync
            # session before the organiser's operations arrive.
            try:
                self.authorizer.check_store(op)
            except Unauthorized as e:
                self.refused += 1
                self.last_refused = str(e)
                self.authorizer.hold(op)  # bounded: retried if the group changes
                return False
        what = self._admit(op)
        if what == _DUPLICATE:
            return False
        if what == _NEW:
            self._insert(op)
        else:
            self._fill_body(op)
        if self.authorizer is not None and self.authorizer.observe(op):
            # the group changed: operations it refused earlier in this sync may pass now
            for held in self.authorizer.release():
                try:
                    self._apply(held)
                except IngestError:
                    pass
        return True

    def ingest(self, header_bytes, body=None):
        """Decode, verify and store operation bytes as received. Returns (op, changed)."""
        return self.ingest_op(self._decode(header_bytes, body))

    def ingest_many(self, items):
        """Ingest ``Operation`` objects or ``(header_bytes, body)`` pairs, in one transaction
        where the store has them.  Operations before a bad one are kept; the bad one raises
        IngestError naming its position.  Returns the number of changes (new + filled)."""
        changed = 0
        failed = None
        i = 0
        with self._write():
            for item in items:
                try:
                    op = item if isinstance(item, operation.Operation) else self._decode(item[0], item[1])
                    if self._apply(op):
                        changed += 1
                except IngestError as e:
                    failed = e
                    break
                i += 1
        if failed is not None:
            raise IngestError("operation #%d of batch: %s (the %d before it were stored)"
                              % (i + 1, failed, i))
        return changed

    def publish(self, seed, body, log_id, timestamp_us, prune=False):
        """Sign ``body`` as the next operation of the seed's log and store it."""
        return self.publish_many(seed, [body], log_id, timestamp_us, prune)[0]

    def publish_many(self, seed, bodies, log_id, timestamp_us, prune=False, batch=200, progress=None):
        """Sign and store ``bodies`` as the next operations of the seed's log; returns them.

        The key pair is derived once; our own operations are not verified again.
        ``timestamp_us`` is the first timestamp (each next one +1) or a list with one per body;
        timestamps stay strictly increasing after the log's latest even if the clock jumped back.  ``prune`` marks the first operation.  Stored in
        transactions of ``batch`` operations; ``progress(done)`` is called after each.
        """
        key = signing_key(seed)
        past = self.latest(key.public_key, log_id)
        seq, backlink, last_ts = 0, None, -1
        if past is not None:
            seq, backlink, last_ts = past.seq_num + 1, past.hash, past.timestamp
        per_body = not isinstance(timestamp_us, int)
        out = []
        chunk = []
        for i in range(len(bodies)):
            ts = timestamp_us[i] if per_body else timestamp_us + i
            if ts <= last_ts:
                ts = last_ts + 1
            ext = operation.Extensions(log_id, ts, prune and i == 0)
            op = operation.create(key, bodies[i], seq, backlink, ext)
            chunk.append(op)
            seq, backlink, last_ts = seq + 1, op.hash, ts
            if len(chunk) >= batch:
                self._store_own(chunk, len(out), progress)
                out.extend(chunk)
                chunk = []
        if chunk:
            self._store_own(chunk, len(out), progress)
            out.extend(chunk)
        return out

    def _store_own(self, ops, done_before, progress):
        with self._write():
            first = ops[0]
            past = self.latest(first.public_key, first.log_id)
            if (past.hash if past is not None else None) != first.backlink:
                # another writer of this key took the place (a re-import beside a console edit,
                # another process on the same store): not a fork of our own log, a retry
                raise IngestError("own operation seq_num %d not stored: another writer with this key "
                                  "published in this log meanwhile; nothing of this was stored, try again"
                                  % first.seq_num)
            for op in ops:
                if not self._apply(op):  # only an authorizer can refuse our own next op
                    raise IngestError("own operation seq_num %d not stored: %s"
                                      % (op.seq_num, self.last_refused or "refused"))
        if progress is not None:
            progress(done_before + len(ops))


class MemoryStore(BaseStore):
    """Everything in RAM (tests, demos, in-process sync)."""

    def __init__(self):
        self._by_hash = {}
        self._logs = {}  # (pk, log) -> {seq: op}
        self._latest = {}
        # change counter: _journal holds the ops changed at versions _pruned_at+1.._version
        self._version = 0
        self._pruned_at = 0
        self._journal = []
        self._journal_fills = 0

    def _lookup(self, op_hash):
        op = self._by_hash.get(bytes(op_hash))
        if op is None:
            return None
        return op.body is not None or op.header.payload_size == 0

    def latest(self, public_key, log_id):
        return self._latest.get((bytes(public_key), _log_key(log_id)))

    def position(self, op_hash):
        op = self._by_hash.get(bytes(op_hash))
        return None if op is None else (op.public_key, op.seq_num)

    def _insert(self, op):
        key = (op.public_key, _log_key(op.log_id))
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = {}
        self._version += 1
        if op.prune and log:
            by_hash = self._by_hash
            for old in log.values():
                del by_hash[old.hash]
            log.clear()
            self._pruned_at = self._version
            self._journal = []
            self._journal_fills = 0
        else:
            self._journal.append(op)
        self._by_hash[op.hash] = op
        log[op.seq_num] = op
        self._latest[key] = op

    def _fill_body(self, op):
        key = (op.public_key, _log_key(op.log_id))
        self._by_hash[op.hash] = op
        self._logs[key][op.seq_num] = op
        latest = self._latest.get(key)
        if latest is not None and latest.hash == op.hash:
            self._latest[key] = op
        self._version += 1
        self._journal.append(op)
        self._journal_fills += 1

    @property
    def version(self):
        return self._version

    def operations_since(self, version, log_id=None):
        if version < self._pruned_at:
            return None
        ops = self._journal[version - self._pruned_at:] if version < self._version else []
        if self._journal_fills:
            # a filled-in op is in the journal twice: keep its last (current) entry only
            seen = {}
            keep = []
            for i in range(len(ops) - 1, -1, -1):
                h = ops[i].hash
                if h not in seen:
                    seen[h] = True
                    keep.append(ops[i])
            keep.reverse()
            ops = keep
        if log_id is not None:
            log_id = bytes(log_id)
            ops = [op for op in ops if op.log_id == log_id]
        return ops

    def heights(self, log_id=None):
        out = {}
        for key in self._latest:
            pk, log = key
            if log_id is not None and log != bytes(log_id):
                continue
            out.setdefault(pk, {})[log] = self._latest[key].seq_num
        return out

    def operations(self, public_key, log_id, after_seq=None, until_seq=None):
        log = self._logs.get((bytes(public_key), _log_key(log_id))) or {}
        out = []
        for seq in sorted(log):
            if after_seq is not None and seq <= after_seq:
                continue
            if until_seq is not None and seq > until_seq:
                continue
            out.append(log[seq])
        return out

    def all_operations(self, log_id=None):
        for key in sorted(self._logs):
            if log_id is not None and key[1] != bytes(log_id):
                continue
            log = self._logs[key]
            for seq in sorted(log):
                yield log[seq]

    def count(self):
        return len(self._by_hash)

