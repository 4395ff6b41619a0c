"""A schedule that names no time zone is read as its times say, and the organiser is told in one
line what the screens will then show, so that no one finds out at the gate: times that are all
UTC (frab exports write local times with a bogus 'Z'), or UTC offsets that change within the
file (the clocks went back during the festival) where the screens can follow only one."""
from pandascreen_host import importers


def _frab(tmp_path, *events):
    days = "".join('<day date="%s" index="%d"><room name="Hall">'
                   '<event id="%d" guid="g%d"><title>Talk %d</title><date>%s</date><start>%s</start>'
                   '<duration>01:00</duration><room>Hall</room></event></room></day>'
                   % (date[:10], i + 1, i + 1, i + 1, i + 1, date, date[11:16]) for i, date in enumerate(events))
    path = tmp_path / "schedule.xml"
    path.write_text('<?xml version="1.0"?><schedule><conference><title>Camp</title><acronym>camp</acronym>'
                    '</conference>%s</schedule>' % days, encoding="utf-8")
    return str(path)


def _zone_lines(n):
    return [w for w in n["warnings"] if "time zone" in w]


def test_utc_dates_that_match_start_are_said_with_what_to_pass(tmp_path):
    n = importers.load(_frab(tmp_path, "2019-05-22T09:00:00Z", "2019-05-22T11:00:00Z"))
    lines = _zone_lines(n)
    assert len(lines) == 1 and "UTC" in lines[0] and "--timezone" in lines[0], n["warnings"]
    assert n["festival"]["timezone"] == "" and n["festival"]["utc_offset"] == 0
    assert any("2 <date> values end in 'Z' and match <start>" in w for w in n["warnings"]), n["warnings"]


def test_offsets_that_change_within_the_file_are_named(tmp_path):
    n = importers.load(_frab(tmp_path, "2026-10-24T14:00:00+02:00", "2026-10-25T14:00:00+01:00"))
    lines = _zone_lines(n)
    assert len(lines) == 1 and "+02:00" in lines[0] and "+01:00" in lines[0] and "--timezone" in lines[0], lines


def test_one_offset_throughout_is_no_doubt(tmp_path):
    n = importers.load(_frab(tmp_path, "2026-07-24T14:00:00+02:00", "2026-07-25T14:00:00+02:00"))
    assert _zone_lines(n) == [] and n["festival"]["utc_offset"] == 120


def test_a_calendar_of_utc_times_is_said_once(tmp_path):
    path = tmp_path / "cal.ics"
    path.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\n"
                    "DTSTART:20260724T120000Z\r\nDTEND:20260724T130000Z\r\nSUMMARY:Talk\r\nLOCATION:Hall\r\n"
                    "END:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    lines = _zone_lines(importers.load(str(path)))
    assert len(lines) == 1 and "every time is UTC" in lines[0], lines


def test_a_calendar_whose_events_are_all_in_another_zone_than_its_own_says_so(tmp_path):
    """A Google calendar kept in Berlin for an event in Toronto: every time is Toronto's, the
    calendar's zone Berlin's.  The screens show Berlin time; the organiser is told, with the flag
    that shows Toronto's."""
    path = tmp_path / "toronto.ics"
    path.write_text("\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x", "X-WR-TIMEZONE:Europe/Berlin",
        "BEGIN:VEVENT", "UID:t1", "DTSTART;TZID=America/Toronto:20260718T100000",
        "DTEND;TZID=America/Toronto:20260718T110000", "SUMMARY:Keynote", "LOCATION:Hall", "END:VEVENT",
        "END:VCALENDAR"]) + "\r\n", encoding="utf-8")
    n = importers.load(str(path))
    lines = _zone_lines(n)
    assert len(lines) == 1 and "America/Toronto" in lines[0] and "--timezone America/Toronto" in lines[0], lines
    assert n["festival"]["timezone"] == "Europe/Berlin"
    assert _zone_lines(importers.load(str(path), timezone="America/Toronto")) == []
