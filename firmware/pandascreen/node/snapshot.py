"""The last good schedule beside the store, so a corrupt SQLite file never blanks a screen.

A bad page in the store would otherwise give a traceback and a restart loop under systemd.
``open_store`` checks the database when the screen starts; a corrupt one is moved
aside (``<store>.corrupt-<n>``), an empty store takes its place, and the operations of the
last snapshot are ingested into it again -- signed operations, so each is verified again, and
the schedule is built through the festival group as always (a damaged snapshot loses
operations, it cannot forge any).
The screen goes on showing that schedule, says so in its status line, and resyncs.  A store
file gone or emptied opens as a healthy empty store: it is refilled from the snapshot the same
way (else the empty store would be written over the snapshot).

The snapshot is the festival log's operations (header + body), written atomically (temporary
file, fsync, rename) once the store has been quiet for a moment (``Pacer``), and bounded in
size (``MAX_BYTES``):
past the bound it stops, and a resync brings the rest.  The festival managers' logs come first
(``organisers_first``): no member's data, within its quota or not, can push the organisers'
operations out of the bound.  Format: ``PSNAP1\\n``, then per
operation u32-BE header length, header, u32-BE body length (``NO_BODY`` for none), body.
"""

import os
import sqlite3
import time

from pandascreen.core.clock import STORE_RESET
from pandascreen.core.util import remove_quietly

MAGIC = b"PSNAP1\n"
MAX_BYTES = 8 * 1024 * 1024
NO_BODY = 0xFFFFFFFF
NOTICE = STORE_RESET  # short: it is the status line of a 128x64 OLED
QUIET = 2.0       # seconds without a change before the snapshot is written
MOST_DELAY = 10.0  # seconds a change waits at most while changes keep coming


def snapshot_path(store_path):
    return store_path + ".snapshot"


def save(path, operations, max_bytes=MAX_BYTES):
    """Write ``operations`` (up to ``max_bytes``) to ``path`` atomically; returns how many."""
    tmp = path + ".tmp"
    n = 0
    size = len(MAGIC)
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC)
            for op in operations:
                body = op.body
                item = len(op.header_bytes).to_bytes(4, "big") + op.header_bytes + (
                    NO_BODY.to_bytes(4, "big") if body is None else len(body).to_bytes(4, "big") + body)
                if size + len(item) > max_bytes:
                    break
                f.write(item)
                size += len(item)
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        remove_quietly(tmp)  # a full disk: the part written would hold space the store needs
        raise
    return n


def load(path, max_bytes=MAX_BYTES):
    """``(header, body)`` pairs of the snapshot at ``path``; stops quietly at damage."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError:
        return []
    if not data.startswith(MAGIC) or len(data) > max_bytes:
        return []
    out = []
    pos = len(MAGIC)
    while pos + 4 <= len(data):
        hl = int.from_bytes(data[pos:pos + 4], "big")
        header = data[pos + 4:pos + 4 + hl]
        pos += 4 + hl
        if len(header) != hl or pos + 4 > len(data):
            break
        bl = int.from_bytes(data[pos:pos + 4], "big")
        pos += 4
        if bl == NO_BODY:
            body = None
        else:
            body = data[pos:pos + bl]
            if len(body) != bl:
                break
            pos += bl
        out.append((header, body))
    return out


def _healthy(store):
    try:
        with store._lock:
            rows = store._db.execute("PRAGMA quick_check").fetchall()
            store._db.execute("SELECT COUNT(*), MAX(changed) FROM operations").fetchone()
    except sqlite3.DatabaseError as e:
        return "%s" % e
    if rows != [("ok",)]:
        return "; ".join(str(r[0]) for r in rows[:3])
    return None


def _move_aside(path):
    n = 0
    while os.path.exists("%s.corrupt-%d" % (path, n)):
        n += 1
    dest = "%s.corrupt-%d" % (path, n)
    os.replace(path, dest)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, dest + suffix)
    return dest


def open_store(path, log=None, log_id=None):
    """Open the SQLite store at ``path``; if it is corrupt, move it aside and start an empty
    one filled from the snapshot.  Returns ``(store, notice)``: notice is None, or the short
    text for the status line.  Raises IngestError only when even a fresh store cannot open.
    ``log_id``: the festival's log, when the snapshot may be another's (every screen's store is
    festival.db, and a Pi provisioned again for another festival keeps the old snapshot): only
    its operations are taken, and an empty store with none of them in the snapshot is just new."""
    from pandascreen.core.errors import CannotStore
    from pandascreen.core.store import IngestError
    from pandascreen.node.sqlite_store import SCREEN_CACHE_KIB, SqliteStore
    why = None
    try:
        store = SqliteStore(path, cache_kib=SCREEN_CACHE_KIB)
    except CannotStore:
        raise  # the disk, not the store: nothing to move aside
    except IngestError as e:
        if not os.path.exists(path):
            raise
        store, why = None, str(e)
    else:
        why = _healthy(store)
        if why is not None:
            try:
                store.close()
            except Exception:
                pass
            store = None
    if store is not None:
        saved = [] if store.count() else _ours(load(snapshot_path(path)), log_id)
        if not saved:
            return store, None
        # a file gone or emptied (a failed first write on a full card, a hand ``rm``) opens as a
        # healthy empty store: the snapshot holds the program, and would be written over with nothing
        restored = _refill(store, saved)
        if log is not None:
            log("the store %s was empty (a new or lost file): %d operation(s) restored from the snapshot, "
                "resyncing" % (path, restored))
        return store, NOTICE
    try:
        dest = _move_aside(path)
    except OSError as e:  # a read-only or failing disk: the screen cannot start over here
        raise IngestError("the store %s is damaged (%s) and cannot be moved aside: %s" % (path, why, e.strerror or e))
    store = SqliteStore(path, cache_kib=SCREEN_CACHE_KIB)
    restored = _refill(store, _ours(load(snapshot_path(path)), log_id))
    if log is not None:
        log("the store %s was corrupt (%s): moved to %s; %d operation(s) restored from the snapshot, "
            "resyncing" % (path, why, dest, restored))
    return store, NOTICE


def _ours(items, log_id):
    """The snapshot's ``(header, body)`` pairs of ``log_id`` (None: all of them)."""
    if log_id is None:
        return items
    from pandascreen.core.operation import OperationError, decode_header
    out = []
    for header, body in items:
        try:
            ext = decode_header(header).extensions
        except (OperationError, ValueError):
            continue
        if ext is not None and ext.log_id == log_id:
            out.append((header, body))
    return out


