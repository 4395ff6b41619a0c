"""node/fleet_report.py on its own (no network): a screen whose key the festival group does not
name says so once and keeps running, then reports once the organiser adds it; the fleet store
sits beside the festival store and is guarded."""
from pandascreen import demofest
from pandascreen.core import auth, config, fleet, operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.node import fleet_report

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
