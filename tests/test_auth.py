"""The festival group (p2panda-auth model): wire form, Manage-only changes, strong removal,
lost and compromised keys, curated and self-organised festivals, venues a screen follows."""
import itertools
import random

import pytest
from hypothesis import given, settings, strategies as st

from pandascreen.core import auth, cbor, operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import GroupOpError, Unauthorized
from pandascreen.core.util import hexlify

cbor2 = pytest.importorskip("cbor2")
LOG = operation.log_id_for_festival("fest")


class Peer:
    """One key publishing into the festival log (seq, backlink and timestamps kept)."""

    def __init__(self, n):
        self.seed = bytes([n]) * 32
        self.key = public_key(self.seed)
        self.ops = []

    def publish(self, body, ts=None):
        prev = self.ops[-1] if self.ops else None
        seq = len(self.ops)
        ts = 1000 + seq if ts is None else ts
        op = operation.create(self.seed, body, seq, prev.hash if prev else None,
                              operation.Extensions(LOG, ts, False))
        self.ops.append(op)
        return op

    def group(self, group_id, action, deps=()):
        return self.publish(auth.group_body(group_id, action, [d.hash if hasattr(d, "hash") else d for d in deps]))

    def event(self, doc_id, title="Talk", venue="v", action="create"):
        fields = None if action == "delete" else {"venue": venue, "title": title, "start": 10, "end": 20}
        return self.publish(schema.make_body("event", action, doc_id, fields))


def feed(a, ops):
    """Store-like: keep what may be stored (findable by hash, like the store's lookup), tell
    the authorizer; returns what was kept."""
    if a.lookup is None:
        stored = {}
        a.lookup = stored.get
        a.stored = stored
    kept = []
    for op in ops:
        if a.may_store(op):
            if hasattr(a, "stored"):
                a.stored[op.hash] = (op.public_key, op.seq_num)
            a.observe(op)
            kept.append(op)
    return kept


# -- wire form -----------------------------------------------------------------------------
def test_group_body_is_the_serde_ciborium_form():
    a, b, h = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    expect = {"group_id": a,
              "action": {"Add": {"member": {"Individual": b}, "access": {"conditions": None, "level": "Write"}}},
              "dependencies": [h]}
    assert auth.group_body(a, auth.add(b, auth.WRITE), [h]) == cbor2.dumps(expect)
    create = {"group_id": a, "action": {"Create": {"initial_members": [
        [{"Individual": a}, {"conditions": None, "level": "Manage"}],
        [{"Group": b}, {"conditions": None, "level": "Pull"}]]}}, "dependencies": []}
    assert auth.group_body(a, auth.create([(a, auth.MANAGE), (b, auth.PULL, True)])) == cbor2.dumps(create)
    remove = {"group_id": a, "action": {"Remove": {"member": {"Group": b}}}, "dependencies": []}
    assert auth.group_body(a, auth.remove(b, group=True)) == cbor2.dumps(remove)
    for action in (auth.add(b, auth.READ), auth.remove(b), auth.promote(b, auth.MANAGE),
                   auth.demote(b, auth.PULL, True), auth.create([(b, auth.WRITE)] * 20)):
        data = auth.group_body(a, action, [h] * 3)
        assert auth.is_group_body(data)
        assert auth.parse_group_body(data) == (a, action, [h] * 3)


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(action={"Join": {}}),
    lambda d: d["action"]["Add"]["access"].update(level="Owner"),
    lambda d: d["action"]["Add"]["access"].update(conditions="/x"),
    lambda d: d.update(group_id=b"\x01" * 31),
    lambda d: d.update(dependencies=[b"\x00" * 32] * 65),
    lambda d: d.update(extra=1),
])
def test_malformed_group_bodies_raise_group_op_error(mutate):
    d = {"group_id": b"\x01" * 32,
         "action": {"Add": {"member": {"Individual": b"\x02" * 32}, "access": {"conditions": None, "level": "Write"}}},
         "dependencies": []}
    mutate(d)
    with pytest.raises(GroupOpError):
        auth.parse_group_body(cbor2.dumps(d))


def test_provisioning_must_name_a_group():
    with pytest.raises(Unauthorized, match="organiser"):
        auth.Authorizer([])
    assert auth.Authorizer([], trust_anyone=True).may_write(b"\x09" * 32)


