"""Importers never drop or alter an event silently: calendars keep their whole span, speakers and
odd times are kept and named, and what is left out is counted with titles in one line."""
import datetime

import pytest

from pandascreen_host import importers
from pandascreen_host.importers import ScheduleImportError
from test_importers import ics, ts

UTC = datetime.timezone.utc


def _weekly_and_one_offs(tmp_path):
    """A venue's calendar export: a weekly rule since January 2024 plus one-offs over two years."""
    one_offs = [("gig-%d" % i, datetime.datetime(2024, 1, 10, 19) + datetime.timedelta(days=45 * i))
                for i in range(17)]  # 2024-01-10 ... 2025-12-20
    events = ["""UID:jam
DTSTART:20240101T180000Z
DTEND:20240101T200000Z
RRULE:FREQ=WEEKLY
SUMMARY:Monday jam
LOCATION:Bar"""]
    for uid, start in one_offs:
        events.append("UID:%s\nDTSTART:%s\nDTEND:%s\nSUMMARY:Gig %s\nLOCATION:Hall" % (
            uid, start.strftime("%Y%m%dT%H%M%SZ"), (start + datetime.timedelta(hours=2)).strftime("%Y%m%dT%H%M%SZ"),
            uid))
    return ics(tmp_path, *events, head="X-WR-TIMEZONE:Europe/Berlin\n"), one_offs


