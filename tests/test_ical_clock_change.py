"""A calendar's one-off events keep the times their DTSTART and DTEND say, across a clock change.

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
