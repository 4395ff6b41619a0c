"""Screens' status (core/fleet.py) travels over iroh like the schedule, on its own topic
and in its own guarded store: screen -> laptop (initial sync and live), a stranger's status
refused, screen -> screen -> laptop relay, a peer without the fleet topic (the real app and
serve processes: fleet_app_cases.py).  Run by test_fleet_iroh.py inside a loopback-only
namespace; every wait is bounded."""

import pytest

from pandascreen.testing import festival as demofest
from pandascreen.core import auth, fleet, operation
from pandascreen.core.crypto import public_key
from pandascreen.node import fleet_report, iroh_address
from pandascreen.node.iroh_transport import IrohNode
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host.console.state import Console
from pandascreen.node.poll import until as wait_for

FID = demofest.FESTIVAL_ID
TOPIC = operation.festival_topic(FID)
LOG = operation.log_id_for_topic(TOPIC)
FLEET_LOG = fleet.fleet_log_id(FID)
ORG = bytes([31] * 32)
SCREEN_A = bytes([32] * 32)
SCREEN_B = bytes([33] * 32)
STRANGER = bytes([34] * 32)
NOW = demofest.DAY_START + 3600




def status(shows="Main Stage: Opening"):
    return dict(shows=shows, heights={"ab" * 8: 3}, clock=True, uptime=60, version="test")


@pytest.fixture
def peers(tmp_path):
    """make(seed, name, guarded=True): an IrohNode syncing the festival topic (store guarded by
    the festival group, as a screen's controller does) and the fleet topic (its own store,
    FleetGuard'ed unless ``guarded=False``: a hostile peer keeps whatever it likes)."""
    made = []

    def make(seed, name, guarded=True, fleet_topic=True, bind="127.0.0.1:0", **kw):
        path = str(tmp_path / ("%s.db" % name))
        store = SqliteStore(path)
        group = auth.guard(store, auth.for_authors([public_key(ORG)]), LOG)
        if guarded:
            fleet_store = fleet_report.open_fleet_store(path, group)
        else:
            fleet_store = SqliteStore(fleet_report.fleet_store_path(path))
        lines = []
        also = [fleet_report.subscription(FID, fleet_store)] if fleet_topic else []
        node = IrohNode(store, TOPIC, seed, bind=bind, timeout=3.0, connect_timeout=2.0,
                        say=lines.append, also=also, **kw).start()
        node.lines, node.group, node.fleet_store = lines, group, fleet_store
        made.append((node, store, fleet_store))
        return node

    yield make
    for node, store, fleet_store in made:
        node.stop()
        fleet_store.close()
        store.close()


def organise(node, members):
    """The organiser's festival on ``node``: the demo program and a group naming ``members``
    (Pull, as screens are; docs/AUTH.md)."""
    ops = node.store.publish_many(ORG, demofest.bodies(), LOG, demofest.DAY_START * 1000000)
    prev = ops[-1].hash
    for m in members:
        prev = node.store.publish(ORG, auth.group_body(node.group.group_id, auth.add(public_key(m), auth.PULL),
                                                       [prev]), LOG, NOW * 1000000).hash
    assert all(fleet.may_report(node.group, public_key(m)) for m in members)


def reported(node, seed):
    """seq_num of ``seed``'s status in ``node``'s fleet store, or None."""
    return (node.fleet_store.heights(FLEET_LOG).get(public_key(seed)) or {}).get(FLEET_LOG)


def test_a_screens_status_reaches_the_laptop_and_its_console_then_live(peers):
    laptop = peers(ORG, "laptop")
    organise(laptop, [SCREEN_A])
    screen = peers(SCREEN_A, "a")
    st = screen.sync(laptop.ticket())
    # the festival topic syncs exactly as before: the program and the group, nothing of the fleet
    assert st["ops_new"] == laptop.store.count() and screen.store.count() == laptop.store.count()
    assert all(FLEET_LOG not in logs for logs in laptop.store.heights().values())
    # the screen knows now it is in the group: its status is stored on it and reaches the laptop
    reporter = fleet.Reporter()
    assert reporter.publish(screen.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status()) is not None
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 0)
    con = Console(laptop.store, LOG, laptop.fleet_store, laptop.group, public_key(ORG), FID, clock=lambda: NOW + 5)
    rows = con.snapshot()["screens"]
    assert [r["key"] for r in rows] == [public_key(SCREEN_A).hex()] and rows[0]["shows"] == "Main Stage: Opening"
    # the fleet session stays live: the next status is pushed (pruned: one op per screen stays)
    assert wait_for(lambda: any(s["topic"] == "fleet" and s["live"] for s in screen.status()))
    later = NOW + fleet.HEARTBEAT
    assert reporter.publish(screen.fleet_store, SCREEN_A, FLEET_LOG, later, **status("Tent: Workshop")) is not None
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 1)
    assert any("(fleet): sent 1 live operation(s)" in l for l in screen.lines)
    assert [op.seq_num for op in laptop.fleet_store.all_operations(FLEET_LOG)] == [1]
    assert con.snapshot(later + 5)["screens"][0]["shows"] == "Tent: Workshop"
    # and the festival store never saw a status operation
    assert all(FLEET_LOG not in logs for logs in laptop.store.heights().values())


