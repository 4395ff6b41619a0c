"""Per-writer quotas (core/quota.py): one Write key cannot fill every screen's disk or push the
organiser's changes out, the organiser raises a quota with a signed Promote, and the snapshot
keeps the organisers' operations first.  Small quotas stand for the defaults."""
import pytest

from pandascreen.core import auth, operation, quota, schema, sync
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import GroupOpError
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import hexlify

from pandascreen.testing.micropython import run_micropython

cbor2 = pytest.importorskip("cbor2")

ORG = b"\x01" * 32
LOG = operation.log_id_for_festival("fest")
SMALL = (64 * 1024, 6, 4)  # bytes, operations, events: small stand-ins for quota.DEFAULT
ORG_PK = public_key(ORG)
# a writer whose log sorts before the organiser's: a sender offers it first
WRITER = next(bytes([i]) * 32 for i in range(2, 255) if public_key(bytes([i]) * 32) < ORG_PK)
WRITER_PK = public_key(WRITER)


def event(i, title="Talk"):
    return schema.make_body("event", "create", "w%d" % i, {"venue": "v", "title": "%s %d" % (title, i),
                                                           "start": 100 * i, "end": 100 * i + 50})


def laptop_with_a_flooding_writer(n=20, limits=None):
    """The organiser lets WRITER write (with a quota of its own: ``limits``), then WRITER
    publishes ``n`` events; after it the organiser's own changes (more than any quota allows a member)."""
    laptop = MemoryStore()
    laptop.publish(ORG, auth.group_body(ORG_PK, auth.add(WRITER_PK, auth.WRITE, quota=limits)), LOG, 1000)
    laptop.publish(ORG, schema.make_body("venue", "create", "v", {"name": "Main"}), LOG, 1001)
    laptop.publish_many(WRITER, [event(i) for i in range(n)], LOG, 2000)
    laptop.publish_many(ORG, [schema.make_body("event", "create", "o%d" % i, {
        "venue": "v", "title": "Org %d" % i, "start": 1, "end": 2}) for i in range(12)], LOG, 3000)
    return laptop


def screen(limits=SMALL):
    store = MemoryStore()
    auth.guard(store, auth.Authorizer([ORG_PK], default_quota=limits), LOG)
    return store


def test_a_writer_over_its_quota_is_refused_and_named_and_the_organiser_is_never_limited():
    laptop = laptop_with_a_flooding_writer()
    s = screen()
    sync.sync_local(laptop, LOG, s)
    heights = s.heights(LOG)
    assert heights[WRITER_PK][LOG] == SMALL[2] - 1  # four event creates, then the rest of its log is refused
    assert heights[ORG_PK][LOG] == 13  # the organiser's 14 operations: more than a member's 6, all kept
    notes = s.authorizer.over_quota()
    assert len(notes) == 1 and hexlify(WRITER_PK)[:16] in notes[0] and "events quota (4)" in notes[0]
    titles = [e.title for e in Schedule.from_store(s, LOG, authorizer=s.authorizer).all_events()]
    assert "Org 11" in titles and "Talk 3" in titles and "Talk 4" not in titles
    # a peer syncing from this screen gets the same four: nothing past the quota is relayed
    other = screen()
    sync.sync_local(s, LOG, other)
    assert other.heights(LOG)[WRITER_PK][LOG] == 3 and other.heights(LOG)[ORG_PK][LOG] == 13


@pytest.mark.parametrize("limits,which", [((64 * 1024, 3, 100), "operations"), ((1500, 100, 100), "bytes")])
def test_operations_and_bytes_quotas(limits, which):
    s = screen(limits)
    sync.sync_local(laptop_with_a_flooding_writer(), LOG, s)
    used = s.authorizer.ledger.usage[(WRITER_PK, LOG)]
    assert used[1] <= limits[0] and used[2] <= limits[1]
    assert "%s quota" % which in s.authorizer.over_quota()[0]
    assert s.refused >= 1


def test_the_organiser_raises_a_quota_with_a_promote_and_the_rest_arrives():
    laptop = laptop_with_a_flooding_writer(limits=SMALL)
    s = screen(quota.DEFAULT)  # the member's own quota counts, not the default
    sync.sync_local(laptop, LOG, s)
    assert s.heights(LOG)[WRITER_PK][LOG] == 3
    org_log = auth.guard(laptop, auth.Authorizer([ORG_PK], default_quota=SMALL), LOG)
    bigger = (SMALL[0], 100, 100)
    laptop.publish(ORG, auth.group_body(ORG_PK, auth.promote(WRITER_PK, auth.WRITE, quota=bigger),
                                        org_log.heads(ORG_PK)), LOG, 5000)
    sync.sync_local(laptop, LOG, s)
    assert s.heights(LOG)[WRITER_PK][LOG] == 19 and s.authorizer.over_quota() == []
    assert s.authorizer.quota_of(WRITER_PK) == bigger
    # lowering it again is a Demote; a change that raises one field and lowers another is neither
    a = s.authorizer
    assert quota.compare((1, 2, 3), (1, 2, 3)) == 0 and quota.compare((2, 2, 3), (1, 2, 3)) == 1
    assert quota.compare((0, 2, 3), (1, 2, 3)) == -1 and quota.compare((2, 1, 3), (1, 2, 3)) is None
    before = a.revision
    laptop.publish(ORG, auth.group_body(ORG_PK, auth.promote(WRITER_PK, auth.WRITE, quota=(1, 1000, 1000)),
                                        a.heads(ORG_PK)), LOG, 6000)
    sync.sync_local(laptop, LOG, s)
    assert a.revision == before and a.quota_of(WRITER_PK) == bigger  # not a Promote: ignored


