"""pandascreen.node.buttons with gpiozero's mock pins (no hardware)."""
import threading
import time

import pytest

gpiozero = pytest.importorskip("gpiozero")
from gpiozero import Device  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from pandascreen.node.buttons import HOME, VenueButtons  # noqa: E402


@pytest.fixture
def factory():
    old = Device.pin_factory
    f = MockFactory()
    Device.pin_factory = f
    try:
        yield f
    finally:
        f.reset()
        f.close()
        Device.pin_factory = old


_TIMER = threading.Timer  # the class: each test's ``timers`` stands in for it in the module


class _HandTimer(_TIMER):
    """A hold's timer (``threading.Timer`` in node/buttons.py) whose hold time has passed when the
    test says so (``HandTimers.elapse``), not by the clock: a press is as short or as long as the
    test means, however late this machine runs the test's next line."""

    def __init__(self, interval, function):
        super().__init__(interval, function)
        self._due = threading.Event()

    def cancel(self):
        super().cancel()
        self._due.set()

    def run(self):
        if self._due.wait(60) and not self.finished.is_set():  # one never told to elapse never fires
            self.function()
        self.finished.set()


class HandTimers:
    """Every hold timer the buttons start, each fired only by ``elapse``."""

    def __init__(self):
        self.made = []

    def __call__(self, interval, function):
        timer = _HandTimer(interval, function)
        self.made.append(timer)
        return timer

    def elapse(self):
        """The hold time passes for every timer still running (a cancelled one stays silent)."""
        for timer in self.made:
            timer._due.set()


@pytest.fixture(autouse=True)
def timers(monkeypatch):
    made = HandTimers()
    monkeypatch.setattr(threading, "Timer", made)
    return made


def ended(thread):
    """True once ``thread`` has ended (waited for up to 5 s)."""
    thread.join(5)
    return not thread.is_alive()


class Events:
    def __init__(self):
        self.items = []
        self.cond = threading.Condition()

    def __call__(self, delta):
        with self.cond:
            self.items.append(delta)
            self.cond.notify_all()

    def wait_for(self, n, timeout=3.0):
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.items) < n and time.monotonic() < end:
                self.cond.wait(0.01)
        return list(self.items)


def press(pin):
    """A short press: released before the hold time passes."""
    pin.drive_low()
    pin.drive_high()


def hold(pin, timers, done):
    """A long press: down until the hold time has passed and ``done()`` (a wait for what the hold
    calls) is true, then released; what ``done`` returned."""
    pin.drive_low()
    timers.elapse()
    got = done()
    pin.drive_high()
    return got


def test_short_presses_step_forward_and_back(factory):
    ev = Events()
    b = VenueButtons(next_pin=17, prev_pin=27, on_change=ev, bounce_time=None, hold_time=0.5)
    try:
        nxt = factory.pin(17)
        prev = factory.pin(27)
        press(nxt)
        press(nxt)
        press(prev)
        assert ev.wait_for(3) == [1, 1, -1]
    finally:
        b.close()


def test_hold_next_goes_home_without_extra_step(factory, timers):
    ev = Events()
    b = VenueButtons(next_pin=17, on_change=ev, bounce_time=None, hold_time=0.1)
    try:
        assert hold(factory.pin(17), timers, lambda: ev.wait_for(1, 5)) == [HOME]
        time.sleep(0.05)
        assert ev.items == [HOME]                  # releasing after the hold is not a press
        press(factory.pin(17))
        assert ev.wait_for(2) == [HOME, 1]
    finally:
        b.close()


def test_hold_calls_on_home_when_given(factory, timers):
    ev = Events()
    home = threading.Event()
    b = VenueButtons(next_pin=17, on_change=ev, on_home=home.set, bounce_time=None, hold_time=0.1)
    try:
        assert hold(factory.pin(17), timers, lambda: home.wait(5))
        time.sleep(0.05)
        assert ev.items == []
    finally:
        b.close()