def _refill(store, saved):
    """Ingest the snapshot's ``saved`` ``(header, body)`` pairs into ``store``; how many
    operations it took."""
    from pandascreen.core.store import IngestError
    restored = 0
    for header, body in saved:
        try:
            if store.ingest(header, body)[1]:
                restored += 1
        except (IngestError, ValueError):
            continue
    return restored


def organisers_first(store, log_id):
    """The operations of ``log_id``, log by log, the festival managers' logs first (the store's
    festival group decides who they are; without one, by key) and a page at a time."""
    group = getattr(store, "authorizer", None)
    keys = sorted(store.heights(log_id))
    if group is not None:
        keys = group.relay_order(keys)
    for key in keys:
        for op in store.pages(log_id, authors=lambda k, key=key: k == key):
            yield op


def save_for(store, log_id, path):
    """Snapshot the festival log of ``store`` beside ``path``; errors are the caller's."""
    return save(snapshot_path(path), organisers_first(store, log_id))


class Pacer:
    """When the snapshot is due: ``QUIET`` seconds after the last change of the store, and no
    later than ``MOST_DELAY`` seconds after the first change not written yet.

    Why: writing reads the whole festival log (``organisers_first``).  A screen starting cold
    receives its log in dozens of batches; a write after each one read the store again and again
    and cost it more CPU than the verification of every signature.  Once the store is quiet
    one write holds it all; a store that keeps changing is still written every ``MOST_DELAY``.
    ``clock``: monotonic seconds (tests give their own).
    """

    def __init__(self, quiet=QUIET, most_delay=MOST_DELAY, clock=time.monotonic):
        self.quiet = quiet
        self.most_delay = most_delay
        self.clock = clock
        self.written = None  # the store version the snapshot holds (None: none written yet)
        self._seen = None    # the version last looked at
        self._first = None   # when the first change not written yet was seen
        self._last = None    # when the last change was seen

    def see(self, version):
        """Note the store's ``version`` now; True when a snapshot of it is due."""
        now = self.clock()
        if version == self.written:
            self._first = self._last = None
        elif version != self._seen:
            self._last = now
            if self._first is None:
                self._first = now
        self._seen = version
        due = self.due_in()
        return due is not None and due <= 0

    def pending(self):
        """A change seen and not written yet."""
        return self._first is not None

    def due_in(self):
        """Seconds until the snapshot is due (0 or less: now), or None when nothing waits."""
        if self._first is None:
            return None
        return min(self._last + self.quiet, self._first + self.most_delay) - self.clock()

    def done(self, version):
        """The snapshot of ``version`` was written (or failed: it is tried after the next change)."""
        self.written = version
        self._first = self._last = None
