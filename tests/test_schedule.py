import itertools

import pytest

from pandascreen.core import operation, schema
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore
from pandascreen_host.importers import from_schedule as neutral_of

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
        results.add(repr(neutral_of(sch)))
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


# -- incremental view == naive rebuild, any order ----------------------------------------------
#
# ``naive`` is the schedule's meaning written the slow, obvious way (last writer wins per field
# by (timestamp, hash), visible when the newest write beats the newest delete, views sorted from
# scratch), independent of the incremental code it checks.

from hypothesis import given, settings, strategies as st  # noqa: E402

VENUES = ("a", "b", "c")
EVENTS = ("e1", "e2", "e3", "e4", "e5")


def naive(ops):
    docs = {}
    for body, ts, h in ops:
        d = docs.setdefault((body["kind"], body["id"]), {"alive": None, "deleted": None, "f": {}, "created": None})
        stamp = (ts, h)
        if body["action"] == "delete":
            d["deleted"] = max(d["deleted"] or stamp, stamp)
            continue
        d["alive"] = max(d["alive"] or stamp, stamp)
        if body["action"] == "create":  # the oldest create's fields are what was announced
            d["created"] = min(d["created"] or (stamp, body["fields"]), (stamp, body["fields"]), key=lambda c: c[0])
        for name, value in body["fields"].items():
            if name not in d["f"] or stamp > d["f"][name][0]:
                d["f"][name] = (stamp, value)
    fest, venues, events = None, [], []
    for (kind, doc_id), d in sorted(docs.items()):
        if d["alive"] is None or (d["deleted"] is not None and d["deleted"] >= d["alive"]):
            continue
        f = dict((k, v[1]) for k, v in d["f"].items())
        if kind == "festival" and fest is None:
            fest = dict(f, id=doc_id)
        elif kind == "venue":
            venues.append({"id": doc_id, "name": f.get("name", doc_id), "order": f.get("order", 0)})
        elif kind == "event":
            start = f.get("start", 0)
            # moved: its start or venue is not what its oldest create announced (a field a create
            # leaves out, only possible without validation, announced the field's empty value)
            moved = d["created"] is not None and any(
                f.get(name, empty) != d["created"][1].get(name, empty) for name, empty in (("start", 0), ("venue", "")))
            events.append({"moved": moved, "id": doc_id, "venue": f.get("venue", ""), "title": f.get("title", ""),
                           "start": start, "end": f.get("end", start), "speakers": list(f.get("speakers", ())),
                           "track": f.get("track", ""), "lang": f.get("lang", ""),
                           "status": f.get("status", "")})
    venues.sort(key=lambda v: (v["order"], v["name"], v["id"]))
    events.sort(key=lambda e: (e["venue"], e["start"], e["end"], e["id"]))
    return {"festival": fest, "venues": venues, "events": events, "warnings": []}


def naive_now_next(neutral, venue_id, now):
    running, later = [], []
    for e in neutral["events"]:  # sorted: the last running one started last
        if e["venue"] != venue_id:
            continue
        if e["start"] <= now < e["end"] or e["start"] == e["end"] == now:
            running.append(e)
        elif e["start"] > now:
            later.append(e)
    # the first to start after now; of several starting then, the first not cancelled
    slot = [e for e in later if e["start"] == later[0]["start"]]
    nxt = ([e for e in slot if e["status"] != "cancelled"] + slot + [None])[0]
    on = [e for e in running if e["status"] != "cancelled"]
    if not on:  # a cancelled one is "now" only when no other runs
        return running and running[-1]["id"] or None, nxt and nxt["id"]
    current, also = on[-1], on[-2] if len(on) > 1 else None
    # another one on now is shown next when it began with the one on now, or nothing starts before it ends
    if also is not None and (also["start"] == current["start"] or nxt is None or nxt["start"] >= also["end"]):
        nxt = also
    return current["id"], nxt and nxt["id"]