def test_the_fleet_topic_is_dialled_when_the_first_festival_sync_is_still_under_way(peers):
    """An mDNS find waits a bounded time for the festival's first sync; a loaded laptop takes
    longer ("still under way").  The fleet topic is dialled all the same, and status arrives."""
    from iroh_liveness_cases import sends_slowly
    laptop = peers(ORG, "laptop")
    organise(laptop, [SCREEN_A])
    screen = peers(SCREEN_A, "a")
    sends_slowly(laptop, delay=1.0)
    with pytest.raises(Exception, match="still under way"):
        screen.sync(laptop.ticket(), timeout=1.5)
    assert wait_for(lambda: screen.store.count() == laptop.store.count(), 30.0)
    assert fleet.Reporter().publish(screen.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status()) is not None
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 0, 20.0), [l for l in screen.lines if "fleet" in l]


def test_the_fleet_topic_is_dialled_when_the_festival_is_reached_by_a_redial(peers):
    """The first dial found no one (the laptop not up yet); the redial that reaches it dials the
    fleet topic too."""
    import socket
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    port = hole.getsockname()[1]
    screen = peers(SCREEN_A, "a")
    with pytest.raises(Exception):
        screen.sync("%s@127.0.0.1:%d" % (public_key(ORG).hex(), port), timeout=2.5)
    hole.close()
    laptop = peers(ORG, "laptop", bind="127.0.0.1:%d" % port)
    organise(laptop, [SCREEN_A])
    laptop.notify()
    assert wait_for(lambda: screen.store.count() == laptop.store.count(), 40.0)
    assert fleet.Reporter().publish(screen.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status()) is not None
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 0, 20.0), [l for l in screen.lines if "fleet" in l]


def test_a_screen_added_to_the_group_while_live_dials_the_fleet_topic_then(peers):
    """`group add` after the screen's festival session went live: the group operation arrives
    live, and the screen dials the fleet topic then, not at its next festival session."""
    laptop = peers(ORG, "laptop")
    organise(laptop, [])
    screen = peers(SCREEN_A, "a")
    assert screen.sync(laptop.ticket())["live"]
    assert not fleet.may_report(screen.group, public_key(SCREEN_A))
    head = laptop.store.latest(public_key(ORG), LOG).hash
    laptop.store.publish(ORG, auth.group_body(laptop.group.group_id, auth.add(public_key(SCREEN_A), auth.PULL),
                                              [head]), LOG, (NOW + 1) * 1000000)
    laptop.notify()
    assert wait_for(lambda: fleet.may_report(screen.group, public_key(SCREEN_A)), 10.0)
    assert fleet.Reporter().publish(screen.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status()) is not None
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 0, 20.0), [l for l in screen.lines if "fleet" in l]


