"""Screens report themselves in a fleet log (core/fleet.py): body rules, when a screen
publishes, pruning keeps one operation per screen, forged status from a key outside the
festival group is ignored, warnings."""
import pytest

from pandascreen.core import auth, fleet, operation
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import SchemaError
from pandascreen.core.store import MemoryStore
from pandascreen_host.console import fleet_view
from pandascreen.testing.clock import Clock
from pandascreen.testing.screen import RecordingScreen

FEST_LOG = operation.log_id_for_festival("fest")
FLEET_LOG = fleet.fleet_log_id("fest")
ORG = b"\x01" * 32
SCREEN = b"\x02" * 32
STRANGER = b"\x03" * 32


def status(**over):
    fields = dict(shows="Main Stage: Opening 10:00", heights={"ab" * 8: 4}, clock=True,
                  uptime=100, version="1.0", venue="main", last_sync=1000, temp_mc=48000)
    fields.update(over)
    return fields


def group_with_screen():
    """The organiser's festival group with the screen key added at provisioning (Pull)."""
    a = auth.Authorizer([public_key(ORG)])
    fest = MemoryStore()
    auth.guard(fest, a)
    fest.publish(ORG, auth.group_body(public_key(ORG), auth.add(public_key(SCREEN), auth.PULL)),
                 FEST_LOG, 1000)
    assert a.level(a.group_id, public_key(SCREEN)) == auth.PULL
    return a


def test_fleet_log_is_not_the_schedule_log():
    assert FLEET_LOG != FEST_LOG and len(FLEET_LOG) == 32


def test_body_round_trips_and_bad_bodies_are_named():
    data = fleet.make_body(2000, **status())
    body = fleet.parse_body(data)
    assert body["shows"].startswith("Main Stage") and body["clock"] is True and body["temp_mc"] == 48000
    with pytest.raises(SchemaError, match="clock"):
        fleet.make_body(2000, **status(clock=None))
    with pytest.raises(SchemaError, match="shows"):
        fleet.make_body(2000, **status(shows="x" * 500))
    with pytest.raises(SchemaError, match="heights"):
        fleet.make_body(2000, **status(heights={"a": -1}))
    with pytest.raises(SchemaError):
        fleet.parse_body(b"\xff\x00")
    with pytest.raises(SchemaError):
        fleet.parse_body(b"x" * 2000)


def test_reporter_publishes_on_change_at_most_every_few_minutes_and_prunes():
    store = MemoryStore()
    r = fleet.Reporter()
    t = 10_000
    assert r.publish(store, SCREEN, FLEET_LOG, t, **status()) is not None
    # nothing new: not before the heartbeat
    assert r.publish(store, SCREEN, FLEET_LOG, t + 300, **status(uptime=400)) is None
    # a change inside the minimum interval waits
    assert r.publish(store, SCREEN, FLEET_LOG, t + 60, **status(shows="other")) is None
    # a change after it goes out
    assert r.publish(store, SCREEN, FLEET_LOG, t + 200, **status(shows="other")) is not None
    # a temperature wobble under 5 degrees is not news
    assert r.publish(store, SCREEN, FLEET_LOG, t + 400, **status(shows="other", temp_mc=49000)) is None
    # the heartbeat
    op = r.publish(store, SCREEN, FLEET_LOG, t + 200 + fleet.HEARTBEAT, **status(shows="other"))
    assert op is not None and op.prune and op.seq_num == 2
    # pruned: the log holds the newest status only
    ops = list(store.all_operations(FLEET_LOG))
    assert [o.seq_num for o in ops] == [2]


def test_forged_status_from_a_key_outside_the_group_is_ignored():
    a = group_with_screen()
    store = MemoryStore()
    fleet.Reporter().publish(store, SCREEN, FLEET_LOG, 5000, **status())
    fleet.Reporter().publish(store, STRANGER, FLEET_LOG, 5000, **status(shows="FREE BEER"))
    f = fleet_view.Fleet(a)
    f.load(store, FLEET_LOG)
    assert list(f.screens) == [public_key(SCREEN).hex()]
    assert f.ignored == 1 and "not in the festival group" in f.last_ignored
    # a malformed body from a group member is ignored too
    bad = operation.create(ORG, b"\xa1\x61v\x02", 0, None, operation.Extensions(FLEET_LOG, 1, True))
    assert not f.observe(bad) and f.ignored == 2