def test_a_store_already_over_its_quota_takes_nothing_more_of_that_writer():
    held = MemoryStore()
    sync.sync_local(laptop_with_a_flooding_writer(), LOG, held)  # unguarded: all 20 stored
    a = auth.guard(held, auth.Authorizer([ORG_PK], default_quota=SMALL), LOG)
    assert hexlify(WRITER_PK)[:16] in a.over_quota()[0]
    more = MemoryStore()
    more.ingest_many(held.all_operations(LOG))
    more.publish(WRITER, event(99), LOG, 9000)
    assert held.ingest_op(more.latest(WRITER_PK, LOG))[1] is False and held.refused == 1


def test_quota_conditions_are_the_serde_form_of_access_with_conditions():
    a, b = b"\x01" * 32, b"\x02" * 32
    expect = {"group_id": a, "action": {"Promote": {"member": {"Individual": b}, "access": {
        "conditions": {"bytes": 10 * 1024 * 1024, "operations": 20000, "events": 3000}, "level": "Write"}}},
        "dependencies": []}
    action = auth.promote(b, auth.WRITE, quota=(10 * 1024 * 1024, 20000, 3000))
    data = auth.group_body(a, action)
    assert data == cbor2.dumps(expect)
    assert auth.parse_group_body(data) == (a, action, [])
    for bad in ({"bytes": -1, "operations": 1, "events": 1}, {"bytes": 1, "operations": 1}, "lots"):
        expect["action"]["Promote"]["access"]["conditions"] = bad
        with pytest.raises(GroupOpError):
            auth.parse_group_body(cbor2.dumps(expect))


def test_snapshot_keeps_the_organisers_operations_first(tmp_path):
    from pandascreen.node import snapshot
    from pandascreen.node.sqlite_store import SqliteStore
    path = str(tmp_path / "festival.db")
    store = SqliteStore(path)
    a = auth.guard(store, auth.Authorizer([ORG_PK], default_quota=(10 ** 6, 100, 100)), LOG)
    store.ingest_many(laptop_with_a_flooding_writer().all_operations(LOG))
    assert a.quota_of(WRITER_PK) is not None and store.heights(LOG)[WRITER_PK][LOG] == 19
    org_bytes = sum(len(op.header_bytes) + len(op.body) + 8 for op in store.operations(ORG_PK, LOG))
    # room for the organiser's log and a little more: the writer's log sorts first, yet the
    # organiser's operations are all in the snapshot
    n = snapshot.save(snapshot.snapshot_path(path), snapshot.organisers_first(store, LOG),
                      max_bytes=len(snapshot.MAGIC) + org_bytes + 400)
    got = [operation.decode(h, b) for h, b in snapshot.load(snapshot.snapshot_path(path))]
    assert n == len(got) and sum(op.public_key == ORG_PK for op in got) == 14
    assert [op.public_key for op in got][:14] == [ORG_PK] * 14
    assert sum(op.public_key == WRITER_PK for op in got) < 20
    store.close()


MP_QUOTA = r"""
from pandascreen.core import auth
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import unhexlify

LOG = unhexlify(%(log)r)
screen = MemoryStore()
a = auth.guard(screen, auth.Authorizer([unhexlify(%(org)r)], default_quota=%(limits)r), LOG)
for hb, body in %(ops)r:
    screen.ingest(unhexlify(hb), unhexlify(body))
h = screen.heights(LOG)
print(h[unhexlify(%(writer)r)][LOG], h[unhexlify(%(org)r)][LOG], screen.refused, a.over_quota()[0][:24])
"""


def test_the_board_keeps_the_same_quota():
    laptop = laptop_with_a_flooding_writer(8)
    ops = list(laptop.operations(ORG_PK, LOG)) + list(laptop.operations(WRITER_PK, LOG))
    pairs = [(hexlify(op.header_bytes), hexlify(op.body)) for op in ops]
    out = run_micropython(MP_QUOTA % {"log": hexlify(LOG), "org": hexlify(ORG_PK), "writer": hexlify(WRITER_PK),
                                      "limits": SMALL, "ops": pairs})
    assert out.split() == ["3", "13", "4", "author", hexlify(WRITER_PK)[:16]]
