"""A local time that does not exist (the hour the clocks jump forward) is read an hour later, as
zoneinfo reads it, and said: it moved a set onto the next one without a word, where the console
refuses the same time.  And the left-out line counts what it says it counts."""
import datetime
import zoneinfo

from pandascreen_host import importers
from test_importers import fixture, ics

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _frab_with_a_set_at(tmp_path, hhmm):
    text = open(fixture("frab_no_guid_no_date.xml"), encoding="utf-8").read()
    # 2031-03-30: the clocks jump from 02:00 to 03:00 in Brussels and Berlin
    text = text.replace('<day index="1" date="2031-02-08">', '<day index="1" date="2031-03-30">')
    text = text.replace("<start>09:00</start>", "<start>%s</start>" % hhmm, 1)
    path = tmp_path / "gap.xml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _jumped(n):
    return [w for w in n["warnings"] if "does not exist" in w]


def test_a_frab_set_in_the_hour_the_clocks_jump_forward_is_said(tmp_path):
    n = importers.load(_frab_with_a_set_at(tmp_path, "02:15"), timezone="Europe/Berlin")
    moved = [e for e in n["events"] if datetime.datetime.fromtimestamp(e["start"], BERLIN).strftime("%H:%M") == "03:15"]
    assert len(moved) == 1
    said = _jumped(n)
    assert len(said) == 1 and "02:15" in said[0] and "03:15" in said[0], n["warnings"]
    assert _jumped(importers.load(_frab_with_a_set_at(tmp_path, "01:45"), timezone="Europe/Berlin")) == []


def test_a_calendar_entry_in_the_hour_the_clocks_jump_forward_is_said(tmp_path):
    path = ics(tmp_path, """UID:gap
DTSTART;TZID=Europe/Berlin:20310330T023000
DTEND;TZID=Europe/Berlin:20310330T033000
SUMMARY:Gap set
LOCATION:Stage""", """UID:fine
DTSTART;TZID=Europe/Berlin:20310330T040000
DTEND;TZID=Europe/Berlin:20310330T050000
SUMMARY:Fine set
LOCATION:Stage""", head="X-WR-TIMEZONE:Europe/Berlin\n")
    n = importers.load(path)
    said = _jumped(n)
    assert len(said) == 1 and "Gap set" in said[0] and "02:30" in said[0], n["warnings"]


def test_the_left_out_line_does_not_say_0_events_of_a_rule_that_repeats_after_the_span(tmp_path):
    path = ics(tmp_path, """UID:one
DTSTART:20310710T140000Z
DTEND:20310710T150000Z
SUMMARY:Talk
LOCATION:Tent""", """UID:yoga
DTSTART:20310710T070000Z
DTEND:20310710T080000Z
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Morning yoga
LOCATION:Meadow""", head="X-WR-TIMEZONE:Europe/Berlin\n")
    n = importers.load(path)
    line = [w for w in n["warnings"] if "left out" in w]
    assert len(line) == 1 and "left out 0" not in line[0], line
    assert "repeats of 1 recurring event" in line[0] and "'Morning yoga'" in line[0], line


def test_a_skipped_day_is_said_with_the_date_the_time_is_read_on(tmp_path):
    """Samoa skipped 2011-12-30: 10:00 that day is read on the 31st, which the warning must say."""
    path = ics(tmp_path, """UID:apia
DTSTART;TZID=Pacific/Apia:20111230T100000
DTEND;TZID=Pacific/Apia:20111230T110000
SUMMARY:Skipped
LOCATION:Fale""", """UID:next
DTSTART;TZID=Pacific/Apia:20111231T150000
DTEND;TZID=Pacific/Apia:20111231T160000
SUMMARY:Next
LOCATION:Fale""", head="X-WR-TIMEZONE:Pacific/Apia\n")
    said = _jumped(importers.load(path))
    assert len(said) == 1 and "2011-12-30 10:00 read as 2011-12-31 10:00" in said[0], said


def test_a_csv_set_in_the_hour_that_happens_twice_is_said(tmp_path):
    """02:30 the night the clocks go back happens twice; it was read as the first (summer time)
    without a word, where the hour the clocks skip is said."""
    path = tmp_path / "night.csv"
    path.write_text("Room,Date,Start,Duration,Title\nHall,2031-10-26,01:30,00:30,Early set\n"
                    "Hall,2031-10-26,02:30,00:30,Twice set\n", encoding="utf-8")
    n = importers.load(str(path), timezone="Europe/Berlin")
    said = [w for w in n["warnings"] if "happens twice" in w]
    assert len(said) == 1 and "Twice set" in said[0] and "02:30" in said[0] and "+02:00" in said[0], n["warnings"]
    twice = [e for e in n["events"] if e["title"] == "Twice set"][0]
    assert datetime.datetime.fromtimestamp(twice["start"], datetime.timezone.utc).strftime("%H:%M") == "00:30"