def test_warnings_offline_clock_behind():
    a = group_with_screen()
    store = MemoryStore()
    fleet.Reporter().publish(store, SCREEN, FLEET_LOG, 5000, **status(clock=False, last_sync=4990))
    f = fleet_view.Fleet(a)
    f.load(store, FLEET_LOG)
    entry = f.screens[public_key(SCREEN).hex()]
    assert fleet_view.warnings(entry, 5010, {"ab" * 8: 4}) == [("clock", "clock not trusted")]
    words = [w for w, _ in fleet_view.warnings(entry, 5000 + fleet.OFFLINE_AFTER + 1, {"ab" * 8: 6, "cd" * 8: 0})]
    assert words == ["offline", "clock", "behind"]


def test_a_screen_that_heard_no_peer_for_a_while_is_marked_stale():
    """As its footer says "stale HH:MM": the report's last_sync is older than STALE_AFTER."""
    from pandascreen.core.clock import STALE_AFTER
    store = MemoryStore()
    fleet.Reporter().publish(store, SCREEN, FLEET_LOG, 5000, **status(last_sync=5000 - STALE_AFTER - 60))
    f = fleet_view.Fleet(group_with_screen())
    f.load(store, FLEET_LOG)
    entry = f.screens[public_key(SCREEN).hex()]
    assert fleet_view.warnings(entry, 5010) == [("stale", "nothing heard from any peer for 16 min")]


def test_a_pi_device_reports_what_it_shows_through_its_loop(tmp_path):
    """node/fleet_report.py hooked into Device.run: one status op, the venue and title it
    shows, the heights it holds, the temperature from a fake thermal file."""
    import threading

    from pandascreen.testing import festival as demofest
    from pandascreen.core import config
    from pandascreen.node import app, fleet_report

    org_seed = bytes(range(100, 132))
    store = MemoryStore()
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    demofest.publish(store, org_seed, log)
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(org_seed).hex()]})
    now = demofest.DAY_START + 3600
    dev = app.Device(cfg, store, RecordingScreen(), clock=lambda: now)
    thermal = tmp_path / "temp"
    thermal.write_text("51234\n")
    fleet_store = MemoryStore()
    dev.fleet_report = fleet_report.FleetReport(dev.controller, SCREEN, fleet_store, demofest.FESTIVAL_ID,
                                                clock=lambda: now, temp_path=str(thermal))
    dev.run(threading.Event(), once=True)
    dev.run(threading.Event(), once=True)  # nothing changed, too soon: no second op
    ops = list(fleet_store.all_operations(fleet.fleet_log_id(demofest.FESTIVAL_ID)))
    assert len(ops) == 1 and ops[0].public_key == public_key(SCREEN)
    body = fleet.parse_body(ops[0].body)
    assert body["temp_mc"] == 51234 and body["clock"] is True and body["venue"]
    assert body["heights"] == {public_key(org_seed).hex()[:16]: len(demofest.bodies()) - 1}
    assert fleet_report.soc_temp_mc(str(tmp_path / "absent")) is None


def test_a_fleet_store_guarded_keeps_group_screens_status_only():
    a = group_with_screen()
    store = MemoryStore()
    guard = fleet.FleetGuard(a)
    store.authorizer = guard
    assert fleet.Reporter().publish(store, SCREEN, FLEET_LOG, 5000, **status()) is not None
    forged = operation.create(STRANGER, fleet.make_body(5000, **status(shows="FREE BEER")), 0, None,
                              operation.Extensions(FLEET_LOG, 5000 * 1000000, True))
    assert store.ingest_op(forged) == (forged, False)
    big = operation.create(SCREEN, b"\xa0" * (fleet.MAX_BODY + 1), 1, None,
                           operation.Extensions(FLEET_LOG, 5001 * 1000000, True))
    assert store.ingest_op(big)[1] is False
    assert [o.public_key for o in store.all_operations(FLEET_LOG)] == [public_key(SCREEN)]
    assert guard.refused == 2 and store.refused == 2


