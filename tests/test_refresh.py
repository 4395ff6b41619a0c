"""The refresh policy per panel kind (core/refresh.py) and its place in the controller."""

from pandascreen.testing.festival import GOLDEN_DAY as DAY, golden_schedule
from pandascreen.core import layout, refresh, screens
from pandascreen.core.controller import Controller
from pandascreen.core.refresh import FULL, FULL_ONLY, LIVE, PARTIAL, PARTIAL_REFRESH, RefreshPolicy
from pandascreen.core.store import MemoryStore


def test_panel_classes():
    assert refresh.panel_for("inky_phat_212x104") == FULL_ONLY
    assert refresh.panel_for("inky_impression_800x480") == FULL_ONLY
    assert refresh.panel_for("ssd1306_128x64") == LIVE
    assert refresh.panel_for("hdmi") == LIVE
    assert refresh.panel_for(None) == LIVE
    assert refresh.panel_for(["inky_phat_212x104"]) == LIVE  # an unvalidated config's junk


def test_panel_class_comes_from_the_table_not_the_name(monkeypatch):
    """A kind's name says nothing: only its core/screens.py entry makes it e-paper."""
    assert refresh.panel_for("inky_phat_212x104_mono") == LIVE  # not in the table
    monkeypatch.setitem(screens.SCREENS, "waveshare_2in13_bw", (250, 122, "mono", PARTIAL, "inky", "", "spi"))
    monkeypatch.setitem(screens.SCREENS, "colour_epd", (400, 300, "tricolor", FULL_ONLY, "inky", "", "spi"))
    assert refresh.panel_for("waveshare_2in13_bw") == PARTIAL
    assert refresh.panel_for("colour_epd") == FULL_ONLY


def test_full_only_waits_180_s_then_shows_an_edit_and_refreshes_daily():
    p = RefreshPolicy(FULL_ONLY)
    assert p.due(0, "a") == FULL
    assert p.due(60, "a", tick=1) is None  # a tick alone never refreshes
    assert p.due(100, "b") is None  # an edit 100 s later waits...
    assert p.due(179, "b") is None
    assert p.due(180, "b") == FULL  # ...then shows
    assert p.due(200, "c", force=True) == FULL  # a visitor's button press is drawn at once
    assert p.due(250, "d") is None
    assert p.due(380, "d") == FULL
    assert p.due(5000, "d") is None
    assert p.due(380 + 86400, "d") == FULL  # the daily refresh


def test_partial_panel_uses_partials_then_a_full_one():
    p = RefreshPolicy(PARTIAL, partials_per_full=3)
    modes = [p.due(i * 60, "a", tick=i) for i in range(6)]
    assert modes == [FULL, PARTIAL_REFRESH, PARTIAL_REFRESH, PARTIAL_REFRESH, FULL, PARTIAL_REFRESH]
    assert p.due(5 * 60 + 1, "a", tick=5) is None


def test_live_panel_redraws_on_every_key_change():
    p = RefreshPolicy(LIVE)
    assert p.due(0, "a", 0) == FULL
    assert p.due(1, "a", 0) is None
    assert p.due(2, "a", 1) == FULL


def test_absolute_view_has_no_clock_or_countdown_and_keeps_its_key_between_boundaries():
    sched = golden_schedule()
    a = layout.build_view(sched, 0, DAY + 600, "synced", absolute=True)
    b = layout.build_view(sched, 0, DAY + 1800, "synced", absolute=True)
    assert a["clock"] == "" and a["now"]["left"] == "until 15:00"
    assert a["next"]["in"] == ""
    assert refresh.content_key(a) == refresh.content_key(b)
    c = layout.build_view(sched, 0, DAY + 3600 + 900, "synced", absolute=True)  # next talk began
    assert refresh.content_key(c) != refresh.content_key(a)
    ticking = layout.build_view(sched, 0, DAY + 600, "synced")
    assert ticking["now"]["left"] == "50m left" and ticking["clock"] == "14:10"


def _controller(display):
    drawn = []
    ctl = Controller({"festival_id": "f", "display": display}, MemoryStore(), render=drawn.append)
    ctl.schedule = golden_schedule()
    return ctl, drawn


def test_controller_redraws_an_inky_at_event_boundaries_only():
    ctl, drawn = _controller("inky_phat_212x104")
    for t in range(DAY, DAY + 3 * 3600, 30):
        ctl.redraw(t, catch_up=False)
    # main stage: e1 until +1h, gap (next e2 at +1h15), e2 running, first frame = 3 pictures
    assert len(drawn) == 3
    assert all(v["refresh"] == FULL and v["clock"] == "" for v in drawn)
    ctl_oled, drawn_oled = _controller("ssd1306_128x64")
    for t in range(DAY, DAY + 3 * 3600, 30):
        ctl_oled.redraw(t, catch_up=False)
    assert len(drawn_oled) >= 3 * 60  # every minute, as before


def test_an_inky_overview_refreshes_when_any_venue_changes_and_never_counts_down():
    """The overview (core/overview.py) on a full-refresh panel: absolute times, and a boundary at ANY
    venue is a new picture (its content key once came from venue 0 alone, so the Inky kept showing
    a finished talk elsewhere, with a stale countdown)."""
    ctl, drawn = _controller("inky_what_400x300")
    ctl.cfg["layout"] = "overview"
    boundaries = sorted(set(t for e in ctl.schedule.all_events() for t in (e.start, e.end)))
    for t in range(DAY, DAY + 3 * 3600, 30):
        ctl.redraw(t, catch_up=False)
    assert all("venues" in v and v["absolute"] and v["clock"] == "" for v in drawn)
    assert all(c["now"] is None or c["now"]["left"].startswith("until ") for v in drawn for c in v["venues"])
    inside = [t for t in boundaries if DAY < t < DAY + 3 * 3600]
    # one picture at the start and one per boundary (none closer than 180 s here)
    assert len(drawn) == 1 + len(inside)
    garden = [c for c in drawn[-1]["venues"] if c["venue"] == "Garden Tent"][0]
    assert garden["now"]["title"] == "Closing jam"  # a venue other than the first one moved on


