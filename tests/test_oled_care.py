"""OLED care wired into the Pi app: node/app.Device draws through node/oled_care.py onto a luma
dummy device whose commands are recorded (contrast, hide, show), as a real SSD1306 gets them."""

import functools

import pytest

from PIL import Image, ImageChops

from pandascreen.bench import field
from pandascreen.core import config, layout
from pandascreen.node import app, display, oled_care

from luma.core import const
from luma.core.device import dummy
from luma.core.interface.serial import noop

D = field.MADE_UP_DAY0  # made-up festival: open ~07:30-20:40 UTC (local +2 h) each day
H = 3600
OFF, ON, CONTRAST = const.common.DISPLAYOFF, const.common.DISPLAYON, const.common.SETCONTRAST


class Panel(dummy):
    """A luma dummy that records its commands and counts the frames sent to it."""

    def __init__(self, width=128, height=64, mode="1"):
        panel = self
        self.commands = []
        self.frames = 0

        class Wire(noop):
            def command(self, *cmd):
                panel.commands.append(cmd)

        dummy.__init__(self, width=width, height=height, mode=mode, serial_interface=Wire())

    def display(self, image):
        self.frames += 1
        self.commands.append(("frame",))
        dummy.display(self, image)

    def power(self):
        return [c[0] for c in self.commands if c[0] in (OFF, ON)]

    def contrasts(self):
        return [c[1] for c in self.commands if c[0] == CONTRAST]


@functools.lru_cache(maxsize=1)
def festival():
    """(store, festival id): read only by these tests, so one for all of them."""
    return field.made_up_festival(events=60, venues=2)


def device(kind="ssd1306_128x64", screen=None, **extra):
    store, fid = festival()
    cfg = config.validate(dict({"festival_id": fid, "display": kind, "trust_anyone": True}, **extra))
    panel = None
    if screen is None:
        panel = Panel()
        screen = display.Screen(kind, display.LumaScreen(panel))
    now = [D + 10 * H]
    dev = app.Device(cfg, store, screen, clock=lambda: now[0])

    def at(t):
        now[0] = t
        dev.controller.redraw(t, catch_up=False)
        return dev.last_image

    return dev, panel, at


def first(t, until, want):
    while t < until:
        if want(t):
            return t
        t += 60
    raise AssertionError("no such minute")


def rendered(dev, t):
    return display.render(dev.controller.view(t), "ssd1306_128x64")


def same(a, b):
    return a.convert("1").tobytes() == b.convert("1").tobytes()


def test_frames_are_shifted_and_the_header_is_plain_every_other_period():
    dev, panel, at = device()
    h = layout.Metrics(128, 64).header_h
    # inverted header, one pixel to the right: the layout's picture, moved, a black column left
    t = first(D + 9 * H, D + 19 * H, lambda t: oled_care.header_inverted(t) and oled_care.pixel_shift(t) == (1, 0))
    at(t)
    ref = rendered(dev, t)
    assert ref.getpixel((64, 3))  # the layout's bar is lit
    assert same(panel.image.crop((1, 0, 128, 64)), ref.crop((0, 0, 127, 64)))
    assert panel.image.crop((0, 0, 1, 64)).getbbox() is None
    assert not same(panel.image, ref)
    # plain header, one pixel up: the header rows inverted, a rule under them, the rest as drawn
    t = first(D + 9 * H, D + 19 * H, lambda t: not oled_care.header_inverted(t)
              and oled_care.pixel_shift(t) == (0, -1))
    at(t)
    ref = rendered(dev, t)
    shown = panel.image
    assert same(shown.crop((0, 0, 128, h - 1)), ImageChops.invert(ref.convert("L").crop((0, 1, 128, h))))
    assert shown.crop((0, h - 1, 128, h)).convert("L").getextrema() == (255, 255)  # the rule
    assert same(shown.crop((0, h, 128, 63)), ref.crop((0, h + 1, 128, 64)))
    assert shown.crop((0, 63, 128, 64)).getbbox() is None


