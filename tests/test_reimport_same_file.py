"""A file imported again, unchanged, changes nothing: not a time, not the festival's name.

The organiser re-imports whenever the export may have changed, and ``serve --watch`` re-imports
at every start: a re-import that reads the same file otherwise than the first import publishes
that difference to every screen.  Each made-up fixture (tests/fixtures) is imported and then
imported again, as the README says, with no flag but the store and the key."""
import datetime
import os
import zoneinfo

import pytest

from test_importers import FIXTURE_CASES, fixture

from pandascreen.core import operation
from pandascreen.core.schedule import Schedule
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host.cli import main


def _import(path, db, key, capsys, *extra):
    code = main(["import", str(path), "--store", str(db), "--key", str(key)] + list(extra))
    said = capsys.readouterr()
    assert code == 0, said.err
    return said.out + said.err


def _again_changes_nothing(path, tmp_path, capsys, *first_flags):
    db, key = tmp_path / "f.db", tmp_path / "org.key"
    _import(path, db, key, capsys, *first_flags)
    said = _import(path, db, key, capsys)
    assert "-> no changes" in said, said
    return db


@pytest.mark.parametrize("name,zone", [pytest.param(name, zone, id=name) for name, zone, _, _ in FIXTURE_CASES])
def test_each_fixture_imported_again_changes_nothing(name, zone, tmp_path, capsys):
    _again_changes_nothing(fixture(name), tmp_path, capsys, *(["--timezone", zone] if zone else []))


