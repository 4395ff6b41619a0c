"""Log sync: compare, in-memory sessions, real TCP on 127.0.0.1, hostile and broken peers."""
import socket
import threading
import time

import pytest

from pandascreen.core import operation, postcard, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.postcard import frame, frame_handshake, frame_message
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import (ACCEPTOR, INITIATOR, SyncError, SyncSession, compare, pump_pair,
                              sync_local)
from pandascreen.node.tcp import SyncServer, sync_with
from pandascreen.node.poll import until as wait_for

LOG = operation.log_id_for_festival("syncfest")
OTHER_LOG = operation.log_id_for_festival("otherfest")
SEED_A = bytes([1] * 32)
SEED_B = bytes([2] * 32)
SEED_C = bytes([3] * 32)
SEED_X = bytes([4] * 32)


def body(i, who="a"):
    return schema.make_body("event", "create", "%s%d" % (who, i),
                            {"venue": "v", "title": "Talk %s %d" % (who, i), "start": 1000 * i, "end": 1000 * i + 900})


def publish(store, seed, n, who="a", log_id=LOG):
    ops = []
    for i in range(n):
        ops.append(store.publish(seed, body(i, who), log_id, 1_700_000_000_000_000 + i))
    return ops


def forged_ops(seed, n, log_id=LOG):
    """n valid operations of one author, not stored anywhere."""
    s = MemoryStore()
    return publish(s, seed, n, who="x", log_id=log_id)


def snapshot(store):
    return sorted((op.hash, op.header_bytes, op.body) for op in store.all_operations())


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request, tmp_path):
    made = []

    def make():
        if request.param == "memory":
            s = MemoryStore()
        else:
            s = SqliteStore(str(tmp_path / ("ops%d.db" % len(made))))
        made.append(s)
        return s

    yield make
    for s in made:
        if hasattr(s, "close"):
            s.close()


@pytest.fixture
def servers():
    started = []

    def serve(store, **kw):
        srv = SyncServer(store, LOG, **kw).start()
        started.append(srv)
        return srv

    yield serve
    for srv in started:
        srv.stop()




# ------------------------------------------------------------------------------ compare

def test_compare():
    a, b, l1, l2 = b"A" * 32, b"B" * 32, b"1" * 32, b"2" * 32
    local = {a: {l1: 5, l2: 0}, b: {l1: 2}}
    assert compare(local, {}) == {a: {l1: (None, 5), l2: (None, 0)}, b: {l1: (None, 2)}}
    assert compare(local, {a: {l1: 2, l2: 0}, b: {l1: 7}}) == {a: {l1: (2, 5)}}
    assert compare(local, local) == {}
    assert compare({}, local) == {}


# ------------------------------------------------------------------------------ in memory

def test_in_memory_session_both_directions_with_progress():
    a, b = MemoryStore(), MemoryStore()
    publish(a, SEED_A, 4, "a")
    publish(b, SEED_B, 3, "b")
    seen = []
    sa = SyncSession(a, LOG, INITIATOR, progress=lambda got, total: seen.append((got, total)))
    sb = SyncSession(b, LOG, ACCEPTOR)
    pump_pair(sa, sb)
    assert snapshot(a) == snapshot(b) and a.count() == 7
    assert sa.stats()["ops_sent"] == 4 and sa.stats()["ops_received"] == 3
    assert sb.stats()["ops_new"] == 4 and sb.stats()["remote_total_ops"] == 4
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    # nothing left to exchange
    st_a, st_b = sync_local(a, LOG, b)
    assert st_a["ops_sent"] == st_a["ops_received"] == st_b["ops_sent"] == 0


def test_in_memory_without_handshake_and_only_topic_log():
    a, b = MemoryStore(), MemoryStore()
    publish(a, SEED_A, 2, "a")
    publish(a, SEED_A, 2, "o", log_id=OTHER_LOG)  # another festival: never leaves the store
    st_a, _ = sync_local(a, LOG, b, handshake=False)
    assert st_a["ops_sent"] == 2
    assert b.heights() == {public_key(SEED_A): {LOG: 1}}