def test_bounce_time_and_explicit_pin_factory():
    # (MockPin does not emulate switch bounce, so only check the setting reaches the pin)
    f = MockFactory()
    try:
        ev = Events()
        b = VenueButtons(next_pin=5, prev_pin=6, on_change=ev, pin_factory=f, bounce_time=0.05)
        assert b.next_button.pin.bounce == pytest.approx(0.05)
        assert b.next_button.pin_factory is f
        press(f.pin(5))
        press(f.pin(6))
        assert ev.wait_for(2) == [1, -1]
        b.close()
        assert b.next_button is None and b.prev_button is None
    finally:
        f.reset()
        f.close()


def test_close_releases_pins_and_prev_is_optional(factory):
    ev = Events()
    with VenueButtons(next_pin=17, on_change=ev, bounce_time=None) as b:
        assert b.prev_button is None
    # the pins are free again
    b2 = VenueButtons(next_pin=17, prev_pin=27, on_change=ev, bounce_time=None)
    b2.close()
    b2.close()                                    # idempotent


def test_no_callback_is_fine(factory, timers):
    b = VenueButtons(next_pin=17, prev_pin=27, bounce_time=None, hold_time=0.1)
    try:
        press(factory.pin(17))
        press(factory.pin(27))
        assert hold(factory.pin(17), timers, lambda: ended(timers.made[-1]))
    finally:
        b.close()


def test_provision_writes_home_venue_and_language(tmp_path, monkeypatch):
    import json

    from pandascreen_host import wifi
    from pandascreen_host.cli import main
    from test_provision import FRESH_CMDLINE, ORGANISER
    monkeypatch.delenv(wifi.ENV_PSK, raising=False)
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text(FRESH_CMDLINE)
    (boot / "config.txt").write_text("dtparam=audio=on\n")
    args = ["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(boot), "--festival-id", "pandafest-2026",
            "--peer", "10.0.0.2:2026", "--organiser", ORGANISER]
    assert main(args + ["--home-venue", "main", "--language", "de"]) == 0
    cfg = json.loads((boot / "pandascreen" / "config.json").read_text())
    assert cfg["home_venue"] == "main" and cfg["language"] == "de"
    assert main(args + ["--force"]) == 0
    assert "home_venue" not in json.loads((boot / "pandascreen" / "config.json").read_text())


def test_long_press_of_prev_shows_the_overview_and_a_short_one_still_steps_back(factory, timers):
    ev = Events()
    overview = Events()
    b = VenueButtons(next_pin=17, prev_pin=27, on_change=ev, bounce_time=None, hold_time=0.2,
                     on_overview=lambda: overview(True))
    try:
        prev = factory.pin(27)
        assert hold(prev, timers, lambda: overview.wait_for(1, 5)) == [True]
        press(prev)
        assert ev.wait_for(1) == [-1]
    finally:
        b.close()


def test_overview_until_the_screen_returns_home():
    from pandascreen.testing.festival import GOLDEN_DAY as DAY, golden_schedule
    from pandascreen.core.controller import Controller
    from pandascreen.core.store import MemoryStore
    t = [DAY]
    ctl = Controller({"festival_id": "f", "home_after": 30}, MemoryStore(), clock=lambda: t[0])
    ctl.schedule = golden_schedule()
    ctl.show_overview()
    assert ctl.redraw(t[0], catch_up=False) and ctl.overview
    t[0] += 31
    assert ctl.redraw(t[0], catch_up=False) and not ctl.overview


def _buttons_threads(before):
    """Threads started since ``before`` (a set) by the buttons: gpiozero's or a hold's timer; not
    those another test left behind."""
    return [t for t in set(threading.enumerate()) - before
            if isinstance(t, _TIMER) or type(t).__module__.startswith("gpiozero")]


def test_the_buttons_run_no_thread_while_no_one_presses(factory, timers):
    """gpiozero's Button polls for a hold ten times a second from a thread of its own for as long
    as it exists: on an idle screen, 20 wake-ups a second for two buttons.  The screen's buttons
    start a timer when pressed, and nothing runs between presses."""
    ev = Events()
    before = set(threading.enumerate())
    b = VenueButtons(next_pin=17, prev_pin=27, on_change=ev, on_overview=lambda: None, bounce_time=None,
                     hold_time=0.2)
    try:
        assert _buttons_threads(before) == []
        press(factory.pin(17))
        press(factory.pin(27))
        assert hold(factory.pin(17), timers, lambda: ev.wait_for(3, 5)) == [1, -1, HOME]
        deadline = time.monotonic() + 3
        while _buttons_threads(before) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _buttons_threads(before) == []
    finally:
        b.close()


