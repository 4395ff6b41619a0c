"""The shared screen controller (core/controller.py): the same scenario on CPython and MicroPython."""
import contextlib
import io

import pytest

from pandascreen.testing.micropython import run_micropython
from pandascreen.testing import festival as demofest
from pandascreen.core import controller, operation, schema
from pandascreen.core.controller import (CLOCK_TOLERANCE, MIN_VALID_TIME, Controller, TimeFile, clock_floor,
                                         clock_trusted)
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import hexlify

SEED = bytes(range(100, 132))
STRANGER = bytes(range(1, 33))
LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)
NOW = demofest.DAY_START + 75 * 60  # 15:15 festival time (UTC+2)
US = 1000000


def _hex_ops(store, pk):
    return [(hexlify(o.header_bytes), hexlify(o.body) if o.body else "") for o in store.operations(pk, LOG)]


@pytest.fixture(scope="module")
def ops():
    """Signed on CPython once (signing in pure-Python MicroPython is slow): the demo festival, an update,
    a stranger's far-future venue, a pruning operation, and an organiser's operation dated tomorrow."""
    org = MemoryStore()
    demofest.publish(org, SEED, LOG)
    n0 = org.count()
    org.publish(SEED, schema.make_body("event", "update", demofest.event_id(9), {"title": "Moved talk"}),
                LOG, NOW * US)
    org.publish(SEED, schema.make_body("venue", "create", "solo", {"name": "Solo Stage", "order": 1}),
                LOG, (NOW + 60) * US, prune=True)
    org.publish(SEED, schema.make_body("venue", "create", "late", {"name": "Late", "order": 2}),
                LOG, (NOW + 86400) * US)
    stranger = MemoryStore()
    stranger.publish(STRANGER, schema.make_body("venue", "create", "x", {"name": "Spam"}), LOG,
                     (NOW + 30 * 86400) * US)
    signed = _hex_ops(org, public_key(SEED))
    # the pruning op dropped the older ones from ``org``: rebuild the full list from a second store
    full = MemoryStore()
    demofest.publish(full, SEED, LOG)
    full.publish(SEED, schema.make_body("event", "update", demofest.event_id(9), {"title": "Moved talk"}),
                 LOG, NOW * US)
    before_prune = _hex_ops(full, public_key(SEED))
    return {"base": before_prune[:n0], "update": before_prune[n0], "prune": signed[0], "future": signed[1],
            "stranger": _hex_ops(stranger, public_key(STRANGER))[0]}


SCENARIO = r"""
from pandascreen.core import operation
from pandascreen.core.controller import Controller, CLOCK_NOT_SET
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import sync_local
from pandascreen.core.util import unhexlify

OPS = %(ops)r
FID = %(fid)r
NOW = %(now)d
LOG = operation.log_id_for_festival(FID)

def add(store, op):
    store.ingest(unhexlify(op[0]), unhexlify(op[1]) if op[1] else None)

org = MemoryStore()
for op in OPS["base"]:
    add(org, op)
screen = MemoryStore()
t = [NOW]
saved = []
logs = []
views = []

def transport(peer):
    if peer[0] == "dead":
        raise OSError("no route to host")
    sync_local(screen, LOG, org)

cfg = {"festival_id": FID, "organiser_keys": [unhexlify(%(pk)r)], "peer_addrs": [("org", 1), ("dead", 2)],
       "sync_interval": 600}
ctl = Controller(cfg, screen, transport=transport, render=views.append, clock=lambda: t[0],
                 load_time=lambda: None, save_time=saved.append, log=logs.append)
print("start", ctl.rebuilds, ctl.status(), len(ctl.schedule.venues()))
print("step1", ctl.step(), ctl.status(), screen.count(), ctl.rebuilds, views[-1]["venue"], views[-1]["clock"])
print("log", logs)
print("idle", ctl.step())
ctl.flip(1); ctl.flip(1); ctl.flip(1)
a = ctl.venue_index
ctl.flip(-1)
b = ctl.venue_index
ctl.flip(0)
print("flips", a, b, ctl.venue_index)
ctl.flip(1)
print("flip-drawn", ctl.step(), views[-1]["venue"], views[-1]["position"])
t[0] += 60
print("minute", ctl.step(), views[-1]["clock"])
add(org, OPS["update"])
t[0] += 600
print("update", ctl.step(), ctl.rebuilds, [e.title for e in ctl.schedule.events("lab")][1], ctl.status())
print("saved", [s - NOW for s in saved])
add(org, OPS["stranger"])
t[0] += 600
ctl.step()
print("stranger", ctl.clock_trusted(t[0]), screen.count(), len(ctl.schedule.venues()), ctl.rebuilds)
add(org, OPS["prune"])
t[0] += 600
ctl.step()
print("prune", ctl.rebuilds, [v.name for v in ctl.schedule.venues()], ctl.venue_index)
add(org, OPS["future"])
t[0] += 600
print("future", ctl.step(), ctl.clock_trusted(t[0]), views[-1]["clock"], views[-1]["status"],
      views[-1]["message"] == CLOCK_NOT_SET, views[-1]["festival"], views[-1]["now"], views[-1]["next"])
print("future-minute", ctl.step(t[0] + 120))
print("saved-after", [s - NOW for s in saved])

lonely = Controller({"festival_id": FID, "peer_addrs": []}, MemoryStore(), transport=transport, clock=lambda: 1000)
lonely.step()
print("lonely", lonely.status(), lonely.clock_trusted(1000), lonely.view(1000)["clock"])
offline = Controller({"festival_id": FID, "peer_addrs": [("org", 1)]}, MemoryStore(), transport=None,
                     clock=lambda: NOW)
offline.step()
print("offline", offline.status(), offline.clock_trusted(NOW))
rebooted = Controller({"festival_id": FID}, MemoryStore(), load_time=lambda: NOW + 3600)
print("rebooted", rebooted.clock_trusted(NOW), rebooted.clock_trusted(NOW + 3600 - 60))
"""