def test_session_bytes_in_tiny_pieces():
    a, b = MemoryStore(), MemoryStore()
    publish(a, SEED_A, 3)
    sa, sb = SyncSession(a, LOG, INITIATOR), SyncSession(b, LOG, ACCEPTOR)
    for _ in range(1000):
        if sa.finished and sb.finished:
            break
        for src, dst in ((sa, sb), (sb, sa)):
            data = src.outgoing(limit=7)
            for i in range(len(data)):
                dst.feed(data[i:i + 1])
    assert sa.finished and sb.finished
    assert snapshot(a) == snapshot(b)


def test_topic_mismatch_is_refused():
    sa = SyncSession(MemoryStore(), LOG, INITIATOR)
    sb = SyncSession(MemoryStore(), OTHER_LOG, ACCEPTOR)
    with pytest.raises(SyncError, match="peer wants topic .* but this peer syncs topic"):
        pump_pair(sa, sb)


# ------------------------------------------------------------------------------ real TCP

def test_tcp_two_stores_converge_and_incremental(make_store, servers):
    a, b = make_store(), make_store()
    publish(a, SEED_A, 5, "a")
    publish(b, SEED_B, 4, "b")
    srv = servers(b)
    st = sync_with(a, LOG, "127.0.0.1", srv.port)
    assert st["ops_sent"] == 5 and st["ops_received"] == 4 and st["ops_new"] == 4
    assert st["bytes_sent"] > 0 and st["bytes_received"] > 0 and st["duration"] >= 0
    assert st["peer"] == "127.0.0.1:%d" % srv.port
    assert snapshot(a) == snapshot(b)
    assert wait_for(lambda: srv.sessions == 1)
    assert srv.last_stats["ops_received"] == 5 and srv.errors == []

    # incremental: only the new operations travel
    for i in range(5, 7):
        a.publish(SEED_A, body(i, "a"), LOG, 1_800_000_000_000_000 + i)
    b.publish(SEED_B, body(4, "b"), LOG, 1_800_000_000_000_000)
    st = sync_with(a, LOG, "127.0.0.1", srv.port)
    assert (st["ops_sent"], st["ops_received"], st["remote_total_ops"]) == (2, 1, 1)
    assert snapshot(a) == snapshot(b) and a.count() == 12

    st = sync_with(a, LOG, "127.0.0.1", srv.port)
    assert st["ops_sent"] == 0 and st["ops_received"] == 0


def test_three_peers_converge_transitively(make_store, servers):
    a, b, c = make_store(), make_store(), make_store()
    publish(a, SEED_A, 3, "a")
    publish(b, SEED_B, 2, "b")
    publish(c, SEED_C, 4, "c")
    srv_b = servers(b)
    sync_with(a, LOG, "127.0.0.1", srv_b.port)  # A <-> B
    sync_with(c, LOG, "127.0.0.1", srv_b.port)  # C <-> B: C learns A's ops via B
    assert c.count() == 9
    st = sync_with(a, LOG, "127.0.0.1", srv_b.port)  # A learns C's ops via B
    assert st["ops_received"] == 4 and st["ops_sent"] == 0
    assert snapshot(a) == snapshot(b) == snapshot(c)


def test_gap_only_missing_range_is_sent(make_store, servers):
    full, partial = make_store(), make_store()
    ops = publish(full, SEED_A, 6)
    for op in ops[:3]:
        partial.ingest(op.header_bytes, op.body)
    srv = servers(full)
    st = sync_with(partial, LOG, "127.0.0.1", srv.port)
    assert st["ops_received"] == 3 and st["remote_total_ops"] == 3 and st["ops_new"] == 3
    assert st["remote_total_bytes"] == sum(len(o.header_bytes) + len(o.body) for o in ops[3:])
    assert partial.heights(LOG) == {public_key(SEED_A): {LOG: 5}}
    assert wait_for(lambda: srv.sessions == 1)
    assert srv.last_stats["ops_sent"] == 3