# -- curated festival ----------------------------------------------------------------------
def curated():
    org, prog, stranger = Peer(1), Peer(2), Peer(3)
    a = auth.Authorizer([org.key])
    return a, org, prog, stranger


def test_curated_only_group_members_write():
    a, org, prog, stranger = curated()
    assert feed(a, [stranger.event("x")]) == []  # before anyone is added
    add = org.group(org.key, auth.add(prog.key, auth.WRITE))
    assert feed(a, [add]) == [add]
    assert a.level(org.key, prog.key) == auth.WRITE
    ev = prog.event("e1")
    assert feed(a, [ev]) == [ev]
    body = schema.parse_body(ev.body)
    assert a.may_apply(ev, body)
    # a stranger can neither write nor add itself, nor can a Write member change the group
    assert feed(a, [stranger.event("e1", "FREE BEER"), stranger.group(org.key, auth.add(stranger.key, auth.MANAGE))]) == []
    assert feed(a, [prog.group(org.key, auth.add(stranger.key, auth.WRITE))]) == []
    assert a.level(org.key, stranger.key) == -1
    with pytest.raises(Unauthorized, match="may not write"):
        a.check_store(stranger.event("e2"))


def test_screen_has_pull_and_cannot_write():
    a, org, prog, screen = curated()
    feed(a, [org.group(org.key, auth.add(screen.key, auth.PULL))])
    assert a.level(org.key, screen.key) == auth.PULL and not a.may_store(screen.event("e"))


def test_lost_key_keeps_its_past_operations():
    a, org, prog, _ = curated()
    add = org.group(org.key, auth.add(prog.key, auth.WRITE))
    past = [prog.event("e%d" % i) for i in range(3)]
    assert feed(a, [add] + past) == [add] + past
    rev = a.revision
    # the organiser names the last operation it saw as the cut-off
    rm = org.group(org.key, auth.remove(prog.key), [add, past[-1]])
    feed(a, [rm])
    assert a.revision > rev and a.level(org.key, prog.key) == -1
    for op in past:
        assert a.may_store(op) and a.may_apply(op, schema.parse_body(op.body))
    later = prog.event("e9", "found the key")
    assert not a.may_store(later)


def test_compromised_key_loses_its_operations_after_the_cut_off():
    a, org, prog, _ = curated()
    add = org.group(org.key, auth.add(prog.key, auth.WRITE))
    good = prog.event("e1")
    feed(a, [add, good])
    bad = [prog.event("e1", "FREE BEER"), prog.event("e2", "spam")]  # concurrent with the removal
    feed(a, bad)
    assert a.may_store(bad[0])
    rm = org.group(org.key, auth.remove(prog.key), [add, good])  # last known good: e1
    feed(a, [rm])
    assert a.may_store(good) and not any(a.may_store(op) for op in bad)
    assert not a.may_apply(bad[0], schema.parse_body(bad[0].body))
    # no cut-off named: nothing of that key counts any more
    a2 = auth.Authorizer([org.key]).load([add, good] + bad + [org.group(org.key, auth.remove(prog.key), [add])])
    assert not a2.may_store(good) and not a2.may_write(prog.key)


def test_cut_off_stored_before_removal_found_through_lookup():
    a, org, prog, _ = curated()
    add = org.group(org.key, auth.add(prog.key, auth.WRITE))
    ops = [add] + [prog.event("e%d" % i) for i in range(3)]
    index = {op.hash: (op.public_key, op.seq_num) for op in ops}
    a.lookup = index.get
    feed(a, ops)
    feed(a, [org.group(org.key, auth.remove(prog.key), [add, ops[2]])])
    assert [a.may_store(op) for op in ops[1:]] == [True, True, False]


def test_load_equals_incremental_in_any_order():
    a, org, prog, _ = curated()
    add = org.group(org.key, auth.add(prog.key, auth.WRITE))
    evs = [prog.event("e%d" % i) for i in range(3)]
    rm = org.group(org.key, auth.remove(prog.key), [add, evs[1]])
    ops = [add] + evs + [rm]
    want = [auth.Authorizer([org.key]).load(ops).may_store(op) for op in ops]
    assert want == [True, True, True, False, True]
    for perm in itertools.permutations(ops):
        b = auth.Authorizer([org.key]).load(list(perm))
        assert [b.may_store(op) for op in ops] == want


