"""A screen whose store cannot write (the SD card full, an I/O error) says so on its display:
what its peers send is lost until then, so "synced" would be a lie.  The store remembers the
failure of its last write transaction and forgets it at the next one that commits.  A full disk
is made by SQLite's own ``max_page_count``: a write past it fails as a full disk does
(SQLITE_FULL, "database or disk is full")."""
import sqlite3

import pytest

from pandascreen.core import layout, operation, schema
from pandascreen.core.controller import Controller
from pandascreen.core.errors import CannotStore
from pandascreen.node.sqlite_store import SqliteStore

FID = "fullfest"
SEED = bytes([5] * 32)
NOW = 1780000000


def _bodies(n, start=0):
    return [schema.make_body("venue", "create", "v%d" % i, {"name": "Hall %d %s" % (i, "x" * 400), "order": i})
            for i in range(start, start + n)]


def test_a_store_that_cannot_write_makes_the_screen_say_disk_full_until_a_write_commits(tmp_path):
    store = SqliteStore(str(tmp_path / "festival.db"))
    log_id = operation.log_id_for_festival(FID)
    store.publish_many(SEED, _bodies(5), log_id, NOW * 1000000)
    ctl = Controller({"festival_id": FID, "peer_addrs": []}, store, clock=lambda: NOW)
    ctl.sync_state, ctl.last_sync = "synced", NOW
    assert ctl.status(now=NOW).startswith("synced")
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute("PRAGMA max_page_count=%d" % pages)
    with pytest.raises(CannotStore, match="the disk is full"):
        store.publish_many(SEED, _bodies(50, 5), log_id, (NOW + 1) * 1000000)
    status = ctl.status(now=NOW)
    assert status.startswith("disk full"), status
    assert layout.warns(status)  # a footerless OLED keeps its last line for it
    store._db.execute("PRAGMA max_page_count=1073741823")
    store.publish_many(SEED, _bodies(2, 5), log_id, (NOW + 2) * 1000000)
    assert ctl.status(now=NOW).startswith("synced")
    store.close()


def test_operations_from_a_peer_that_cannot_be_stored_mark_the_store_until_they_can(tmp_path):
    from pandascreen.core.store import MemoryStore
    peer = MemoryStore()
    log_id = operation.log_id_for_festival(FID)
    ops = peer.publish_many(SEED, _bodies(40), log_id, NOW * 1000000)
    store = SqliteStore(str(tmp_path / "festival.db"))
    store.ingest_many(ops[:2])
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute("PRAGMA max_page_count=%d" % pages)
    with pytest.raises(CannotStore):
        store.ingest_many(ops[2:])
    assert store.write_failed == "full"
    store.ingest_many(ops[:2])  # nothing new: a commit of nothing proves no write
    assert store.write_failed == "full"
    store._db.execute("PRAGMA max_page_count=1073741823")
    assert store.ingest_many(ops[2:]) == 38 and store.write_failed is None
    store.close()


class _CommitFails:
    """The store's connection, whose COMMIT fails as a full disk makes it fail in WAL mode (the
    pages written, the log's sync not)."""

    def __init__(self, db, error):
        self.db, self.error = db, error

    def execute(self, sql, *args):
        if sql == "COMMIT":
            raise self.error
        return self.db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.db, name)


@pytest.mark.parametrize("error, said", [
    (sqlite3.OperationalError("database or disk is full"), "disk full"),
    (sqlite3.OperationalError("disk I/O error"), "cannot store"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "cannot store"),
    (sqlite3.OperationalError("database is locked"), "synced"),
])
def test_a_commit_that_fails_is_said_by_its_kind_and_a_busy_database_is_not_a_failure(tmp_path, error, said):
    store = SqliteStore(str(tmp_path / "festival.db"))
    log_id = operation.log_id_for_festival(FID)
    ctl = Controller({"festival_id": FID, "peer_addrs": []}, store, clock=lambda: NOW)
    ctl.sync_state, ctl.last_sync = "synced", NOW
    real = store._db
    store._db = _CommitFails(real, error)
    # a disk that takes no writes is said in words; a busy database stays SQLite's own error
    with pytest.raises(sqlite3.OperationalError if said == "synced" else CannotStore):
        store.publish_many(SEED, _bodies(1), log_id, NOW * 1000000)
    store._db = real
    assert ctl.status(now=NOW).startswith(said)
    store.close()


def test_a_sync_into_a_store_that_cannot_write_ends_in_words_and_skips_no_log(tmp_path):
    """A peer's operations that the disk will not take end the session with why; no author's log
    is taken for forked or skipped (the same operations are stored once the disk can)."""
    from pandascreen.core.errors import SyncError
    from pandascreen.core.store import MemoryStore
    from pandascreen.core.sync import sync_local
    peer = MemoryStore()
    log_id = operation.log_id_for_festival(FID)
    peer.publish_many(SEED, _bodies(40), log_id, NOW * 1000000)
    store = SqliteStore(str(tmp_path / "festival.db"))
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute("PRAGMA max_page_count=%d" % (pages + 2))
    with pytest.raises(SyncError, match="not stored: cannot store .*the disk is full"):
        sync_local(peer, log_id, store)
    assert store.write_failed == "full" and not store.forks
    store._db.execute("PRAGMA max_page_count=1073741823")
    sync_local(peer, log_id, store)
    assert store.count() == 40 and store.write_failed is None
    store.close()
