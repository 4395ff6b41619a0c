"""The program page's watcher sleeps until a change is signalled or the minute turns, and renders
the minute only while a phone listens (node/program_page.py); a screen's loop signals a new
schedule (node/app.py)."""
import types

from pandascreen.node import program_page
from pandascreen.node.app import Device
from pandascreen.testing.clock import Clock

NOW = 1_784_383_200 + 45  # 45 s into a minute


class CountingSource:
    def __init__(self, clock):
        self.clock = clock
        self.v = 1
        self.rendered = 0

    def version(self):
        return self.v

    def pages(self):
        self.rendered += 1
        return ("%d-%d" % (self.v, int(self.clock()) // 60), b"whole", b"main")

    def words(self):
        return {}


def page_with(source, **kw):
    page = program_page.ProgramPage(source, "127.0.0.1", 0, **kw)
    page._http = types.SimpleNamespace(call=lambda fn, *a: fn(*a))  # no server: publish at once
    page._looked = (source.version(), None, page._minute())
    page.built = program_page._packed(source.pages())
    source.rendered = 0
    return page


def test_the_watcher_sleeps_until_the_minute_boundary_or_its_longest_wait():
    clock = Clock(NOW)
    page = page_with(CountingSource(clock), watch_every=60)
    naps = []

    class SpyPoke:
        def wait(self, timeout):
            naps.append(timeout)
            page.stopping.set()

        def clear(self):
            pass
    page._poke = SpyPoke()
    page._watch()
    assert naps == [15.01]
    clock.t = NOW + 15 + 30  # mid-minute, with a short longest wait
    assert page_with(CountingSource(clock), watch_every=1.0)._nap() == 1.0


def test_only_the_minute_turning_renders_nothing_while_no_phone_listens():
    clock = Clock(NOW)
    source = CountingSource(clock)
    page = page_with(source, watch_every=60)
    clock.t = NOW + 60
    page._look()
    assert source.rendered == 0
    page.listeners = 1  # a phone listens: the minute it shows is rendered
    page._look()
    assert source.rendered == 1 and page.built[0] == "1-%d" % ((NOW + 60) // 60)
    page._look()
    assert source.rendered == 1  # once


def test_a_new_schedule_is_rendered_with_no_phone_listening():
    clock = Clock(NOW)
    source = CountingSource(clock)
    page = page_with(source, watch_every=60)
    source.v = 2
    page._look()
    assert source.rendered == 1 and page.built[0].startswith("2-")


def test_a_phone_loading_a_page_of_a_minute_gone_by_wakes_the_watcher():
    clock = Clock(NOW)
    page = page_with(CountingSource(clock), watch_every=60)
    page._route("GET", "/", {})
    assert not page._poke.is_set()
    clock.t = NOW + 60
    page._route("GET", "/", {})
    assert page._poke.is_set()


def test_the_screens_loop_tells_the_page_only_when_its_schedule_or_group_changed():
    told = []
    dev = Device.__new__(Device)
    dev.controller = types.SimpleNamespace(schedule=types.SimpleNamespace(version=3),
                                           authorizer=types.SimpleNamespace(revision=1))
    dev.program_page = types.SimpleNamespace(changed=lambda: told.append(True))
    dev._tell_page()
    dev._tell_page()
    assert told == [True]
    dev.controller.schedule.version = 4
    dev._tell_page()
    assert told == [True, True]
    # an invite changes the group and not the schedule: the invited phone's page must hear of it
    # now, not at the next minute (a phone's publish tells the page before the group took it in)
    dev.controller.authorizer.revision = 2
    dev._tell_page()
    assert told == [True, True, True]


def test_the_screens_loop_tells_its_node_when_it_wrote_to_a_store():
    pushed = []
    dev = Device.__new__(Device)
    dev.controller = types.SimpleNamespace(store=types.SimpleNamespace(version=7))
    dev.fleet_report = types.SimpleNamespace(store=types.SimpleNamespace(version=1))
    dev.node = types.SimpleNamespace(notify=lambda: pushed.append(True))
    dev._tell_node()
    dev._tell_node()
    assert pushed == []  # the first look only learns where the stores are
    dev.fleet_report.store.version = 2  # the fleet status was published
    dev._tell_node()
    dev.controller.store.version = 8  # a sync with a configured peer brought operations
    dev._tell_node()
    assert pushed == [True, True]


def test_a_screens_node_looks_at_its_stores_rarely_and_a_laptops_every_second(tmp_path, monkeypatch):
    import inspect
    from pandascreen.node import iroh_transport
    made = {}

    class Recorder:
        def __init__(self, *a, **kw):
            made.update(kw)

        def start(self):
            return self
    monkeypatch.setattr(iroh_transport, "IrohNode", Recorder)
    (tmp_path / "device.key").write_bytes(bytes(range(32)))
    node, why = iroh_transport.device_node({"festival_id": "f" * 32}, object(), str(tmp_path))
    assert why is None and made["poll_interval"] == iroh_transport.SCREEN_STORE_LOOK >= 10
    monkeypatch.undo()
    assert inspect.signature(iroh_transport.IrohNode).parameters["poll_interval"].default == 1.0
