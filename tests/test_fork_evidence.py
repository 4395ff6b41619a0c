"""A laptop that lost its store and imported the program again writes another history of its log,
shorter than the one its screens hold.  A screen asks for nothing of it (it holds more), so it
would never see the other history and would say "synced" over the old program for good, while the
laptop's line says its changes do not arrive.  A node that knows a log is forked sends, at each
sync, its head of that log to a peer holding as much or more: the peer sees the other history too
and says "program forked" (core/log_sync.py ``_evidence``)."""
from pandascreen.core import operation, schema
from pandascreen.core.controller import Controller
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import sync_local

FID = "forkfest"
ORG = bytes([8] * 32)
LOG = operation.log_id_for_festival(FID)
NOW = 1780000000


def _bodies(names):
    return [schema.make_body("venue", "create", "v%d" % i, {"name": name, "order": i}) for i, name in enumerate(names)]


def _history(names):
    store = MemoryStore()
    store.publish_many(ORG, _bodies(names), LOG, NOW * 1000000)
    return store


def test_a_screen_holding_the_longer_history_learns_that_the_laptops_is_another():
    screen = _history(["Main", "Tent", "Dome", "Hall"])  # the lost store's log, relayed before the loss
    laptop = _history(["Main", "Tent (new)"])  # the same file imported again, then edited
    ctl = Controller({"festival_id": FID, "organiser_keys": [public_key(ORG)], "peer_addrs": []}, screen,
                     clock=lambda: NOW)
    ctl.sync_state, ctl.last_sync = "synced", NOW
    sync_local(laptop, LOG, screen)  # the laptop sees the screen's operations: another history
    assert laptop.forked([public_key(ORG)], LOG)
    stats, _ = sync_local(laptop, LOG, screen)  # its next sync shows the screen its own head
    assert screen.forked([public_key(ORG)], LOG)
    assert stats["ops_sent"] == stats["ops_evidence"] == 1  # evidence, not news (no resync "repair")
    assert ctl.status(now=NOW).startswith("program forked"), ctl.status(now=NOW)
    assert screen.count() == 4 and laptop.count() == 2  # each keeps its own history


def test_peers_holding_one_history_send_no_evidence_to_each_other():
    one, other = _history(["Main", "Tent"]), _history(["Main", "Tent"])
    a, b = sync_local(one, LOG, other)
    assert a["ops_sent"] == b["ops_sent"] == a["ops_evidence"] == 0 and not one.forks and not other.forks
