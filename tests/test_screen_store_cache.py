"""A screen's stores (node/snapshot.open_store: the festival log and the fleet log) keep a small
SQLite page cache.  A screen reads its store in full once at start (its schedule, the snapshot),
then a few pages per sync; SQLite's default cache (2 MB per connection) would keep the start-up's
pages resident for the screen's life, 2.3 MB of an idle 20,000-event screen.  The kernel's page
cache holds the file anyway.  The organiser's laptop keeps SQLite's default: it imports and serves."""
from pandascreen.core import operation
from pandascreen.node import snapshot
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.testing import festival

ORG = bytes(range(1, 33))


def cache_kib(store):
    pages_or_kib = store._db.execute("PRAGMA cache_size").fetchone()[0]
    assert pages_or_kib < 0  # negative: a size in KiB, whatever the page size
    return -pages_or_kib


def test_a_screens_store_keeps_a_small_page_cache_and_works_as_ever(tmp_path):
    store, notice = snapshot.open_store(str(tmp_path / "festival.db"))
    try:
        assert notice is None and cache_kib(store) <= 256
        log_id = operation.log_id_for_festival(festival.FESTIVAL_ID)
        ops = festival.publish(store, ORG, log_id)
        assert [op.hash for op in store.all_operations(log_id)] == [op.hash for op in ops]
    finally:
        store.close()


def test_a_laptops_store_keeps_sqlites_default_cache(tmp_path):
    store = SqliteStore(str(tmp_path / "organiser.db"))
    try:
        assert cache_kib(store) == 2000
    finally:
        store.close()