def test_large_batches_both_ways_do_not_deadlock(servers):
    # ~4 MB each way, far more than the socket buffers: both sides stream at the same time.
    a, b = MemoryStore(), MemoryStore()
    blob = bytes(range(256)) * 16
    for i in range(1000):
        a.publish(SEED_A, blob + b"a%d" % i, LOG, 1_000 + i)
        b.publish(SEED_B, blob + b"b%d" % i, LOG, 1_000 + i)
    srv = servers(b)
    st = sync_with(a, LOG, "127.0.0.1", srv.port, timeout=20)
    assert st["ops_sent"] == 1000 and st["ops_received"] == 1000
    assert a.count() == b.count() == 2000


def test_connection_refused_message():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(SyncError, match=r"cannot reach peer 127\.0\.0\.1:%d: connection refused" % port):
        sync_with(MemoryStore(), LOG, "127.0.0.1", port)


def test_silent_peer_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        t0 = time.monotonic()
        with pytest.raises(SyncError, match="timed out after 0.3s without progress during the topic handshake"):
            sync_with(MemoryStore(), LOG, "127.0.0.1", listener.getsockname()[1], timeout=0.3)
        assert time.monotonic() - t0 < 3
    finally:
        listener.close()


def test_port_in_use_message(servers):
    srv = servers(MemoryStore())
    with pytest.raises(SyncError, match="already in use"):
        SyncServer(MemoryStore(), LOG, port=srv.port).start()


# ------------------------------------------------------------------------------ hostile peers

class FakeConn:
    """A scripted remote: whatever we send is recorded, recv() hands out ``script`` then EOF."""

    def __init__(self, script, piece=1000):
        self.script = script
        self.piece = piece
        self.sent = b""
        self.closed = False

    def send(self, data):
        self.sent += data

    def recv(self, n):
        n = min(n, self.piece)
        out, self.script = self.script[:n], self.script[n:]
        return out

    def close(self):
        self.closed = True


def acceptor_script(ops, total=None, done=True, close=True, have=None):
    out = frame_handshake(("done",)) + frame_message(("have", have or {}))
    out += frame_message(("presync", len(ops) if total is None else total, 1000))
    for hb, bd in ops:
        out += frame_message(("op", hb, bd))
    if done:
        out += frame_message(("done",))
    if close:
        out += frame_message(("close",))
    return out


def test_fake_honest_peer_roundtrip():
    ops = forged_ops(SEED_X, 3)
    store = MemoryStore()
    conn = FakeConn(acceptor_script([(o.header_bytes, o.body) for o in ops]))
    st = SyncSession(store, LOG, INITIATOR).run(conn)
    assert st["ops_new"] == 3 and store.count() == 3 and conn.closed
    msgs = postcard.unframe_all(conn.sent)
    assert postcard.decode_handshake(msgs[0]) == ("topic", LOG)
    assert [postcard.decode_message(m)[0] for m in msgs[2:]] == ["have", "done", "close"]


def test_corrupted_operation_aborts_and_keeps_valid_ones(make_store):
    ops = forged_ops(SEED_X, 4)
    items = [(o.header_bytes, o.body) for o in ops]
    bad = bytearray(items[2][0])
    bad[-70] ^= 1  # flip a bit inside the signature
    items[2] = (bytes(bad), items[2][1])
    store = make_store()
    publish(store, SEED_A, 2)
    before = snapshot(store)
    conn = FakeConn(acceptor_script(items, have={public_key(SEED_A): {LOG: 1}}), piece=100000)
    with pytest.raises(SyncError, match=r"invalid operation.*#3.*rejected operation: signature does not match"):
        SyncSession(store, LOG, INITIATOR).run(conn)
    assert conn.closed
    after = snapshot(store)
    assert store.count() == 4  # our 2 + the 2 valid ones before the bad one
    assert set(before) < set(after)
    assert store.heights(LOG)[public_key(SEED_X)] == {LOG: 1}


