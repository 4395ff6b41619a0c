"""[core] Operation stores: validation on ingest, log heights, ranges for sync.

``BaseStore`` holds the p2panda ingest rules (validate operation, de-duplicate by hash,
check the backlink against the latest operation of the same author and log, honour the
prune flag).  ``MemoryStore`` keeps everything in RAM; ``LogFileStore`` adds an append-only
file that is replayed at start (a torn last record from a power cut is dropped).  The
SQLite store for Linux boards lives in ``sqlite_store`` and shares ``BaseStore``.
"""

import struct

from pandascreen.core import operation
from pandascreen.core.errors import IngestError
from pandascreen.core.util import hexlify


def _log_key(log_id):
    return b"" if log_id is None else bytes(log_id)


class BaseStore:
    # primitives a concrete store implements -------------------------------------------------
    def has(self, op_hash):
        raise NotImplementedError

    def latest(self, public_key, log_id):
        """Latest stored Operation of (author, log) or None."""
        raise NotImplementedError

    def _insert(self, op):
        raise NotImplementedError

    # shared logic -----------------------------------------------------------------------------
    def check(self, header_bytes, body=None):
        """Decode + validate without storing. Returns (op, is_new)."""
        try:
            op = operation.decode(header_bytes, body)
        except operation.OperationError as e:
            raise IngestError("rejected operation: %s" % e)
        if self.has(op.hash):
            return op, False
        past = self.latest(op.public_key, op.log_id)
        who = hexlify(op.public_key)[:16]
        if past is not None and op.seq_num <= past.seq_num:
            raise IngestError(
                "rejected operation: author %s already has seq_num %d in this log (fork or replay)"
                % (who, op.seq_num))
        if op.seq_num > 0 and not op.prune:
            if past is None:
                raise IngestError(
                    "rejected operation: seq_num %d of author %s arrived before seq_num 0..%d"
                    % (op.seq_num, who, op.seq_num - 1))
            if op.seq_num != past.seq_num + 1:
                raise IngestError(
                    "rejected operation: seq_num %d of author %s does not follow the stored %d (gap)"
                    % (op.seq_num, who, past.seq_num))
            try:
                operation.validate_backlink(past.header, op, past.hash)
            except operation.OperationError as e:
                raise IngestError("rejected operation: %s" % e)
        return op, True

    def ingest(self, header_bytes, body=None):
        op, new = self.check(header_bytes, body)
        if new:
            self._insert(op)
        return op, new

    def publish(self, seed, body, log_id, timestamp_us, prune=False):
        from pandascreen.core.crypto import public_key
        pk = public_key(seed)
        past = self.latest(pk, log_id)
        if past is None:
            seq, backlink = 0, None
        else:
            seq, backlink = past.seq_num + 1, past.hash
            # keep our own log's timestamps strictly increasing even if the clock jumps back
            if timestamp_us <= past.timestamp:
                timestamp_us = past.timestamp + 1
        ext = operation.Extensions(log_id, timestamp_us, prune)
        op = operation.create(seed, body, seq, backlink, ext)
        return self.ingest(op.header_bytes, op.body)[0]


class MemoryStore(BaseStore):
    def __init__(self):
        self._by_hash = {}
        self._logs = {}  # (pk, log) -> {seq: op}
        self._latest = {}

    def has(self, op_hash):
        return bytes(op_hash) in self._by_hash

    def latest(self, public_key, log_id):
        return self._latest.get((bytes(public_key), _log_key(log_id)))

    def _insert(self, op):
        key = (op.public_key, _log_key(op.log_id))
        self._by_hash[op.hash] = op
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = {}
        if op.prune:
            log.clear()
        log[op.seq_num] = op
        self._latest[key] = op

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


_NO_BODY = 0xFFFFFFFF


class LogFileStore(MemoryStore):
    """MemoryStore persisted to an append-only file (for MicroPython boards)."""

    def __init__(self, path):
        MemoryStore.__init__(self)
        self.path = path
        self.dropped_tail = 0
        good = self._replay()
        self._fh = open(path, "ab")
        if self.dropped_tail:
            self._fh.close()
            self._truncate(good)
            self._fh = open(path, "ab")

    def _replay(self):
        try:
            fh = open(self.path, "rb")
        except OSError:
            return 0
        try:
            data = fh.read()
        finally:
            fh.close()
        pos = 0
        n = len(data)
        while pos < n:
            if pos + 8 > n:
                break
            hlen, blen = struct.unpack(">II", data[pos:pos + 8])
            end = pos + 8 + hlen + (0 if blen == _NO_BODY else blen)
            if hlen > operation.MAX_HEADER_SIZE or end > n:
                break
            hb = data[pos + 8:pos + 8 + hlen]
            body = None if blen == _NO_BODY else data[pos + 8 + hlen:end]
            try:
                op, new = self.check(hb, body)
            except IngestError:
                break
            if new:
                MemoryStore._insert(self, op)
            pos = end
        self.dropped_tail = n - pos
        return pos

    def _truncate(self, size):
        fh = open(self.path, "rb")
        data = fh.read(size)
        fh.close()
        tmp = self.path + ".tmp"
        fh = open(tmp, "wb")
        fh.write(data)
        fh.close()
        import os
        os.rename(tmp, self.path)

    def _insert(self, op):
        body = op.body
        rec = struct.pack(">II", len(op.header_bytes), _NO_BODY if body is None else len(body))
        self._fh.write(rec + op.header_bytes + (body or b""))
        self._fh.flush()
        MemoryStore._insert(self, op)

    def close(self):
        self._fh.close()
