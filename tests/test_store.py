import os
import signal
import subprocess
import sys
import textwrap

import pytest

from pandascreen.core import operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.core.store import IngestError, LogFileStore, MemoryStore

SEED_A = bytes(range(32))
SEED_B = bytes(range(1, 33))
LOG = operation.log_id_for_festival("testfest")


def body(i):
    return schema.make_body("venue", "create", "v%d" % i, {"name": "Venue %d" % i, "order": i})


@pytest.fixture(params=["memory", "logfile", "sqlite"])
def make_store(request, tmp_path):
    made = []

    def make():
        if request.param == "memory":
            s = MemoryStore()
        elif request.param == "logfile":
            s = LogFileStore(str(tmp_path / "ops.log"))
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


def test_ingest_rules(make_store):
    src = MemoryStore()
    ops = [src.publish(SEED_A, body(i), LOG, i) for i in range(4)]
    s = make_store()
    with pytest.raises(IngestError, match="arrived before"):
        s.ingest(ops[2].header_bytes, ops[2].body)
    assert s.count() == 0
    assert s.ingest(ops[0].header_bytes, ops[0].body)[1] is True
    assert s.ingest(ops[0].header_bytes, ops[0].body)[1] is False  # duplicate is a no-op
    with pytest.raises(IngestError, match="gap"):
        s.ingest(ops[2].header_bytes, ops[2].body)
    s.ingest(ops[1].header_bytes, ops[1].body)
    # a fork: another op claiming seq 1
    fork = operation.create(SEED_A, body(99), 1, ops[0].hash, operation.Extensions(LOG, 7))
    with pytest.raises(IngestError, match="fork"):
        s.ingest(fork.header_bytes, fork.body)
    # wrong backlink
    bad = operation.create(SEED_A, body(98), 2, ops[0].hash, operation.Extensions(LOG, 8))
    with pytest.raises(IngestError, match="backlink"):
        s.ingest(bad.header_bytes, bad.body)
    with pytest.raises(IngestError, match="signature"):
        hb = bytearray(ops[2].header_bytes)
        hb[40] ^= 0xFF
        s.ingest(bytes(hb), ops[2].body)
    assert s.count() == 2


def test_prune_flag_accepts_without_past(make_store):
    src = MemoryStore()
    for i in range(3):
        src.publish(SEED_A, body(i), LOG, i)
    pruned = src.publish(SEED_A, body(7), LOG, 10, prune=True)
    s = make_store()
    s.ingest(pruned.header_bytes, pruned.body)
    assert s.heights(LOG) == {public_key(SEED_A): {LOG: 3}}


def test_logfile_survives_torn_tail(tmp_path):
    path = str(tmp_path / "ops.log")
    s = LogFileStore(path)
    for i in range(3):
        s.publish(SEED_A, body(i), LOG, i)
    s.close()
    with open(path, "ab") as fh:
        fh.write(b"\x00\x00\x01\x00\x00\x00")  # half a record header from a power cut
    s2 = LogFileStore(path)
    assert s2.count() == 3 and s2.dropped_tail == 6
    s2.publish(SEED_A, body(3), LOG, 3)
    s2.close()
    assert LogFileStore(path).count() == 4


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


def test_sqlite_ingest_many_keeps_good_prefix(tmp_path):
    src = MemoryStore()
    ops = [src.publish(SEED_A, body(i), LOG, i) for i in range(5)]
    s = SqliteStore(str(tmp_path / "ops.db"))
    items = [(o.header_bytes, o.body) for o in ops[:3]] + [(ops[4].header_bytes, ops[4].body)]
    with pytest.raises(IngestError, match="#4 of batch"):
        s.ingest_many(items)
    assert s.count() == 3
    assert s.ingest_many([(ops[3].header_bytes, ops[3].body), (ops[4].header_bytes, ops[4].body)]) == 2


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