def test_fleet_rules_run_under_micropython_in_a_pico_heap():
    """core/fleet.py is core: a Pico W could report too.  Build, parse and decide on MicroPython
    within the Pico W's live-heap budget (and a hard 180 KB heap where a 32-bit unix build is named)."""
    from pandascreen.testing.micropython import run_scenario
    runs = run_scenario("fleet rules", """
# live: start
from pandascreen.core import fleet
d = fleet.make_body(5000, shows='Main: Talk', heights={'ab': 3}, clock=True, uptime=9, version='1')
b = fleet.parse_body(d)
r = fleet.Reporter()
print(b['shows'], r.due(5000, b), len(fleet.fleet_log_id('fest')))
try:
    fleet.make_body(1, shows='x', heights={}, clock=None, uptime=1, version='1')
except fleet.SchemaError as e:
    print('refused', 'clock' in str(e))
# live: end
""")
    for _runtime, out in runs:
        lines = [ln for ln in out.splitlines() if not ln.startswith("LIVE ")]
        assert " ".join(lines).split() == ["Main:", "Talk", "True", "32", "refused", "True"]


def status_op(seed, seq, prev=None, at=5000, prune=True, body=None):
    body = fleet.make_body(at, **status()) if body is None else body
    backlink = prev.hash if prev is not None else (b"\x00" * 32 if seq else None)  # a prune needs no match
    return operation.create(seed, body, seq, backlink,
                            operation.Extensions(FLEET_LOG, at * 1000000 + seq, prune))


def test_a_screen_key_cannot_grow_or_flood_the_fleet_log():
    """A screen key (every one sits on a FAT card before first boot) signs status without the
    prune flag, malformed status, and a flood: only prunes that parse are kept, at most
    RATE_BURST in a row and then one a minute per key."""
    from pandascreen.core import cbor
    clock = Clock(10000)
    store = MemoryStore()
    guard = store.authorizer = fleet.FleetGuard(group_with_screen(), clock=clock)
    first = status_op(SCREEN, 0)
    assert store.ingest_op(first)[1] is True
    grows = status_op(SCREEN, 1, prev=first, prune=False)
    assert store.ingest_op(grows)[1] is False and "prune flag" in store.last_refused
    bad = dict(fleet.parse_body(first.body), heights={"x" * 500: 1})
    assert store.ingest_op(status_op(SCREEN, 1, body=cbor.dumps(bad)))[1] is False
    assert "heights" in store.last_refused
    bad = dict(fleet.parse_body(first.body), uptime=1 << 63)
    assert store.ingest_op(status_op(SCREEN, 1, body=cbor.dumps(bad)))[1] is False and "range" in store.last_refused
    flood = [status_op(SCREEN, seq) for seq in range(1, 51)]
    kept = sum(store.ingest_op(op)[1] for op in flood)
    assert kept == fleet.RATE_BURST - 1  # the first status took one token
    assert "more than one a minute" in store.last_refused
    assert [op.seq_num for op in store.all_operations(FLEET_LOG)] == [fleet.RATE_BURST - 1]  # pruned: one kept
    assert store.ingest_op(flood[1])[1] is False  # a repeat costs nothing, changes nothing
    clock.t += fleet.RATE_INTERVAL
    assert store.ingest_op(status_op(SCREEN, 60))[1] is True
    assert store.ingest_op(status_op(SCREEN, 61))[1] is False
    assert guard.refused == store.refused


def test_the_fleet_topic_is_synced_with_the_festival_group_only():
    guard = fleet.FleetGuard(group_with_screen())
    assert guard.may_sync(public_key(SCREEN)) and guard.may_sync(public_key(ORG))
    assert not guard.may_sync(public_key(STRANGER))


MP_FLEET_GUARD = r"""
from pandascreen.core import auth, fleet
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import unhexlify

a = auth.Authorizer([unhexlify(%(org)r)])
store = MemoryStore()
store.authorizer = fleet.FleetGuard(a, clock=lambda: 10000)
kept = 0
for hb, body in %(ops)r:
    kept += store.ingest(unhexlify(hb), unhexlify(body))[1]
print(kept, store.refused, store.count(), store.authorizer.may_sync(unhexlify(%(stranger)r)),
      len(store.authorizer.held))
"""