# -- strong removal ------------------------------------------------------------------------
def two_managers():
    o1, o2, x, y = Peer(1), Peer(2), Peer(4), Peer(5)
    a = auth.Authorizer([o1.key])
    add2 = o1.group(o1.key, auth.add(o2.key, auth.MANAGE))
    feed(a, [add2])
    return a, o1, o2, x, y, add2


def test_removal_invalidates_concurrent_actions_of_the_removed_manager():
    a, o1, o2, x, y, add2 = two_managers()
    sneaky = o2.group(o1.key, auth.add(x.key, auth.MANAGE), [add2])  # concurrent with the removal
    rm = o1.group(o1.key, auth.remove(o2.key), [add2])
    transitive = x.group(o1.key, auth.add(y.key, auth.WRITE), [sneaky])
    for order in ([sneaky, transitive, rm], [rm, sneaky, transitive]):
        b = auth.Authorizer([o1.key]).load([add2] + order)
        assert b.level(o1.key, x.key) == -1 and b.level(o1.key, y.key) == -1 and b.level(o1.key, o2.key) == -1
    # without the removal the same operations are valid
    c = auth.Authorizer([o1.key]).load([add2, sneaky, transitive])
    assert c.level(o1.key, x.key) == auth.MANAGE and c.level(o1.key, y.key) == auth.WRITE


def test_actions_before_the_removal_stay_valid():
    a, o1, o2, x, y, add2 = two_managers()
    earlier = o2.group(o1.key, auth.add(x.key, auth.WRITE), [add2])
    rm = o1.group(o1.key, auth.remove(o2.key), [earlier])  # o1 saw it: not concurrent
    b = auth.Authorizer([o1.key]).load([add2, rm, earlier])
    assert b.level(o1.key, x.key) == auth.WRITE and b.level(o1.key, o2.key) == -1


def test_mutual_removal_removes_both():
    o1, o2, o3 = Peer(1), Peer(2), Peer(3)
    adds = [o1.group(o1.key, auth.add(o2.key, auth.MANAGE))]
    adds.append(o1.group(o1.key, auth.add(o3.key, auth.MANAGE), adds))
    r1 = o2.group(o1.key, auth.remove(o3.key), [adds[1]])
    r2 = o3.group(o1.key, auth.remove(o2.key), [adds[1]])
    other = o3.group(o1.key, auth.add(Peer(9).key, auth.WRITE), [adds[1]])  # concurrent, invalidated
    for order in itertools.permutations([r1, r2, other]):
        b = auth.Authorizer([o1.key]).load(adds + list(order))
        assert b.level(o1.key, o2.key) == -1 and b.level(o1.key, o3.key) == -1
        assert b.level(o1.key, Peer(9).key) == -1 and b.level(o1.key, o1.key) == auth.MANAGE


def test_readd_keeps_membership_but_not_concurrent_actions():
    a, o1, o2, x, y, add2 = two_managers()
    sneaky = o2.group(o1.key, auth.add(x.key, auth.WRITE), [add2])
    rm = o1.group(o1.key, auth.remove(o2.key), [add2])
    readd = o1.group(o1.key, auth.add(o2.key, auth.WRITE), [rm])
    b = auth.Authorizer([o1.key]).load([add2, sneaky, rm, readd])
    assert b.level(o1.key, o2.key) == auth.WRITE and b.level(o1.key, x.key) == -1


