"""A festival's identity is stable across re-imports, an import is all or nothing, and a
re-import never undoes an edit made outside the file (the console, another organiser)."""
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pandascreen.core import operation, schema
from pandascreen.core.schedule import Schedule
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host import import_cmd
from pandascreen_host.cli import main
from test_importers import ics

FLOATING = """UID:%s
DTSTART:20240701T%02d0000
DTEND:20240701T%02d3000
SUMMARY:%s
LOCATION:Main"""


def _cal(tmp_path, titles, name="Test Fest", zone_head=""):
    events = [FLOATING % (uid, 10 + i, 10 + i, t) for i, (uid, t) in enumerate(sorted(titles.items()))]
    p = ics(tmp_path, *events, head=zone_head)
    if name != "Test Fest":
        data = open(p, "rb").read().replace(b"X-WR-CALNAME:Test Fest", b"X-WR-CALNAME:" + name.encode())
        open(p, "wb").write(data)
    return p


def _schedule(db, fid="test-fest"):
    s = SqliteStore(db)
    try:
        return Schedule.from_store(s, operation.log_id_for_festival(fid))
    finally:
        s.close()


def _titles(db, fid="test-fest"):
    return dict((e.id, e.title) for e in _schedule(db, fid).all_events())


@pytest.fixture
def paths(tmp_path):
    return str(tmp_path / "f.db"), str(tmp_path / "o.key")


def test_renamed_calendar_keeps_the_festival_and_its_zone(tmp_path, paths, capsys):
    db, key = paths
    path = _cal(tmp_path, {"a": "Talk A"})
    assert main(["import", path, "--store", db, "--key", key, "--timezone", "Europe/Berlin"]) == 0
    renamed = _cal(tmp_path, {"a": "Talk A"}, name="Test Fest 2025")
    capsys.readouterr()
    # no --timezone this time: the festival's zone is remembered, its id kept, only the name changes
    assert main(["import", renamed, "--store", db, "--key", key]) == 0
    out = capsys.readouterr().out
    assert "festival 'test-fest'" in out and "1 festival update" in out, out
    fest = _schedule(db).festival
    assert fest["timezone"] == "Europe/Berlin" and fest["name"] == "Test Fest 2025"
    assert fest["utc_offset"] == 120


def test_another_festival_id_or_zone_needs_a_flag(tmp_path, paths, capsys):
    db, key = paths
    path = _cal(tmp_path, {"a": "Talk A"})
    assert main(["import", path, "--store", db, "--key", key, "--timezone", "Europe/Berlin"]) == 0
    before = SqliteStore(db).count()
    capsys.readouterr()
    assert main(["import", path, "--store", db, "--key", key, "--festival-id", "test-fset"]) == 2
    err = capsys.readouterr().err
    assert "'test-fest'" in err and "--new-festival" in err and len(err.strip().splitlines()) == 1, err
    assert main(["import", path, "--store", db, "--key", key, "--timezone", "Europe/Lisbon"]) == 0
    assert "time zone changes from Europe/Berlin to Europe/Lisbon" in capsys.readouterr().out
    assert SqliteStore(db).count() == before + 2  # the zone, and the floating times read in it
    assert main(["import", path, "--store", db, "--key", key, "--festival-id", "other", "--new-festival",
                 "--timezone", "UTC"]) == 0
    assert _titles(db, "other") == {"a": "Talk A"}


def test_a_typo_in_the_key_is_refused_and_makes_no_key(tmp_path, paths, capsys):
    db, key = paths
    path = _cal(tmp_path, {"a": "Talk A"}, zone_head="X-WR-TIMEZONE:UTC\n")
    assert main(["import", path, "--store", db, "--key", key]) == 0
    before = SqliteStore(db).count()
    capsys.readouterr()
    typo = key + "x"
    assert main(["import", path, "--store", db, "--key", typo]) == 2
    err = capsys.readouterr().err
    assert "no key at" in err and "test-fest" in err and "Traceback" not in err, err
    assert not os.path.exists(typo) and SqliteStore(db).count() == before
    other = str(tmp_path / "other.key")
    open(other, "wb").write(os.urandom(32))
    assert main(["import", path, "--store", db, "--key", other]) == 2
    assert "signed by another key" in capsys.readouterr().err
    assert SqliteStore(db).count() == before


def test_serve_and_group_refuse_a_festival_the_store_does_not_hold(tmp_path, paths, capsys):
    db, key = paths
    path = _cal(tmp_path, {"a": "Talk A"}, zone_head="X-WR-TIMEZONE:UTC\n")
    assert main(["import", path, "--store", db, "--key", key]) == 0
    capsys.readouterr()
    assert main(["serve", "--store", db, "--key", key, "--festival-id", "test-fset", "--no-mdns",
                 "--listen", "127.0.0.1:0"]) == 2
    err = capsys.readouterr().err
    assert "holds no festival 'test-fset'" in err and "test-fest" in err, err
    assert main(["group", "show", "--festival-id", "test-fset", "--store", db, "--key", key]) == 2
    assert "holds no festival 'test-fset'" in capsys.readouterr().err


