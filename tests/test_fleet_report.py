"""node/fleet_report.py on its own (no network): a screen whose key the festival group does not
name says so once and keeps running, then reports once the organiser adds it; the fleet store
sits beside the festival store and is guarded."""
from pandascreen.testing import festival as demofest
from pandascreen.core import auth, config, fleet, operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.node import fleet_report
from pandascreen.testing.clock import Clock

ORG = bytes(range(100, 132))
SCREEN = bytes([41] * 32)
LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)
NOW = demofest.DAY_START + 3600


def controller():
    from pandascreen.core.controller import Controller
    store = MemoryStore()
    store.publish_many(ORG, demofest.bodies(), LOG, demofest.DAY_START * 1000000)
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(ORG).hex()]})
    return Controller(cfg, store, clock=lambda: NOW)


def test_a_screen_outside_the_group_says_so_once_then_reports_when_added(tmp_path):
    c = controller()
    fleet_store = MemoryStore()
    fleet_store.authorizer = fleet.FleetGuard(c.authorizer)
    said = []
    r = fleet_report.FleetReport(c, SCREEN, fleet_store, demofest.FESTIVAL_ID, clock=lambda: NOW,
                                 temp_path=str(tmp_path / "none"), log=said.append)
    # before its first sync the screen does not know the group yet (a screen provisioned with
    # --store is in it): nothing said
    assert r.tick() is None and said == []
    c.last_sync = NOW
    assert r.tick() is None and r.tick() is None
    assert len(said) == 1 and "not in the festival group" in said[0]
    assert "group add %s --level pull" % public_key(SCREEN).hex() in said[0]
    assert fleet_store.count() == 0
    last = list(c.store.all_operations(LOG))[-1]
    c.store.publish(ORG, auth.group_body(c.authorizer.group_id, auth.add(public_key(SCREEN), auth.PULL),
                                         [last.hash]), LOG, NOW * 1000000)
    op = r.tick()
    assert op is not None and op.public_key == public_key(SCREEN) and fleet_store.count() == 1
    assert len(said) == 1


def test_a_status_the_store_refuses_is_said_not_raised(tmp_path):
    """Device.run calls tick() in the screen's loop: a store error must not end that loop."""
    from pandascreen.core.errors import IngestError

    class Refusing(MemoryStore):
        def publish(self, *a, **kw):
            raise IngestError("own operation seq_num 0 not stored: refused")

    said = []
    r = fleet_report.FleetReport(controller(), SCREEN, Refusing(), demofest.FESTIVAL_ID, clock=lambda: NOW,
                                 temp_path=str(tmp_path / "none"), log=said.append)
    assert r.tick() is None and r.tick() is None
    assert said == ["fleet: status not published: own operation seq_num 0 not stored: refused"]


def test_the_fleet_store_sits_beside_the_festival_store_and_is_guarded(tmp_path):
    assert fleet_report.fleet_store_path("/var/lib/pandascreen/store.db") == "/var/lib/pandascreen/store.fleet.db"
    a = auth.for_authors([public_key(ORG)])
    s = fleet_report.open_fleet_store(str(tmp_path / "festival.db"), a)
    try:
        assert (tmp_path / "festival.fleet.db").exists() and isinstance(s.authorizer, fleet.FleetGuard)
        assert fleet.Reporter().publish(s, ORG, fleet.fleet_log_id("f"), NOW, shows="x", heights={}, clock=True,
                                        uptime=1, version="0") is not None
        stranger = operation.create(SCREEN, fleet.make_body(NOW, shows="FREE BEER", heights={}, clock=True,
                                                            uptime=1, version="0"), 0, None,
                                    operation.Extensions(fleet.fleet_log_id("f"), NOW * 1000000, True))
        assert s.ingest_op(stranger)[1] is False and s.count() == 1
    finally:
        s.close()


def in_group(c, seed):
    last = list(c.store.all_operations(LOG))[-1]
    c.store.publish(ORG, auth.group_body(c.authorizer.group_id, auth.add(public_key(seed), auth.PULL),
                                         [last.hash]), LOG, NOW * 1000000)


def test_a_screen_that_lost_its_fleet_file_continues_its_log_above_what_peers_hold(tmp_path):
    """The screen restarts with an empty fleet store and publishes at seq_num 0; a sync brings
    back its earlier status (seq_num 1) from the laptop; the screen publishes above it at once,
    and the laptop shows the new status."""
    from pandascreen.core.sync import sync_local
    c = controller()
    in_group(c, SCREEN)
    fleet_log = fleet.fleet_log_id(demofest.FESTIVAL_ID)
    clock = Clock(NOW)

    def guarded():
        store = MemoryStore()
        store.authorizer = fleet.FleetGuard(c.authorizer, clock=clock)
        return store

    laptop = guarded()
    before = guarded()
    r = fleet_report.FleetReport(c, SCREEN, before, demofest.FESTIVAL_ID, clock=clock,
                                 temp_path=str(tmp_path / "none"))
    assert r.tick(NOW).seq_num == 0 and r.tick(NOW + fleet.HEARTBEAT).seq_num == 1
    sync_local(before, fleet_log, laptop)
    lost = guarded()  # the fleet file is gone
    clock.t = NOW + 2 * fleet.HEARTBEAT
    r = fleet_report.FleetReport(c, SCREEN, lost, demofest.FESTIVAL_ID, clock=clock,
                                 temp_path=str(tmp_path / "none"))
    assert r.tick().seq_num == 0
    sync_local(lost, fleet_log, laptop)  # the laptop holds more: it sends seq_num 1 back
    assert [op.seq_num for op in lost.all_operations(fleet_log)] == [1]
    op = r.tick(clock.t + 1)
    assert op is not None and op.seq_num == 2
    sync_local(lost, fleet_log, laptop)
    ops = list(laptop.all_operations(fleet_log))
    assert [o.seq_num for o in ops] == [2] and fleet.parse_body(ops[0].body)["at"] == clock.t + 1