times = st.integers(min_value=0, max_value=12)
event_fields = st.fixed_dictionaries({}, optional={
    "venue": st.sampled_from(VENUES), "title": st.sampled_from(["A", "B", "Talk", ""]),
    "start": times, "end": times, "speakers": st.lists(st.sampled_from(["Ada", "Kim"]), max_size=2),
    "track": st.sampled_from(["x", "y"]), "lang": st.sampled_from(["en", "de"]),
    "status": st.sampled_from(["", "cancelled"])})
venue_fields = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["Arena", "Bühne", "Club"]), "order": st.integers(0, 2)})
festival_fields = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["Fest", "Other"]), "utc_offset": st.sampled_from([0, 60])})


def _body(kind, doc_id, action, fields):
    if action == "delete":
        return {"v": 1, "kind": kind, "action": "delete", "id": doc_id}
    return {"v": 1, "kind": kind, "action": action, "id": doc_id, "fields": fields}


def _fix_end(fields):
    # the schema rejects end < start within one body; across bodies anything goes
    if "start" in fields and "end" in fields and fields["end"] < fields["start"]:
        fields["start"], fields["end"] = fields["end"], fields["start"]
    return fields


ACTIONS = st.sampled_from(["create", "update", "delete"])
one_body = st.one_of(
    st.builds(_body, st.just("event"), st.sampled_from(EVENTS), ACTIONS, event_fields.map(_fix_end)),
    st.builds(_body, st.just("venue"), st.sampled_from(VENUES), ACTIONS, venue_fields),
    st.builds(_body, st.just("festival"), st.sampled_from(["f1", "f2"]), ACTIONS, festival_fields),
).filter(lambda b: b["action"] == "delete" or b["fields"])


@st.composite
def op_lists(draw):
    bodies = draw(st.lists(one_body, min_size=1, max_size=40))
    # few distinct timestamps, so ties between different operations are common (hash decides)
    return [(b, draw(st.integers(0, 6)), bytes([i, 7]) + bytes(30)) for i, b in enumerate(bodies)]


def _incremental(ops):
    s = Schedule()
    for body, ts, h in ops:
        s.apply(body, ts, h)
    return s


def _check_reads(sch, neutral):
    moved = dict((e["id"], e["moved"]) for e in neutral["events"])
    neutral = dict(neutral, events=[dict((k, v) for k, v in e.items() if k != "moved") for e in neutral["events"]])
    assert neutral_of(sch) == neutral
    assert dict((e.id, e.moved()) for e in sch.all_events()) == dict(
        (e["id"], moved[e["id"]]) for e in neutral["events"] if e["venue"] in set(v["id"] for v in neutral["venues"]))
    assert [(v.id, v.name, v.order) for v in sch.venues()] == [(v["id"], v["name"], v["order"])
                                                              for v in neutral["venues"]]
    known = set(v["id"] for v in neutral["venues"])
    want = sorted((e for e in neutral["events"] if e["venue"] in known),
                  key=lambda e: (e["start"], e["end"], e["id"]))
    assert [e.id for e in sch.all_events()] == [e["id"] for e in want]
    assert sch.festival == neutral["festival"]
    for vid in VENUES:
        assert [e.id for e in sch.events(vid)] == [e["id"] for e in neutral["events"] if e["venue"] == vid]
        for now in range(-1, 14):
            cur, nxt = sch.now_next(vid, now)
            assert (cur and cur.id, nxt and nxt.id) == naive_now_next(neutral, vid, now), (vid, now)


def _apply_checking_version(sch, ops, n):
    """Apply ``ops[n]`` to ``sch`` (which holds ``ops[:n]``); when what is visible changed, its
    ``version`` grew (the frame cache must notice).  Returns the naive rebuild of ``ops[:n + 1]``."""
    body, ts, h = ops[n]
    before = sch.version
    sch.apply(body, ts, h)
    expected = naive(ops[:n + 1])
    if expected != naive(ops[:n]):
        assert sch.version > before
    return expected


@settings(max_examples=300, deadline=None)
@given(op_lists(), st.randoms(use_true_random=False))
def test_incremental_equals_naive_rebuild_in_any_order(ops, rnd):
    """Deletes, re-creates, moves between venues, title/time changes, stamp ties: after every
    operation the incremental views equal the naive rebuild, and any order converges."""
    sch = Schedule()
    for n in range(len(ops)):
        _check_reads(sch, _apply_checking_version(sch, ops, n))
    shuffled = list(ops)
    rnd.shuffle(shuffled)
    _check_reads(_incremental(shuffled), naive(ops))


