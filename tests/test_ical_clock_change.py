"""A calendar's events keep the times and lengths their entries say, across a clock change.

Google Calendar exports write UTC times (``...Z``) and name the calendar's zone in
``X-WR-TIMEZONE``.  Read through the recurrence library with that zone, the talks of the night
the clocks go back came out shifted: 00:30Z and 01:00Z both at 00:00Z (02:00 CEST)."""
import datetime

from pandascreen_host import importers

UTC = datetime.timezone.utc


def _calendar(tmp_path, zone_line):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "X-WR-CALNAME:DST"] + zone_line
    t = datetime.datetime(2031, 10, 25, 20, 0, tzinfo=UTC)  # the clocks go back at 01:00Z on the 26th
    n = 0
    while t < datetime.datetime(2031, 10, 26, 6, 0, tzinfo=UTC):
        e = t + datetime.timedelta(minutes=30)
        lines += ["BEGIN:VEVENT", "UID:d%d@t" % n, "DTSTART:" + t.strftime("%Y%m%dT%H%M%SZ"),
                  "DTEND:" + e.strftime("%Y%m%dT%H%M%SZ"), "SUMMARY:Talk %s" % t.strftime("%H%MZ"),
                  "LOCATION:Hall", "END:VEVENT"]
        t, n = e, n + 1
    path = tmp_path / "dst.ics"
    path.write_text("\r\n".join(lines + ["END:VCALENDAR"]) + "\r\n", encoding="utf-8")
    return str(path)


def _times(n):
    return sorted((e["title"], datetime.datetime.fromtimestamp(e["start"], UTC).strftime("%H%MZ"),
                   e["end"] - e["start"]) for e in n["events"])


def test_utc_talks_keep_their_times_across_the_clock_change_with_the_calendars_zone(tmp_path):
    n = importers.load(_calendar(tmp_path, ["X-WR-TIMEZONE:Europe/Berlin"]))
    assert n["festival"]["timezone"] == "Europe/Berlin"
    times = _times(n)
    assert len(times) == 20
    assert all(title == "Talk " + start and length == 1800 for title, start, length in times), times


def test_the_same_with_the_zone_given_by_flag(tmp_path):
    n = importers.load(_calendar(tmp_path, []), timezone="Europe/Berlin")
    times = _times(n)
    assert all(title == "Talk " + start and length == 1800 for title, start, length in times), times


def _series(tmp_path, lines):
    """A calendar with one repeating set (``lines``) and the festival's span around both of 2031's
    clock changes."""
    path = tmp_path / "series.ics"
    path.write_text("\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"] + lines
                                + ["SUMMARY:Night set", "LOCATION:Hall", "END:VEVENT", "END:VCALENDAR"]) + "\r\n",
                    encoding="utf-8")
    return importers.load(str(path), span=(datetime.date(2031, 3, 20), datetime.date(2031, 10, 31)))


def _lengths(n):
    return [(datetime.datetime.fromtimestamp(e["start"], UTC).strftime("%m-%d %H%MZ"), (e["end"] - e["start"]) // 60)
            for e in sorted(n["events"], key=lambda e: e["start"])]


def test_a_utc_series_keeps_its_length_the_night_the_clocks_go_back(tmp_path):
    """The recurrence library repeats a UTC series with the calendar's zone at the same local
    time; the night the clocks go back, its 02:30-03:00 set had run 90 minutes.  A DTEND's length
    is exact, the same for every occurrence (RFC 5545, 3.8.5.3)."""
    n = _series(tmp_path, ["X-WR-TIMEZONE:Europe/Berlin", "BEGIN:VEVENT", "UID:late@t", "DTSTART:20311024T003000Z",
                           "DTEND:20311024T010000Z", "RRULE:FREQ=DAILY;COUNT=4"])
    lengths = _lengths(n)
    assert len(lengths) == 4
    assert [minutes for _, minutes in lengths] == [30] * 4, lengths


def test_a_local_series_keeps_its_length_the_night_the_clocks_jump_forward(tmp_path):
    """02:00-03:00 Berlin daily: the night 02:00 does not exist, the set starts at 03:00 (and the
    importer says so); it had been made 0 minutes long, and warned as empty."""
    n = _series(tmp_path, ["BEGIN:VEVENT", "UID:night@t", "DTSTART;TZID=Europe/Berlin:20310328T020000",
                           "DTEND;TZID=Europe/Berlin:20310328T030000", "RRULE:FREQ=DAILY;COUNT=4"])
    lengths = _lengths(n)
    assert lengths == [("03-28 0100Z", 60), ("03-29 0100Z", 60), ("03-30 0100Z", 60), ("03-31 0000Z", 60)], lengths
    assert not [w for w in n["warnings"] if "zero duration" in w], n["warnings"]
    assert [w for w in n["warnings"] if "does not exist" in w], n["warnings"]


def test_a_moved_occurrence_keeps_its_own_length(tmp_path):
    """An occurrence the file moves (RECURRENCE-ID) keeps the times its own entry gives."""
    n = _series(tmp_path, ["BEGIN:VEVENT", "UID:s@t", "RECURRENCE-ID;TZID=Europe/Berlin:20310601T200000",
                           "DTSTART;TZID=Europe/Berlin:20310601T210000", "DTEND;TZID=Europe/Berlin:20310601T230000",
                           "SUMMARY:Moved", "LOCATION:Hall", "END:VEVENT",
                           "BEGIN:VEVENT", "UID:s@t", "DTSTART;TZID=Europe/Berlin:20310531T200000",
                           "DTEND;TZID=Europe/Berlin:20310531T203000", "RRULE:FREQ=DAILY;COUNT=3"])
    assert _lengths(n) == [("05-31 1800Z", 30), ("06-01 1900Z", 120), ("06-02 1800Z", 30)], _lengths(n)


def test_a_series_with_a_duration_of_hours_keeps_it(tmp_path):
    n = _series(tmp_path, ["X-WR-TIMEZONE:Europe/Berlin", "BEGIN:VEVENT", "UID:d@t", "DTSTART:20311025T000000Z",
                           "DURATION:PT45M", "RRULE:FREQ=DAILY;COUNT=3"])
    assert [minutes for _, minutes in _lengths(n)] == [45] * 3, _lengths(n)


def test_a_library_error_is_not_said_as_one_of_the_recurrence_library(tmp_path):
    """The importer's own refusal (no span) is said as it is, not wrapped as a recurrence error."""
    path = tmp_path / "only.ics"
    path.write_text("\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:x@t",
                                 "DTSTART:20311024T003000Z", "DTEND:20311024T010000Z", "RRULE:FREQ=DAILY",
                                 "SUMMARY:x", "END:VEVENT", "END:VCALENDAR"]) + "\r\n", encoding="utf-8")
    import pytest
    with pytest.raises(importers.ScheduleImportError) as e:
        importers.load(str(path))
    assert "cannot expand" not in str(e.value) and str(e.value).count(str(path)) == 1, str(e.value)
