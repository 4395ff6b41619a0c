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


def test_names_that_share_a_slug_get_the_same_ids_whatever_their_order():
    """"Зал 1" and "Аудитория 1" both slug to "1", "Hall" and "HALL" to "hall": the first in the
    file had taken the plain slug, so the other order gave each other's id."""
    rows = [("Зал 1", "A"), ("Аудитория 1", "B"), ("Hall", "C"), ("HALL", "D"), ("Stage", "E")]
    got = []
    for n in _in_both_orders(rows, with_ids=True):
        got.append(dict((v["name"], v["id"]) for v in n["venues"]))
        assert dict((e["title"], e["venue"]) for e in n["events"]) == dict((t, got[-1][room]) for room, t in rows)
    assert got[0] == got[1] and len(set(got[0].values())) == 5 and got[0]["Stage"] == "stage", got


def _in_both_orders(rows, with_ids):
    """``importers.load`` of a CSV of ``rows`` (room, title), in their order and reversed: talks at
    09:00, 10:00, ... (``with_ids``: each with its title as its id), else all at 10:00 with no id."""
    from pandascreen_host import importers
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for order in (rows, list(reversed(rows))):
            path = os.path.join(d, "f.csv")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("Date,Start,Duration,Room,%sTitle\n" % ("ID," if with_ids else ""))
                fh.writelines("2026-12-07,%02d:00,00:30,%s,%s%s\n" % (9 + i if with_ids else 10, room,
                                                                      t + "," if with_ids else "", t)
                              for i, (room, t) in enumerate(order))
            yield importers.load(path, timezone="Europe/Berlin")


def test_a_venue_named_as_another_venue_was_renamed_to_takes_an_id_of_its_own():
    """The last import recorded "Hall" as hall; the console has since renamed hall "Main Hall"; the
    file now has both "Hall" and a new "Main Hall": they were both given hall, one venue of two."""
    from pandascreen_host.import_venue_ids import keep_venue_ids
    base = {"venues": [{"id": "hall", "name": "Hall", "order": 1}], "events": [{"id": "t1", "venue": "hall"}]}
    current = {"venues": [{"id": "hall", "name": "Main Hall", "order": 1}], "events": [{"id": "t1", "venue": "hall"}]}
    new = {"venues": [{"id": "hall", "name": "Hall", "order": 1}, {"id": "main-hall", "name": "Main Hall", "order": 2}],
           "events": [{"id": "t1", "venue": "hall"}, {"id": "t2", "venue": "main-hall"}]}
    kept, _ = keep_venue_ids(new, base, current)
    ids = dict((v["name"], v["id"]) for v in kept["venues"])
    assert ids["Hall"] == "hall" and ids["Main Hall"] != "hall", ids
    assert dict((e["id"], e["venue"]) for e in kept["events"]) == {"t1": "hall", "t2": ids["Main Hall"]}


def test_rooms_whose_temporary_ids_meet_stay_apart_and_unnamed_talks_keep_their_ids_whatever_the_order():
    """"Зал", "Room 2", "Сцена": the third room's temporary id was "room-2", Room 2's slug, and the
    two rooms became one.  Talks without an id take one from their room and time: it had come from
    the temporary id, so it changed with the order of the rooms."""
    rows = [("Зал", "A"), ("Room 2", "B"), ("Сцена", "C"), ("Hall", "D"), ("Hall 2", "E"), ("HALL", "F")]
    ids = []
    for n in _in_both_orders(rows, with_ids=False):
        names = dict((v["id"], v["name"]) for v in n["venues"])
        assert len(names) == len(rows), names
        assert dict((e["title"], names[e["venue"]]) for e in n["events"]) == dict((t, room) for room, t in rows)
        ids.append(sorted((e["title"], e["id"], e["venue"]) for e in n["events"]))
    assert ids[0] == ids[1], ids