def test_a_shift_down_never_cuts_off_the_bottom_row():
    dev, panel, at = device()
    h = layout.Metrics(128, 64).header_h
    t = first(D + 9 * H, D + 19 * H, lambda t: oled_care.pixel_shift(t)[1] == 1
              and rendered(dev, t).crop((0, 63, 128, 64)).getbbox() is not None)
    at(t)
    dx = oled_care.pixel_shift(t)[0]
    ref = rendered(dev, t)  # below the header and its rule: the layout's rows, moved sideways only
    assert same(panel.image.crop((max(0, dx), h + 1, 128 + min(0, dx), 64)),
                ref.crop((max(0, -dx), h + 1, 128 + min(0, -dx), 64)))
    assert panel.image.crop((0, 63, 128, 64)).getbbox() is not None


def test_contrast_follows_the_local_hour_and_is_sent_once_per_change():
    dev, panel, at = device()
    for t in range(D + 10 * H, D + 20 * H + 1800, 180):  # local 12:00 to 22:30, open throughout
        at(t)
    # local 20:00 (18:00 UTC) dims the panel: two commands over 210 frames, by luma's contrast()
    assert panel.contrasts() == [255, 128]
    assert panel.frames == len(range(D + 10 * H, D + 20 * H + 1800, 180))
    assert panel.power() == [ON]


def test_the_panel_sleeps_while_the_festival_is_closed_and_wakes_with_a_fresh_frame():
    dev, panel, at = device()
    sched = dev.controller.schedule
    closes = max(int(e.end) for e in sched.all_events() if int(e.end) < D + 24 * H) + oled_care.OPEN_AFTER
    opens = min(int(e.start) for e in sched.all_events() if int(e.start) > D + 24 * H) - oled_care.OPEN_BEFORE
    log = []
    for t in range(closes - 600, opens + 600, 60):
        before = (len(panel.power()), panel.frames)
        at(t)
        log.append((t, panel.power()[before[0]:], panel.frames - before[1]))
    assert panel.power() == [ON, OFF, ON]
    off_at = [t for t, p, _ in log if p == [OFF]]
    on_at = [t for t, p, _ in log if p == [ON]]
    assert off_at == [closes] and on_at == [closes - 600, opens]  # the first frame, then at opening
    # the panel lights up with the new frame already in it, not last night's
    woke = [i for i, c in enumerate(panel.commands) if c[0] == ON][-1]
    assert panel.commands[woke - 1] == ("frame",)
    # nothing is sent to the dark panel, and the frame it wakes with is the one for that minute
    assert all(n == 0 for t, _, n in log if closes <= t < opens)
    assert all(n == 1 for t, _, n in log if t < closes or t >= opens)
    ref = oled_care.frame(rendered(dev, opens + 540), opens + 540, layout.Metrics(128, 64).header_h)
    assert same(panel.image, ref)  # the last frame drawn (opens + 9 min) is what the panel shows
    assert panel.contrasts()[-1] == 255  # 09:40 local


def test_an_unset_clock_keeps_the_screen_on():
    dev, panel, at = device()
    at(1000)  # a Pi without RTC that booted offline: 1970, long before the festival
    assert dev.controller.view(1000)["message"] and panel.power() == [ON]
    assert panel.image.getbbox() is not None


@pytest.mark.parametrize("trouble", ["notice", "disk full", "warning"])
def test_a_screen_saying_something_is_wrong_stays_on_while_the_festival_is_closed(trouble):
    """A store refilled from its snapshot, a full disk or a refused upgrade is said on the status
    line for the crew; with the festival closed, the panel went dark and hid it."""
    from pandascreen.node import snapshot
    dev, panel, at = device()
    if trouble == "notice":
        dev.controller.notice = snapshot.NOTICE
    elif trouble == "disk full":
        dev.controller.store.write_failed = "full"
    else:
        dev.controller.warning = "update refused"
    try:
        at(D + 26 * H)  # 02:00 local, the festival closed
        assert panel.power() == [ON] and panel.image.getbbox() is not None
    finally:
        dev.controller.store.write_failed = None
    at(D + 26 * H + 60)  # the notice lasts until the next sync; the others until they are gone
    if trouble != "notice":
        dev.controller.warning = None
        at(D + 26 * H + 120)
        assert panel.power()[-1] == OFF