def test_tampered_body_and_foreign_log_are_rejected(make_store):
    ops = forged_ops(SEED_X, 2)
    store = make_store()
    conn = FakeConn(acceptor_script([(ops[0].header_bytes, b"evil body")]))
    with pytest.raises(SyncError, match="invalid operation #1 from peer"):
        SyncSession(store, LOG, INITIATOR).run(conn)
    assert store.count() == 0

    foreign = forged_ops(SEED_X, 1, log_id=OTHER_LOG)[0]
    conn = FakeConn(acceptor_script([(foreign.header_bytes, foreign.body)]))
    with pytest.raises(SyncError, match="belongs to another log"):
        SyncSession(store, LOG, INITIATOR).run(conn)
    assert store.count() == 0


def test_each_header_received_is_decoded_once(make_store, monkeypatch):
    """A new operation's header is decoded once (it was twice: once to check its log, once to
    check it); a copy the store holds already (a screen starting in a swarm is sent much of the
    program twice, by different peers) once, for its log."""
    ops = forged_ops(SEED_X, 6)
    store = make_store()
    store.ingest_many(ops[:2])
    decoded = []
    plain = operation._decode_header_plain
    monkeypatch.setattr(operation, "_decode_header_plain", lambda hb: decoded.append(bytes(hb)) or plain(hb))
    sent = [(op.header_bytes, op.body) for op in ops]
    script = frame_handshake(("done",)) + frame_message(("have", {}))
    script += frame_message(("presync", len(sent), sum(len(h) + len(b) for h, b in sent)))
    script += b"".join(frame_message(("op", h, b)) for h, b in sent)
    conn = FakeConn(script + frame_message(("done",)) + frame_message(("close",)))
    stats = SyncSession(store, LOG, INITIATOR).run(conn)
    assert stats["ops_received"] == 6 and stats["ops_new"] == 4
    assert sorted(decoded) == sorted(op.header_bytes for op in ops)


def test_an_empty_body_is_no_body_only_for_an_operation_without_payload(make_store):
    bare = operation.create(SEED_X, None, extensions=operation.Extensions(LOG, 1, False))
    store = make_store()
    conn = FakeConn(acceptor_script([(bare.header_bytes, b"")]))
    assert SyncSession(store, LOG, INITIATOR).run(conn)["ops_new"] == 1
    assert [op.body for op in store.all_operations()] == [None]
    with_payload = forged_ops(SEED_X, 1)[0]
    conn = FakeConn(acceptor_script([(with_payload.header_bytes, b"")]))
    with pytest.raises(SyncError, match="body does not match"):
        SyncSession(make_store(), LOG, INITIATOR).run(conn)


def test_peer_disconnecting_mid_stream_keeps_store_consistent(make_store):
    ops = forged_ops(SEED_X, 5)
    store = make_store()
    conn = FakeConn(acceptor_script([(o.header_bytes, o.body) for o in ops[:2]], total=5,
                                    done=False, close=False), piece=37)
    with pytest.raises(SyncError, match=r"peer disconnected mid-stream \(received 2 of 5 operations\)"):
        SyncSession(store, LOG, INITIATOR).run(conn)
    assert store.heights(LOG) == {public_key(SEED_X): {LOG: 1}}
    # a later sync with an honest peer continues from there
    conn = FakeConn(acceptor_script([(o.header_bytes, o.body) for o in ops[2:]],
                                    have={public_key(SEED_X): {LOG: 4}}))
    st = SyncSession(store, LOG, INITIATOR).run(conn)
    assert st["ops_new"] == 3 and store.count() == 5


def test_close_before_done_is_an_error():
    conn = FakeConn(frame_handshake(("done",)) + frame_message(("have", {})) + frame_message(("close",)))
    with pytest.raises(SyncError, match="peer closed the session before finishing the sync"):
        SyncSession(MemoryStore(), LOG, INITIATOR).run(conn)


def test_protocol_violations():
    cases = [
        (frame_message(("have", {})), "malformed handshake message"),
        (frame_handshake(("done",)) + frame_message(("done",)), "expected Have from peer, got done"),
        (frame_handshake(("done",)) + frame_message(("have", {})) + frame_message(("op", b"x", None)),
         "Operation before PreSync"),
        (frame_handshake(("done",)) + frame(b"\x01\x00"), "malformed sync message: header has 0 fields"),
        (frame_handshake(("done",)) + frame(b"\x00\x09"), "malformed sync message: unknown LogSyncMessage variant 9"),
    ]
    for script, msg in cases:
        with pytest.raises(SyncError, match=msg):
            SyncSession(MemoryStore(), LOG, INITIATOR).run(FakeConn(script))


