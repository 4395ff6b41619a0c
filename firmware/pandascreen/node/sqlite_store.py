"""Persistent operation store on SQLite (CPython / Raspberry Pi OS).

Durability: WAL journal with ``synchronous=FULL``; every ingest is committed before it is
acknowledged, so a ``kill -9`` or power cut loses nothing that was reported as stored and
never leaves a half-written operation behind.  Thread-safe (sync server threads + UI loop).
"""

import sqlite3
import threading

from pandascreen.core import operation
from pandascreen.core.store import BaseStore, IngestError, _log_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    hash        BLOB PRIMARY KEY,
    public_key  BLOB NOT NULL,
    log_id      BLOB NOT NULL,
    seq_num     INTEGER NOT NULL,
    timestamp   INTEGER NOT NULL,
    header      BLOB NOT NULL,
    body        BLOB,
    UNIQUE (public_key, log_id, seq_num)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
"""


class SqliteStore(BaseStore):
    def __init__(self, path):
        self.path = path
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise IngestError("cannot open store %s: %s (is it a pandascreen database?)" % (path, e))
        self._lock = threading.RLock()
        self._latest_cache = {}
        self._in_batch = False

    def close(self):
        with self._lock:
            self._db.close()

    # primitives -------------------------------------------------------------------------------
    def _row_to_op(self, row):
        header_bytes, body, op_hash = row
        header = operation.decode_header(bytes(header_bytes))
        return operation.Operation(header, header_bytes, None if body is None else bytes(body), bytes(op_hash))

    def has(self, op_hash):
        with self._lock:
            return self._db.execute("SELECT 1 FROM operations WHERE hash=?", (bytes(op_hash),)).fetchone() is not None

    def latest(self, public_key, log_id):
        key = (bytes(public_key), _log_key(log_id))
        with self._lock:
            if key in self._latest_cache:
                return self._latest_cache[key]
            row = self._db.execute(
                "SELECT header, body, hash FROM operations WHERE public_key=? AND log_id=? "
                "ORDER BY seq_num DESC LIMIT 1", key).fetchone()
            op = None if row is None else self._row_to_op(row)
            self._latest_cache[key] = op
            return op

    def _insert(self, op):
        key = (op.public_key, _log_key(op.log_id))
        if op.prune:
            self._db.execute("DELETE FROM operations WHERE public_key=? AND log_id=? AND seq_num<?",
                             key + (op.seq_num,))
        self._db.execute(
            "INSERT INTO operations (hash, public_key, log_id, seq_num, timestamp, header, body) "
            "VALUES (?,?,?,?,?,?,?)",
            (op.hash, key[0], key[1], op.seq_num, op.timestamp, op.header_bytes, op.body))
        self._latest_cache[key] = op

    def ingest(self, header_bytes, body=None):
        with self._lock:
            op, new = self.check(header_bytes, body)
            if not new:
                return op, False
            if self._in_batch:
                self._insert(op)
                return op, True
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._insert(op)
                self._db.execute("COMMIT")
            except Exception:
                self._rollback()
                raise
            return op, True

    def _rollback(self):
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self._latest_cache.clear()

    def ingest_many(self, items):
        """Ingest (header_bytes, body) pairs in one transaction (fast path for sync/import).

        Operations before a bad one are kept; the bad one raises IngestError naming its position.
        Returns the number of new operations.
        """
        new_count = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._in_batch = True
            try:
                for i, (hb, body) in enumerate(items):
                    try:
                        _, new = self.ingest(hb, body)
                    except IngestError as e:
                        self._db.execute("COMMIT")
                        raise IngestError("operation #%d of batch: %s (the %d before it were stored)"
                                          % (i + 1, e, i))
                    new_count += new
                self._db.execute("COMMIT")
            except IngestError:
                raise
            except BaseException:
                self._rollback()
                raise
            finally:
                self._in_batch = False
        return new_count

    # queries --------------------------------------------------------------------------------------
    def heights(self, log_id=None):
        with self._lock:
            if log_id is None:
                rows = self._db.execute("SELECT public_key, log_id, MAX(seq_num) FROM operations "
                                        "GROUP BY public_key, log_id").fetchall()
            else:
                rows = self._db.execute("SELECT public_key, log_id, MAX(seq_num) FROM operations "
                                        "WHERE log_id=? GROUP BY public_key", (bytes(log_id),)).fetchall()
        out = {}
        for pk, log, seq in rows:
            out.setdefault(bytes(pk), {})[bytes(log)] = seq
        return out

    def operations(self, public_key, log_id, after_seq=None, until_seq=None):
        lo = -1 if after_seq is None else after_seq
        hi = 0xFFFFFFFF if until_seq is None else until_seq
        with self._lock:
            rows = self._db.execute(
                "SELECT header, body, hash FROM operations WHERE public_key=? AND log_id=? "
                "AND seq_num>? AND seq_num<=? ORDER BY seq_num",
                (bytes(public_key), _log_key(log_id), lo, hi)).fetchall()
        return [self._row_to_op(r) for r in rows]

    def all_operations(self, log_id=None):
        with self._lock:
            if log_id is None:
                rows = self._db.execute("SELECT header, body, hash FROM operations "
                                        "ORDER BY public_key, log_id, seq_num").fetchall()
            else:
                rows = self._db.execute("SELECT header, body, hash FROM operations WHERE log_id=? "
                                        "ORDER BY public_key, seq_num", (bytes(log_id),)).fetchall()
        for r in rows:
            yield self._row_to_op(r)

    def count(self):
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM operations").fetchone()[0]

    def get_meta(self, key, default=None):
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key, value):
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
