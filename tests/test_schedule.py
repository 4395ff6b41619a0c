import itertools

import pytest

from pandascreen.core import operation, schema
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore

LOG = operation.log_id_for_festival("fest")
ORG = bytes(range(32))
OTHER = bytes(range(2, 34))


def ev(i, venue, start, end, title=None):
    return schema.make_body("event", "create", "e%d" % i,
                            {"venue": venue, "title": title or "Talk %d" % i, "start": start, "end": end,
                             "speakers": ["Ada", "Grace"]})


def build(bodies, seed=ORG):
    s = MemoryStore()
    for i, b in enumerate(bodies):
        s.publish(seed, b, LOG, 1000 + i)
    return s


BASE = [
    schema.make_body("festival", "create", "fest", {"name": "Fest", "utc_offset": 60, "timezone": "Europe/Berlin"}),
    schema.make_body("venue", "create", "b", {"name": "Bühne", "order": 2}),
    schema.make_body("venue", "create", "a", {"name": "Arena", "order": 1}),
    ev(1, "a", 100, 200), ev(2, "a", 200, 300), ev(3, "a", 400, 500), ev(4, "b", 150, 160),
]


def test_materialised_view_and_now_next():
    sch = Schedule.from_store(build(BASE), LOG)
    assert sch.festival["name"] == "Fest" and sch.utc_offset() == 60
    assert [v.id for v in sch.venues()] == ["a", "b"]
    cur, nxt = sch.now_next("a", 150)
    assert cur.id == "e1" and nxt.id == "e2"
    cur, nxt = sch.now_next("a", 200)
    assert cur.id == "e2" and nxt.id == "e3"
    cur, nxt = sch.now_next("a", 350)
    assert cur is None and nxt.id == "e3"
    assert sch.now_next("a", 600) == (None, None)
    assert sch.now_next("nowhere", 0) == (None, None)
    assert sch.events("a")[0].speakers == ("Ada", "Grace")  # interned, shared: a tuple


def test_updates_and_deletes():
    bodies = BASE + [
        schema.make_body("event", "update", "e1", {"title": "Renamed"}),
        schema.make_body("event", "delete", "e2"),
        schema.make_body("venue", "update", "b", {"order": 0}),
    ]
    sch = Schedule.from_store(build(bodies), LOG)
    assert [e.title for e in sch.events("a")] == ["Renamed", "Talk 3"]
    assert sch.events("a")[0].start == 100  # untouched fields survive an update
    assert [v.id for v in sch.venues()] == ["b", "a"]


def test_order_independent_convergence():
    store = build(BASE + [schema.make_body("event", "update", "e1", {"title": "X"}),
                          schema.make_body("event", "delete", "e3")])
    ops = list(store.all_operations(LOG))
    results = set()
    for perm in itertools.islice(itertools.permutations(ops), 0, 5000, 97):
        sch = Schedule()
        for op in perm:
            sch.apply(op)
        results.add(repr(sch.to_neutral()))
    assert len(results) == 1


def test_untrusted_authors_and_bad_bodies_are_ignored():
    store = build(BASE)
    store.publish(OTHER, schema.make_body("event", "update", "e1", {"title": "Spam"}), LOG, 99999)
    store.publish(ORG, b"\xff\xfe not cbor", LOG, 99999)
    from pandascreen.core.crypto import public_key
    sch = Schedule.from_store(store, LOG, authors=[public_key(ORG)])
    assert sch.events("a")[0].title == "Talk 1"
    assert len(sch.problems) == 1 and "not valid CBOR" in sch.problems[0]


@pytest.mark.parametrize("args,msg", [
    (("gig", "create", "x", {"name": "n"}), "unknown document kind"),
    (("venue", "upsert", "x", {"name": "n"}), "unknown action"),
    (("venue", "create", "", {"name": "n"}), "id must be"),
    (("venue", "create", "x", {}), "non-empty fields"),
    (("venue", "create", "x", {"order": 1}), "missing required field 'name'"),
    (("venue", "create", "x", {"name": 5}), "must be text"),
    (("venue", "create", "x", {"name": "n", "colour": "red"}), "unknown venue field 'colour'"),
    (("event", "create", "x", {"venue": "a", "title": "t", "start": 5, "end": 1}), "ends before it starts"),
    (("event", "create", "x", {"venue": "a", "title": "t", "start": "5", "end": 1}), "whole number"),
    (("event", "update", "x", {"speakers": "Ada"}), "list of text"),
])
def test_schema_errors_are_clear(args, msg):
    with pytest.raises(schema.SchemaError, match=msg):
        schema.make_body(*args)


def test_parse_body_rejects_other_versions():
    from pandascreen.core import cbor
    with pytest.raises(schema.SchemaError, match="schema version"):
        schema.parse_body(cbor.dumps({"v": 2, "kind": "venue", "action": "delete", "id": "x"}))