def _e1(action, ts, h=0, **fields):
    """An operation on event e1 at ``ts`` (``h`` tells apart two at one time)."""
    return _body("event", "e1", action, fields), ts, bytes([ts, h]) + bytes(30)


def _create(ts, venue, start, h=0):
    return _e1("create", ts, h, venue=venue, title="Talk", start=start, end=start + 1)


# (operations on one talk, moved at the end): whether a talk is marked moved depends on the values
# its oldest create announced, never on which operation set them last
MOVE_STORIES = {
    "moved": ([_create(1, "a", 5), _e1("update", 2, start=6)], True),
    "moved to another venue": ([_create(1, "a", 5), _e1("update", 2, venue="b")], True),
    "moved and moved back": ([_create(1, "a", 5), _e1("update", 2, start=6), _e1("update", 3, start=5)], False),
    "venue and back": ([_create(1, "a", 5), _e1("update", 2, venue="b", start=7), _e1("update", 3, venue="a"),
                        _e1("update", 4, start=5)], False),
    "its start set again": ([_create(1, "a", 5), _e1("update", 2, start=5, venue="a")], False),
    "retitled": ([_create(1, "a", 5), _e1("update", 2, title="New")], False),
    "deleted and restored": ([_create(1, "a", 5), _e1("delete", 2), _create(3, "a", 5)], False),
    "restored elsewhere": ([_create(1, "a", 5), _e1("delete", 2), _create(3, "b", 5)], True),
    "restored later, moved back": ([_create(1, "a", 5), _e1("delete", 2), _create(3, "a", 8),
                                    _e1("update", 4, start=5)], False),
    "moved, then restored as announced": ([_create(1, "a", 5), _e1("update", 2, start=9), _create(3, "a", 5)], False),
    "an older create with another start": ([_create(3, "a", 5), _create(1, "a", 6)], True),
    "an older create, an update between": ([_create(4, "a", 5), _create(1, "a", 6), _e1("update", 2, start=7),
                                            _e1("update", 3, start=6)], True),
    "two creates at one time": ([_create(2, "a", 5), _create(2, "a", 6, h=1), _e1("update", 3, start=5)], False),
    "an update older than the create": ([_e1("update", 1, start=9), _create(2, "a", 5)], False),
}


@pytest.mark.parametrize("story", sorted(MOVE_STORIES))
def test_moved_in_every_delivery_order_is_what_the_oldest_create_announced(story):
    """A talk moved by mistake and moved back, or deleted and restored in its slot, is where the
    printed program says: no screen may call it moved.  Every order of delivery, every step."""
    ops, want = MOVE_STORIES[story]
    finals = set()
    for perm in itertools.permutations(ops):
        sch = Schedule()
        for n in range(len(perm)):
            expected = _apply_checking_version(sch, perm, n)
            assert dict((e.id, e.moved()) for e in sch.docs["event"].values() if e.visible()) == dict(
                (e["id"], e["moved"]) for e in expected["events"]), (story, perm[:n + 1])
        finals.add(sch.docs["event"]["e1"].moved())
    assert finals == {want}


def test_version_moves_only_when_something_changed():
    sch = Schedule()
    create = {"v": 1, "kind": "event", "action": "create", "id": "e1",
              "fields": {"venue": "a", "title": "New", "start": 1, "end": 2}}
    sch.apply(create, 10, b"\x01")
    v = sch.version
    sch.apply(create, 10, b"\x01")  # a repeat
    sch.apply({"v": 1, "kind": "event", "action": "update", "id": "e1", "fields": {"title": "Old"}}, 5, b"\x02")
    sch.apply({"v": 1, "kind": "event", "action": "delete", "id": "e1"}, 4, b"\x03")  # older than the create
    assert sch.version == v and sch.events("a")[0].title == "New"
    sch.apply({"v": 1, "kind": "event", "action": "update", "id": "e1", "fields": {"title": "Newer"}}, 11, b"\x04")
    assert sch.version > v and sch.events("a")[0].title == "Newer"


