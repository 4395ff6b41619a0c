"""A screen that refuses an organiser's operations as a fork of the log it holds (a second serve
with the organiser's key, or the laptop's store lost and imported again) does not take that
organiser's changes any more: it says "program forked" until the log it holds grows again (the
organiser publishes on top of it).  Another writer's fork is not the screen's to say."""
import pytest

from pandascreen.core import layout, operation, schema
from pandascreen.core.controller import Controller
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import IngestError
from pandascreen.core.store import MemoryStore

FID = "forkfest"
ORGANISER = bytes([9] * 32)
STRANGER = bytes([10] * 32)
NOW = 1780000000
LOG = operation.log_id_for_festival(FID)


def _venue(i, name):
    return schema.make_body("venue", "create", "v%d" % i, {"name": name, "order": i})


def _screen(store):
    ctl = Controller({"festival_id": FID, "organiser_keys": [public_key(ORGANISER)], "peer_addrs": [],
                      "trust_anyone": False}, store, clock=lambda: NOW)
    ctl.sync_state, ctl.last_sync = "synced", NOW
    return ctl


def test_a_screen_refusing_an_organisers_fork_says_program_forked_until_the_log_it_holds_grows():
    store, other = MemoryStore(), MemoryStore()
    kept = store.publish_many(ORGANISER, [_venue(0, "Main"), _venue(1, "Tent")], LOG, NOW * 1000000)
    # the same key, another history: a second laptop's (or a re-import's) log from seq_num 0
    forked = other.publish_many(ORGANISER, [_venue(0, "Main hall"), _venue(1, "Tent"), _venue(2, "Dome")], LOG,
                                NOW * 1000000 + 5)
    ctl = _screen(store)
    assert ctl.status(now=NOW).startswith("synced")
    for op in forked:
        with pytest.raises(IngestError):
            store.ingest_op(op)
    status = ctl.status(now=NOW)
    assert status.startswith("program forked"), status
    assert layout.warns(status)
    # the organiser publishes on top of the history this screen holds: its changes arrive again
    more = MemoryStore()
    more.ingest_many(kept)
    for op in more.publish_many(ORGANISER, [_venue(3, "Bar")], LOG, NOW * 1000000 + 10):
        store.ingest_op(op)
    assert ctl.status(now=NOW).startswith("synced")


def test_another_writers_fork_is_not_the_screens_warning():
    store, other = MemoryStore(), MemoryStore()
    store.publish_many(STRANGER, [_venue(0, "Mine")], LOG, NOW * 1000000)
    forked = other.publish_many(STRANGER, [_venue(0, "Yours")], LOG, NOW * 1000000 + 1)
    with pytest.raises(IngestError):
        store.ingest_op(forked[0])  # before the screen's group guard, which refuses a stranger outright
    assert store.forks and _screen(store).status(now=NOW).startswith("synced")


def test_a_screen_still_says_program_forked_after_a_restart_and_beside_another_writers_fork(tmp_path):
    """The crew's first move is a restart; and a member's own fork must not clear the organiser's."""
    from pandascreen.node.sqlite_store import SqliteStore
    path = str(tmp_path / "festival.db")
    store, other, member = SqliteStore(path), MemoryStore(), MemoryStore()
    store.publish_many(ORGANISER, [_venue(0, "Main"), _venue(1, "Tent")], LOG, NOW * 1000000)
    store.publish_many(STRANGER, [_venue(5, "Mine")], LOG, NOW * 1000000)
    for op in other.publish_many(ORGANISER, [_venue(0, "Main hall")], LOG, NOW * 1000000 + 5):
        with pytest.raises(IngestError):
            store.ingest_op(op)
    for op in member.publish_many(STRANGER, [_venue(5, "Yours")], LOG, NOW * 1000000 + 6):
        with pytest.raises(IngestError):
            store.ingest_op(op)  # the newer fork is another writer's
    assert _screen(store).status(now=NOW).startswith("program forked")
    store.close()
    store = SqliteStore(path)
    assert _screen(store).status(now=NOW).startswith("program forked")
    store.close()
