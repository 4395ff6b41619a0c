"""A screen that syncs with several peers at once is sent the same operations more than once
(each session's Have was built before the others stored anything).  What it already stores is
recognised by its hash and costs no signature check (core/log_sync.py)."""

from pandascreen.core import operation
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import ACCEPTOR, INITIATOR, SyncSession, pump_pair

LOG = operation.log_id_for_festival("dupfest")
SEED = bytes([7] * 32)
N = 150


def _peers(n_peers):
    first = MemoryStore()
    ops = [first.publish(SEED, b"op %d" % i, LOG, 1_700_000_000_000_000 + i) for i in range(N)]
    peers = [first]
    for _ in range(n_peers - 1):
        p = MemoryStore()
        p.ingest_many(ops)
        peers.append(p)
    return peers


def _count_verifications(monkeypatch):
    calls = []
    verify = operation.Header.verify

    def counted(self, unsigned=None):
        calls.append(self.seq_num)
        return verify(self, unsigned)
    monkeypatch.setattr(operation.Header, "verify", counted)
    return calls


def test_operations_a_screen_already_stores_are_not_verified_again(monkeypatch):
    peers = _peers(3)
    screen = MemoryStore()
    pairs = [(SyncSession(screen, LOG, INITIATOR, handshake=False),
              SyncSession(peer, LOG, ACCEPTOR, handshake=False)) for peer in peers]
    for ours, theirs in pairs:  # every Have goes out before anything arrived: concurrent sessions
        ours.start()
        theirs.start()
    verified = _count_verifications(monkeypatch)
    for ours, theirs in pairs:
        pump_pair(ours, theirs)
    assert screen.count() == N
    assert [ours.ops_received for ours, _ in pairs] == [N, N, N]
    assert [ours.ops_new for ours, _ in pairs] == [N, 0, 0]
    assert len(verified) == N  # each operation once, when it was new


def test_a_stored_operation_offered_with_its_missing_body_is_still_checked_and_filled(monkeypatch):
    peer = _peers(1)[0]
    screen = MemoryStore()
    ours = SyncSession(screen, LOG, INITIATOR, handshake=False)
    theirs = SyncSession(peer, LOG, ACCEPTOR, handshake=False)
    ours.start()  # our Have says: nothing
    for op in peer.all_operations(LOG):  # meanwhile the headers arrived, without bodies
        screen.ingest(op.header_bytes, None)
    verified = _count_verifications(monkeypatch)
    pump_pair(ours, theirs)
    assert ours.ops_received == N and ours.ops_new == N  # each body filled in
    assert len(verified) == N
    assert all(op.body is not None for op in screen.all_operations(LOG))