def test_an_interrupted_import_publishes_nothing_and_a_rerun_completes(tmp_path, paths, monkeypatch, capsys):
    db, key = paths
    titles = dict(("e%03d" % i, "Talk %d" % i) for i in range(12))
    path = _cal(tmp_path, titles, zone_head="X-WR-TIMEZONE:UTC\n")
    monkeypatch.setattr(import_cmd, "BATCH", 4)
    real = SqliteStore.publish_many
    calls = []

    def interrupted(self, *a, **kw):
        progress = kw.pop("progress", None)

        def after_each(done):
            calls.append(done)
            if progress:
                progress(done)
            if len(calls) == 2:
                raise KeyboardInterrupt
        return real(self, *a, progress=after_each, **kw)
    monkeypatch.setattr(SqliteStore, "publish_many", interrupted)
    assert main(["import", path, "--store", db, "--key", key]) == 130
    assert "interrupted: nothing was published" in capsys.readouterr().err
    assert SqliteStore(db).count() == 0  # two batches were signed, none is published
    monkeypatch.setattr(SqliteStore, "publish_many", real)
    assert main(["import", path, "--store", db, "--key", key]) == 0
    assert _titles(db) == titles


def _console_retitle(db, key, event_id, title):
    from pandascreen_host.console import edits
    seed = open(key, "rb").read()
    s = SqliteStore(db)
    try:
        log_id = operation.log_id_for_festival("test-fest")
        edits.publish(s, seed, log_id, Schedule.from_store(s, log_id), {"action": "retitle", "id": event_id,
                                                                          "title": title})
    finally:
        s.close()


def test_a_console_edit_survives_a_reimport_and_a_conflict_is_told(tmp_path, paths, capsys):
    db, key = paths
    path = _cal(tmp_path, {"a": "Talk A", "b": "Talk B"}, zone_head="X-WR-TIMEZONE:UTC\n")
    assert main(["import", path, "--store", db, "--key", key]) == 0
    _console_retitle(db, key, "a", "Talk A (room change!)")
    assert main(["import", path, "--store", db, "--key", key]) == 0  # the file did not change 'a'
    assert _titles(db)["a"] == "Talk A (room change!)"
    path = _cal(tmp_path, {"a": "Talk A", "b": "Talk B, longer"}, zone_head="X-WR-TIMEZONE:UTC\n")
    assert main(["import", path, "--store", db, "--key", key]) == 0  # the file changed only 'b'
    assert _titles(db) == {"a": "Talk A (room change!)", "b": "Talk B, longer"}
    # both changed 'a': told which event and which side won; --keep-edits keeps the other side
    path = _cal(tmp_path, {"a": "Talk A: the sequel", "b": "Talk B, longer"}, zone_head="X-WR-TIMEZONE:UTC\n")
    capsys.readouterr()
    assert main(["import", path, "--store", db, "--key", key, "--keep-edits", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "conflict" in err and "'Talk A (room change!)'" in err and "kept" in err, err
    assert main(["import", path, "--store", db, "--key", key]) == 0
    err = capsys.readouterr().err
    assert "conflict" in err and "'Talk A: the sequel'" in err and "--keep-edits" in err, err
    assert _titles(db)["a"] == "Talk A: the sequel"


def test_a_console_move_in_local_time_survives_a_reimport_that_left_the_time_alone(tmp_path, paths):
    """A move typed as local HH:MM in the console publishes the times only; a re-import of the
    file keeps them and still brings the file's own changes (its new title)."""
    from pandascreen.core import layout
    from pandascreen_host.console import edits
    db, key = paths
    path = _cal(tmp_path, {"a": "Talk A", "b": "Talk B"}, zone_head="X-WR-TIMEZONE:Europe/Berlin\n")
    assert main(["import", path, "--store", db, "--key", key]) == 0
    s = SqliteStore(db)
    try:
        log_id = operation.log_id_for_festival("test-fest")
        body = edits.publish(s, open(key, "rb").read(), log_id, Schedule.from_store(s, log_id),
                             {"action": "move", "id": "a", "start": "21:15", "end": "21:45"})
    finally:
        s.close()
    assert sorted(schema.parse_body(body)["fields"]) == ["end", "start"]

    def times(sched):
        ev = [e for e in sched.all_events() if e.id == "a"][0]
        return layout.hhmm(ev.start, sched.zone()), layout.hhmm(ev.end, sched.zone())
    assert times(_schedule(db)) == ("21:15", "21:45")
    path = _cal(tmp_path, {"a": "Talk A, retitled", "b": "Talk B"}, zone_head="X-WR-TIMEZONE:Europe/Berlin\n")
    assert main(["import", path, "--store", db, "--key", key]) == 0
    assert times(_schedule(db)) == ("21:15", "21:45") and _titles(db)["a"] == "Talk A, retitled"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["file", "edit", "import"]), st.sampled_from("abc"),
                          st.sampled_from(["x", "y", "z"])), min_size=1, max_size=8))