def test_pending_until_dependencies_arrive():
    a, o1, o2, x, y, add2 = two_managers()
    first = o1.group(o1.key, auth.add(x.key, auth.WRITE), [add2])
    second = o1.group(o1.key, auth.promote(x.key, auth.MANAGE), [first])
    b = auth.Authorizer([o1.key])
    feed(b, [add2, second])
    assert b.level(o1.key, x.key) == -1  # waits for `first`
    feed(b, [first])
    assert b.level(o1.key, x.key) == auth.MANAGE


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(2, 25))
def test_random_orders_converge(seed, n):
    """Random DAGs of adds, removals, promotions and demotions by three would-be managers,
    concurrent branches included: every delivery order, loaded or one by one, agrees."""
    rng = random.Random(seed)
    peers = [Peer(i) for i in range(1, 7)]
    root = peers[0]
    ops = []
    heads = []
    for step in range(n):
        who = rng.choice(peers[:3])
        target = rng.choice(peers[1:])
        action = rng.choice([auth.add(target.key, rng.choice([auth.WRITE, auth.MANAGE])), auth.remove(target.key),
                             auth.promote(target.key, auth.MANAGE), auth.demote(target.key, auth.PULL)])
        deps = rng.sample(heads, min(len(heads), rng.randint(0, 2)))
        op = (root if step < 3 else who).group(root.key, action, deps)
        ops.append(op)
        heads.append(op)
    want = auth.Authorizer([root.key]).load(ops)._fingerprint()
    for _ in range(4):
        rng.shuffle(ops)
        assert auth.Authorizer([root.key]).load(list(ops))._fingerprint() == want
        inc = auth.Authorizer([root.key], lookup=None)
        for op in ops:
            inc.observe(op)
        assert inc._fingerprint() == want


# -- self-organised festival -----------------------------------------------------------------
def self_organised(open_venue=True):
    org, w1, w2, guest = Peer(1), Peer(2), Peer(3), Peer(4)
    a = auth.Authorizer([org.key], mode=auth.SELF_ORGANISED)
    invites = [org.group(org.key, auth.add(w1.key, auth.WRITE))]
    invites.append(org.group(org.key, auth.add(w2.key, auth.MANAGE), invites))
    invites.append(w2.group(org.key, auth.add(guest.key, auth.WRITE), invites[-1:]))  # any Manage member invites
    venue_key = public_key(b"\x77" * 32)  # a fresh key names the venue's group
    initial = [(org.key, auth.WRITE, True)] if open_venue else []
    vcreate = w1.group(venue_key, auth.create(initial))
    kept = feed(a, invites + [vcreate])
    assert kept == invites + [vcreate]
    return a, org, w1, w2, guest, hexlify(venue_key), venue_key


def apply_ok(a, op):
    return a.may_store(op) and a.may_apply(op, schema.parse_body(op.body))


def test_invited_guest_writes_and_the_creator_stewards_the_venue():
    a, org, w1, w2, guest, vid, vkey = self_organised()
    assert a.level(org.key, guest.key) == auth.WRITE and a.level(vkey, w1.key) == auth.MANAGE
    assert apply_ok(a, w1.publish(schema.make_body("venue", "create", vid, {"name": "Tent"})))
    assert not apply_ok(a, guest.publish(schema.make_body("venue", "update", vid, {"name": "Mine"})))
    own = guest.event("%s/%s/talk" % (vid, hexlify(guest.key)), venue=vid)
    assert apply_ok(a, own)  # open venue: any festival Write member books it
    assert apply_ok(a, guest.event("%s/%s/talk" % (vid, hexlify(guest.key)), "Better", venue=vid, action="update"))
    # someone else's event: no edit, no delete; the steward may hide it
    other = w2.event("%s/%s/talk" % (vid, hexlify(guest.key)), "FREE BEER", venue=vid, action="update")
    assert not a.may_apply(other, schema.parse_body(other.body))
    hide = w1.event("%s/%s/talk" % (vid, hexlify(guest.key)), action="delete")
    assert a.may_apply(hide, schema.parse_body(hide.body))
    # an event cannot claim a venue other than the one in its id
    moved = guest.event("%s/%s/x" % (vid, hexlify(guest.key)), venue="elsewhere")
    assert not a.may_apply(moved, schema.parse_body(moved.body))
    # the festival document is for the festival's managers
    fest = guest.publish(schema.make_body("festival", "create", "f", {"name": "Mine"}))
    assert not a.may_apply(fest, schema.parse_body(fest.body))


def test_invite_only_venue():
    a, org, w1, w2, guest, vid, vkey = self_organised(open_venue=False)
    ev = guest.event("%s/%s/talk" % (vid, hexlify(guest.key)), venue=vid)
    assert a.may_store(ev) and not a.may_apply(ev, schema.parse_body(ev.body))
    feed(a, [w1.group(vkey, auth.add(guest.key, auth.WRITE), a.heads(vkey))])  # the steward invites
    assert a.may_apply(ev, schema.parse_body(ev.body))
    # a non-steward cannot change the venue's group
    assert not a.may_store(guest.group(vkey, auth.add(w2.key, auth.MANAGE), a.heads(vkey)))