def test_after_completion_live_messages_are_ignored():
    script = (frame_handshake(("done",)) + frame_message(("have", {})) + frame_message(("done",))
              + frame(b"\x01\x00\x00") + frame_message(("close",)))
    st = SyncSession(MemoryStore(), LOG, INITIATOR).run(FakeConn(script))
    assert st["ops_received"] == 0


def test_garbage_and_oversized_frames(servers):
    store = MemoryStore()
    publish(store, SEED_A, 2)
    before = snapshot(store)
    srv = servers(store, timeout=2)
    for payload, expect in [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "broken frame: this is not p2panda 0.7 framing: the peer looks like an HTTP client"),
        (bytes.fromhex("a2647479706565546f706963"), "looks like a p2panda 0.6 node"),  # CBOR {"type": "Topic", ..
        ((16 * 1024 * 1024 + 1).to_bytes(4, "big") + b"\x00" * 100, "exceeds the limit of 262144 bytes"),
        (frame(b"\x07\x07\x07"), "malformed handshake message"),
        (frame_handshake(("topic", LOG)) + frame(b"\xff" * 40), "malformed handshake message"),
    ]:
        n = len(srv.errors)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(payload)
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
        assert wait_for(lambda: len(srv.errors) > n), payload
        assert expect in srv.errors[-1]
    assert snapshot(store) == before
    # the server survived all of it
    other = MemoryStore()
    assert sync_with(other, LOG, "127.0.0.1", srv.port)["ops_received"] == 2


def test_client_against_garbage_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        c, _ = listener.accept()
        c.recv(100)
        c.sendall(b"\xff\xff\xff\xff hello")
        time.sleep(0.5)
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    try:
        with pytest.raises(SyncError, match="peer sent a broken frame: frame of 4294967295 bytes exceeds"):
            sync_with(MemoryStore(), LOG, "127.0.0.1", listener.getsockname()[1], timeout=5)
    finally:
        t.join()
        listener.close()


def test_tcp_peer_disconnecting_mid_stream(make_store):
    ops = forged_ops(SEED_X, 5)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        c, _ = listener.accept()
        c.recv(1000)
        c.sendall(acceptor_script([(o.header_bytes, o.body) for o in ops[:3]], total=5, done=False, close=False))
        time.sleep(0.2)
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    store = make_store()
    try:
        with pytest.raises(SyncError, match=r"mid-stream \(received 3 of 5 operations\)"):
            sync_with(store, LOG, "127.0.0.1", listener.getsockname()[1], timeout=5)
    finally:
        t.join()
        listener.close()
    assert store.heights(LOG) == {public_key(SEED_X): {LOG: 2}}


def test_tiny_max_frame_rejects_big_operations(servers):
    a = MemoryStore()
    a.publish(SEED_A, b"x" * 5000, LOG, 1)
    srv = servers(a)
    with pytest.raises(SyncError, match="exceeds the limit of 1024 bytes"):
        sync_with(MemoryStore(), LOG, "127.0.0.1", srv.port, max_frame=1024)


# ------------------------------------------------------------------------------ MicroPython

