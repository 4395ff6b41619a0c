"""Benchmark section: four days in a field, per panel kind -- how often each screen refreshes.

WHY: a full-refresh-only Inky flashes ~15 s per refresh and its makers ask for >= 180 s between
refreshes; before core/refresh.py it redrew every minute (ticking clock, "25m left").  This
section replays the 38c3 schedule (imported from the shared frab XML, as ``make bench``'s feed
section does) through the real ``Controller`` once a ``STEP`` seconds for four days, for the
busiest venue, and counts refreshes per day per panel kind.  The floor, measured from the same
schedule: the number of distinct event boundaries (starts and ends) at that venue that day --
a screen that shows what is on cannot change its picture less often than that.
``--quick`` uses a made-up 1000-event festival and one day.

Burn-in: the same days on an SSD1306, drawn by the app's own ``Device`` onto a luma dummy panel
each minute, with and without node/oled_care.py: the largest fraction of the time any pixel was
lit (the issue's aim: below 60%).
"""

import operator
import os

from pandascreen.core import operation, refresh, schema
from pandascreen.core.controller import Controller
from pandascreen.core.store import MemoryStore
from pandascreen.node import oled_care

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared", "schedules", "eventfahrplan_schedule-38c3-20251206.xml")
FIXTURE = os.path.join("/work/shared/schedules", os.path.basename(FIXTURE)) if not os.path.exists(FIXTURE) \
    else FIXTURE
# row label: (screen kind, its refresh policy); core/screens.py has no mono e-paper kind yet, so
# that row is the 212x104 panel driven as one with partial refresh would be
KINDS = {"ssd1306_128x64": ("ssd1306_128x64", refresh.LIVE),
         "mono e-paper 212x104": ("inky_phat_212x104", refresh.PARTIAL),
         "inky_phat_212x104": ("inky_phat_212x104", refresh.FULL_ONLY),
         "inky_impression_800x480": ("inky_impression_800x480", refresh.FULL_ONLY)}
DAY = 86400
STEP = 30  # the screen loop's tick in the simulation (s)
SEED = bytes(range(3, 35))
MADE_UP_DAY0 = 1784332800  # 2026-07-18 00:00 UTC


def made_up_festival(events=1000, venues=8):
    """(store, festival id): ``events`` talks over four days in ``venues`` venues, 25-55 min long
    with 5-35 min gaps, 10:00-02:00 -- for tests and ``--quick``."""
    fid = "fieldfest"
    bodies = [schema.make_body("festival", "create", fid, {"name": "Fieldfest", "utc_offset": 120})]
    for v in range(venues):
        bodies.append(schema.make_body("venue", "create", "v%d" % v, {"name": "Venue %d" % v, "order": v}))
    per = events // venues
    for v in range(venues):
        t = MADE_UP_DAY0 + 8 * 3600
        for i in range(per):
            length = (25 + (i * 7 + v * 3) % 31) * 60
            if (t - MADE_UP_DAY0) % DAY > 24 * 3600 - 4 * 3600:  # night: skip to 08:00 UTC next day
                t = t - (t - MADE_UP_DAY0) % DAY + DAY + 8 * 3600
            bodies.append(schema.make_body("event", "create", "e%d_%d" % (v, i), {
                "venue": "v%d" % v, "title": "Talk %d in venue %d" % (i, v), "start": t, "end": t + length}))
            t += length + (5 + (i * 11 + v) % 31) * 60
    return _store(bodies, fid), fid


def _store(bodies, fid):
    store = MemoryStore()
    store.publish_many(SEED, bodies, operation.log_id_for_festival(fid), 1735000000 * 1000000)
    return store


def festival_38c3():
    from pandascreen_host import importers
    neutral = importers.load(FIXTURE)
    fid = neutral["festival"]["id"]
    bodies = [schema.make_body(k, a, i, f) for k, a, i, f in importers.diff(None, neutral)]
    return _store(bodies, fid), fid


def boundaries(schedule, venue_id, t0, t1):
    """Distinct event starts and ends at ``venue_id`` within [t0, t1): the floor."""
    out = set()
    for e in schedule.events(venue_id):
        for t in (int(e.start), int(e.end)):
            if t0 <= t < t1:
                out.add(t)
    return len(out)


def simulate(store, fid, kind, venue_index, t0, days, step=STEP, panel=None):
    """Refreshes per day of one screen of ``kind`` (redrawn as ``panel``, by default the kind's own
    refresh policy): (full, partial) counts per day."""
    per_day = [[0, 0] for _ in range(days)]
    day = [0]

    def render(view):
        per_day[day[0]][0 if view.get("refresh", "full") == "full" else 1] += 1

    ctl = Controller({"festival_id": fid, "display": kind, "render_interval": 20}, store, render=render)
    if panel is not None and panel != ctl.refresh_policy.panel:
        ctl.refresh_policy = refresh.RefreshPolicy(panel)
    ctl.venue_index = venue_index
    for t in range(t0, t0 + days * DAY, step):
        day[0] = (t - t0) // DAY
        ctl.redraw(t, catch_up=False)
    return per_day