def _scenario(ops):
    return SCENARIO % {"ops": ops, "fid": demofest.FESTIVAL_ID, "now": NOW, "pk": hexlify(public_key(SEED))}


EXPECTED = [
    "start 1 starting 0",
    "step1 True synced 15:15 15 1 Main Stage 15:15",
    "log ['sync with dead:2 failed: no route to host']",
    "idle False",
    "flips 0 2 0",
    "flip-drawn True Bamboo Tent 2/3",
    "minute True 15:16",
    "update True 1 Moved talk synced 15:26",
    "saved [0, 660]",
    "stranger True 16 3 1",  # the stranger's op is refused at ingest (core/auth.py): not stored
    "prune 2 ['Solo Stage'] 1",
    # an organiser's operation dated tomorrow is from the future (over CLOCK_SKEW): the clock stays.
    # The prune took the festival: its zone is not known, so neither the clock nor the status
    # says a time (UTC would pass for local time)
    "future True True --:-- synced False  None None",
    "future-minute True",
    "saved-after [0, 660, 1260, 1860, 2460]",
    "lonely no peers False --:--",
    "offline offline True",
    "rebooted False True",
]


def test_controller_scenario_on_cpython(ops):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_scenario(ops), "scenario", "exec"), {})
    assert out.getvalue().splitlines() == EXPECTED


def test_controller_scenario_under_micropython(ops):
    out = run_micropython(_scenario(ops))
    assert out.splitlines() == EXPECTED, out


def test_clock_rule():
    assert not clock_trusted(0)
    assert not clock_trusted(MIN_VALID_TIME - CLOCK_TOLERANCE - 1)
    assert clock_trusted(MIN_VALID_TIME - CLOCK_TOLERANCE)
    assert clock_floor(newest_op_us=NOW * US, last_known=NOW - 5) == NOW
    assert clock_floor(newest_op_us=(NOW - 5) * US, last_known=NOW) == NOW
    assert clock_trusted(NOW - CLOCK_TOLERANCE, newest_op_us=NOW * US)
    assert not clock_trusted(NOW - CLOCK_TOLERANCE - 1, newest_op_us=NOW * US)
    assert not clock_trusted(NOW - CLOCK_TOLERANCE - 1, last_known=NOW)


def test_time_file_round_trip_and_damage(tmp_path):
    tf = TimeFile(str(tmp_path / "last-time"))
    assert tf.load() is None
    tf.save(NOW)
    assert tf.load() == NOW
    assert not (tmp_path / "last-time.tmp").exists()
    (tmp_path / "last-time").write_text("garbage")
    assert tf.load() is None