def test_compare_and_session_under_micropython():
    from pandascreen.testing.micropython import run_micropython

    # Pure-Python Ed25519 is slow under MicroPython: keep it to 3 operations.
    out = run_micropython("""
import sys
from pandascreen.core import operation, crypto
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import compare, sync_local, SyncSession, SyncError, INITIATOR, ACCEPTOR, pump_pair
a, b, l1, l2 = b"A" * 32, b"B" * 32, b"1" * 32, b"2" * 32
print(compare({a: {l1: 5, l2: 0}, b: {l1: 2}}, {a: {l1: 2, l2: 0}, b: {l1: 7}}) == {a: {l1: (2, 5)}})
LOG = operation.log_id_for_festival("mpfest")
sa, sb = MemoryStore(), MemoryStore()
sa.publish(bytes([1] * 32), b"a0", LOG, 1)
sa.publish(bytes([1] * 32), b"a1", LOG, 2)
sb.publish(bytes([2] * 32), b"b0", LOG, 1)
st_a, st_b = sync_local(sa, LOG, sb)
print("counts", sa.count(), sb.count())
print("stats", st_a["ops_sent"], st_a["ops_received"], st_b["ops_sent"], st_b["ops_received"])
ha = sorted(op.hash for op in sa.all_operations())
hb = sorted(op.hash for op in sb.all_operations())
print("same", ha == hb)
st_a, st_b = sync_local(sa, LOG, sb)
print("again", st_a["ops_sent"], st_a["ops_received"])
x = SyncSession(MemoryStore(), LOG, INITIATOR)
y = SyncSession(MemoryStore(), operation.log_id_for_festival("other"), ACCEPTOR)
try:
    pump_pair(x, y)
except SyncError as e:
    print("refused", "peer wants topic" in str(e))
print(sys.implementation.name, crypto.BACKEND)
""")
    assert out.split() == ["True", "counts", "3", "3", "stats", "2", "1", "1", "2", "same", "True",
                           "again", "0", "0", "refused", "True", "micropython", "pure"], out


def test_valid_operations_before_garbage_are_kept(make_store):
    ops = forged_ops(SEED_X, 3)
    script = acceptor_script([(o.header_bytes, o.body) for o in ops[:2]], total=3, done=False, close=False)
    store = make_store()
    with pytest.raises(SyncError, match="malformed sync message"):
        SyncSession(store, LOG, INITIATOR).run(FakeConn(script + frame(b"\x00\x02\xff"), piece=100000))
    assert store.heights(LOG) == {public_key(SEED_X): {LOG: 1}}


# ------------------------------------------------------------------------------ live mode + transcripts

def _vector_ops():
    """Operations D (seq 0, with body) and E (seq 1) of tests/vectors.py, pinned byte for byte."""
    import vectors as V
    from pandascreen.core.util import unhexlify
    d = operation.decode(unhexlify(V.D_HEADER), unhexlify(V.NEF_BODY))
    e = operation.decode(unhexlify(V.E_HEADER))
    return d, e, unhexlify(V.NEF_TOPIC)


def test_live_session_transcript_bytes():
    """The exact bytes of both streams of a p2panda-net 0.7 session, as the iroh transport sends them.

    Stream 1 (topic handshake, topic_handshake.rs): Topic(t) = 00 || 20 || t, then Done = 01 each way.
    Stream 2 (topic_log_sync.rs): Sync(Have) = 00 00 || BTreeMap, Sync(PreSync) = 00 01 || n || bytes,
    Sync(Operation) = 00 02 || varint len || CBOR header || Option<body>, Sync(Done) = 00 03,
    Live = 01 || header seq || Option<body> (derived in test_postcard.py), Close = 02.
    Every message is framed as u32-BE length || payload (codec.rs).
    """
    from pandascreen.core.topic_handshake import TopicHandshake
    from test_postcard import LIVE_E, h as unhex_spaced
    d, e, topic = _vector_ops()
    log_id = d.log_id
    # stream 1
    ini, acc = TopicHandshake(INITIATOR, topic=topic), TopicHandshake(ACCEPTOR)
    ini.start()
    s1_out = ini.take()
    assert s1_out == bytes.fromhex("00000022" "0020") + topic
    acc.handle(s1_out[4:])
    s1_back = acc.take()
    assert s1_back == bytes.fromhex("0000000101")
    ini.handle(s1_back[4:])
    s1_final = ini.take()
    assert s1_final == bytes.fromhex("0000000101")
    acc.handle(s1_final[4:])
    assert ini.done and acc.done and acc.topic == topic
    # stream 2: organiser (acceptor) holds D, screen (initiator) holds nothing
    org, scr = MemoryStore(), MemoryStore()
    org.ingest_op(d)
    a = SyncSession(scr, log_id, INITIATOR, handshake=False, live=True)
    b = SyncSession(org, log_id, ACCEPTOR, handshake=False, live=True)
    have_empty = a.outgoing()
    assert have_empty == bytes.fromhex("00000003" "000000")
    b.feed(have_empty)
    out_b = b.outgoing()
    pk = d.public_key
    have_b = bytes.fromhex("00000047" "0000" "01" "20") + pk + bytes.fromhex("01" "20") + log_id + b"\x00"
    size = len(d.header_bytes) + len(d.body)
    presync = frame(b"\x00\x01\x01" + postcard.encode_varint(size))
    op_msg = frame(b"\x00\x02" + postcard.encode_bytes(d.header_bytes) + b"\x01" + postcard.encode_bytes(d.body))
    done = bytes.fromhex("00000002" "0003")
    assert out_b == have_b + presync + op_msg + done
    a.feed(out_b)
    assert a.outgoing() == done  # the screen has nothing the organiser lacks
    b.feed(done)
    assert a.in_live_mode and b.in_live_mode and scr.count() == 1
    # live: the organiser publishes E; D is not sent again (it was sent in the sync)
    org.ingest_op(e)
    assert b.push([d, e]) == 1
    live = b.outgoing()
    assert live == frame(unhex_spaced(LIVE_E))
    a.feed(live)
    assert scr.count() == 2 and a.live_received == 1
    # the screen does not echo E back
    assert a.push(scr.all_operations(log_id)) == 0 and a.outgoing() == b""
    # Close only when a live session ends
    b.close()
    assert b.outgoing() == bytes.fromhex("0000000102")
    a.feed(bytes.fromhex("0000000102"))
    assert a.finished
    b.eof()
    assert b.finished