def test_a_fleet_topic_refused_while_the_laptops_group_lagged_is_asked_again(peers, monkeypatch):
    """The screen got `group add` before the laptop did (another screen relayed it, the laptop's
    store was written by another program): its fleet dial is refused and the laptop filed under
    peers without that topic.  A resync round after NO_TOPIC_AGAIN asks again, and the status
    arrives; before, not while that festival session lived (hours)."""
    from pandascreen.core import operation
    from pandascreen.node import liveness
    monkeypatch.setattr(liveness, "NO_TOPIC_AGAIN", 1.0)
    laptop = peers(ORG, "laptop")
    organise(laptop, [])
    screen = peers(SCREEN_A, "a", resync_every=1.0)
    assert screen.sync(laptop.ticket())["live"]
    head = laptop.store.latest(public_key(ORG), LOG)
    body = auth.group_body(laptop.group.group_id, auth.add(public_key(SCREEN_A), auth.PULL), [head.hash])
    op = operation.create(ORG, body, head.seq_num + 1, head.hash, operation.Extensions(LOG, (NOW + 1) * 1000000, False))
    screen.store.ingest_op(op)
    screen.notify()
    assert wait_for(lambda: screen._no_topic, 10.0), screen.lines[-5:]  # refused: the laptop's group lags
    laptop.store.ingest_op(op)
    assert fleet.Reporter().publish(screen.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status()) is not None
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 0, 20.0), [l for l in screen.lines if "fleet" in l]


def test_a_stranger_neither_reads_nor_offers_status_over_iroh(peers):
    """The fleet topic is synced only with peers whose key (the iroh node id) the festival group
    names: a stranger's session is dropped after the topic handshake, before anything crosses."""
    laptop = peers(ORG, "laptop")
    organise(laptop, [SCREEN_A])
    screen = peers(SCREEN_A, "a", fleet_topic=False)  # only to hold the group and sign A's status
    screen.sync(laptop.ticket())
    good = fleet.Reporter().publish(screen.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status())
    assert laptop.fleet_store.ingest_op(good)[1]  # the laptop holds A's status
    hostile = peers(STRANGER, "stranger", guarded=False)
    fleet.Reporter().publish(hostile.fleet_store, STRANGER, FLEET_LOG, NOW, **status("FREE BEER"))
    hostile.sync(laptop.ticket())  # the festival topic: the program is public, it shows on every screen
    assert hostile.store.count() == laptop.store.count()
    assert wait_for(lambda: any("is not in the festival group: the fleet topic is not synced" in l
                                for l in laptop.lines))
    assert wait_for(lambda: not any(s["topic"] == "fleet" and not s["error"] and s["live"] for s in hostile.status()))
    assert reported(laptop, STRANGER) is None and laptop.fleet_store.count() == 1
    assert reported(hostile, SCREEN_A) is None and hostile.fleet_store.count() == 1  # its own only
    con = Console(laptop.store, LOG, laptop.fleet_store, laptop.group, public_key(ORG), FID, clock=lambda: NOW)
    assert [r["key"] for r in con.snapshot()["screens"]] == [public_key(SCREEN_A).hex()]


def test_a_screen_never_dials_the_fleet_topic_of_a_peer_its_group_does_not_name(peers):
    """Its own guard would drop that session right after the topic handshake: a QUIC handshake
    each way for nothing, to every such peer a screen finds (every one, at a festival whose
    screens are not in the group yet)."""
    laptop = peers(ORG, "laptop")
    organise(laptop, [SCREEN_A])
    screen = peers(SCREEN_A, "a")
    screen.sync(laptop.ticket())
    outsider = peers(STRANGER, "outsider")
    outsider.sync(laptop.ticket())
    assert screen.sync(outsider.ticket())["ops_new"] == 0  # the festival topic, as with any peer
    assert not wait_for(lambda: any("(fleet)" in l for l in screen.lines + outsider.lines
                                    if "laptop" not in l and public_key(ORG).hex()[:16] not in l), 3.0), \
        screen.lines + outsider.lines


def test_a_screen_its_group_does_not_name_never_dials_the_fleet_topic(peers):
    """The far end's guard would drop it right after the topic handshake: at a festival whose
    screens are not in the group yet, every screen dialled the laptop's fleet topic for nothing
    (50 QUIC handshakes at a 50-screen cold start).  Asked at every sync: once the group names
    the screen, the next one dials it."""
    laptop = peers(ORG, "laptop")
    organise(laptop, [SCREEN_A])
    outsider = peers(STRANGER, "outsider")
    outsider.sync(laptop.ticket())
    assert outsider.store.count() == laptop.store.count()
    assert not wait_for(lambda: any("(fleet)" in l or "fleet topic" in l for l in outsider.lines)
                        or any("not in the festival group" in l for l in laptop.lines), 3.0), \
        outsider.lines + laptop.lines
    laptop.store.publish(ORG, auth.group_body(laptop.group.group_id, auth.add(public_key(STRANGER), auth.PULL),
                                              [laptop.store.latest(public_key(ORG), LOG).hash]), LOG,
                         (NOW + 1) * 1000000)
    outsider.sync(laptop.ticket())
    assert wait_for(lambda: fleet.may_report(outsider.group, public_key(STRANGER)))
    outsider.sync(laptop.ticket())
    assert wait_for(lambda: any(s["topic"] == "fleet" and s["live"] for s in outsider.status()))


