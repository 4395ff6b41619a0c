"""A venue keeps its id from one import to the next: a screen at its entrance is provisioned with
that id (``--home-venue``), and every talk names it.  Ids come from names; a name with no Latin
letters (Большой зал) had taken an id by its place in the file ("room", "room-2"), so a venue
added above it gave its id to another hall, and a room renamed in the file lost its own."""

from pandascreen.core import operation
from pandascreen.core.schedule import Schedule
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host.cli import main

FESTIVAL = "ru"


def _ics(tmp_path, name, *events):
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nX-WR-CALNAME:Fest\nX-WR-TIMEZONE:Europe/Berlin\n"
    for uid, hour, room, title in events:
        body += ("BEGIN:VEVENT\nUID:%s\nDTSTART:20261207T%02d0000\nDTEND:20261207T%02d3000\nLOCATION:%s\n"
                 "SUMMARY:%s\nEND:VEVENT\n" % (uid, hour, hour, room, title))
    path = tmp_path / name
    path.write_bytes((body + "END:VCALENDAR\n").replace("\n", "\r\n").encode("utf-8"))
    return str(path)


def _import(path, db, capsys):
    code = main(["import", path, "--store", str(db), "--key", str(db) + ".key", "--festival-id", FESTIVAL])
    said = capsys.readouterr()
    assert code == 0, said.err
    return said.out + said.err


def _venues(db):
    """{venue name: id}, and {talk title: the name of its venue}."""
    store = SqliteStore(str(db))
    try:
        s = Schedule.from_store(store, operation.log_id_for_festival(FESTIVAL))
        names = dict((v.id, v.name) for v in s.venues())
        return dict((n, i) for i, n in names.items()), dict((e.title, names[e.venue]) for e in s.all_events())
    finally:
        store.close()


HALLS = [("r1", 9, "Большой зал", "Открытие"), ("r2", 10, "Малый зал", "Мастер-класс")]


def test_a_venue_added_above_others_takes_no_id_of_theirs(tmp_path, capsys):
    db = tmp_path / "f.db"
    _import(_ics(tmp_path, "a.ics", *HALLS), db, capsys)
    before, _ = _venues(db)
    said = _import(_ics(tmp_path, "b.ics", ("r0", 8, "Фойе", "Регистрация"), *HALLS), db, capsys)
    after, held = _venues(db)
    assert {n: after[n] for n in before} == before, (before, after)
    assert held == {"Регистрация": "Фойе", "Открытие": "Большой зал", "Мастер-класс": "Малый зал"}
    # the halls' order in the file changed (venue updates); no talk moved
    assert "1 venue create" in said and "event update" not in said, said
    again = _import(_ics(tmp_path, "b.ics", ("r0", 8, "Фойе", "Регистрация"), *HALLS), db, capsys)
    assert "-> no changes" in again and _venues(db)[0] == after, again


def test_a_name_without_latin_letters_gets_the_same_id_wherever_it_stands_in_the_file(tmp_path, capsys):
    first, second = tmp_path / "1.db", tmp_path / "2.db"
    _import(_ics(tmp_path, "a.ics", *HALLS), first, capsys)
    _import(_ics(tmp_path, "b.ics", *reversed(HALLS)), second, capsys)
    assert _venues(first)[0] == _venues(second)[0]


def test_a_room_renamed_in_the_file_keeps_its_id_and_its_talks_do_not_move(tmp_path, capsys):
    db = tmp_path / "f.db"
    talks = [("t1", 9, "Tent", "Opening"), ("t2", 11, "Tent", "Jam"), ("b1", 9, "Barn", "Dance")]
    _import(_ics(tmp_path, "a.ics", *talks), db, capsys)
    before, _ = _venues(db)
    renamed = [(u, h, "Zelt" if room == "Tent" else room, t) for u, h, room, t in talks]
    said = _import(_ics(tmp_path, "b.ics", *renamed), db, capsys)
    after, held = _venues(db)
    assert after == {"Zelt": before["Tent"], "Barn": before["Barn"]}, (before, after)
    assert held == {"Opening": "Zelt", "Jam": "Zelt", "Dance": "Barn"}
    assert "1 venue update" in said and "event update" not in said and "venue create" not in said, said
    assert "Tent is now called Zelt" in said, said
    again = _import(_ics(tmp_path, "b.ics", *renamed), db, capsys)  # what the last import recorded holds it too
    assert "-> no changes" in again and _venues(db)[0] == after, again