def test_live_rejects_bad_live_operations_and_keeps_the_rest():
    d, e, topic = _vector_ops()
    org, scr = MemoryStore(), MemoryStore()
    org.ingest_op(d)
    a = SyncSession(scr, d.log_id, INITIATOR, handshake=False, live=True)
    b = SyncSession(org, d.log_id, ACCEPTOR, handshake=False, live=True)
    pump_pair_live(a, b)
    from pandascreen.core.live import live_message
    msg = list(live_message(e))
    fields = list(msg[1])
    fields[2] = bytes(64)  # zeroed signature
    with pytest.raises(SyncError, match="invalid live operation from peer: signature"):
        a.feed(frame_message(("live", tuple(fields), None)))
    assert scr.count() == 1  # D from the sync stays


def test_live_without_close_is_an_error_but_keeps_data():
    d, e, topic = _vector_ops()
    org, scr = MemoryStore(), MemoryStore()
    org.ingest_op(d)
    a = SyncSession(scr, d.log_id, INITIATOR, handshake=False, live=True)
    b = SyncSession(org, d.log_id, ACCEPTOR, handshake=False, live=True)
    pump_pair_live(a, b)
    with pytest.raises(SyncError, match="ended the live session without Close"):
        a.eof()
    assert scr.count() == 1


def pump_pair_live(a, b):
    for _ in range(100):
        if a.in_live_mode and b.in_live_mode:
            return
        out_a, out_b = a.outgoing(), b.outgoing()
        if out_a:
            b.feed(out_a)
        if out_b:
            a.feed(out_b)
    raise AssertionError("no live mode")


def test_tcp_client_against_http_server_says_so():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def http():
        conn, _ = listener.accept()
        conn.recv(100)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        time.sleep(0.2)
        conn.close()

    t = threading.Thread(target=http, daemon=True)
    t.start()
    try:
        with pytest.raises(SyncError, match=r"looks like an HTTP server \(it answered 'HTTP/1.1 400 Bad Request'\)"):
            sync_with(MemoryStore(), LOG, "127.0.0.1", listener.getsockname()[1], timeout=3)
    finally:
        t.join(2)
        listener.close()