def test_signed_operations_fed_incrementally_equal_a_rebuild_from_the_store():
    """The controller's path: one schedule fed ``operations_since`` == ``from_store``."""
    import random
    rnd = random.Random(6)
    store = build(BASE)
    sch = Schedule.from_store(store, LOG)
    seen = store.version
    for step in range(60):
        i = rnd.randrange(1, 6)
        choice = rnd.random()
        if choice < 0.2:
            body = schema.make_body("event", "delete", "e%d" % i)
        elif choice < 0.6:
            start = rnd.randrange(0, 600)
            body = schema.make_body("event", "update", "e%d" % i, {
                "venue": rnd.choice("abc"), "start": start, "end": start + rnd.randrange(0, 200)})
        else:
            body = schema.make_body("event", "create" if choice > 0.8 else "update", "e%d" % i,
                                    {"venue": "a", "title": "T%d" % step, "start": 5, "end": 50})
        store.publish(ORG, body, LOG, 2000 + step)
        for op in store.operations_since(seen, log_id=LOG):
            sch.apply(op)
        seen = store.version
        assert neutral_of(sch) == neutral_of(Schedule.from_store(store, LOG))


def test_schedule_under_micropython_matches_cpython():
    """The incremental schedule (own binary search, slots ignored, tuple stamps) on real
    MicroPython in a Pico W's heap (testing/micropython.py run_scenario: the live-heap budget on the
    WebAssembly port, a hard 180 KB heap where a 32-bit unix build is named)."""
    from pandascreen.testing import micropython as mpy
    code = """
# live: start
import gc
# collect every 8 KB: MicroPython's GC neither moves objects nor runs before the heap is full,
# so without it 600 updates leave the few live objects spread over all 180 KB and no 2 KB
# block free (a board wants the same: board/main.py)
gc.threshold(8192)
from pandascreen.core.schedule import Schedule
N = 300
def op(i):
    # the i-th of N pseudo-random operations, recomputed instead of kept (a 180 KB heap)
    x = 12345
    for _ in range(i + 1):
        x = (x * 1103515245 + 12345) % 2147483648
    kind = ("event", "event", "event", "venue")[x % 4]
    doc = "e%d" % (x % 17) if kind == "event" else "v%d" % (x % 4)
    if x % 7 == 0:
        body = {"v": 1, "kind": kind, "action": "delete", "id": doc}
    elif kind == "event":
        start = 1784376000 + (x >> 8) % 50 * 600
        # some creates: moved() (what the oldest create announced) on tuple stamps
        body = {"v": 1, "kind": kind, "action": ("create", "update")[x % 3 > 0], "id": doc, "fields": {
            "venue": "v%d" % ((x >> 4) % 4), "title": "T%d" % i, "start": start,
            "end": start + (x >> 12) % 4 * 900, "speakers": ["Ada", "Kim"][: x % 3]}}
    else:
        body = {"v": 1, "kind": kind, "action": "update", "id": doc,
                "fields": {"name": "V%d" % (x % 5), "order": (x >> 3) % 3}}
    return body, 1784000000000000 + (x >> 5) % 40, bytes([i % 256, i // 256]) + bytes(30)
def summary(s):
    # short lines, no big joined string: a fragmented 180 KB heap has no 4 KB block left
    lines = [repr((v.id, v.name, v.order)) for v in s.venues()]
    for vid in s.lanes():
        for e in s.events(vid):
            lines.append(repr((e.id, e.venue, e.title, e.start, e.end, list(e.speakers), e.track, e.lang,
                               e.status, e.moved())))
    for v in ("v0", "v1", "v2", "v3"):
        for t in range(0, 50 * 600, 450):
            c, x = s.now_next(v, 1784376000 + t)
            lines.append("%s %s" % (c and c.id, x and x.id))
    # moved and moved back, deleted and restored, moved: delivered in order and in reverse
    for ops in (("create", 5), ("update", 6), ("update", 5)), (("create", 5), ("delete", 0), ("create", 5)), (
            ("create", 5), ("update", 7)):
        for order in (list, reversed):
            m = Schedule()
            for n, (action, at) in order(list(enumerate(ops))):
                m.apply({"v": 1, "kind": "event", "action": action, "id": "m", "fields": {"venue": "v0", "start": at}},
                        1784000000000000 + n, bytes([n]) * 32)
            lines.append("moved %s" % m.docs["event"]["m"].moved())
    return lines
a = Schedule()
for i in range(N):
    a.apply(*op(i))
b = Schedule()
for k in range(N):
    b.apply(*op(k * 7 % N))  # another order: 7 and N are coprime
# live: applied
sa, sb = summary(a), summary(b)
print("converged", sa == sb, len(a.all_events()))
print("SUMMARY-START")
for line in sa:
    print(line)
"""
    ns = {}
    exec(code.split("a = Schedule()")[0].replace("gc.threshold(8192)", ""), ns)
    cp = ns["Schedule"]()
    for i in range(ns["N"]):
        cp.apply(*ns["op"](i))
    for _runtime, out in mpy.run_scenario("schedule", code):
        assert "converged True" in out, out
        mp_summary = out.split("SUMMARY-START\n", 1)[1].strip().split("\n")
        assert mp_summary == ns["summary"](cp)
    assert ns["summary"](cp)[-6:] == ["moved False"] * 4 + ["moved True"] * 2


