"""What an organiser's file holds reaches the screens, and a damaged or wrong file takes nothing
away: a CSV cut short is refused as a cut XML or iCal file is, calendar entries sharing a UID
are said (RFC 5545 makes them one event), and an import that would delete most of the program
is refused unless asked for, also when ``serve --watch`` makes it."""
import io
import os

import pytest

from test_importers import fixture

from pandascreen_host import importers
from pandascreen_host.cli import main
from pandascreen_host.importers import ScheduleImportError

CSV = fixture("voctosched_multiline.csv")


def _csv_text():
    with open(CSV, encoding="utf-8", newline="") as fh:
        return fh.read()


def test_a_csv_cut_inside_a_quoted_field_is_refused_as_cut_short(tmp_path):
    text = _csv_text()
    quote = text.index('"', text.index("\n"))  # the first quoted field after the header
    cut = tmp_path / "cut.csv"
    cut.write_text(text[:quote + 3], encoding="utf-8", newline="")
    with pytest.raises(ScheduleImportError, match="cut short: is the download complete"):
        importers.load(str(cut))


ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-CALNAME:Repro\r\nX-WR-TIMEZONE:Europe/Berlin\r\n"
       "%s"
       "END:VCALENDAR\r\n")


def _imported(tmp_path, capsys, path, *extra):
    code = main(["import", path, "--store", str(tmp_path / "f.db"), "--key", str(tmp_path / "org.key")] + list(extra))
    said = capsys.readouterr()
    return code, said.out + said.err


def _events(tmp_path):
    from pandascreen.core import operation
    from pandascreen.core.schedule import Schedule
    from pandascreen.node.sqlite_store import SqliteStore
    store = SqliteStore(str(tmp_path / "f.db"))
    try:
        return len(Schedule.from_store(store, operation.log_id_for_festival("pf31")).all_events())
    finally:
        store.close()


def _without_first_day(path):
    text = open(path, encoding="utf-8").read()
    return text[:text.index('<day index="1"')] + text[text.index('<day index="2"'):]


def test_an_import_that_would_delete_most_of_the_program_is_refused_unless_asked(tmp_path, capsys):
    """The wrong export (another festival's, or half a file) re-imported over a festival deleted
    all of it, with exit 0, and serve pushes that to every screen."""
    big, small = fixture("frab_multisource_merged.xml"), tmp_path / "small.xml"
    small.write_text(_without_first_day(big), encoding="utf-8")
    assert _imported(tmp_path, capsys, big)[0] == 0
    before = _events(tmp_path)
    kept = len(importers.load(str(small), festival_id="pf31")["events"])
    assert (before - kept) * 2 > before and before - kept >= 3  # most of the program would go
    code, said = _imported(tmp_path, capsys, str(small), "--dry-run")
    assert code == 0 and "would be refused" in said and "--allow-deletes" in said
    code, said = _imported(tmp_path, capsys, str(small))
    assert code == 2 and "error:" in said and "deletes %d of the festival's %d events" % (before - kept, before) in said
    assert "--allow-deletes" in said and "Traceback" not in said
    assert _events(tmp_path) == before
    code, said = _imported(tmp_path, capsys, str(small), "--allow-deletes")
    assert code == 0, said
    assert _events(tmp_path) == kept


def test_serve_keeps_the_program_when_its_watched_file_would_delete_most_of_it(tmp_path, capsys):
    import argparse

    from pandascreen_host import serve
    big = fixture("frab_multisource_merged.xml")
    assert _imported(tmp_path, capsys, big)[0] == 0
    before = _events(tmp_path)
    watched = tmp_path / "watched.xml"
    watched.write_text(_without_first_day(big), encoding="utf-8")
    args = argparse.Namespace(watch=str(watched), key=str(tmp_path / "org.key"), store=str(tmp_path / "f.db"),
                              festival_id=None, timezone=None, span_from=None, span_until=None, new_festival=False,
                              keep_edits=False, allow_deletes=False)
    err = io.StringIO()
    with pytest.raises(Exception, match="--allow-deletes"):
        serve._import(args, args.watch, io.StringIO(), err)
    assert _events(tmp_path) == before
    assert os.path.exists(watched)


# -- what a calendar's shared UIDs mean: one event (RFC 5545), its newest revision shown, the rest said