def test_screen_follows_its_venues():
    a, org, w1, w2, guest, vid, vkey = self_organised()
    a.venues = {"other"}
    ev = guest.event("%s/%s/talk" % (vid, hexlify(guest.key)), venue=vid)
    assert a.may_store(ev) and not a.may_apply(ev, schema.parse_body(ev.body))
    a.venues = {vid}
    assert a.may_apply(ev, schema.parse_body(ev.body))


def test_size_limits_per_kind():
    a, org, prog, _ = curated()
    feed(a, [org.group(org.key, auth.add(prog.key, auth.WRITE))])
    big = prog.publish(schema.make_body("venue", "create", "v", {"name": "x" * 999}) + b"")
    assert a.may_store(big)  # within 2 KB
    huge = prog.event("e", "t" * 1000)
    huge_body = cbor.loads(huge.body)
    huge_body["fields"]["speakers"] = ["s" * 1000] * 5
    over = prog.publish(cbor.dumps(huge_body))
    with pytest.raises(Unauthorized, match="limit"):
        a.check_store(over)


MP_SCENARIO = r"""
from pandascreen.core import auth

class Op:
    log_id, prune, header_bytes = None, False, b""
    def __init__(self, author, seq, body, h):
        self.public_key, self.seq_num, self.body, self.hash = author, seq, body, h
        self.header, self.payload_size = self, len(body)

o1, o2, x = b"\x01" * 32, b"\x02" * 32, b"\x04" * 32
n = [0]
def op(author, seq, gid, action, deps=()):
    n[0] += 1
    return Op(author, seq, auth.group_body(gid, action, [d.hash for d in deps]), bytes([n[0]]) * 32)

add2 = op(o1, 0, o1, auth.add(o2, auth.MANAGE))
sneaky = op(o2, 0, o1, auth.add(x, auth.MANAGE), [add2])
rm = op(o1, 1, o1, auth.remove(o2), [add2])
for order in ([add2, sneaky, rm], [rm, sneaky, add2]):
    a = auth.Authorizer([o1])
    for o in order:
        a.observe(o)
    print(a.level(o1, o2), a.level(o1, x), a.level(o1, o1))
b = auth.Authorizer([o1]).load([add2, sneaky])
print(b.level(o1, x))
"""


def test_same_resolution_on_micropython():
    from pandascreen.testing.micropython import run_micropython
    lines = run_micropython(MP_SCENARIO).split()
    assert lines == ["-1", "-1", "3", "-1", "-1", "3", "3"]


# -- enforcement: store + schedule -------------------------------------------------------------
def test_store_and_schedule_follow_the_group_through_a_compromise():
    from pandascreen.core.schedule import Schedule
    from pandascreen.core.store import MemoryStore
    org, prog, stranger = Peer(1), Peer(2), Peer(3)
    store = MemoryStore()
    a = auth.guard(store, auth.Authorizer([org.key]), LOG)
    add = org.group(org.key, auth.add(prog.key, auth.WRITE))
    venue = org.publish(schema.make_body("venue", "create", "v", {"name": "Main"}))
    good = prog.event("e1", "Opening")
    for op in [add, venue, good, stranger.event("e2", "FREE BEER")]:
        store.ingest_op(op)
    assert store.count() == 3 and store.refused == 1
    s = Schedule.from_store(store, LOG, authorizer=a)
    assert [e.title for e in s.all_events()] == ["Opening"] and s.problems == []
    # the key leaks: the thief retitles; the organiser removes the key, naming `good` as the
    # last operation known good.  The retitle stays stored (it was allowed when it came) but
    # neither counts nor is relayed from now on; the past operation keeps counting.
    theft = prog.event("e1", "FREE BEER", action="update")
    store.ingest_op(theft)
    assert [e.title for e in Schedule.from_store(store, LOG, authorizer=a).all_events()] == ["FREE BEER"]
    rev = a.revision
    store.ingest_op(org.group(org.key, auth.remove(prog.key), [add, good]))
    assert a.revision > rev  # caches built on the old rights must rebuild
    assert [e.title for e in Schedule.from_store(store, LOG, authorizer=a).all_events()] == ["Opening"]
    assert not a.may_relay(theft) and a.may_relay(good)
    assert store.ingest_op(prog.event("e3", "more"))[1] is False
    # a screen booting on this store reaches the same state
    b = auth.guard(store, auth.Authorizer([org.key]), LOG)
    assert [e.title for e in Schedule.from_store(store, LOG, authorizer=b).all_events()] == ["Opening"]