def test_status_is_relayed_screen_to_screen_to_laptop(peers):
    laptop = peers(ORG, "laptop")
    organise(laptop, [SCREEN_A, SCREEN_B])
    b = peers(SCREEN_B, "b")
    a = peers(SCREEN_A, "a")
    b.sync(laptop.ticket())
    a.sync(b.ticket())  # A only knows B
    assert a.store.count() == laptop.store.count()
    assert wait_for(lambda: any(s["topic"] == "fleet" and s["live"] for s in b.status())
                    and any(s["topic"] == "fleet" and s["live"] for s in a.status()))
    fleet.Reporter().publish(a.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status())
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 0)
    assert reported(b, SCREEN_A) == 0


def test_a_peer_without_the_fleet_topic_still_syncs_the_festival(peers):
    """An older pandascreen (or a Rust p2panda node) drops the fleet session after its topic
    handshake: the festival syncs and stays live, the drop is said, and the fleet topic is not
    asked again while that festival session lasts."""
    old = peers(ORG, "old", fleet_topic=False)
    organise(old, [SCREEN_A])
    screen = peers(SCREEN_A, "a")
    st = screen.sync(old.ticket())
    assert st["ops_new"] == old.store.count()
    assert wait_for(lambda: any("which this node does not sync: dropped" in l for l in old.lines))
    assert wait_for(lambda: any(l.startswith("fleet topic with") and "not sync the fleet topic" in l
                                for l in screen.lines))
    key = (fleet.fleet_topic(FID), iroh_address.parse_peer(old.ticket()).who)
    assert key in screen._no_topic and key not in screen._wanted
    assert screen.sync(old.ticket())["already_live"]
    publish_more = old.store.publish(ORG, demofest.bodies()[0], LOG, (NOW + 10) * 1000000)
    old.notify()
    assert wait_for(lambda: screen.store.has(publish_more.hash))


def test_a_screen_that_lost_its_fleet_file_continues_its_log_and_shows_again(peers):
    """The screen's fleet file is lost (a new card, a damaged file moved aside): it restarts with
    an empty fleet store and signs at seq_num 0 again.  The laptop holds its seq_num 1: the fleet
    sessions go on, the screen learns its log back and publishes above it, the console shows it."""
    from pandascreen.core import config
    from pandascreen.core.controller import Controller
    laptop = peers(ORG, "laptop")
    organise(laptop, [SCREEN_A])
    before = peers(SCREEN_A, "a")
    before.sync(laptop.ticket())
    reporter = fleet.Reporter()
    assert reporter.publish(before.fleet_store, SCREEN_A, FLEET_LOG, NOW, **status()) is not None
    assert reporter.publish(before.fleet_store, SCREEN_A, FLEET_LOG, NOW + fleet.HEARTBEAT, **status()) is not None
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 1)
    before.stop()
    after = peers(SCREEN_A, "a-new-card")  # the same key, no fleet file
    assert after.store.ingest_many(laptop.store.all_operations(LOG))  # its schedule, as from a snapshot
    cfg = config.validate({"festival_id": FID, "organisers": [public_key(ORG).hex()]})
    later = NOW + 2 * fleet.HEARTBEAT
    report = fleet_report.FleetReport(Controller(cfg, after.store, clock=lambda: later), SCREEN_A,
                                      after.fleet_store, FID, clock=lambda: later)
    assert report.tick().seq_num == 0
    after.sync(laptop.ticket())
    assert wait_for(lambda: report.tick() is not None or reported(laptop, SCREEN_A) == 2)
    assert wait_for(lambda: reported(laptop, SCREEN_A) == 2)
    con = Console(laptop.store, LOG, laptop.fleet_store, laptop.group, public_key(ORG), FID, clock=lambda: later)
    rows = con.snapshot()["screens"]
    assert [r["key"] for r in rows] == [public_key(SCREEN_A).hex()] and rows[0]["seen"] == later
    assert not any("fork" in (s["error"] or "") for s in laptop.status() + after.status())
