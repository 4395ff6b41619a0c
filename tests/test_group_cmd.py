"""`pandascreen-host group`: the organiser adds a program key and later removes it, screens follow."""
import os

from pandascreen.core import auth, operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.schedule import Schedule
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import sync_local
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host.cli import main as host

ORG = bytes(range(1, 33))
PROG = bytes(range(40, 72))
LOG = operation.log_id_for_festival("fest")


def _files(tmp_path):
    key = tmp_path / "organiser.key"
    fd = os.open(str(key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, ORG)
    os.close(fd)
    return ["--store", str(tmp_path / "festival.db"), "--key", str(key), "--festival-id", "fest"]


def _festival(tmp_path):
    """The store holds the festival (its log), as after an import: group refuses an id it does not hold."""
    s = SqliteStore(str(tmp_path / "festival.db"))
    s.publish(ORG, schema.make_body("venue", "create", "v", {"name": "Main"}), LOG, 1000)
    s.close()


def _screen_titles(db):
    screen = MemoryStore()
    a = auth.guard(screen, auth.Authorizer([public_key(ORG)]), LOG)
    laptop = SqliteStore(db)
    try:
        sync_local(laptop, LOG, screen)
    finally:
        laptop.close()
    return [e.title for e in Schedule.from_store(screen, LOG, authorizer=a).all_events()]


def test_add_then_remove_a_program_key(tmp_path, capsys):
    common = _files(tmp_path)
    db = str(tmp_path / "festival.db")
    _festival(tmp_path)
    prog = public_key(PROG).hex()
    assert host(["group", "add", prog, "--level", "write"] + common) == 0
    assert "Write" in capsys.readouterr().out
    s = SqliteStore(db)
    ev = s.publish(PROG, schema.make_body("event", "create", "e1", {"venue": "v", "title": "Talk", "start": 1,
                                                                    "end": 2}), LOG, 2000)
    s.publish(PROG, schema.make_body("event", "update", "e1", {"title": "FREE BEER"}), LOG, 3000)
    s.close()
    assert _screen_titles(db) == ["FREE BEER"]
    # stolen after its first operation: everything later is dropped on every screen
    assert host(["group", "remove", prog, "--compromised", "--last-good", ev.hash.hex()] + common) == 0
    assert "removed %s (keeps operations up to %s" % (prog, ev.hash.hex()[:16]) in capsys.readouterr().out
    assert _screen_titles(db) == ["Talk"]


def test_only_managers_change_the_group(tmp_path, capsys):
    common = _files(tmp_path)
    other = public_key(PROG).hex()
    assert host(["group", "add", other, "--level", "write"] + common) == 2  # nothing of 'fest' in the store
    assert "holds no festival 'fest'" in capsys.readouterr().err
    _festival(tmp_path)
    rc = host(["group", "add", other, "--level", "write", "--organiser", "cd" * 32] + common)
    assert rc == 2 and "does not manage" in capsys.readouterr().err
    assert host(["group", "remove", other] + common) == 2
    assert "--lost" in capsys.readouterr().err


def test_a_members_quota_is_set_raised_and_shown(tmp_path, capsys):
    from pandascreen.core import quota
    common = _files(tmp_path)
    _festival(tmp_path)
    prog = public_key(PROG).hex()
    assert host(["group", "add", prog, "--level", "write", "--max-events", "3000"] + common) == 0
    out = capsys.readouterr().out
    assert "quota %d bytes, %d operations, 3000 events" % (quota.BYTES, quota.OPERATIONS) in out
    assert host(["group", "promote", prog, "--level", "write", "--max-operations", "20000"] + common) == 0
    assert "quota %d bytes, 20000 operations, 3000 events" % quota.BYTES in capsys.readouterr().out
    # a smaller quota at the same level is a demote, not a promote: nothing changes
    assert host(["group", "promote", prog, "--level", "write", "--max-operations", "10"] + common) == 0
    assert "changes nothing" in capsys.readouterr().out
    assert host(["group", "demote", prog, "--level", "write", "--max-bytes", "-1"] + common) == 2
    assert "bytes must be" in capsys.readouterr().err


def test_serve_names_a_screen_that_group_add_added_while_it_ran(tmp_path):
    """`group add` (its own handle on the file) while serve runs: serve's group, which learns of
    what its own handle stores, names the screen after its store's next look (serve's node looks
    before it pushes what changed: its fleet topic then syncs with that screen)."""
    from pandascreen.core import fleet
    args = _files(tmp_path)
    _festival(tmp_path)
    store = SqliteStore(str(tmp_path / "festival.db"))
    try:
        group = auth.guard(store, auth.for_authors([public_key(ORG)]), LOG)
        assert not store.catch_up_group()  # nothing new
        assert host(["group", "add", public_key(PROG).hex(), "--level", "pull"] + args) == 0
        assert not fleet.may_report(group, public_key(PROG))
        assert store.catch_up_group() and fleet.may_report(group, public_key(PROG))
        assert not store.catch_up_group()
        # what this handle stores itself is observed as it is stored: nothing to catch up
        store.publish(ORG, schema.make_body("venue", "create", "w", {"name": "West"}), LOG, 5000)
        assert not store.catch_up_group()
    finally:
        store.close()
