""""Identify" in the console: the organiser's signed request (an identify body in the fleet log,
core/fleet.py) reaches a screen by sync and the screen draws its name big for IDENTIFY_FOR
seconds, then its program again.  In-process: the console's HTTP server, two guarded fleet
stores synced by core/sync, a Pi Device with a stub panel."""
import json
import threading
import urllib.error
import urllib.request

from pandascreen.testing import festival as demofest
from pandascreen.core import auth, config, fleet, operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import sync_local
from pandascreen.node import app, display, fleet_report
from pandascreen_host.console import server as console_server
from pandascreen_host.console.state import Console
from pandascreen.testing.screen import RecordingScreen

from test_console import LOG, NOW, ORG, SCREEN, Clock, festival as festival_store

FLEET_LOG = fleet.fleet_log_id(demofest.FESTIVAL_ID)


def post(srv, path, form):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (srv.port, path), json.dumps(form).encode(),
                                 {"Content-Type": "application/json", "X-Console-Secret": srv.secret})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_identify_from_the_console_makes_the_screen_draw_its_name_for_a_minute():
    clock = Clock(NOW)
    # the laptop: schedule, fleet store and console
    store, group = festival_store()
    laptop_fleet = MemoryStore()
    fleet.FleetGuard(group, clock=clock).attach(laptop_fleet)
    con = Console(store, LOG, laptop_fleet, group, public_key(ORG), demofest.FESTIVAL_ID, clock=clock)
    # the screen: its own copy of the schedule and of the fleet log
    screen_store = MemoryStore()
    screen_group = auth.guard(screen_store, auth.for_authors([public_key(ORG)]), LOG)
    sync_local(store, LOG, screen_store)
    screen_fleet = MemoryStore()
    fleet.FleetGuard(screen_group, clock=clock).attach(screen_fleet)
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(ORG).hex()],
                           "display": "ssd1306_128x64"})
    panel = RecordingScreen("ssd1306_128x64")
    dev = app.Device(cfg, screen_store, panel, clock=clock)
    dev.fleet_report = fleet_report.FleetReport(dev.controller, SCREEN, screen_fleet, demofest.FESTIVAL_ID,
                                                clock=clock, temp_path="/nonexistent")
    dev.run(threading.Event(), once=True)
    program = dev.last_image
    sync_local(screen_fleet, FLEET_LOG, laptop_fleet)  # its status reaches the laptop
    key = public_key(SCREEN).hex()
    assert [s["key"] for s in con.snapshot()["screens"]] == [key]

    srv = console_server.ConsoleServer(con, ORG).start()
    try:
        assert post(srv, "/identify", {"screen": "00" * 32})[0] == 400
        assert post(srv, "/identify", {"screen": key}) == (200, {"ok": True})
        req = urllib.request.Request("http://127.0.0.1:%d/identify" % srv.port, b'{"screen": "%s"}' % key.encode(),
                                     {"Content-Type": "application/json"})  # no session secret: refused
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("identify without the session secret was taken")
        except urllib.error.HTTPError as e:
            assert e.code == 403
    finally:
        srv.stop()
    # the console's card says so; the screens table still lists the screen only
    state = con.snapshot()
    assert [s["key"] for s in state["screens"]] == [key] and state["screens"][0]["identify_until"] == NOW + fleet.IDENTIFY_FOR

    sync_local(laptop_fleet, FLEET_LOG, screen_fleet)  # the request reaches the screen
    clock.t = NOW + 2
    dev.run(threading.Event(), once=True)
    name = display.render_name_image(key[:8], "ssd1306_128x64")
    assert dev.last_image.tobytes() == name.tobytes() != program.tobytes()
    clock.t = NOW + fleet.IDENTIFY_FOR - 1
    dev.run(threading.Event(), once=True)
    assert dev.last_image.tobytes() == name.tobytes()
    clock.t = NOW + fleet.IDENTIFY_FOR + 1  # a minute on: the program again
    dev.run(threading.Event(), once=True)
    assert dev.last_image.tobytes() != name.tobytes()


def test_only_an_organiser_may_ask_a_screen_to_identify_and_only_for_a_short_while():
    clock = Clock(NOW)
    store, group = festival_store()
    fleet_store = MemoryStore()
    fleet.FleetGuard(group, clock=clock).attach(fleet_store)
    key16 = public_key(SCREEN).hex()[:16]
    # a screen key (the group names it at Pull) may report, not order other screens about
    body = fleet.make_identify(NOW, key16, NOW + 60)
    op = operation.create(SCREEN, body, 0, None, operation.Extensions(FLEET_LOG, NOW * 1000000, True))
    assert fleet_store.ingest_op(op)[1] is False and "identify" in fleet_store.last_refused
    op = operation.create(ORG, body, 0, None, operation.Extensions(FLEET_LOG, NOW * 1000000, True))
    assert fleet_store.ingest_op(op)[1] is True
    assert fleet.identify_until(fleet_store, FLEET_LOG, public_key(SCREEN), NOW + 10) == NOW + 60
    assert fleet.identify_until(fleet_store, FLEET_LOG, public_key(SCREEN), NOW + 61) is None
    assert fleet.identify_until(fleet_store, FLEET_LOG, b"\x09" * 32, NOW + 10) is None
    try:
        fleet.make_identify(NOW, key16, NOW + 3600)
        raise AssertionError("an hour-long identify was built")
    except fleet.SchemaError as e:
        assert "identify" in str(e)
