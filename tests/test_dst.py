"""Local time follows the festival's IANA zone across daylight saving changes on every panel
(core/layout.py ``offset_at`` over the festival's ``utc_offsets``, written by the importers from
zoneinfo), on the satellite's feed too; firmware and feeds that predate the rule keep working."""
import contextlib
import datetime
import io
from zoneinfo import ZoneInfo

import pytest

from pandascreen.testing.micropython import run_micropython
from pandascreen.core import cbor, feed, layout, operation, schema
from pandascreen.core.controller import Controller
from pandascreen.core.crypto import SigningKey, public_key
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import hexlify
from pandascreen.node import feed_sign
from pandascreen_host.importers import common

SEED = b"\x61" * 32
# (zone, local date of the festival's first day): each three-day festival crosses a change
FESTIVALS = [("Europe/Berlin", (2026, 3, 27)), ("Europe/Berlin", (2026, 10, 23)),
             ("America/New_York", (2026, 3, 6)), ("America/New_York", (2026, 10, 30))]
PANELS = ["ssd1306_128x64", "inky_what_red", "overview"]


def local(zone, epoch):
    return datetime.datetime.fromtimestamp(epoch, ZoneInfo(zone)).strftime("%H:%M")


def festival(zone_name, day):
    """Bodies of a festival with a talk every 3 hours (local 10:00, 13:00, ...) for three days."""
    zone = ZoneInfo(zone_name)
    starts = []
    for d in range(3):
        for h in (1, 10, 13, 16, 19, 22):
            dt = datetime.datetime(*day, h, 0, tzinfo=zone) + datetime.timedelta(days=d)
            starts.append(int(dt.timestamp()))
    fields = {"name": "DST fest", "timezone": zone_name, "utc_offset": common.offset_minutes(zone, starts[0]),
              "start": starts[0], "end": starts[-1] + 3600,
              "utc_offsets": common.zone_offsets(zone, starts[0], starts[-1] + 3600)}
    bodies = [schema.make_body("festival", "create", "dst", fields),
              schema.make_body("venue", "create", "hall", {"name": "Hall"})]
    for i, s in enumerate(starts):
        bodies.append(schema.make_body("event", "create", "t%02d" % i,
                                       {"venue": "hall", "title": "Talk %d" % i, "start": s, "end": s + 3600}))
    return bodies, starts


def store_of(bodies):
    store = MemoryStore()
    log = operation.log_id_for_festival("dst")
    for i, b in enumerate(bodies):
        store.publish(SEED, b, log, 1700000000 * 1000000 + i)
    return store, log


def moments(starts):
    """(now, what the screen must say): in a talk, and in the break before the next one."""
    for s in starts[1:-1]:
        yield s + 600, "now"
        yield s - 3600, "break"


@pytest.mark.parametrize("zone_name,day", FESTIVALS)
def test_the_zone_rule_is_the_zone(zone_name, day):
    zone = ZoneInfo(zone_name)
    bodies, starts = festival(zone_name, day)
    rule = schema.parse_body(bodies[0])["fields"]["utc_offsets"]
    assert len(rule) == 4  # one change inside the festival's span and margin
    for t in range(starts[0] - 86400, starts[-1] + 86400, 900):
        assert layout.offset_at(rule, t) == common.offset_minutes(zone, t), t


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("zone_name,day", FESTIVALS)
def test_every_panel_shows_local_time_across_the_change(zone_name, day, panel):
    bodies, starts = festival(zone_name, day)
    store, log = store_of(bodies)
    cfg = {"festival_id": "dst", "organiser_keys": [public_key(SEED)],
           "display": "ssd1306_128x64" if panel == "overview" else panel}
    if panel == "overview":
        cfg["layout"] = "overview"
    ctl = Controller(cfg, store, clock=lambda: 0)
    for now, what in moments(starts):
        v = ctl.view(now)
        if panel == "overview":
            v = v["venues"][0]
        if not v.get("absolute"):
            assert v["clock"] == local(zone_name, now)
        nxt = min(s for s in starts if s > now)
        assert v["next"]["start"] == local(zone_name, nxt), (now, v)
        if what == "now":
            cur = max(s for s in starts if s <= now)
            assert v["now"]["time"] == "%s\u2013%s" % (local(zone_name, cur), local(zone_name, cur + 3600))
        else:
            assert v["message"] == "Break until %s" % local(zone_name, nxt), v


SATELLITE = r"""
from pandascreen.core import feed, layout
from pandascreen.core.util import unhexlify
for data, now in %(feeds)r:
    data = bytearray(unhexlify(data))
    info = feed.Checker("dst", [unhexlify(%(org)r)]).check(data, len(data))
    v = layout.build_view(feed.FeedView(data, info, 1), 0, now, "")
    print(v["clock"], v["now"]["time"] if v["now"] else v["message"])
"""