def test_random_edits_and_reimports_follow_the_rule(tmp_path_factory, steps):
    """The rule: a re-import changes a field only where the file changed it since the last import
    (the file wins a real conflict); every other edit stays."""
    tmp = tmp_path_factory.mktemp("w")
    db, key = str(tmp / "f.db"), str(tmp / "o.key")
    file = {"a": "A", "b": "B", "c": "C"}
    path = _cal(tmp, file, zone_head="X-WR-TIMEZONE:UTC\n")
    assert main(["import", path, "--store", db, "--key", key]) == 0
    imported, shown = dict(file), dict(file)
    for what, event, title in steps:
        if what == "file":
            file[event] = "%s %s" % (event.upper(), title)
        elif what == "edit":
            _console_retitle(db, key, event, "edit %s" % title)
            shown[event] = "edit %s" % title
        else:
            path = _cal(tmp, file, zone_head="X-WR-TIMEZONE:UTC\n")
            assert main(["import", path, "--store", db, "--key", key]) == 0
            for e in file:
                if file[e] != imported[e]:
                    shown[e] = file[e]
            imported = dict(file)
        assert _titles(db) == shown, (steps, what, event)


def _cal_with_status(tmp_path, statuses):
    events = [(FLOATING % (uid, 10 + i, 10 + i, "Talk " + uid.upper())) + ("\nSTATUS:%s" % st if st else "")
              for i, (uid, st) in enumerate(sorted(statuses.items()))]
    return ics(tmp_path, *events, head="X-WR-TIMEZONE:UTC\n")


def _statuses(db):
    return dict((e.id, e.status) for e in _schedule(db).all_events())


def test_a_calendar_entry_cancelled_is_shown_cancelled_and_one_set_back_is_shown_again(tmp_path, paths):
    """STATUS:CANCELLED was never read: a talk its calendar cancelled was shown as on."""
    db, key = paths
    assert main(["import", _cal_with_status(tmp_path, {"a": "CANCELLED", "b": "CONFIRMED", "c": ""}),
                 "--store", db, "--key", key]) == 0
    assert _statuses(db) == {"a": schema.CANCELLED, "b": "", "c": ""}
    assert main(["import", _cal_with_status(tmp_path, {"a": "", "b": "CANCELLED", "c": ""}),
                 "--store", db, "--key", key]) == 0
    assert _statuses(db) == {"a": "", "b": schema.CANCELLED, "c": ""}


def test_a_console_cancel_survives_a_reimport_also_of_a_store_imported_before_status_was_read(tmp_path, paths,
                                                                                              capsys):
    """The last import's record of the file (its base) of a store imported before the importers
    read STATUS has no status: the file said nothing of it then, which is "as planned"."""
    import json
    from pandascreen_host.console import edits
    db, key = paths
    path = _cal_with_status(tmp_path, {"a": "", "b": "", "c": "CANCELLED"})
    assert main(["import", path, "--store", db, "--key", key]) == 0
    s = SqliteStore(db)
    try:
        meta = import_cmd.BASE_KEY % "test-fest"
        base = json.loads(s.get_meta(meta))
        for ev in base["events"]:
            del ev["status"]  # as an older importer recorded it
        s.set_meta(meta, json.dumps(base, sort_keys=True))
        log_id = operation.log_id_for_festival("test-fest")
        edits.publish(s, open(key, "rb").read(), log_id, Schedule.from_store(s, log_id), {"action": "cancel", "id": "a"})
    finally:
        s.close()
    capsys.readouterr()
    assert main(["import", path, "--store", db, "--key", key]) == 0
    assert "conflict" not in capsys.readouterr().err
    assert _statuses(db) == {"a": schema.CANCELLED, "b": "", "c": schema.CANCELLED}


def test_a_console_cancel_survives_a_reimport_into_a_store_with_no_record_of_the_last_import(tmp_path, paths):
    """A store from before the import kept its record of the file: the file wins everywhere then,
    but a file that sets no status ("as planned") cancelled no cancel before, and must not now."""
    from pandascreen_host.console import edits
    db, key = paths
    path = _cal_with_status(tmp_path, {"a": "", "b": "", "c": "CANCELLED"})
    assert main(["import", path, "--store", db, "--key", key]) == 0
    s = SqliteStore(db)
    try:
        log_id = operation.log_id_for_festival("test-fest")
        edits.publish(s, open(key, "rb").read(), log_id, Schedule.from_store(s, log_id), {"action": "cancel", "id": "a"})
        s._db.execute("DELETE FROM meta WHERE key = ?", (import_cmd.BASE_KEY % "test-fest",))
        s._db.commit()
    finally:
        s.close()
    assert main(["import", path, "--store", db, "--key", key]) == 0
    assert _statuses(db) == {"a": schema.CANCELLED, "b": "", "c": schema.CANCELLED}