def test_short_presses_in_a_row_longer_than_a_hold_together_are_no_hold(factory, timers):
    """Each press's timer ends with its release: quick presses over more than the hold time in all
    (it passes twice while they go on) each step once, and nothing comes after."""
    ev = Events()
    overview = Events()
    b = VenueButtons(next_pin=17, prev_pin=27, on_change=ev, on_overview=lambda: overview(True), bounce_time=None,
                     hold_time=0.5)
    try:
        for pin in (17, 17, 17, 27):
            press(factory.pin(pin))
            if pin == 17:
                timers.elapse()  # a timer left running from an earlier press fires now
        assert ev.wait_for(4) == [1, 1, 1, -1]
        timers.elapse()
        for timer in timers.made:
            timer.join(5)
        assert len(timers.made) == 4 and ev.items == [1, 1, 1, -1] and overview.items == []
    finally:
        b.close()


def test_a_press_after_close_starts_nothing(factory, timers):
    ev = Events()
    b = VenueButtons(next_pin=17, on_change=ev, bounce_time=None, hold_time=0.1)
    b._next_hold.down()  # a press that arrives while the screen stops
    b.close()
    b._next_hold.down()
    timers.elapse()
    for timer in timers.made:
        timer.join(5)
    assert len(timers.made) == 1 and ev.items == []


FOR_SCREEN = """
import types
from pandascreen.node import buttons
device = types.SimpleNamespace(flip=None, show_overview=None, controller=types.SimpleNamespace(trouble=None))
print(buttons.for_screen({"next": 17, "prev": 27}, device, say=print), device.controller.trouble)
"""


def test_buttons_off_says_in_one_line_why_each_pin_factory_was_passed_over(tmp_path):
    """On a machine where gpiozero loads no pin factory (this one: lgpio and the native factory find
    no Pi, RPi.GPIO and pigpio are not installed) the reason is in gpiozero's warnings, one each,
    several lines apiece; its error says only "Unable to load any default pin factory!"."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("LG_WD", "GPIOZERO_PIN_FACTORY")}
    firmware = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
    env["PYTHONPATH"] = firmware
    p = subprocess.run([sys.executable, "-c", FOR_SCREEN], cwd=str(tmp_path), env=env, capture_output=True,
                       text=True, timeout=60)  # lgpio makes its FIFO in the working directory
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    line, result = p.stdout.splitlines()
    assert result == "None buttons off"
    assert line.startswith("buttons off: GPIO 17, 27 cannot be read (BadPinFactory: Unable to load any default pin factory!")
    assert "; gpiod: " in line  # this machine has no GPIO chip
    for factory in ("lgpio", "rpigpio", "pigpio", "native"):  # gpiozero's order, each with its reason
        assert "; %s: " % factory in line


def test_buttons_read_through_a_later_pin_factory_say_which_and_what_was_passed_over(monkeypatch):
    import types
    import warnings
    from gpiozero.exc import PinFactoryFallback
    from pandascreen.node import buttons
    made = []

    def after_a_fallback():
        warnings.warn(PinFactoryFallback("Falling back from lgpio: [Errno 2] No such file or directory: '.lgd-nfy-3'"))
        made.append(MockFactory())
        return made[-1]
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setattr(Device, "_default_pin_factory", staticmethod(after_a_fallback))
    monkeypatch.setattr(buttons, "_gpiod_factory", lambda: (None, "gpiod: FileNotFoundError: [Errno 2] No such file"))
    lines = []
    device = types.SimpleNamespace(flip=None, show_overview=None, controller=types.SimpleNamespace(trouble=None))
    b = buttons.for_screen({"next": 17}, device, say=lines.append)
    try:
        assert b is not None and device.controller.trouble is None
        assert lines == ["buttons: GPIO 17 read through MockFactory; passed over gpiod: FileNotFoundError: [Errno 2] "
                         "No such file; lgpio: [Errno 2] No such file or directory: '.lgd-nfy-3'"]
    finally:
        b.close()
        made[0].close()