@pytest.mark.parametrize("zone_name,day", FESTIVALS)
def test_the_satellite_shows_local_time_across_the_change(zone_name, day):
    bodies, starts = festival(zone_name, day)
    store, log = store_of(bodies)
    sch = Schedule.from_store(store, log)
    feeds, want = [], []
    for now, what in moments(starts):
        # a feed issued before the moment (across the change, for the night's moments)
        data = feed_sign.build(sch, store, log, "dst", SigningKey(SEED), None, now - 1800)
        feeds.append((hexlify(data), now))
        nxt = min(s for s in starts if s > now)
        cur = max(s for s in starts if s <= now)
        said = ("%s\u2013%s" % (local(zone_name, cur), local(zone_name, cur + 3600)) if what == "now"
                else "Break until %s" % local(zone_name, nxt))
        want.append("%s %s" % (local(zone_name, now), said))
    script = SATELLITE % {"feeds": feeds, "org": hexlify(public_key(SEED))}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(script, "satellite", "exec"), {})
    assert out.getvalue().splitlines() == want
    assert run_micropython(script).splitlines() == want


def test_old_firmware_and_old_feeds_keep_working():
    bodies, starts = festival("Europe/Berlin", (2026, 3, 27))
    fields = schema.parse_body(bodies[0])["fields"]
    # firmware that predates utc_offsets reads it as a newer schema's field: accepted, then ignored
    schema._check_value("festival", "utc_offsets", None, fields["utc_offsets"])
    # ... and a festival without the rule keeps its one offset
    assert layout.festival_zone({"utc_offset": 60}) == 60 and layout.offset_at(60, starts[-1]) == 60
    store, log = store_of(bodies)
    sch = Schedule.from_store(store, log)
    after = starts[-1]  # after the change: the feed's own offset is the one in force when issued
    data = feed_sign.build(sch, store, log, "dst", SigningKey(SEED), None, after)
    items = cbor.loads(data)
    assert items[9] == ["DST fest", 120] and items[5][:2] == [feed.HORIZON, feed.PER_VENUE]
    c = feed.Cursor(items[5] and cbor.dumps(items[5]))
    c.skip()  # what a board that predates the zone does with the rules item
    # a feed of the old form (rules without a zone) still parses, with its one offset
    old = feed_sign.payload(Schedule.from_store(*store_of([schema.make_body("festival", "create", "dst", {
        "name": "Old", "utc_offset": 60})] + bodies[1:])), "dst", after, [], public_key(SEED))
    assert len(old[5]) == 2
    data = feed_sign.sign_payload(old, SigningKey(SEED))
    info = feed.Checker("dst", [public_key(SEED)]).check(bytearray(data), len(data))
    assert info.zone is None and feed.FeedView(bytearray(data), info, 1).zone() == 60


def test_a_bad_zone_rule_is_refused():
    for bad in ([0, 60, 0, 120], [0, 60, 100], [0, 2000], [0, 60] * 9, [0, "60"], [0, True]):
        with pytest.raises(schema.SchemaError):
            schema.make_body("festival", "create", "f", {"name": "F", "utc_offsets": bad})


def test_a_feed_issued_before_the_change_is_read_after_it():
    bodies, starts = festival("Europe/Berlin", (2026, 3, 27))
    store, log = store_of(bodies)
    issued = int(datetime.datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")).timestamp())
    data = feed_sign.build(Schedule.from_store(store, log), store, log, "dst", SigningKey(SEED), None, issued)
    info = feed.Checker("dst", [public_key(SEED)]).check(bytearray(data), len(data))
    view = feed.FeedView(bytearray(data), info, 1)
    assert info.utc_offset == 60  # what a board that predates the zone shows: right until the change
    assert layout.build_view(view, 0, issued + 2 * 3600, "")["clock"] == "04:30"  # CEST: 01:30 + 2 h + 1 h


from hypothesis import given, settings, strategies as st  # noqa: E402

_INTS = st.integers(-(1 << 64) + 1, (1 << 64) - 1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_INTS, st.lists(st.one_of(_INTS, st.text(max_size=2)), max_size=20), st.text(max_size=3)),
                max_size=4))