class _Panel:
    """A luma dummy SSD1306 that obeys the hide/show commands luma sends it, as the real panel does."""

    def __init__(self):
        from luma.core import const
        from luma.core.device import dummy
        from luma.core.interface.serial import noop
        panel = self
        switch = {const.common.DISPLAYOFF: False, const.common.DISPLAYON: True}

        class Wire(noop):
            def command(self, *cmd):
                panel.on = switch.get(cmd[0], panel.on)

        self.on = True  # as luma leaves a panel it opened
        self.device = dummy(width=128, height=64, mode="1", serial_interface=Wire())

    def lit(self):
        """The panel's pixels as bytes (1 lit, 0 dark); None while it is off."""
        if not self.on or self.device.image is None:
            return None
        return self.device.image.convert("L").point(lambda v: 1 if v else 0).tobytes()


def burn_in(store, fid, venue_index, t0, days, step=60, care=False):
    """{"lit": largest fraction of ``days`` any pixel of an SSD1306 128x64 was lit, "header": the
    same for the header's rows, "on": fraction the panel was on}, one frame per ``step`` s (the
    app draws one a minute), through the app's own path (node/app.Device,
    display.Screen, a luma dummy device); ``care``: node/oled_care.py as the app runs it, else
    ``"oled_care": false``."""
    from pandascreen.core import config, layout
    from pandascreen.node import display
    from pandascreen.node.app import Device
    cfg = config.validate({"festival_id": fid, "display": "ssd1306_128x64", "trust_anyone": True,
                           "oled_care": care, "render_interval": 0})
    panel = _Panel()
    now = [t0]
    dev = Device(cfg, store, display.Screen("ssd1306_128x64", display.LumaScreen(panel.device)),
                 clock=lambda: now[0])
    dev.controller.venue_index = venue_index
    lit = [0] * (128 * 64)
    frames = on = 0
    for t in range(t0, t0 + days * DAY, step):
        now[0] = t
        dev.controller.redraw(t, catch_up=False)
        frames += 1
        px = panel.lit()
        if px is not None:
            on += 1
            lit = list(map(operator.add, lit, px))
    header = layout.Metrics(128, 64).header_h * 128  # the header bar's rows come first
    return {"lit": max(lit) / float(frames), "header": max(lit[:header]) / float(frames),
            "on": on / float(frames)}


def run(quick=False):
    store, fid = made_up_festival() if quick or not os.path.exists(FIXTURE) else festival_38c3()
    days = 1 if quick else 4
    ctl = Controller({"festival_id": fid}, store)
    sched = ctl.schedule
    venues = list(sched.venues())
    counts = [len(list(sched.events(v.id))) for v in venues]
    vi = counts.index(max(counts))
    starts = sorted(int(e.start) for v in venues for e in sched.events(v.id))
    offset = (sched.utc_offset() or 0) * 60
    t0 = starts[0] - (starts[0] + offset) % DAY  # local midnight of the first day
    floors = [boundaries(sched, venues[vi].id, t0 + d * DAY, t0 + (d + 1) * DAY) for d in range(days)]
    per_kind = {}
    for label in KINDS:
        kind, panel = KINDS[label]
        per_kind[label] = simulate(store, fid, kind, vi, t0, days, STEP * (4 if quick else 1), panel)
    step = 300 if quick else 60  # the app draws an OLED every minute
    before = burn_in(store, fid, vi, t0, days, step)
    after = burn_in(store, fid, vi, t0, days, step, True)
    burn = {"before": before["lit"], "after": after["lit"], "header": after["header"], "on": after["on"]}
    return {"festival": fid, "venue": venues[vi].name, "events": counts[vi], "days": days,
            "floors": floors, "kinds": per_kind, "burn_in": burn}


def report(r):
    lines = ["field: %d days of %s, venue %r (%d events); refreshes per day (full+partial) vs the floor "
             "(event boundaries at that venue)" % (r["days"], r["festival"], r["venue"], r["events"])]
    for kind, per_day in r["kinds"].items():
        cells = ["%d+%d/%d" % (f, p, floor) for (f, p), floor in zip(per_day, r["floors"])]
        lines.append("  %-26s %s" % (kind, "  ".join(cells)))
    lines.append("  (before core/refresh.py every kind redrew like the OLED row: each minute and render_interval)")
    burn = r.get("burn_in")
    if burn:
        lines.append("  OLED burn-in, largest fraction of time any pixel was lit: before %.0f%% (the inverted header "
                     "bar, lit whenever the screen is), after %.0f%% (aim < 60%%), header %.0f%%"
                     % (100 * burn["before"], 100 * burn["after"], 100 * burn["header"]))
        lines.append("    (node/oled_care.py through the app's Device: pixel shift, plain header every other %d min, "
                     "off while the festival is closed: on %.0f%% of the time)"
                     % (oled_care.HEADER_EVERY // 60, 100 * burn["on"]))
    return "\n".join(lines)
