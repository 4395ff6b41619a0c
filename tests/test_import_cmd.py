import os
import stat

import pytest

from pandascreen.core import operation
from pandascreen.core.schedule import Schedule
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host.cli import main

CAMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "frab_json_camp.json")


@pytest.fixture
def camp():
    return CAMP  # made-up frab JSON: 5 events in 2 rooms (tests/fixtures/SOURCES.md)


def test_import_then_reimport_changes_only_what_changed(tmp_path, camp, capsys):
    db, key = str(tmp_path / "f.db"), str(tmp_path / "org.key")
    assert main(["import", camp, "--store", db, "--key", key]) == 0
    out = capsys.readouterr()
    assert "1 festival create, 2 venue creates, 5 event creates" in out.out
    assert "created organiser key" in out.out
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    seed = open(key, "rb").read()
    assert seed.hex() not in out.out + out.err
    s = SqliteStore(db)
    assert s.count() == 8
    sch = Schedule.from_store(s, operation.log_id_for_festival("slothcamp2031"))
    assert len(sch.all_events()) == 5 and [v.name for v in sch.venues()] == ["Hammock A", "Hammock B"]
    s.close()

    assert main(["import", camp, "--store", db, "--key", key]) == 0
    assert "no changes" in capsys.readouterr().out

    edited = tmp_path / "camp.json"
    edited.write_text(open(camp, encoding="utf-8").read().replace('"Opening of Sloth Camp"', '"Opening of Sloth Camp (late)"'))
    assert main(["import", str(edited), "--store", db, "--key", key, "--dry-run"]) == 0
    assert "1 event update" in capsys.readouterr().out
    assert SqliteStore(db).count() == 8  # dry run wrote nothing
    assert main(["import", str(edited), "--store", db, "--key", key]) == 0
    s = SqliteStore(db)
    assert s.count() == 9
    sch = Schedule.from_store(s, operation.log_id_for_festival("slothcamp2031"))
    assert any(e.title == "Opening of Sloth Camp (late)" for e in sch.all_events())


def test_import_errors_are_clean(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    assert main(["import", str(bad), "--store", str(tmp_path / "f.db"), "--key", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "not a frab/pretalx schedule" in err and "Traceback" not in err
    assert not (tmp_path / "k").exists()


def test_repeated_warnings_print_as_one_counted_line(tmp_path, capsys):
    lca = os.path.join(os.path.dirname(CAMP), "ics_x_wr_timezone_no_location.ics")
    assert main(["import", lca, "--store", str(tmp_path / "f.db"), "--key", str(tmp_path / "k"), "--dry-run"]) == 0
    lines = [l for l in capsys.readouterr().err.splitlines() if "has no room" in l]
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "(4 times, e.g. " in lines[0]


def test_bad_store_leaves_no_new_key_behind(tmp_path, capsys):
    key = tmp_path / "org.key"
    assert main(["import", CAMP, "--store", str(tmp_path / "no" / "such" / "f.db"), "--key", str(key)]) == 2
    assert capsys.readouterr().err.startswith("error: cannot open store") and not key.exists()
