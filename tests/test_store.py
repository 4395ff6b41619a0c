import os
import signal
import subprocess
import sys
import textwrap

import pytest

from pandascreen.core import operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.core.errors import CannotStore
from pandascreen.core.store import IngestError, MemoryStore

SEED_A = bytes(range(32))
SEED_B = bytes(range(1, 33))
LOG = operation.log_id_for_festival("testfest")


def body(i):
    return schema.make_body("venue", "create", "v%d" % i, {"name": "Venue %d" % i, "order": i})


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request, tmp_path):
    made = []

    def make():
        if request.param == "memory":
            s = MemoryStore()
        else:
            s = SqliteStore(str(tmp_path / "ops.db"))
        made.append(s)
        return s

    yield make
    for s in made:
        if hasattr(s, "close"):
            s.close()


def test_publish_and_heights(make_store):
    s = make_store()
    ops = [s.publish(SEED_A, body(i), LOG, 1000 + i) for i in range(5)]
    s.publish(SEED_B, body(9), LOG, 5)
    assert [o.seq_num for o in ops] == [0, 1, 2, 3, 4]
    assert ops[3].backlink == ops[2].hash
    h = s.heights(LOG)
    assert h == {public_key(SEED_A): {LOG: 4}, public_key(SEED_B): {LOG: 0}}
    assert [o.seq_num for o in s.operations(public_key(SEED_A), LOG, after_seq=1, until_seq=3)] == [2, 3]
    assert s.count() == 6
    assert len(list(s.all_operations(LOG))) == 6
    assert s.heights(operation.log_id_for_festival("other")) == {}


def test_timestamps_stay_monotonic(make_store):
    s = make_store()
    a = s.publish(SEED_A, body(1), LOG, 5000)
    b = s.publish(SEED_A, body(2), LOG, 10)  # clock jumped back
    assert b.timestamp == a.timestamp + 1


def test_sqlite_reopen_and_bad_file(tmp_path):
    path = str(tmp_path / "ops.db")
    s = SqliteStore(path)
    for i in range(3):
        s.publish(SEED_A, body(i), LOG, i)
    s.close()
    s = SqliteStore(path)
    assert s.count() == 3 and s.latest(public_key(SEED_A), LOG).seq_num == 2
    s.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(IngestError, match="cannot open store"):
        SqliteStore(str(junk))


def test_sqlite_batch_rolls_back_on_a_crash_inside(tmp_path, monkeypatch):
    s = SqliteStore(str(tmp_path / "ops.db"))
    ops = MemoryStore().publish_many(SEED_A, [body(i) for i in range(4)], LOG, 0)
    real = SqliteStore._insert
    calls = []

    def failing(self, op):
        calls.append(op)
        if len(calls) == 3:
            raise OSError("disk full")
        real(self, op)

    monkeypatch.setattr(SqliteStore, "_insert", failing)
    with pytest.raises(OSError):
        s.ingest_many(ops)
    monkeypatch.setattr(SqliteStore, "_insert", real)
    assert s.count() == 0 and s.version == 0 and s.latest(public_key(SEED_A), LOG) is None
    assert s.ingest_many(ops) == 4 and s.version == 4


def test_sqlite_failed_commit_leaves_no_open_transaction(tmp_path):
    """A COMMIT that fails (disk full) reports the error and the store goes on working."""
    import sqlite3
    s = SqliteStore(str(tmp_path / "ops.db"))
    ops = MemoryStore().publish_many(SEED_A, [body(i) for i in range(2)], LOG, 0)
    real = s._db

    class FullDisk:
        def execute(self, sql, *args):
            if sql == "COMMIT":
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

    s._db = FullDisk()
    with pytest.raises(CannotStore, match="the disk is full"):
        s.ingest_op(ops[0])
    s._db = real
    assert s.count() == 0 and s.latest(public_key(SEED_A), LOG) is None
    assert s.ingest_many(ops) == 2 and s.count() == 2


def test_sqlite_store_from_before_the_change_counter(tmp_path):
    """A database written before ``changed`` existed opens with its rows in insertion order."""
    import sqlite3
    path = str(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE operations (hash BLOB PRIMARY KEY, public_key BLOB NOT NULL, log_id BLOB NOT NULL,
            seq_num INTEGER NOT NULL, timestamp INTEGER NOT NULL, header BLOB NOT NULL, body BLOB,
            UNIQUE (public_key, log_id, seq_num));
        CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB);""")
    ops = MemoryStore().publish_many(SEED_A, [body(i) for i in range(3)], LOG, 0)
    for o in ops:
        db.execute("INSERT INTO operations VALUES (?,?,?,?,?,?,?)",
                   (o.hash, o.public_key, o.log_id, o.seq_num, o.timestamp, o.header_bytes, o.body))
    db.commit()
    db.close()
    s = SqliteStore(path)
    assert s.version == 3
    assert [o.hash for o in s.operations_since(1)] == [ops[1].hash, ops[2].hash]
    assert s.publish(SEED_A, body(3), LOG, 0).seq_num == 3 and s.version == 4
    s.close()


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, FW)
    from pandascreen.core import operation, schema
    from pandascreen.node.sqlite_store import SqliteStore
    s = SqliteStore(DB)
    log = operation.log_id_for_festival("testfest")
    seed = bytes(range(32))
    i = s.count()
    while True:
        op = s.publish(seed, schema.make_body("venue", "create", "v%d" % i, {"name": "x" * 50}), log, i)
        print(op.seq_num, flush=True)
        i += 1
""")