def test_time_saved_at_most_every_few_minutes():
    saved = []
    ctl = Controller({"festival_id": "f"}, MemoryStore(), save_time=saved.append, load_time=lambda: NOW - 10)
    for s in range(0, 1200, 7):
        ctl.redraw(NOW + s)
    assert saved and all(b - a >= controller.SAVE_TIME_EVERY for a, b in zip(saved, saved[1:]))
    assert len(saved) == 4
    ctl.redraw(1000)  # an untrusted time is never saved
    view = ctl.view(1000)
    assert len(saved) == 4 and view["status"] == controller.CLOCK_NOT_SET and view["clock"] == controller.NO_CLOCK


def test_unsaveable_time_is_logged_not_fatal():
    logs = []

    def broken(t):
        raise OSError("read-only file system")

    ctl = Controller({"festival_id": "f"}, MemoryStore(), save_time=broken, log=logs.append)
    assert ctl.redraw(NOW) is True
    assert logs == ["cannot save the last known time: read-only file system"]


def test_render_interval_forces_a_redraw():
    drawn = []
    ctl = Controller({"festival_id": "f", "render_interval": 20}, MemoryStore(), render=drawn.append)
    t0 = NOW - NOW % 60
    assert ctl.redraw(t0) and not ctl.redraw(t0 + 19) and ctl.redraw(t0 + 20)
    assert len(drawn) == 2


def test_footer_counts_peers_found_by_any_means_and_marks_stale_data():
    """Peers found by mDNS (live iroh sessions, not in the config) count; the footer says when the
    newest data was heard and "alone since" once no peer was reachable for a while."""
    t = [NOW]
    found = [["peer 0123456789abcdef"]]
    ctl = Controller({"festival_id": demofest.FESTIVAL_ID, "peer_addrs": []}, demofest.utc_store(),
                     clock=lambda: t[0], found=lambda: found[0])
    ctl.sync(t[0])
    assert ctl.status() == "synced 13:15"  # a festival on UTC
    assert ctl.peers_found() == 1
    found[0] = []
    t[0] += 600
    ctl.sync(t[0])
    assert ctl.status() == "synced 13:15"  # the newest data is from 13:15; the first look that found nobody
    t[0] += controller.STALE_AFTER
    ctl.sync(t[0])
    assert ctl.status() == "alone since 13:15"  # nobody reachable: said so, not "stale" (tests/test_alone.py)
    lonely = Controller({"festival_id": demofest.FESTIVAL_ID, "peer_addrs": []}, MemoryStore(), clock=lambda: t[0])
    lonely.sync(t[0])
    assert lonely.status() == controller.NO_PEERS


def test_a_peer_found_after_the_last_sync_is_said_at_the_next_frame_not_the_next_sync():
    """mDNS finds peers seconds after start, while the first sync (no peer yet) said "no peers":
    the footer must not keep saying so for a whole sync interval while the screen is live."""
    t = [NOW]
    found = [[]]
    ctl = Controller({"festival_id": demofest.FESTIVAL_ID, "peer_addrs": []}, demofest.utc_store(),
                     clock=lambda: t[0], found=lambda: found[0])
    ctl.step(t[0])
    assert ctl.status() == controller.NO_PEERS
    found[0] = ["peer 0123456789abcdef"]  # a live session from a peer mDNS found
    t[0] += 5
    assert not ctl.sync_due(t[0])
    ctl.step(t[0])
    assert ctl.status() == "synced 13:15", ctl.status()


def test_a_clock_not_set_is_said_beside_what_else_is_wrong_not_instead_of_it():
    """The status of a screen whose clock it cannot vouch for was "clock not set" alone: a full
    disk (peers' changes lost), a forked program, buttons that are off and an installer's warning
    went unsaid until the clock was set."""
    store = MemoryStore()
    ctl = Controller({"festival_id": "f"}, store)  # no time saved or synced: 1000 is not vouched for
    ctl.trouble = "buttons off"
    ctl.warning = "upgrade refused"
    store.write_failed = "full"
    view = ctl.view(1000)
    assert view["status"] == "upgrade refused | disk full | clock not set | buttons off"
    assert view["clock"] == controller.NO_CLOCK
    store.write_failed = None
    ctl.warning = ctl.trouble = None
    assert ctl.view(1000)["status"] == controller.CLOCK_NOT_SET


