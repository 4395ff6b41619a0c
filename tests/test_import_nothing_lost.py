"""What an organiser's file holds reaches the screens, and a damaged or wrong file takes nothing
away: a CSV cut short is refused as a cut XML or iCal file is, two calendar entries sharing a
UID are both kept, and an import that would delete most of the program is refused unless asked
for, also when ``serve --watch`` makes it."""
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


def test_a_csv_whose_last_row_lacks_columns_is_refused_as_cut_short(tmp_path):
    lines = _csv_text().rstrip("\r\n").split("\n")
    last = lines[-1]
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(lines[:-1] + [last[:last.rindex(",")]]) + "\n", encoding="utf-8", newline="")
    with pytest.raises(ScheduleImportError, match=r"line \d+ has 11 of the header's 12 columns"):
        importers.load(str(cut))


ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-CALNAME:Repro\r\nX-WR-TIMEZONE:Europe/Berlin\r\n"
       "%s"
       "END:VCALENDAR\r\n")
VEVENT = ("BEGIN:VEVENT\r\nUID:%s\r\nDTSTART;TZID=Europe/Berlin:20260710T%s00\r\nDTEND;TZID=Europe/Berlin:"
          "20260710T%s00\r\nSUMMARY:%s\r\nLOCATION:Tent\r\n%sEND:VEVENT\r\n")


def _ics(tmp_path, *events):
    path = tmp_path / "cal.ics"
    path.write_text(ICS % "".join(VEVENT % (e + ("",))[:5] for e in events), encoding="utf-8")
    return str(path)


def test_two_calendar_entries_sharing_a_uid_are_both_kept_and_said(tmp_path):
    n = importers.load(_ics(tmp_path, ("dup", "1400", "1500", "Talk A"), ("dup", "1600", "1700", "Talk B"),
                            ("solo", "1800", "1900", "Talk C")))
    assert sorted(e["title"] for e in n["events"]) == ["Talk A", "Talk B", "Talk C"]
    assert len({e["id"] for e in n["events"]}) == 3
    assert any("duplicate event id" in w and "Talk B" in w for w in n["warnings"]), n["warnings"]


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