@pytest.mark.parametrize("page", [1, 2, 3, 500])
def test_from_store_reads_pages_and_pruned_logs(page):
    """Paged reading (bounded memory) finds every operation, also after a prune left a gap."""
    bodies = BASE + [schema.make_body("event", "update", "e%d" % (i % 4 + 1), {"title": "T%d" % i})
                     for i in range(12)]
    store = build(bodies)
    other = bytes(range(3, 35))
    store.publish(other, schema.make_body("venue", "create", "c", {"name": "Club"}), LOG, 5000)
    want = Schedule()
    for op in store.all_operations(LOG):
        want.apply(op)
    assert neutral_of(Schedule.from_store(store, LOG, page=page)) == neutral_of(want)
    # the organiser re-publishes everything as a pruned log: seq 0..18 are gone
    store.publish_many(ORG, BASE + [schema.make_body("event", "delete", "e2")], LOG, 9000, prune=True)
    want = Schedule()
    for op in store.all_operations(LOG):
        want.apply(op)
    got = Schedule.from_store(store, LOG, page=page)
    assert neutral_of(got) == neutral_of(want) and [e.id for e in got.events("a")] == ["e1", "e3"]
    assert [v.id for v in got.venues()] == ["c", "a", "b"]  # the club has order 0
    from pandascreen.core.crypto import public_key
    assert store.operations(public_key(ORG), LOG)[0].seq_num == 19  # the gap was there


def test_frame_bench_section_runs_and_reports():
    """``make bench`` section "frame" runs (small sizes) and prints each figure beside its floor."""
    from pandascreen.bench import SECTIONS, frame
    assert "frame" in SECTIONS
    r = frame.run(quick=True)
    size = r["sizes"][0]
    assert size["view_has_now_next"]  # the measured frame shows a talk now and next
    before, after, peak, events = size["rss"]
    assert events == size["events"] and 0 < before <= peak
    text = frame.report(r)
    for label in ("1 op -> frame", "floor: draw the same view alone", "floor: PyNaCl verify",
                  "old: full rebuild", "floor: %.1f MB imports only" % (before / 1048576.0)):
        assert label in text, text


def test_events_at_the_same_time_share_their_time_objects():
    """Festival times repeat (every talk of a slot starts and ends alike), and each decoded
    operation holds its own time objects: 64 bytes an event on CPython, unless the schedule keeps
    one of each."""
    at, until = 1_735_000_000, 1_735_003_600
    sch = Schedule.from_store(build(BASE + [ev(5, "a", at, until), ev(6, "b", at, until)]), LOG)
    (first,), (second,) = ([e for e in sch.events(v) if e.start == at] for v in ("a", "b"))
    assert first.start is second.start and first.end is second.end