def test_a_signed_feed_with_any_rules_item_is_refused_or_shown(rules):
    """The signer is trusted, the rules item (where the zone lives) is anything: the board's
    check raises FeedError or the feed draws; nothing else escapes."""
    bodies, starts = festival("Europe/Berlin", (2026, 3, 27))
    store, log = store_of(bodies)
    items = feed_sign.payload(Schedule.from_store(store, log), "dst", starts[3], [], public_key(SEED))
    items[5] = rules
    data = bytearray(feed_sign.sign_payload(items, SigningKey(SEED)))
    try:
        info = feed.Checker("dst", [public_key(SEED)]).check(data, len(data))
    except feed.FeedError:
        return
    view = layout.build_view(feed.FeedView(data, info, 1), 0, starts[3] + 60, "")
    assert len(view["clock"]) == 5


def test_an_imported_calendar_across_the_october_change_carries_the_zone(tmp_path):
    """iCal in America/New_York across 1 November 2026: the importer writes the rule, the
    published festival shows 09:00 EST after the change (not 10:00, the fixed offset's answer)."""
    from pandascreen_host import importers
    ics = tmp_path / "fall.ics"
    events = [("a", "20261031T220000", "20261031T230000"), ("b", "20261101T090000", "20261101T100000")]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", "X-WR-CALNAME:Fall fest"]
    for uid, start, end in events:
        lines += ["BEGIN:VEVENT", "UID:%s@t" % uid, "DTSTAMP:20260101T000000Z",
                  "DTSTART;TZID=America/New_York:" + start, "DTEND;TZID=America/New_York:" + end,
                  "LOCATION:Hall", "SUMMARY:Talk " + uid, "END:VEVENT"]
    ics.write_text("\r\n".join(lines + ["END:VCALENDAR", ""]))
    neutral = importers.load(str(ics))
    fest = neutral["festival"]
    assert fest["timezone"] == "America/New_York" and fest["utc_offset"] == -240
    assert fest["utc_offsets"][1::2] == [-240, -300]
    body = schema.make_body("festival", "create", fest["id"], dict((k, fest[k]) for k in importers.FESTIVAL_FIELDS))
    second = [e for e in neutral["events"] if e["title"] == "Talk b"][0]
    zone = layout.festival_zone(schema.parse_body(body)["fields"])
    assert layout.hhmm(second["start"], zone) == "09:00"
    assert layout.hhmm(second["start"], fest["utc_offset"]) == "10:00"


def test_the_zone_rule_under_micropython():
    """The core applies the rule on MicroPython as on CPython: schema, schedule, layout."""
    bodies, starts = festival("America/New_York", (2026, 3, 6))
    script = """
from pandascreen.core import layout, schema
from pandascreen.core.schedule import Schedule
from pandascreen.core.util import unhexlify
s = Schedule()
for b in %r:
    s.apply(schema.parse_body(unhexlify(b)), 1)
print(" ".join(layout.hhmm(t, s.zone()) for t in %r))
""" % ([hexlify(b) for b in bodies], starts)
    want = " ".join(local("America/New_York", t) for t in starts)
    assert run_micropython(script).strip() == want


@pytest.mark.parametrize("opens, before, after", [
    # opens the Monday after the spring change: the weekend before, the screen says when it starts
    ((2026, 3, 30, 10), (2026, 3, 28, 23, 30), None),
    # closes the Friday before the autumn change: the week after, it says the festival is over
    ((2026, 10, 22, 10), None, (2026, 10, 28, 12, 0))])
def test_the_zone_rule_covers_the_weeks_around_the_festival(tmp_path, opens, before, after):
    """The offsets were kept for a day either side of the festival only: a screen mounted the
    weekend before a festival that opens after a clock change showed its clock and "Starts ..."
    an hour off, and so did one still up in the week after."""
    from pandascreen_host import importers
    day = datetime.date(*opens[:3])
    src = tmp_path / "fest.csv"
    src.write_text("Room,Date,Day,Start,Duration,Title,ID\nHall,%s,1,%02d:00,01:00,Opening,1\n"
                   "Hall,%s,2,10:00,01:00,Closing,2\n" % (day, opens[3], day + datetime.timedelta(days=1)),
                   encoding="utf-8")
    sched = Schedule()
    neutral = importers.load(str(src), timezone="Europe/Berlin")
    for n, (kind, action, doc_id, fields) in enumerate(importers.diff(None, neutral), 1):
        sched.apply(schema.parse_body(schema.make_body(kind, action, doc_id, fields)), 1, n.to_bytes(4, "big"))
    berlin = ZoneInfo("Europe/Berlin")
    for moment in (before, after):
        if moment is None:
            continue
        t = int(datetime.datetime(*moment, tzinfo=berlin).timestamp())
        assert layout.build_view(sched, 0, t)["clock"] == "%02d:%02d" % moment[3:], moment
    if before is not None:
        t = int(datetime.datetime(*before, tzinfo=berlin).timestamp())
        assert layout.build_view(sched, 0, t)["message"] == "Starts Mon 10:00"