def _uid_calendar(tmp_path, *entries):
    """Entries (uid, start HHMM, title, extra lines) on 2031-07-10 in Berlin, an hour each."""
    vevents = "".join("BEGIN:VEVENT\r\nUID:%s\r\nDTSTART;TZID=Europe/Berlin:20310710T%s00\r\nDTEND;TZID=Europe/Berlin:"
                      "20310710T%02d%s00\r\nSUMMARY:%s\r\nLOCATION:Tent\r\n%sEND:VEVENT\r\n"
                      % (uid, start, int(start[:2]) + 1, start[2:], title, extra) for uid, start, title, extra in entries)
    path = tmp_path / "uids.ics"
    path.write_text(ICS % vevents, encoding="utf-8")
    return str(path)


def _local(n):
    import datetime
    import zoneinfo
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    return sorted((e["title"], datetime.datetime.fromtimestamp(e["start"], berlin).strftime("%H:%M")) for e in n["events"])


def test_a_real_uid_that_looks_numbered_keeps_its_talk_and_its_time(tmp_path):
    n = importers.load(_uid_calendar(tmp_path, ("talk", "1200", "A", ""), ("talk", "1400", "B copy", ""),
                                     ("talk-2", "1000", "Real talk-2", "")))
    assert ("Real talk-2", "10:00") in _local(n)


def test_an_updated_entry_listed_with_its_older_revision_is_shown_once_at_its_new_time(tmp_path):
    n = importers.load(_uid_calendar(tmp_path, ("k42", "1000", "Keynote", "SEQUENCE:0\r\n"),
                                     ("k42", "1100", "Keynote", "SEQUENCE:1\r\n"), ("other", "1400", "Other", "")))
    assert _local(n) == [("Keynote", "11:00"), ("Other", "14:00")]


def test_entries_sharing_a_uid_are_said_not_dropped_silently(tmp_path):
    n = importers.load(_uid_calendar(tmp_path, ("dup", "1400", "Talk A", ""), ("dup", "1600", "Talk B", ""),
                                     ("solo", "1800", "Talk C", "")))
    assert len([e for e in n["events"] if e["title"] in ("Talk A", "Talk B")]) == 1  # one event, as RFC 5545 says
    said = [w for w in n["warnings"] if "share a UID" in w]
    assert len(said) == 1 and "'Talk A'" in said[0] and "'Talk B'" in said[0], n["warnings"]


def test_a_one_off_and_a_series_sharing_a_uid_are_said_and_nothing_lands_on_another_ones_time(tmp_path):
    vevents = ("BEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Europe/Berlin:20310710T090000\r\nDTEND;TZID=Europe/Berlin:"
               "20310710T093000\r\nSUMMARY:Opening\r\nLOCATION:Tent\r\nEND:VEVENT\r\n"
               "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Europe/Berlin:20310710T120000\r\nDTEND;TZID=Europe/Berlin:"
               "20310710T130000\r\nRRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:Lunch talk\r\nLOCATION:Tent\r\nEND:VEVENT\r\n"
               "BEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID;TZID=Europe/Berlin:20310711T120000\r\nDTSTART;TZID=Europe/"
               "Berlin:20310711T150000\r\nDTEND;TZID=Europe/Berlin:20310711T160000\r\nSUMMARY:Lunch talk (moved)\r\n"
               "LOCATION:Tent\r\nEND:VEVENT\r\n")
    path = tmp_path / "series.ics"
    path.write_text(ICS % vevents, encoding="utf-8")
    import datetime
    import zoneinfo
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    n = importers.load(str(path))
    starts = [(e["title"], datetime.datetime.fromtimestamp(e["start"], berlin).strftime("%m-%d %H:%M"))
              for e in n["events"]]
    assert ("Lunch talk (moved)", "07-10 09:00") not in starts  # nothing lands on another entry's time
    said = [w for w in n["warnings"] if "share a UID" in w]
    assert len(said) == 1 and "'Opening'" in said[0] and "'Lunch talk'" in said[0], n["warnings"]