def test_a_screen_whose_venues_are_not_in_the_program_says_so_not_waiting_for_sync():
    """A config naming a venue id the program does not hold ("venues": ["nope"]) showed "No
    schedule yet -- waiting for sync" for good, while its store held the whole program."""
    from pandascreen.core import layout
    from pandascreen.node import i18n
    store = MemoryStore()
    demofest.publish(store, SEED, LOG)
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [public_key(SEED)], "venues": ["nope"]}
    ctl = Controller(cfg, store, transport=lambda peer: {}, clock=lambda: NOW)
    ctl.redraw(NOW)
    ctl.sync_state = controller.SYNCED  # a sync brought the program
    assert ctl.view(NOW)["message"] == layout.NOT_IN_PROGRAM
    ctl = Controller(dict(cfg, language="de"), store, transport=lambda peer: {}, clock=lambda: NOW,
                     translate=i18n.translate)
    ctl.redraw(NOW)
    ctl.sync_state = controller.SYNCED
    assert ctl.view(NOW)["message"] == "Die Bühnen dieses Bildschirms stehen nicht im Programm"
    empty = Controller(dict(cfg), MemoryStore(), transport=lambda peer: {}, clock=lambda: NOW)
    assert empty.view(NOW)["message"] == layout.NO_SCHEDULE  # nothing synced yet: waiting, truly


def test_a_screen_whose_home_venue_left_the_program_says_so_at_home_and_the_buttons_show_the_others():
    """The Bamboo Tent was dropped from the program; the screen at its entrance showed the Main
    Stage's talks, titled "Main Stage", to people queueing at the Tent's door."""
    from pandascreen.core import layout
    from pandascreen.node import i18n
    store = MemoryStore()
    demofest.publish(store, SEED, LOG)
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [public_key(SEED)], "home_venue": "tent",
           "home_after": 60}
    t = [NOW]
    ctl = Controller(cfg, store, transport=lambda peer: {}, clock=lambda: t[0])
    ctl.sync_state = controller.SYNCED
    ctl.redraw(NOW)
    assert ctl.view(NOW)["venue"] == "Bamboo Tent"
    store.publish(SEED, schema.make_body("venue", "delete", "tent"), LOG, (NOW + 1) * US)
    t[0] = NOW + 60
    ctl.redraw(t[0])
    home = ctl.view(t[0])
    assert (home["message"], home["venue"], home["now"], home["next"]) == (controller.HOME_NOT_IN_PROGRAM, "", None, None)
    ctl.flip(1)  # a visitor looks at another stage
    other = ctl.view(t[0])
    assert other["venue"] in ("Main Stage", "Hack Lab") and other["message"] != controller.HOME_NOT_IN_PROGRAM
    t[0] += 61
    ctl.redraw(t[0])
    assert ctl.view(t[0])["message"] == controller.HOME_NOT_IN_PROGRAM  # and back home after a minute
    german = Controller(dict(cfg, language="de"), store, transport=lambda peer: {}, clock=lambda: t[0],
                        translate=i18n.translate)
    german.sync_state = controller.SYNCED
    german.redraw(t[0])
    assert german.view(t[0])["message"] == "Die Bühne dieses Bildschirms steht nicht im Programm"
    assert layout.NOT_IN_PROGRAM != controller.HOME_NOT_IN_PROGRAM


@pytest.mark.parametrize("peers", [[("10.0.0.2", 2026)], []])
def test_a_screen_whose_home_venue_left_the_program_says_so_offline_and_with_no_peers(peers):
    """The store holds the program without the Tent (synced before a power cut); after the reboot no
    peer answers, or the screen has none: the Tent's entrance showed the Main Stage's talks."""
    store = MemoryStore()
    demofest.publish(store, SEED, LOG)
    store.publish(SEED, schema.make_body("venue", "delete", "tent"), LOG, (NOW - 600) * US)

    def down(peer):
        raise OSError("network down")
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [public_key(SEED)], "home_venue": "tent",
           "peer_addrs": peers}
    ctl = Controller(cfg, store, transport=down, clock=lambda: NOW)
    assert ctl.view(NOW)["venue"] == "Main Stage"  # before the first look for peers: not said yet
    ctl.step(NOW)
    assert ctl.sync_state == (controller.OFFLINE if peers else controller.NO_PEERS)
    assert ctl.view(NOW)["message"] == controller.HOME_NOT_IN_PROGRAM
