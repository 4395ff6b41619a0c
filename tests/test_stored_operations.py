"""Operations read back from a screen's SQLite store decode their header only when asked.

Writing the schedule snapshot and handing a log to a peer only copy the stored bytes; a screen
starting cold in a swarm wrote its snapshot a few times, and decoding every header of the log
each time cost it more than a tenth of its CPU (py-spy, 50 screens)."""

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