def test_handshake_live_and_foreign_peers_under_micropython():
    from pandascreen.testing.micropython import run_micropython
    out = run_micropython("""
from pandascreen.core import postcard, live, operation
from pandascreen.core.topic_handshake import TopicHandshake
print(postcard.guess_foreign(b"HTTP/1.1 400 Bad Request\\r\\n\\r\\n"))
try:
    postcard.FrameReader(1024).feed(bytes([0xa2, 0x64]) + b"type")
except postcard.FrameError as e:
    print("err", e)
a = TopicHandshake("initiator", topic=bytes(32)); b = TopicHandshake("acceptor")
a.start(); x = a.take(); b.handle(x[4:]); y = b.take(); a.handle(y[4:]); z = a.take(); b.handle(z[4:])
print(a.done, b.done, b.topic == bytes(32), x + y + z == bytes.fromhex("00000022") + b"\\x00\\x20" + bytes(32) + bytes.fromhex("00000001010000000101"))
op = operation.create(bytes(32), b"hi", 0, None, operation.Extensions(bytes(32), 5, False))
back = postcard.decode_message(postcard.encode_message(live.live_message(op)))
print(live.operation_from_live(back[1], back[2]).hash == op.hash)
""")
    assert out.splitlines() == [
        "an HTTP server (it answered 'HTTP/1.1 400 Bad Request')",
        "err this is not p2panda 0.7 framing: the peer looks like a p2panda 0.6 node (unframed CBOR messages); "
        "only p2panda 0.7 nodes can sync with this one",
        "True True True True",
        "True",
    ]


def test_iroh_limits_incoming_sessions_per_ip_not_per_port():
    from pandascreen.node.iroh_address import host_of as _host_of
    assert _host_of("127.0.0.1:39707") == _host_of("127.0.0.1:1") == "127.0.0.1"
    assert _host_of("[fe80::1]:4000") == "fe80::1" and _host_of("fe80::1") == "fe80::1"


REFUSING_STORE_SCRIPT = """
from pandascreen.core import operation
from pandascreen.core.errors import IngestError
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import sync_local, SyncError
LOG = operation.log_id_for_festival("mpfest")

class Refusing(MemoryStore):
    # a store that refuses every operation, as a fork or a quota would
    def ingest_op(self, op):
        raise IngestError("refused")
    def ingest_many(self, items):
        raise IngestError("refused")

sa = MemoryStore()
sa.publish(bytes([1] * 32), b"a0", LOG, 1)
sa.publish(bytes([1] * 32), b"a1", LOG, 2)
try:
    sync_local(sa, LOG, Refusing())
    print("ended", "cleanly")
except SyncError as e:
    print("ended", "SyncError")
except Exception as e:
    print("escaped", type(e).__name__)
"""


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_a_refused_operation_never_escapes_the_session(runtime):
    """The session catches the store's IngestError by name: on MicroPython it is no ValueError."""
    if runtime == "micropython":
        from pandascreen.testing.micropython import run_micropython
        out = run_micropython(REFUSING_STORE_SCRIPT)
    else:
        import contextlib
        import io
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(REFUSING_STORE_SCRIPT, {})
        out = buf.getvalue()
    assert out.startswith("ended"), out


def test_a_probe_of_a_screen_whose_iroh_is_slow_does_not_call_it_a_stranger():
    """A screen serves plain-TCP sync on the port of its iroh endpoint.  When a dial gets no QUIC
    answer in time (a busy screen: fifty on two cores), the TCP probe meets that server, which
    ends a probe's handshake without a word: the line must not say it is no p2panda node."""
    from pandascreen.node.iroh_address import probe_tcp
    srv = SyncServer(MemoryStore(), LOG, topic=operation.festival_topic("probefest")).start()
    try:
        why = probe_tcp("127.0.0.1", srv.port)
    finally:
        srv.stop()
    assert "not a p2panda node" not in why
    assert "busy" in why and "127.0.0.1:%d" % srv.port in why


def test_a_held_operation_of_another_log_is_still_refused(make_store):
    """A store may hold two festivals (the organiser's); an operation of the other one, sent in
    this festival's session, is a protocol error even when the store holds it."""
    store = make_store()
    foreign = forged_ops(SEED_X, 1, log_id=OTHER_LOG)[0]
    store.ingest_op(foreign)
    conn = FakeConn(acceptor_script([(foreign.header_bytes, foreign.body)]))
    with pytest.raises(SyncError, match="belongs to another log"):
        SyncSession(store, LOG, INITIATOR).run(conn)