def test_the_fleet_guard_runs_on_micropython():
    from pandascreen.testing.micropython import run_micropython
    from pandascreen.core.util import hexlify
    ops = [status_op(ORG, seq) for seq in range(6)]
    ops.append(status_op(ORG, 6, prev=ops[-1], prune=False))
    ops.append(status_op(STRANGER, 0))  # held: the group may name its key later
    out = run_micropython(MP_FLEET_GUARD % {"org": hexlify(public_key(ORG)), "stranger": hexlify(public_key(STRANGER)),
                                            "ops": [(hexlify(op.header_bytes), hexlify(op.body)) for op in ops]})
    assert out.split() == [str(fleet.RATE_BURST), str(8 - fleet.RATE_BURST), "1", "False", "1"]


def live_pair(store_a, store_b):
    """Two in-memory sessions of the fleet log, synced and in live mode (as iroh holds them)."""
    from pandascreen.core import sync
    a = sync.SyncSession(store_a, FLEET_LOG, sync.INITIATOR, handshake=False, live=True)
    b = sync.SyncSession(store_b, FLEET_LOG, sync.ACCEPTOR, handshake=False, live=True)
    for _ in range(20):
        if a.in_live_mode and b.in_live_mode:
            break
        out_a, out_b = a.outgoing(), b.outgoing()
        if out_a:
            b.feed(out_a)
        if out_b:
            a.feed(out_b)
    assert a.in_live_mode and b.in_live_mode
    return a, b


def test_a_restarted_status_log_below_what_a_peer_holds_is_not_a_fork_and_is_answered():
    """A screen that lost its fleet file signs its status at seq_num 0 again.  A relay pushes it
    live to a peer that holds the screen's earlier seq_num 5: the peer keeps its session, drops
    the status quietly and answers with what it holds, so the relay (and from there the screen)
    learns where the screen's log is."""
    clock = Clock(10000)
    a = group_with_screen()
    relay, peer = MemoryStore(), MemoryStore()
    fleet.FleetGuard(a, clock=clock).attach(relay)
    fleet.FleetGuard(a, clock=clock).attach(peer)
    r, p = live_pair(relay, peer)
    old = status_op(SCREEN, 5)  # the screen's status before it lost its fleet file
    assert peer.ingest_op(old)[1]  # it reached the peer through another session
    fresh = status_op(SCREEN, 0, at=6000)  # the screen after: its log starts again at 0
    assert relay.ingest_op(fresh)[1] and r.push([fresh]) == 1
    p.feed(r.outgoing())
    assert p.error is None and p.in_live_mode
    assert [op.hash for op in peer.all_operations(FLEET_LOG)] == [old.hash]
    r.feed(p.outgoing())
    assert r.error is None and [op.hash for op in relay.all_operations(FLEET_LOG)] == [old.hash]
    assert peer.authorizer.refused == 1 and relay.authorizer.refused == 0


def test_a_screen_that_catches_up_says_so_within_seconds_and_within_the_guards_rate():
    """The console's "N operations behind" is only as fresh as the screen's last status: a
    change of what the screen holds (its heights) is reported at once, not after MIN_INTERVAL,
    as long as the reporter's own bucket (slower than FleetGuard's, one token to spare) allows;
    every status it publishes that way is one a relay's FleetGuard takes."""
    clock = Clock(10_000)
    relay = MemoryStore()
    relay.authorizer = fleet.FleetGuard(group_with_screen(), clock=clock)
    store = MemoryStore()
    r = fleet.Reporter()
    t = 10_000
    assert r.publish(store, SCREEN, FLEET_LOG, t, **status()) is not None
    # the organiser published, the screen synced it 5 s later: reported now
    assert r.publish(store, SCREEN, FLEET_LOG, t + 5, **status(heights={"ab" * 8: 5})) is not None
    # another change of what it shows only is no hurry: it waits for MIN_INTERVAL as before
    assert r.publish(store, SCREEN, FLEET_LOG, t + 8, **status(heights={"ab" * 8: 5}, shows="x")) is None
    # an organiser publishing every few seconds for ten minutes: the screen reports as its
    # bucket allows, and a relay that sees them arrive as sent takes every one
    sent = 2
    for i in range(1, 121):
        now = t + 5 + 5 * i
        op = r.publish(store, SCREEN, FLEET_LOG, now, **status(heights={"ab" * 8: 5 + i}))
        if op is not None:
            sent += 1
            clock.t = now
            assert relay.ingest_op(op)[1] is True, relay.last_refused
    assert 8 <= sent <= 2 + 600 // fleet.RATE_INTERVAL + 1