def test_durations_are_read_as_the_calendar_says_and_a_negative_one_imports(tmp_path):
    """DURATION:P1D is one calendar day (25 h over the night the clocks go back), P2D of an
    all-day event two days, and an event whose DURATION is negative is kept at its start."""
    import datetime
    import zoneinfo
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    vevents = ("BEGIN:VEVENT\r\nUID:neg\r\nDTSTART;TZID=Europe/Berlin:20311025T100000\r\nDURATION:-PT1H\r\n"
               "SUMMARY:Negative\r\nLOCATION:Tent\r\nEND:VEVENT\r\n"
               "BEGIN:VEVENT\r\nUID:day\r\nDTSTART;TZID=Europe/Berlin:20311025T120000\r\nDURATION:P1D\r\n"
               "SUMMARY:Camp day\r\nLOCATION:Field\r\nEND:VEVENT\r\n"
               "BEGIN:VEVENT\r\nUID:allday\r\nDTSTART;VALUE=DATE:20311025\r\nDURATION:P2D\r\n"
               "SUMMARY:Two days\r\nLOCATION:Field\r\nEND:VEVENT\r\n")
    path = tmp_path / "durations.ics"
    path.write_text((ICS % vevents).replace("X-WR-TIMEZONE:Europe/Berlin\r\n", "X-WR-TIMEZONE:Europe/Berlin\r\n"),
                    encoding="utf-8")
    n = importers.load(str(path))
    end = dict((e["title"], datetime.datetime.fromtimestamp(e["end"], berlin).strftime("%m-%d %H:%M")) for e in n["events"])
    assert end == {"Negative": "10-25 10:00", "Camp day": "10-26 12:00", "Two days": "10-27 00:00"}, end


def test_floating_times_of_one_offs_and_series_are_read_in_one_zone(tmp_path):
    vevents = ("BEGIN:VEVENT\r\nUID:one\r\nDTSTART:20310710T100000\r\nDTEND:20310710T110000\r\nSUMMARY:One-off\r\n"
               "LOCATION:Tent\r\nEND:VEVENT\r\n"
               "BEGIN:VEVENT\r\nUID:daily\r\nDTSTART:20310710T100000\r\nDTEND:20310710T110000\r\n"
               "RRULE:FREQ=DAILY;COUNT=2\r\nSUMMARY:Daily\r\nLOCATION:Stage\r\nEND:VEVENT\r\n")
    path = tmp_path / "floating.ics"
    path.write_text((ICS % vevents).replace("Europe/Berlin", "Europe/London"), encoding="utf-8")
    n = importers.load(str(path), timezone="Europe/Berlin")
    firsts = dict((e["title"], e["start"]) for e in sorted(n["events"], key=lambda e: -e["start"]))
    assert firsts["One-off"] == firsts["Daily"], firsts


def test_a_csv_whose_rows_leave_out_empty_trailing_columns_imports(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text("Room,Date,Day,Start,Duration,Title,ID,Abstract,Description,Language,Speakers,File URL,\n"
                    "Tent,2031-07-10,1,10:00,1:00,Opening,1,,,en,Alice\n"
                    "Tent,2031-07-10,1,11:00,1:00,Talk,2\n"
                    "Tent,2031-07-10,1,12:00,1:00,Lunch\n", encoding="utf-8")
    n = importers.load(str(path))
    assert sorted(e["title"] for e in n["events"]) == ["Lunch", "Opening", "Talk"]
    short = tmp_path / "short.csv"
    short.write_text("Room,Date,Day,Start,Duration,Title\nTent,2031-07-10,1,10:00\n", encoding="utf-8")
    with pytest.raises(ScheduleImportError, match="lacks the column"):
        importers.load(str(short))


def test_a_calendar_name_with_escapes_is_read_as_text(tmp_path):
    """X-WR-CALNAME is not a property icalendar knows, so its escapes came through as written:
    a calendar called "Odd\\nFest\\, really" was shown so on every screen."""
    path = tmp_path / "named.ics"
    path.write_text((ICS % ("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20310710T100000Z\r\nDTEND:20310710T110000Z\r\n"
                            "SUMMARY:Talk\r\nLOCATION:Tent\r\nEND:VEVENT\r\n")).replace(
        "X-WR-CALNAME:Repro", "X-WR-CALNAME:Odd\\nFest\\, really\\; truly \\\\o/"), encoding="utf-8")
    assert importers.load(str(path))["festival"]["name"] == "Odd Fest, really; truly \\o/"
