"""The program page's watcher sleeps until a change is signalled or the minute turns, and renders
the minute only while a phone listens (node/program_page.py); a screen's loop signals a new
schedule (node/app.py)."""
import threading
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


def test_the_screens_loop_tells_the_page_only_when_its_schedule_changed():
    told = []
    dev = Device.__new__(Device)
    dev.controller = types.SimpleNamespace(schedule=types.SimpleNamespace(version=3))
    dev.program_page = types.SimpleNamespace(changed=lambda: told.append(True))
    dev._tell_page()
    dev._tell_page()
    assert told == [True]
    dev.controller.schedule.version = 4
    dev._tell_page()
    assert told == [True, True]
