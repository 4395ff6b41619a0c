"""Operations read back from a screen's SQLite store decode their header only when asked.

Writing the schedule snapshot only copies the stored bytes; a screen starting cold in a swarm
wrote its snapshot a few times, and decoding every header of the log each time cost it about a
tenth of its CPU (py-spy, 50 screens)."""

from pandascreen.core import operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.node import snapshot
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.testing import festival as demofest

SEED = bytes(range(40, 72))
LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)


def _stored(tmp_path):
    org = MemoryStore()
    demofest.publish(org, SEED, LOG)
    ops = list(org.all_operations(LOG))
    store = SqliteStore(str(tmp_path / "screen.db"))
    store.ingest_many(ops)
    return store, ops


def _count_decodes(monkeypatch):
    calls = []
    decode_header = operation.decode_header
    monkeypatch.setattr(operation, "decode_header", lambda b: calls.append(1) or decode_header(b))
    return calls


def test_writing_the_snapshot_copies_the_stored_bytes_without_decoding_a_header(tmp_path, monkeypatch):
    store, ops = _stored(tmp_path)
    calls = _count_decodes(monkeypatch)
    path = str(tmp_path / "screen.db")
    assert snapshot.save_for(store, LOG, path) == len(ops)
    assert calls == []
    assert sorted(snapshot.load(snapshot.snapshot_path(path))) == sorted((op.header_bytes, op.body) for op in ops)
    store.close()


def test_an_operation_read_back_has_the_header_it_was_stored_with(tmp_path, monkeypatch):
    store, ops = _stored(tmp_path)
    calls = _count_decodes(monkeypatch)
    back = store.operations(public_key(SEED), LOG)
    assert calls == []
    assert [(o.seq_num, o.public_key, o.log_id, o.backlink, o.timestamp, o.prune, o.hash, o.body)
            for o in back] == [(o.seq_num, o.public_key, o.log_id, o.backlink, o.timestamp, o.prune, o.hash, o.body)
                               for o in ops]
    assert len(calls) == len(ops)  # each decoded once, on first use
    assert back[0].header is back[0].header
    store.close()


def _scans(store):
    seen = []
    store._db.set_trace_callback(lambda sql: seen.append(sql) if "MAX(seq_num)" in sql else None)
    return seen


def test_the_heights_of_an_unchanged_store_are_read_once(tmp_path):
    """Every session start, Have and relay round asks for the heights; each asking scanned the
    whole table (0.4 ms for 38c3, more with every event).  Unchanged, the store answers from
    what it read last, a copy each time."""
    store, ops = _stored(tmp_path)
    scans = _scans(store)
    first = store.heights(LOG)
    first[public_key(SEED)][bytes(LOG)] = -5  # a caller's change is its own
    assert store.heights(LOG) == {public_key(SEED): {bytes(LOG): len(ops) - 1}}
    assert store.heights() == store.heights()
    assert len(scans) == 2  # once per log asked for (here: one log, and all logs)
    store.close()


def test_heights_follow_every_change_of_the_store_also_one_rolled_back(tmp_path):
    org = MemoryStore()
    demofest.publish(org, SEED, LOG)
    ops = list(org.all_operations(LOG))
    store = SqliteStore(str(tmp_path / "screen.db"))
    store.ingest_many(ops[:3])
    assert store.heights(LOG) == {public_key(SEED): {bytes(LOG): 2}}
    try:
        with store._tx:
            store.ingest_many(ops[3:5])
            assert store.heights(LOG) == {public_key(SEED): {bytes(LOG): 4}}  # inside: its own change
            raise RuntimeError("a write that fails later")
    except RuntimeError:
        pass
    # the next two changes take the versions the rolled-back ones had, the heights they give differ
    elsewhere = MemoryStore()
    demofest.publish(elsewhere, SEED, operation.log_id_for_festival("elsewhere"))
    store.ingest_many(ops[3:4])
    store.ingest_many(list(elsewhere.all_operations())[:1])
    assert store.heights(LOG) == {public_key(SEED): {bytes(LOG): 3}}
    other = SqliteStore(str(tmp_path / "screen.db"))  # another process's write (the organiser's import)
    other.ingest_many(ops[4:6])
    other.close()
    assert store.heights(LOG) == {public_key(SEED): {bytes(LOG): 5}}
    store.close()


def test_what_the_table_holds_beside_the_header_is_read_without_decoding_it(tmp_path, monkeypatch):
    """Applying the program and choosing what to relay ask each operation's author, log, number
    and time; the table has them in columns, so a cold start decodes no header for them (with
    the decodes on receipt, each header was decoded about four times per operation before)."""
    store, ops = _stored(tmp_path)
    calls = _count_decodes(monkeypatch)
    back = store.operations_since(0)
    assert [(o.public_key, o.log_id, o.seq_num, o.timestamp) for o in back] == \
        [(o.public_key, o.log_id, o.seq_num, o.timestamp) for o in ops]
    assert calls == []
    store.close()
    store = SqliteStore(str(tmp_path / "screen.db"))  # a restarted screen: nothing cached yet
    latest = store.latest(public_key(SEED), LOG)
    assert (latest.seq_num, latest.log_id, latest.timestamp) == (ops[-1].seq_num, LOG, ops[-1].timestamp)
    assert calls == []
    store.close()