def test_field_bench_runs_and_inky_stays_near_the_floor():
    from pandascreen.bench import field
    r = field.run(quick=True)
    assert "inky_phat_212x104" in field.report(r)
    for (full, partial), floor in zip(r["kinds"]["inky_phat_212x104"], r["floors"]):
        assert partial == 0 and floor > 10 and full <= floor + 2
    oled = r["kinds"]["ssd1306_128x64"][0][0]
    assert oled > 10 * r["kinds"]["inky_phat_212x104"][0][0]


def test_screen_returns_to_its_home_venue_after_a_visitor_flips_away():
    t = [DAY]
    ctl = Controller({"festival_id": "f", "home_venue": "lab", "home_after": 30}, MemoryStore(), clock=lambda: t[0])
    ctl.schedule = golden_schedule()
    ctl.redraw(t[0], catch_up=False)
    assert ctl.venue_index == 1  # starts at home
    ctl.flip(1)
    t[0] += 10
    ctl.redraw(t[0], catch_up=False)
    assert ctl.venue_index == 2  # the visitor is still reading
    t[0] += 30
    ctl.redraw(t[0], catch_up=False)
    assert ctl.venue_index == 1


def test_oled_care_shift_contrast_and_opening_hours():
    from pandascreen.testing.festival import event, schedule, venue
    from pandascreen.node import oled_care as refresh
    shifts = set(refresh.pixel_shift(t) for t in range(0, 9 * refresh.SHIFT_EVERY, refresh.SHIFT_EVERY))
    assert len(shifts) == 9 and all(abs(dx) <= 1 and abs(dy) <= 1 for dx, dy in shifts)
    assert refresh.pixel_shift(0) == refresh.pixel_shift(refresh.SHIFT_EVERY - 1)
    noon_utc = DAY  # 12:00 UTC = 14:00 local at +120
    assert refresh.contrast(noon_utc, 120) == 255
    assert refresh.contrast(noon_utc + 9 * 3600, 120) == 128  # 23:00
    assert refresh.contrast(noon_utc + 13 * 3600, 120) == 48  # 03:00
    evs = schedule(None, [venue("v", "V")], [event("a", "v", "A", DAY, DAY + 3600), event("b", "v", "B", DAY + 4000, DAY + 7200),
                                             event("c", "v", "C", DAY + 86400, DAY + 90000)]).all_events()
    spans = refresh.opening_spans(evs)
    assert spans == [(DAY - 1800, DAY + 7200 + 900), (DAY + 86400 - 1800, DAY + 90000 + 900)]
    assert refresh.is_open(DAY + 3800, spans) and not refresh.is_open(DAY + 12 * 3600, spans)
    assert refresh.is_open(DAY, [])


def test_field_bench_reports_burn_in_before_and_after():
    from pandascreen.bench import field
    r = field.run(quick=True)
    assert 0 < r["burn_in"]["after"] <= r["burn_in"]["before"] <= 1
    assert "burn-in" in field.report(r)


def test_an_overview_screen_reports_that_it_shows_every_venue():
    from pandascreen.node import fleet_report
    ctl, _ = _controller("inky_what_400x300")
    ctl.cfg["layout"] = "overview"
    ctl.store.heights = lambda log_id: {}
    fields = fleet_report.status_fields(ctl, DAY + 600, DAY, temp_path="/nonexistent")
    assert fields["shows"] == "all 3 venues (page 1)"


def test_the_first_frame_with_the_program_is_not_held_back_on_any_panel(monkeypatch):
    """A screen boots with an empty store ("No schedule yet"), the program arrives 3 s later: it is
    drawn at once; the refresh policy limits only the refreshes after it."""
    from pandascreen.testing import festival as demofest
    from pandascreen.core import operation
    from pandascreen.core.crypto import public_key
    seed = bytes(range(100, 132))
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    now = demofest.DAY_START + 600
    monkeypatch.setitem(screens.SCREENS, "epd_mono_212x104", (212, 104, "mono", PARTIAL, "inky", "", "spi"))
    for display in ("inky_what_400x300", "epd_mono_212x104", "ssd1306_128x64"):
        for extra in ({}, {"layout": "overview"}):
            store = MemoryStore()
            drawn = []
            cfg = dict({"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [public_key(seed)],
                        "display": display}, **extra)
            ctl = Controller(cfg, store, render=drawn.append)
            assert ctl.redraw(now) and drawn[-1]["message"] == layout.NO_SCHEDULE
            demofest.publish(store, seed, log)
            assert ctl.redraw(now + 3), (display, extra)  # not 180 s later
            assert drawn[-1].get("venues") or drawn[-1]["now"]["title"] == "Opening: Why pandas sync offline"
            if display.startswith("inky_what"):
                store.publish(seed, schema_retitle(), log, (now + 10) * 1000000)
                assert not ctl.redraw(now + 13)  # a later edit waits for the gap, as before
                assert ctl.redraw(now + 3 + refresh.MIN_FULL_GAP)


def schema_retitle():
    from pandascreen.testing import festival as demofest
    from pandascreen.core import schema
    return schema.make_body("event", "update", demofest.event_id(0), {"title": "Opening, retitled"})