def test_one_off_events_over_two_years_are_all_kept(tmp_path):
    path, one_offs = _weekly_and_one_offs(tmp_path)
    n = importers.load(path)
    gigs = [e for e in n["events"] if e["title"].startswith("Gig")]
    assert len(gigs) == len(one_offs)
    jams = [e for e in n["events"] if e["title"] == "Monday jam"]
    first, last = ts(2024, 1, 15, 18), one_offs[-1][1].replace(tzinfo=UTC).timestamp()  # Mondays from the first gig on
    assert len(jams) == int((last - first) // (7 * 86400)) + 1  # every Monday of the span
    # the two Mondays before the first gig, and the rule going on after the last: one line, by title
    line = [w for w in n["warnings"] if "left out" in w]
    assert len(line) == 1 and "left out 2 events" in line[0] and "'Monday jam' (2, and repeats after)" in line[0], line


def _daily_standup(tmp_path):
    """A calendar of one endless daily rule and nothing else: it does not say when the festival is."""
    return ics(tmp_path, """UID:tick
DTSTART:20240701T100000Z
DURATION:PT30M
RRULE:FREQ=DAILY
SUMMARY:Daily standup
LOCATION:Room""", head="X-WR-TIMEZONE:UTC\n")


def test_only_recurring_events_need_the_span(tmp_path):
    path = _daily_standup(tmp_path)
    with pytest.raises(ScheduleImportError, match="--from.*--until"):
        importers.load(path)
    n = importers.load(path, span=(datetime.date(2024, 7, 1), datetime.date(2024, 7, 3)))
    assert [e["start"] for e in n["events"]] == [ts(2024, 7, d, 10) for d in (1, 2, 3)]


def test_events_outside_an_explicit_span_are_counted_and_named(tmp_path):
    path, one_offs = _weekly_and_one_offs(tmp_path)
    n = importers.load(path, span=(datetime.date(2024, 3, 1), datetime.date(2024, 3, 31)))
    assert all(ts(2024, 3, 1) <= e["start"] < ts(2024, 4, 1) + 86400 for e in n["events"])
    line = [w for w in n["warnings"] if "left out" in w]
    assert len(line) == 1, n["warnings"]
    assert not [e for e in n["events"] if e["title"].startswith("Gig")]  # no gig in March
    # 17 gigs and the 9 Mondays of January and February; the jam goes on after March
    assert "left out 26 events" in line[0] and "'Monday jam' (9, and repeats after)" in line[0], line
    assert "'Gig gig-0'" in line[0] and "and 13 more titles" in line[0], line


def test_ical_speakers_are_kept(tmp_path):
    n = importers.load(ics(tmp_path, """UID:a
DTSTART:20240701T120000Z
DTEND:20240701T130000Z
SUMMARY:Two speakers
ATTENDEE;CN=Ada Lovelace;ROLE=REQ-PARTICIPANT:mailto:ada@example.org
ATTENDEE;CN="Grace Hopper":mailto:grace@example.org
ATTENDEE;CUTYPE=ROOM;CN=Main hall:mailto:hall@example.org
LOCATION:Main""", """UID:b
DTSTART:20240701T140000Z
DTEND:20240701T150000Z
SUMMARY:Organised
ORGANIZER;CN=Katherine Johnson:mailto:kj@example.org
LOCATION:Main""", head="X-WR-TIMEZONE:Europe/Berlin\n"))
    assert [e["speakers"] for e in n["events"]] == [["Ada Lovelace", "Grace Hopper"], ["Katherine Johnson"]]


def test_ical_end_before_start_is_kept_and_named(tmp_path):
    n = importers.load(ics(tmp_path, """UID:a
DTSTART:20240701T100000Z
DTEND:20240701T090000Z
SUMMARY:Backwards talk
LOCATION:Main""", """UID:b
DTSTART:20240701T120000Z
DTEND:20240701T130000Z
SUMMARY:Fine
LOCATION:Main""", head="X-WR-TIMEZONE:Europe/Berlin\n"))
    back = [e for e in n["events"] if e["title"] == "Backwards talk"]
    assert len(back) == 1 and back[0]["end"] == back[0]["start"] == ts(2024, 7, 1, 10)
    assert any("ends before it starts" in w and "Backwards talk" in w for w in n["warnings"]), n["warnings"]


def test_frab_event_of_a_month_warns(tmp_path):
    p = tmp_path / "long.xml"
    p.write_text("""<?xml version="1.0"?><schedule><conference><title>Long</title><acronym>long</acronym>
<time_zone_name>Europe/Berlin</time_zone_name></conference>
<day index="1" date="2024-06-21"><room name="A">
<event id="1" guid="g1"><date>2024-06-21T10:00:00+02:00</date><start>10:00</start><duration>720:00</duration>
<room>A</room><title>Forever</title></event></room></day></schedule>""")
    n = importers.load(str(p))
    assert any("lasts over a day" in w and "Forever" in w and "30.0 days" in w for w in n["warnings"]), n["warnings"]


def test_import_command_takes_the_span(tmp_path):
    from pandascreen_host.cli import main
    path = _daily_standup(tmp_path)
    store, key = str(tmp_path / "f.db"), str(tmp_path / "o.key")
    assert main(["import", path, "--store", store, "--key", key]) == 2  # every event repeats: refused
    assert main(["import", path, "--store", store, "--key", key, "--from", "2024-07-01"]) == 2  # alone
    assert main(["import", path, "--store", store, "--key", key, "--from", "2024-07-01", "--until", "2024-07-03"]) == 0


def test_an_event_across_the_span_edge_is_counted_once(tmp_path):
    """An event belongs to the span its start is in: a night set from 23:00 on the span's last
    day to 01:00 after it is shown, and was also counted as left out; one from 23:00 the night
    before the first day is left out, and was counted twice."""
    path = ics(tmp_path, """UID:late
DTSTART:20240703T230000Z
DTEND:20240704T010000Z
SUMMARY:Late set
LOCATION:Hall""", """UID:early
DTSTART:20240630T230000Z
DTEND:20240701T010000Z
SUMMARY:Early set
LOCATION:Hall""", """UID:after
DTSTART:20240705T200000Z
DTEND:20240705T210000Z
SUMMARY:After party
LOCATION:Hall""", head="X-WR-TIMEZONE:UTC\n")
    n = importers.load(path, span=(datetime.date(2024, 7, 1), datetime.date(2024, 7, 3)))
    assert [e["title"] for e in n["events"]] == ["Late set"]
    line = [w for w in n["warnings"] if "left out" in w]
    assert len(line) == 1 and "left out 2 events " in line[0], line
    assert "'Early set'" in line[0] and "'Early set' (" not in line[0] and "'After party'" in line[0] and "Late set" not in line[0], line