def test_epaper_and_hdmi_are_drawn_as_rendered_at_any_hour():
    class Fake:
        def __init__(self, kind, size):
            self.kind, self.size, self.shown, self.calls = kind, size, [], []

        def show(self, img):
            self.shown.append(img)

        def set_power(self, on):
            self.calls.append(("power", on))
            return True

        def set_contrast(self, level):
            self.calls.append(("contrast", level))
            return True

    for kind, size in (("inky_phat_212x104", (212, 104)), ("hdmi", (1280, 720))):
        screen = Fake(kind, size)
        dev, _, at = device(kind, screen)
        assert dev.oled_care is None
        for t in (D + 12 * H, D + 26 * H):  # open, then 02:00 local with the festival closed
            at(t)
            assert screen.shown[-1].tobytes() == display.render(dev.controller.view(t), kind, size).tobytes()
        assert screen.calls == [] and len(screen.shown) >= 2


def test_config_oled_care_false_turns_it_off():
    dev, panel, at = device(oled_care=False)
    for t in (D + 12 * H, D + 26 * H):
        at(t)
        assert same(panel.image, rendered(dev, t))
    assert panel.power() == [] and panel.contrasts() == [] and panel.frames == 2


def test_an_emulated_oled_shows_black_while_closed_and_says_why_once(tmp_path, monkeypatch):
    """A black PNG from `pandascreen --emulate` with nothing else said had looked like a fault:
    the screen says in one line when its panel goes dark for the night, and when it lights again."""
    said = []
    monkeypatch.setattr(app, "_log", said.append)
    png = str(tmp_path / "screen.png")
    dev, _, at = device(screen=app.Screen("ssd1306_128x64", png))
    at(D + 26 * H)
    at(D + 26 * H + 60)
    assert Image.open(png).getbbox() is None
    assert said == ['OLED care: the panel is dark while nothing is on (the festival is closed); '
                    '"oled_care": false in the config keeps it lit'], said
    at(D + 34 * H)
    assert Image.open(png).getbbox() is not None
    assert said[1:] == ["OLED care: the panel is lit again"], said


def test_opening_spans_follow_schedule_changes():
    """The spans are cached per schedule ``version``: a stand-in holds the version still while its
    events change (a real ``Schedule`` bumps it with every change, so it cannot show the cache)."""
    from pandascreen.testing.festival import event, schedule, venue

    a, b = schedule(None, [venue("v", "V")], [event("a", "v", "A", D, D + H),
                                              event("b", "v", "B", D + 10 * H, D + 11 * H)]).all_events()

    class Sched:
        version = 0
        events = [a]

        def all_events(self):
            return list(self.events)

    care, s = oled_care.Care(), Sched()
    assert care.spans(s) == [(D - oled_care.OPEN_BEFORE, D + H + oled_care.OPEN_AFTER)]
    s.events = s.events + [b]
    assert len(care.spans(s)) == 1  # same version: the cached spans
    s.version = 1
    assert len(care.spans(s)) == 2


def test_burn_in_drops_below_sixty_percent_through_the_app():
    store, fid = festival()
    before = field.burn_in(store, fid, 0, D, 2, 300)
    after = field.burn_in(store, fid, 0, D, 2, 300, care=True)
    assert before["lit"] > 0.95 and before["header"] > 0.95 and before["on"] == 1.0
    assert after["lit"] < 0.6 and 0.3 < after["on"] < 0.7  # dark at night
    # the header is lit well under the time the screen is on (without the plain looks: all of it)
    assert after["header"] < 0.7 * after["on"]


@pytest.mark.parametrize("value", [0, "no", None])
def test_config_oled_care_must_be_true_or_false(value):
    with pytest.raises(config.ConfigError, match="oled_care must be true or false"):
        config.validate({"festival_id": "f", "trust_anyone": True, "oled_care": value})
    assert config.validate({"festival_id": "f", "trust_anyone": True, "oled_care": False})["oled_care"] is False