def test_a_status_that_arrives_before_its_group_operation_is_held_until_it_arrives(tmp_path):
    """Sync may bring a screen's status before the organiser's Add of its key: the fleet store
    holds it (the newest per key, at most HOLD_KEYS keys) and stores it once the group names
    the key."""
    c = controller()
    fleet_log = fleet.fleet_log_id(demofest.FESTIVAL_ID)
    s = fleet_report.open_fleet_store(str(tmp_path / "festival.db"), c.authorizer)
    try:
        def status_op(seed, seq, at):
            body = fleet.make_body(at, shows="Main: Talk", heights={}, clock=True, uptime=1, version="0")
            return operation.create(seed, body, seq, b"\x00" * 32 if seq else None,
                                    operation.Extensions(fleet_log, at * 1000000, True))

        early = [status_op(SCREEN, 0, NOW), status_op(SCREEN, 1, NOW + 200)]
        strangers = [status_op(bytes([i + 1] * 32), 0, NOW) for i in range(fleet.HOLD_KEYS + 8)]
        for op in early[:1] + strangers + early[1:]:
            assert s.ingest_op(op)[1] is False
        assert s.count() == 0
        assert len(s.authorizer.held) == fleet.HOLD_KEYS  # the oldest strangers went first
        in_group(c, SCREEN)
        assert [(op.public_key, op.seq_num) for op in s.all_operations(fleet_log)] == [(public_key(SCREEN), 1)]
        assert len(s.authorizer.held) == fleet.HOLD_KEYS - 1  # strangers stay held, bounded
    finally:
        s.close()


def test_a_status_the_disk_would_not_take_leaves_the_guard_as_it_was(tmp_path):
    """A status write that fails on a full disk is rolled back; the guard had already taken its
    seq_num as stored, and refused every later status at that seq_num ("is held") until the
    screen restarted: its reports stopped for good."""
    import os
    import sqlite3

    import pytest

    from pandascreen.core.errors import CannotStore
    group = auth.from_config({"festival_id": "f", "organisers": [], "trust_anyone": True})
    store = fleet_report.open_fleet_store(str(tmp_path / "festival.db"), group)
    seed, log_id, t = os.urandom(32), fleet.fleet_log_id("f"), NOW

    def publish(at):
        body = fleet.make_body(at, shows="x", heights={}, clock=True, uptime=1, version="x")
        return store.publish(seed, body, log_id, at * 1000000, prune=True)
    try:
        assert publish(t).seq_num == 0
        real = store._db

        class FullDisk:  # the commit fails as a full disk makes it fail in WAL mode
            def execute(self, sql, *args):
                if sql == "COMMIT":
                    raise sqlite3.OperationalError("database or disk is full")
                return real.execute(sql, *args)
        store._db = FullDisk()
        with pytest.raises(CannotStore):
            publish(t + 600)
        store._db = real
        assert publish(t + 1200).seq_num == 1
    finally:
        store.close()


def test_a_fleet_store_that_cannot_open_on_a_full_disk_is_kept_in_memory_until_the_next_start(tmp_path, monkeypatch):
    """Started on a full SD card, the screen kept no fleet log at all until someone restarted it:
    the console lost it, "identify" could not reach it, it relayed no other screen's status.
    Status is one pruned operation per screen, so memory holds it; the file opens at a start
    when the disk takes writes."""
    from pandascreen.core.errors import CannotStore
    from pandascreen.node import snapshot

    def full(path, log=None):
        raise CannotStore("cannot open store %s: the disk is full (database or disk is full)" % path)
    monkeypatch.setattr(snapshot, "open_store", full)
    said = []
    a = auth.for_authors([public_key(ORG)])
    s = fleet_report.open_fleet_store(str(tmp_path / "festival.db"), a, log=said.append)
    assert isinstance(s.authorizer, fleet.FleetGuard) and not (tmp_path / "festival.fleet.db").exists()
    assert len(said) == 1 and "disk is full" in said[0] and "in memory until the next start" in said[0], said
    assert fleet.Reporter().publish(s, ORG, fleet.fleet_log_id("f"), NOW, shows="x", heights={}, clock=True,
                                    uptime=1, version="0") is not None
    s.close()
