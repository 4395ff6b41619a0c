"""A screen's stores (node/snapshot.open_store: the festival log and the fleet log) keep a small
SQLite page cache.  A screen reads its store in full once at start (its schedule, the snapshot),
then a few pages per sync; SQLite's default cache (2 MB per connection) would keep the start-up's
pages resident for the screen's life, 2.3 MB of an idle 20,000-event screen.  The kernel's page
cache holds the file anyway.  The organiser's laptop keeps SQLite's default: it imports and serves."""
from pandascreen.core import operation, schema
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


def _sqlite_memory_used():
    """SQLite's own count of the memory it holds in this process (its caches, its statements)."""
    import ctypes
    import _sqlite3
    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used  # found in the library it links
    used.restype = ctypes.c_int64
    return used()


def test_an_idle_screens_store_gives_its_page_cache_back_and_reads_as_ever(tmp_path):
    """Once the store is quiet (node/app.py, beside malloc_trim) the pages a start-up or a sync
    read stay in the kernel's page cache, not in the screen's memory: half a megabyte a screen."""
    store, _ = snapshot.open_store(str(tmp_path / "festival.db"))
    try:
        log_id = operation.log_id_for_festival(festival.FESTIVAL_ID)
        ops = festival.publish(store, ORG, log_id)
        for i in range(400):  # a program of a few hundred KB
            ops.append(store.publish(ORG, schema.make_body("event", "create", "many%d" % i, {
                "venue": "main", "title": "Talk %d %s" % (i, "x" * 300), "start": 1000 + i, "end": 2000 + i}),
                log_id, festival.DAY_START * 1000000 + 1000 + i))
        assert len(list(store.all_operations(log_id))) == len(ops)
        held = _sqlite_memory_used()
        store.release_memory()
        assert held - _sqlite_memory_used() > 100 * 1024
        assert [op.hash for op in store.all_operations(log_id)] == [op.hash for op in ops]
    finally:
        store.close()