def test_a_frab_file_naming_its_zone_with_bogus_z_dates_is_read_alike_each_time(tmp_path, capsys):
    """Hand-made exports write the local wall-clock time with a 'Z'.  With the zone from the
    file, the first import read them as UTC and the next, with the zone the store held, as local
    time: every event moved by the zone's offset, two hours in a Berlin summer."""
    text = open(fixture("frab_bogus_z_no_guid.xml"), encoding="utf-8").read()
    path = tmp_path / "named_zone.xml"
    path.write_text(text.replace("<conference>", "<conference><time_zone_name>Europe/Berlin</time_zone_name>"),
                    encoding="utf-8")
    db = _again_changes_nothing(path, tmp_path, capsys)
    store = SqliteStore(str(db))
    try:
        sch = Schedule.from_store(store, operation.log_id_for_festival("2nd-sloth-hammock-day"))
        welcome = [e for e in sch.all_events() if e.title == "Welcome"][0]
        berlin = datetime.datetime(2031, 5, 22, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
        assert welcome.start == int(berlin.timestamp())  # as its <start> says, not 11:00
    finally:
        store.close()


def test_a_csv_whose_file_name_is_not_a_slug_keeps_the_festivals_name(tmp_path, capsys):
    """A voctosched CSV names no festival: its name is the file's.  The next import took the
    festival's id for its name ("GPN11 Programm" became "gpn11-programm") on every screen."""
    path = tmp_path / "GPN11 Programm.csv"
    path.write_bytes(open(fixture("voctosched_multiline.csv"), "rb").read())
    db = _again_changes_nothing(path, tmp_path, capsys)
    store = SqliteStore(str(db))
    try:
        sch = Schedule.from_store(store, operation.log_id_for_festival("gpn11-programm"))
        assert sch.festival["name"] == "GPN11 Programm"
    finally:
        store.close()


def test_the_message_of_a_zone_the_file_disagrees_with_names_no_flag_that_was_not_given(tmp_path, capsys):
    """The store holds the festival's zone; a file that names another one is read in the held
    zone.  The warning said "--timezone Europe/Berlin wins" to an organiser who typed no flag."""
    db, key = tmp_path / "f.db", tmp_path / "org.key"
    text = open(fixture("frab_fahrplan_tz.xml"), encoding="utf-8").read()
    assert "<time_zone_name>Europe/Berlin</time_zone_name>" in text
    _import(fixture("frab_fahrplan_tz.xml"), db, key, capsys)
    other = tmp_path / "other_zone.xml"
    other.write_text(text.replace("Europe/Berlin", "Asia/Kolkata"), encoding="utf-8")
    said = _import(other, db, key, capsys, "--dry-run")
    assert "--timezone Europe/Berlin" not in said
    assert "schedule says time zone Asia/Kolkata" in said and "Europe/Berlin" in said
    assert os.path.exists(db)


def test_a_csv_named_by_festival_id_keeps_that_name_also_from_a_file_downloaded_again(tmp_path, capsys):
    db, key = tmp_path / "f.db", tmp_path / "org.key"
    first = tmp_path / "gpn11.csv"
    first.write_bytes(open(fixture("voctosched_multiline.csv"), "rb").read())
    _import(first, db, key, capsys, "--festival-id", "GPN 11")
    again = tmp_path / "gpn11 (1).csv"
    again.write_bytes(first.read_bytes())
    assert "-> no changes" in _import(again, db, key, capsys)
    store = SqliteStore(str(db))
    try:
        assert Schedule.from_store(store, operation.log_id_for_festival("gpn-11")).festival["name"] == "GPN 11"
    finally:
        store.close()


@pytest.mark.parametrize("keep_edits", [False, True])
def test_a_talk_the_file_drops_is_deleted_without_a_conflict(tmp_path, capsys, keep_edits):
    """Nobody edited it: the record of the last import had no status where the store shows ""
    (as planned), and a talk the file dropped was said "edited since the last import"; with
    --keep-edits it then stayed on every screen."""
    text = open(fixture("frab_fahrplan_tz.xml"), encoding="utf-8").read()
    first = tmp_path / "first.xml"
    first.write_text(text, encoding="utf-8")
    start = text.index("<event ")
    dropped = tmp_path / "dropped.xml"
    dropped.write_text(text[:start] + text[text.index("</event>", start) + len("</event>"):], encoding="utf-8")
    db, key = tmp_path / "f.db", tmp_path / "org.key"
    _import(first, db, key, capsys)
    said = _import(dropped, db, key, capsys, *(["--keep-edits"] if keep_edits else []))
    assert "conflict" not in said and "1 event delete" in said, said


def test_an_organiser_key_others_may_read_is_said_and_never_printed(tmp_path, capsys):
    """The organiser key signs the whole program; one left readable by others (copied with the
    wrong umask, 0644) was used without a word, where a device key was warned about."""
    db, key = tmp_path / "f.db", tmp_path / "org.key"
    _import(fixture("frab_fahrplan_tz.xml"), db, key, capsys)
    os.chmod(key, 0o644)
    said = _import(fixture("frab_fahrplan_tz.xml"), db, key, capsys)
    line = "warning: organiser key %s is readable by other users; run: chmod 600 %s" % (key, key)
    assert line in said and key.read_bytes().hex() not in said, said


@pytest.mark.parametrize("wrong", ["missing.xml", "empty.xml", "page.html"])
def test_a_first_import_that_fails_leaves_no_store_behind(tmp_path, capsys, wrong):
    """A wrong file given to the first import was refused, and an empty 28 KB store was left
    where the organiser meant to make one."""
    (tmp_path / "empty.xml").write_text("")
    (tmp_path / "page.html").write_text("<!DOCTYPE html><html><body>Not Found</body></html>")
    db, key = tmp_path / "f.db", tmp_path / "org.key"
    assert main(["import", str(tmp_path / wrong), "--store", str(db), "--key", str(key)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"empty.xml", "page.html"}), list(tmp_path.iterdir())


def test_a_first_import_that_published_keeps_its_store_whatever_fails_after(tmp_path):
    """The output closing while "published ..." is written (a pipe into `head`) came after the
    commit: the store then held the program, and was removed with it."""
    import io
    from pandascreen_host import import_cmd
    from pandascreen_host.cli import build_parser

    class ClosedPipe(io.StringIO):
        def write(self, text):
            if text.startswith("published"):
                raise BrokenPipeError(32, "Broken pipe")
            return super().write(text)
    db, key = tmp_path / "f.db", tmp_path / "org.key"
    args = build_parser().parse_args(["import", fixture("frab_fahrplan_tz.xml"), "--store", str(db), "--key", str(key)])
    with pytest.raises(BrokenPipeError):
        import_cmd.run(args, out=ClosedPipe(), err=io.StringIO())
    assert db.exists()
    store = SqliteStore(str(db))
    try:
        assert store.count() > 0
    finally:
        store.close()
