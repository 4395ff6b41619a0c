"""Persistent operation store on SQLite (CPython / Raspberry Pi OS): the store contract of
``pandascreen.core.store.BaseStore`` with SQLite primitives.

Durability: WAL journal with ``synchronous=FULL``; every change is committed before it is
acknowledged (a batch commits once), so a ``kill -9`` or power cut loses nothing that was
reported as stored and never leaves a half-written operation behind.  Thread-safe (sync
server threads + UI loop share one connection under a lock).

Change counter: every row carries ``changed``, the store version at which it was inserted
or given its body; the version is the largest ``changed`` (a prune always inserts the
pruning operation last, so it never shrinks), and ``meta.pruned_at`` remembers the last
version at which a prune removed rows.
"""

import os
import sqlite3
import threading
import time

from pandascreen.core import cbor, operation
from pandascreen.core.errors import CannotStore, ConfigError
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
    changed     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (public_key, log_id, seq_num)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
"""

INDEXES = "CREATE INDEX IF NOT EXISTS operations_changed ON operations (changed);"


class StoredOperation(operation.Operation):
    """An operation read back from the store, checked when it was stored.  Its author, log,
    number and time come from the table's columns; the header is decoded on first use of
    anything else, at most once.  Writing the snapshot only copies the stored bytes (for 38c3,
    6.7 ms a write instead of 20 ms), and applying the program or choosing what to relay decodes
    nothing: in a swarm every header was decoded about four times per operation before."""

    def __init__(self, header_bytes, body, op_hash, public_key, log_id, seq_num, timestamp):
        self.header_bytes = bytes(header_bytes)
        self.body = None if body is None else bytes(body)
        self.hash = bytes(op_hash)
        self._header = None
        self.public_key = bytes(public_key)
        self.log_id = bytes(log_id) or None
        self.seq_num = seq_num
        self.timestamp = timestamp

    @property
    def header(self):
        if self._header is None:
            self._header = operation.decode_header(self.header_bytes)
        return self._header

    # the columns shadow Operation's properties, which would decode the header
    public_key = log_id = seq_num = timestamp = None


_SELECT = "SELECT header, body, hash, public_key, log_id, seq_num, timestamp FROM operations "


class _Transaction:
    """Re-entrant write transaction: the outermost one holds the lock and commits.

    ``keep_before_refusal``: an IngestError (a refused operation, which itself changed nothing)
    still commits what came before it, as sync wants; otherwise it rolls everything back.
    """

    def __init__(self, store, keep_before_refusal=True):
        self.store = store
        self.keep_before_refusal = keep_before_refusal

    def __enter__(self):
        s = self.store
        s._lock.acquire()
        if s._depth == 0:
            try:
                if s.unwritable:
                    s._writable_again()
                s._db.execute("BEGIN IMMEDIATE")
                s._next_version = s._begun_at = s._read_version() + 1
                s._remembered_at(s._begun_at - 1)
            except BaseException as e:
                s._lock.release()
                s._failed_write(e)
                raise
        s._depth += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        s = self.store
        s._depth -= 1
        try:
            if s._depth == 0:
                if exc_type is None or (self.keep_before_refusal and issubclass(exc_type, IngestError)
                                        and not issubclass(exc_type, CannotStore)):
                    # a refused operation changed nothing: keep what came before it
                    wrote = s._next_version != s._begun_at  # a commit of nothing proves no write
                    try:
                        s._db.execute("COMMIT")
                    except BaseException as e:  # disk full, I/O error: nothing of it was stored
                        s._rollback()
                        s._failed_write(e)
                        raise
                    if wrote:
                        s.write_failed = None
                else:
                    s._rollback()
                    if exc is not None:
                        s._failed_write(exc)
        finally:
            s._lock.release()
        return False


WRITABLE_AGAIN_EVERY = 30.0  # seconds between an unwritable store's tries to open for writing
FULL = "full"  # ``write_failed``: the disk is full
CANNOT = "cannot"  # ... another reason the store cannot write (an I/O error, a read-only file)


def _cannot_write(e):
    """``FULL`` or ``CANNOT`` when ``e`` says the store cannot write, None for any other end of a
    transaction (a refused operation, Ctrl-C, a busy database)."""
    if not isinstance(e, sqlite3.Error):
        return None
    name = getattr(e, "sqlite_errorname", "") or ""  # Python 3.11+
    text = str(e)
    if name.startswith("SQLITE_FULL") or "is full" in text:
        return FULL
    if name.startswith(("SQLITE_IOERR", "SQLITE_READONLY")) or "disk I/O error" in text or "readonly" in text:
        return CANNOT
    return None


def _cannot_open(e):
    """SQLite could not open (or create) the file: a read-only folder, a missing one."""
    return (getattr(e, "sqlite_errorname", "") or "").startswith("SQLITE_CANTOPEN") or "unable to open" in str(e)


def _no_space_beside(path):
    """Whether the disk holding ``path`` has no block left (SQLite says "disk I/O error" when it
    cannot grow its shared-memory file there, not "full")."""
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, AttributeError):
        return False
    return st.f_bavail == 0


# A screen's page cache (node/snapshot.open_store): it reads its store in full once at start, then
# a few pages per sync; SQLite's default 2 MB would keep the start-up's pages for the screen's life.
SCREEN_CACHE_KIB = 256


class SqliteStore(BaseStore):
    def __init__(self, path, cache_kib=None):
        """``cache_kib``: SQLite's page cache in KiB (None: SQLite's default, 2000)."""
        self.path = path
        self._cache_kib = cache_kib
        if os.path.isdir(path) or (os.path.exists(path) and not os.path.isfile(path)):
            # the config's mistake, not a damaged store: nothing is moved aside (node/snapshot.py)
            raise ConfigError("cannot open store %s: it %s (\"store\" in the config names the store's file, e.g. "
                              "festival.db)" % (path, "is a folder" if os.path.isdir(path) else "is not a file"))
        self.unwritable = None  # FULL or CANNOT: opened for reading only, the disk would not write
        self._writable_again_at = 0.0  # when an unwritable store next tries to open for writing
        try:
            self._db = self._open_writable()
        except sqlite3.DatabaseError as e:
            self._db = self._open_unwritable(path, e)
            if self._db is None:
                if _cannot_write(e) or _cannot_open(e):  # a full or read-only disk, no store to read
                    full = _no_space_beside(path)
                    refused = CannotStore("cannot open store %s: %s (nothing was moved aside; it opens once "
                                          "the disk takes writes)" % (path, "the disk is full" if full else e))
                    refused.failed = FULL if full else CANNOT  # as ``write_failed`` says it
                    raise refused
                raise IngestError("cannot open store %s: %s (is it a pandascreen database?)" % (path, e))
            self.unwritable = self.write_failed = FULL if _no_space_beside(path) else (_cannot_write(e) or CANNOT)
            self._writable_again_at = time.monotonic() + WRITABLE_AGAIN_EVERY
        self._lock = threading.RLock()
        self._latest_cache = {}
        self._latest_at = None  # the store version the remembered latest operations hold for
        self._heights_cache = {}  # log id (None: all logs) -> (store version, heights)
        self._depth = 0
        self._next_version = self._begun_at = 0
        self._tx = _Transaction(self)
        self._group_seen = None  # catch_up_group's last look (the store version)
        try:
            self._group_seen = self._read_version()
        except sqlite3.DatabaseError:
            pass  # a damaged store: node/snapshot.py's check finds it
        try:  # forks are remembered across restarts: the organiser may not have looked yet
            forks = self.get_meta("forks")
            if forks:
                self.forks = [tuple(f) for f in cbor.loads(bytes(forks))]
            held = self.get_meta("fork_held")
            if held:
                self.fork_held = {(bytes(a), bytes(log)): seq for a, log, seq in cbor.loads(bytes(held))}
        except (sqlite3.DatabaseError, ValueError):
            pass  # a damaged store: node/snapshot.py's check finds it

    def _open_writable(self):
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            if self._cache_kib is not None:
                db.execute("PRAGMA cache_size=%d" % -int(self._cache_kib))
            db.executescript(SCHEMA)
            self._migrate(db)
            db.executescript(INDEXES)
        except BaseException:
            db.close()
            raise
        return db

    def _writable_again(self):
        """An unwritable store (called with its lock, before a write) opens for writing again
        once the disk takes writes, tried at most every ``WRITABLE_AGAIN_EVERY`` seconds: the
        screen stores what its peers send as soon as a full card has room, without a restart."""
        now = time.monotonic()
        if now < self._writable_again_at:
            return
        self._writable_again_at = now + WRITABLE_AGAIN_EVERY
        try:
            db = self._open_writable()
        except sqlite3.DatabaseError:
            return
        self._db.close()
        self._db = db
        self.unwritable = None
        self._latest_cache.clear()
        self._latest_at = None
        self._heights_cache.clear()

    @staticmethod
    def _open_unwritable(path, e):
        """The store ``path`` for reading only, when opening it failed (``e``) because the disk
        takes no writes (full, read-only): SQLite cannot make its WAL and shared-memory files there,
        so the database file is read alone (``immutable``; what a crash left in the WAL is not
        seen, a resync brings it).  None when that is not why, or it cannot be read either."""
        if not (_cannot_write(e) or _cannot_open(e)) or not os.path.isfile(path):
            return None
        import urllib.parse
        try:
            db = sqlite3.connect("file:%s?immutable=1" % urllib.parse.quote(os.path.abspath(path)), uri=True,
                                 check_same_thread=False, isolation_level=None)
        except sqlite3.DatabaseError:
            return None
        try:
            db.execute("SELECT header FROM operations LIMIT 1").fetchall()
            db.execute("SELECT value FROM meta LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            return None
        return db

    @staticmethod
    def _migrate(db):
        # stores written before the change counter: number the rows in insertion order
        cols = [r[1] for r in db.execute("PRAGMA table_info(operations)")]
        if "changed" not in cols:
            db.execute("ALTER TABLE operations ADD COLUMN changed INTEGER NOT NULL DEFAULT 0")
            db.execute("UPDATE operations SET changed = rowid")

    def close(self):
        with self._lock:
            self._db.close()

    def release_memory(self):
        """SQLite's page cache back to malloc: an idle screen reads its pages again from the
        kernel's page cache, which holds the file anyway."""
        with self._lock:
            try:
                self._db.execute("PRAGMA shrink_memory")
            except sqlite3.DatabaseError:
                pass  # a damaged or closed store: what reads it next says so

    def _write(self):
        return self._tx

    def transaction(self):
        """One write transaction around several calls (re-entrant): all of it is stored, or none,
        also when interrupted (Ctrl-C) or when an ``IngestError`` ends it."""
        return _Transaction(self, keep_before_refusal=False)

    def _fork(self, op, seq, kept, other):
        BaseStore._fork(self, op, seq, kept, other)
        self.set_meta("forks", cbor.dumps([list(f) for f in self.forks]))
        self.set_meta("fork_held", cbor.dumps([[a, log, seq] for (a, log), seq in self.fork_held.items()]))

    def _failed_write(self, e):
        """A write transaction ended in ``e``: when the disk would not take it, remember why
        (``write_failed``; the reason the store opened read-only, if it did) and raise
        CannotStore from it, in words; any other error is the caller's to raise."""
        failed = _cannot_write(e)
        if failed is None or isinstance(e, CannotStore):
            return
        self.write_failed = self.unwritable or failed
        raise CannotStore("cannot store in %s: %s (%s)" % (
            self.path, "the disk is full" if self.write_failed == FULL else "the disk takes no writes", e)) from e

    def _rollback(self):
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        rolled_back = getattr(self.authorizer, "rolled_back", None)
        if rolled_back is not None:  # it took what was rolled back for stored (core/fleet.FleetGuard)
            rolled_back()
        self._latest_cache.clear()
        self._latest_at = None
        self._heights_cache.clear()  # the next write takes the versions this one had
        if self._group_seen is not None and self._group_seen >= self._begun_at:
            self._group_seen = self._begun_at - 1  # those versions are another writer's to take

    # primitives -------------------------------------------------------------------------------
    @staticmethod
    def _row_to_op(row):
        return StoredOperation(*row)

    def _lookup(self, op_hash):
        with self._lock:
            row = self._db.execute("SELECT body IS NOT NULL, header FROM operations WHERE hash=?",
                                   (bytes(op_hash),)).fetchone()
        if row is None:
            return None
        # without a body: complete only if it never had one (rare path, so decode here)
        return bool(row[0]) or operation.decode_header(bytes(row[1])).payload_size == 0

    def position(self, op_hash):
        with self._lock:
            row = self._db.execute("SELECT public_key, seq_num FROM operations WHERE hash=?",
                                   (bytes(op_hash),)).fetchone()
        return None if row is None else (bytes(row[0]), row[1])

    def latest(self, public_key, log_id):
        """Asked for every operation ingested (its backlink) and published (its seq_num):
        remembered while the store's version is the one it was read at, so a write by another
        handle on the file (``group add`` beside a running serve) is seen.  Inside a write
        transaction no other handle writes: its start checked the version once for all."""
        key = (bytes(public_key), _log_key(log_id))
        with self._lock:
            if self._depth == 0:
                self._remembered_at(self._read_version())
            if key in self._latest_cache:
                return self._latest_cache[key]
            row = self._db.execute(_SELECT + "WHERE public_key=? AND log_id=? ORDER BY seq_num DESC LIMIT 1",
                                   key).fetchone()
            op = None if row is None else self._row_to_op(row)
            self._latest_cache[key] = op
            return op

    def catch_up_group(self):
        """Give the authorizer the group operations another handle on this file stored since the
        last look (``group add`` or ``provision --store`` beside a running serve): it learns of
        what this handle stores only.  Under the store's lock, as every other change of the
        authorizer; True when someone's rights changed."""
        with self._lock:
            version = self._read_version()
            since, self._group_seen = self._group_seen, version
            if since is None or version == since or self.authorizer is None:
                return False
            ops = self.operations_since(since)
            if ops is None:  # a prune dropped part of it: the whole store
                ops = self.all_operations(None)
            return self.authorizer.catch_up(ops)

    def _take_version(self):
        v = self._next_version
        self._next_version = v + 1
        return v

    def _insert(self, op):
        key = (op.public_key, _log_key(op.log_id))
        version = self._take_version()
        if op.prune:
            cur = self._db.execute("DELETE FROM operations WHERE public_key=? AND log_id=? AND seq_num<?",
                                   key + (op.seq_num,))
            if cur.rowcount > 0:
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('pruned_at', ?)", (version,))
        self._db.execute(
            "INSERT INTO operations (hash, public_key, log_id, seq_num, timestamp, header, body, changed) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (op.hash, key[0], key[1], op.seq_num, op.timestamp, op.header_bytes, op.body, version))
        self._latest_cache[key] = op
        self._remembered_through(version)

    def _fill_body(self, op):
        version = self._take_version()
        self._db.execute("UPDATE operations SET body=?, changed=? WHERE hash=?", (op.body, version, op.hash))
        key = (op.public_key, _log_key(op.log_id))
        cached = self._latest_cache.get(key)
        if cached is not None and cached.hash == op.hash:
            self._latest_cache[key] = op
        self._remembered_through(version)

    def _remembered_at(self, version):
        """The store is at ``version``: the remembered latest operations go unless they hold for it."""
        if version != self._latest_at:
            self._latest_cache.clear()
            self._latest_at = version

    def _remembered_through(self, version):
        """Our own write at ``version`` kept the remembered latest operations true, and gave the
        group nothing to catch up on (it observed the write): when they held for the version
        before it, they hold for this one."""
        if self._latest_at == version - 1:
            self._latest_at = version
        if self._group_seen == version - 1:
            self._group_seen = version

    def _read_version(self):
        return self._db.execute("SELECT COALESCE(MAX(changed), 0) FROM operations").fetchone()[0]

    @property
    def version(self):
        with self._lock:
            return self._read_version()

    def operations_since(self, version, log_id=None):
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='pruned_at'").fetchone()
            if version < (0 if row is None else int(row[0])):
                return None
            if log_id is None:
                rows = self._db.execute(_SELECT + "WHERE changed>? ORDER BY changed", (version,)).fetchall()
            else:
                rows = self._db.execute(_SELECT + "WHERE changed>? AND log_id=? ORDER BY changed",
                                        (version, bytes(log_id))).fetchall()
        return [self._row_to_op(r) for r in rows]

    # queries --------------------------------------------------------------------------------------
    def has(self, op_hash):
        with self._lock:
            return self._db.execute("SELECT 1 FROM operations WHERE hash=?", (bytes(op_hash),)).fetchone() is not None

    def heights(self, log_id=None):
        """Every session start, Have and relay round asks; reading them scans the whole table.
        An unchanged store (the same version: every insert and body takes a new one, in any
        process) answers from the last reading, a copy each time."""
        log = None if log_id is None else bytes(log_id)
        with self._lock:
            version = self._read_version()
            cached = self._heights_cache.get(log)
            if cached is None or cached[0] != version:
                if log is None:
                    rows = self._db.execute("SELECT public_key, log_id, MAX(seq_num) FROM operations "
                                            "GROUP BY public_key, log_id").fetchall()
                else:
                    rows = self._db.execute("SELECT public_key, log_id, MAX(seq_num) FROM operations "
                                            "WHERE log_id=? GROUP BY public_key", (log,)).fetchall()
                read = {}
                for pk, lid, seq in rows:
                    read.setdefault(bytes(pk), {})[bytes(lid)] = seq
                cached = self._heights_cache[log] = (version, read)
        return {pk: dict(logs) for pk, logs in cached[1].items()}

    def operations(self, public_key, log_id, after_seq=None, until_seq=None):
        lo = -1 if after_seq is None else after_seq
        hi = 0xFFFFFFFF if until_seq is None else until_seq
        with self._lock:
            rows = self._db.execute(
                _SELECT + "WHERE public_key=? AND log_id=? AND seq_num>? AND seq_num<=? ORDER BY seq_num",
                (bytes(public_key), _log_key(log_id), lo, hi)).fetchall()
        return [self._row_to_op(r) for r in rows]

    def all_operations(self, log_id=None):
        with self._lock:
            if log_id is None:
                rows = self._db.execute(_SELECT + "ORDER BY public_key, log_id, seq_num").fetchall()
            else:
                rows = self._db.execute(_SELECT + "WHERE log_id=? ORDER BY public_key, seq_num",
                                        (bytes(log_id),)).fetchall()
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