def test_schedule_authors_shorthand_is_a_curated_group():
    from pandascreen.core.schedule import Schedule
    org, stranger = Peer(1), Peer(3)
    s = Schedule(authors=[org.key])
    assert s.apply(org.event("e1")) and not s.apply(stranger.event("e2"))
    nobody = Schedule(authors=[])
    assert not nobody.apply(org.event("e3"))


# -- the device config names the group ---------------------------------------------------------
def test_config_without_a_group_is_refused_unless_a_demo():
    from pandascreen.core import config
    with pytest.raises(config.ConfigError, match="trust_anyone"):
        config.validate({"festival_id": "f"})
    cfg = config.validate({"festival_id": "f", "trust_anyone": True})
    a = auth.from_config(cfg)
    assert a.trust_anyone and a.may_write(b"\x05" * 32)
    cfg = config.validate({"festival_id": "f", "organisers": ["01" * 32], "festival_mode": "self-organised",
                           "venues": ["tent"]})
    a = auth.from_config(cfg)
    assert a.mode == auth.SELF_ORGANISED and a.venues == {"tent"} and a.group_id == b"\x01" * 32
    for bad, msg in (({"festival_mode": "anarchy"}, "festival_mode"), ({"venues": "tent"}, "venues"),
                     ({"trust_anyone": "yes"}, "trust_anyone")):
        d = {"festival_id": "f", "organisers": ["01" * 32]}
        d.update(bad)
        with pytest.raises(config.ConfigError, match=msg):
            config.validate(d)


def test_one_after_another_equals_a_full_replay():
    """The append fast path (an op after everything its group holds) gives the full resolver's state."""
    rng = random.Random(3)
    peers = [Peer(i) for i in range(1, 6)]
    root = peers[0]
    a = auth.Authorizer([root.key])
    ops = []
    for step in range(40):
        target = rng.choice(peers[1:])
        action = rng.choice([auth.add(target.key, rng.choice([auth.WRITE, auth.MANAGE])), auth.remove(target.key),
                             auth.promote(target.key, auth.MANAGE), auth.demote(target.key, auth.READ)])
        who = rng.choice([p for p in peers if a.level(root.key, p.key) == auth.MANAGE])
        op = who.group(root.key, action, a.heads(root.key))
        ops.append(op)
        a.observe(op)
        assert a._fingerprint() == auth.Authorizer([root.key]).load(list(ops))._fingerprint()


def test_self_organised_festival_through_store_and_schedule():
    from pandascreen.core.schedule import Schedule
    from pandascreen.core.store import MemoryStore
    org, w1, guest = Peer(1), Peer(2), Peer(4)
    store = MemoryStore()
    a = auth.guard(store, auth.Authorizer([org.key], mode=auth.SELF_ORGANISED), LOG)
    vkey = public_key(b"\x78" * 32)
    vid = hexlify(vkey)
    ops = [org.group(org.key, auth.add(w1.key, auth.WRITE))]
    ops.append(org.group(org.key, auth.add(guest.key, auth.WRITE), ops[-1:]))
    ops.append(w1.group(vkey, auth.create([(org.key, auth.WRITE, True)])))  # an open venue
    ops.append(w1.publish(schema.make_body("venue", "create", vid, {"name": "Tent"})))
    eid = "%s/%s/talk" % (vid, hexlify(guest.key))
    ops.append(guest.event(eid, "Guest talk", venue=vid))
    ops.append(w1.event(eid, "FREE BEER", venue=vid, action="update"))  # not its event: ignored
    for op in ops:
        store.ingest_op(op)
    s = Schedule.from_store(store, LOG, authorizer=a)
    assert [v.name for v in s.venues()] == ["Tent"] and [e.title for e in s.events(vid)] == ["Guest talk"]
    store.ingest_op(w1.event(eid, action="delete"))  # the steward hides it
    assert Schedule.from_store(store, LOG, authorizer=a).events(vid) == []