def test_sqlite_survives_kill_9(tmp_path):
    db = str(tmp_path / "ops.db")
    fw = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
    proc = subprocess.Popen([sys.executable, "-c", WRITER.replace("FW", repr(fw)).replace("DB", repr(db))], stdout=subprocess.PIPE, text=True)
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked >= 60:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    s = SqliteStore(db)
    # everything acknowledged is there, and the log is intact and valid from the start
    height = s.heights()[public_key(SEED_A)][operation.log_id_for_festival("testfest")]
    assert height >= acked
    ops = s.operations(public_key(SEED_A), operation.log_id_for_festival("testfest"))
    assert [o.seq_num for o in ops] == list(range(height + 1))
    fresh = MemoryStore()
    for o in ops:
        fresh.ingest(o.header_bytes, o.body)
    assert fresh.count() == height + 1


def test_a_fork_is_recorded_for_the_organiser():
    """Two operations of one author at the same seq_num: the store keeps the first, refuses the
    other, and remembers both hashes (bounded), for the console to show."""
    from pandascreen.core import store as store_mod
    from pandascreen.core.errors import IngestError
    seed = b"\x07" * 32
    log = operation.log_id_for_festival("fest")
    a, b = MemoryStore(), MemoryStore()
    kept = a.publish_many(seed, [b"\xa1\x61a\x01", b"\xa1\x61a\x02"], log, 1000)
    other = b.publish_many(seed, [b"\xa1\x61a\x01", b"\xa1\x61a\x09", b"\xa1\x61a\x03"], log, 1000)
    assert kept[0].hash == other[0].hash and kept[1].hash != other[1].hash
    for op in other[1:]:
        with pytest.raises(IngestError):
            a.ingest_op(op)
    pk = public_key(seed)
    # the same seq, and a next operation whose backlink names the other branch: one fork
    assert a.forks == [(pk, log, 1, kept[1].hash, other[1].hash)]
    # a pruned operation offered again is not a fork
    c = MemoryStore()
    first = c.publish(seed, b"\xa1\x61a\x01", log, 1000)
    c.publish(seed, b"\xa1\x61a\x02", log, 2000, prune=True)
    with pytest.raises(IngestError):
        c.ingest_op(first)
    assert c.forks == ()
    for i in range(store_mod.MAX_FORKS + 5):
        a._fork(other[1], 100 + i, kept[1].hash, other[1].hash)
    assert len(a.forks) == store_mod.MAX_FORKS and a.forks[-1][2] == 100 + store_mod.MAX_FORKS + 4


def test_a_sqlite_store_remembers_its_forks_across_a_restart(tmp_path):
    seed = b"\x07" * 32
    log = operation.log_id_for_festival("fest")
    path = str(tmp_path / "f.db")
    s = SqliteStore(path)
    kept = s.publish(seed, b"\xa1\x61a\x01", log, 1000)
    other = MemoryStore().publish(seed, b"\xa1\x61a\x02", log, 1000)
    with pytest.raises(IngestError, match="fork"):
        s.ingest_op(other)
    s.close()
    s = SqliteStore(path)
    try:
        assert s.forks == [(public_key(seed), log, 0, kept.hash, other.hash)]
    finally:
        s.close()


def test_a_second_handle_on_one_file_publishes_after_what_the_first_wrote(tmp_path):
    """serve holds the store open while `pandascreen-host group add` (another process) publishes
    into the same log: serve's next operation follows that one, not its own last."""
    path = str(tmp_path / "ops.db")
    serve, other = SqliteStore(path), SqliteStore(path)
    try:
        serve.publish(SEED_A, body(0), LOG, 1000)
        assert serve.latest(public_key(SEED_A), LOG).seq_num == 0  # looked at (and remembered)
        other.publish(SEED_A, body(1), LOG, 2000)
        assert serve.latest(public_key(SEED_A), LOG).seq_num == 1
        assert serve.publish(SEED_A, body(2), LOG, 3000).seq_num == 2
    finally:
        serve.close()
        other.close()


def test_two_publishers_of_one_log_racing_get_a_clean_refusal_not_a_database_error(tmp_path):
    """Two writers took the same next seq_num (a console edit and a re-import in two threads):
    the second is refused with an IngestError that says so, and nothing of it is stored."""
    path = str(tmp_path / "ops.db")
    store = SqliteStore(path)
    try:
        store.publish(SEED_A, body(0), LOG, 1000)
        past = store.latest(public_key(SEED_A), LOG)
        first = operation.create(SEED_A, body(1), 1, past.hash, operation.Extensions(LOG, 2000, False))
        second = operation.create(SEED_A, body(2), 1, past.hash, operation.Extensions(LOG, 2001, False))
        store._store_own([first], 0, None)
        with pytest.raises(IngestError, match="meanwhile"):
            store._store_own([second], 0, None)
        assert store.latest(public_key(SEED_A), LOG).hash == first.hash and not store.has(second.hash)
    finally:
        store.close()
