"""A node keeps its sync peers through a bad night (node/liveness.py): a peer starved of CPU
keeps its live session, redials after a cut are spread and come soon once the network is back,
and a live message lost on the way is repaired by the periodic resync.  Every wait is bounded."""
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import iroh_nodes

from pandascreen.core import operation
from pandascreen.core.crypto import public_key
from pandascreen.node import liveness
from pandascreen.node.poll import until as wait_for
from pandascreen.node.sqlite_store import SqliteStore

TOPIC = operation.festival_topic("livenessfest")
LOG = operation.log_id_for_topic(TOPIC)
ORG = bytes([41] * 32)
SCREEN_1 = bytes([42] * 32)
SCREEN_2 = bytes([43] * 32)
FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
LOST_TASK_ERRORS = ("never retrieved", "Task was destroyed", "Traceback")


@pytest.fixture
def nodes(tmp_path, caplog):
    """Make started nodes; afterwards no task error may have gone unretrieved in any of them."""
    make, close = iroh_nodes.started(tmp_path, TOPIC, caplog)
    yield make
    close()


def publish(store, seed, n, start=0):
    return iroh_nodes.publish(store, seed, n, LOG, start)


def sends_slowly(node, delay=1.0):
    """``node`` is loaded: each of its sessions sends, but every write ``delay`` seconds late."""
    from pandascreen.node import iroh_session
    link_writer = iroh_session.SessionRunner._writer

    async def slow_writer(self, link):
        orig = link.send.write_all

        async def write_all(data):
            await asyncio.sleep(delay)
            return await orig(data)
        link.send.write_all = write_all
        return await link_writer(self, link)

    node._writer = slow_writer.__get__(node)


# ------------------------------------------------------------------------ a silent peer

def test_a_lone_unanswered_packet_is_no_dead_peer():
    # an ACK of the peer's keepalive is never answered; its next keepalive comes 5 s later
    s = liveness.Silence()
    assert s.see(tx=10, rx=10, now=0.0) is None
    assert s.see(tx=11, rx=10, now=4.0) is None
    assert s.see(tx=11, rx=10, now=60.0) is None  # QUIC's idle timeout decides that one


def test_a_peer_silent_for_three_keepalives_is_gone():
    s = liveness.Silence()
    s.see(tx=10, rx=10, now=0.0)
    assert s.see(tx=14, rx=10, now=liveness.DEAD_AFTER - 1) is None  # starved of CPU for seconds: alive
    assert "4 packets unanswered" in s.see(tx=14, rx=10, now=liveness.DEAD_AFTER)
    assert s.see(tx=15, rx=11, now=liveness.DEAD_AFTER + 1) is None  # it answered: alive again


SCREEN_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, %(fw)r)
    from pandascreen.core import operation
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen.node.iroh_transport import IrohNode
    store = SqliteStore(%(db)r)
    node = IrohNode(store, operation.festival_topic("livenessfest"), bytes([42] * 32), bind="127.0.0.1:0",
                    serve=False, timeout=3.0)
    node.start()
    node.sync(%(peer)r)
    print("synced", store.count(), flush=True)
    sys.stdin.read()
    node.stop()
""")


def test_a_peer_starved_of_cpu_for_seconds_keeps_its_live_session(nodes, tmp_path):
    org, org_store = nodes(ORG, "org")
    publish(org_store, ORG, 2)
    script = SCREEN_SCRIPT % {"fw": FIRMWARE, "db": str(tmp_path / "screen.db"), "peer": org.ticket()}
    p = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith("synced")
        assert wait_for(lambda: any(l["live"] for l in org.status()), 5.0)
        p.send_signal(signal.SIGSTOP)  # as a load of 15 does to a screen, for longer than any keepalive
        wait_for(lambda: False, 11.0)
        p.send_signal(signal.SIGCONT)
        wait_for(lambda: False, 2.0)
        assert not any("stopped answering" in line for line in org.lines), org.lines
        assert len([l for l in org.status() if l["live"]]) == 1
        assert len([line for line in org.lines if "connected" in line]) == 1  # no reconnect either
    finally:
        p.send_signal(signal.SIGCONT)
        p.stdin.close()
        p.wait(10)


# ------------------------------------------------------------------------ redials

def test_redials_of_screens_cut_together_are_spread():
    rng = random.Random(7)
    screens = [liveness.Redial(0.0, rng) for _ in range(20)]
    for r in screens:
        r.failed(0.0)
    first = sorted(r.due for r in screens)
    assert len(set(first)) == 20  # no two at the same instant
    assert first[0] >= 0.5 * liveness.REDIAL_MIN and first[-1] <= liveness.REDIAL_MIN
    for _ in range(10):  # a long cut: the waits grow to REDIAL_MAX, still spread
        for r in screens:
            r.failed(100.0)
    late = sorted(r.due - 100.0 for r in screens)
    assert late[-1] <= liveness.REDIAL_MAX and late[0] >= 0.5 * liveness.REDIAL_MAX
    assert late[-1] - late[0] > 0.25 * liveness.REDIAL_MAX


def test_a_peer_that_said_it_is_full_is_asked_again_only_after_the_longest_wait():
    rng = random.Random(5)
    screens = [liveness.Redial(10.0, rng) for _ in range(20)]
    for r in screens:
        r.told_full(10.0)
    dues = sorted(r.due - 10.0 for r in screens)
    assert dues[0] >= 0.5 * liveness.REDIAL_MAX and dues[-1] <= liveness.REDIAL_MAX
    assert len(set(dues)) == 20


def test_once_a_peer_answers_the_others_are_redialled_soon():
    rng = random.Random(3)
    waiting = [liveness.Redial(0.0, rng) for _ in range(8)]
    for r in waiting:
        for _ in range(10):
            r.failed(50.0)
    for r in waiting:
        r.healed(51.0)
    assert all(51.0 <= r.due <= 51.0 + liveness.REDIAL_AFTER_HEAL for r in waiting)
    assert all(r.backoff == liveness.REDIAL_MIN for r in waiting)


def test_a_node_keeps_at_most_max_peers_and_an_away_one_makes_room(nodes):
    scr, _ = nodes(SCREEN_1, "s1", max_peers=2, connect_timeout=0.3)
    org, _ = nodes(ORG, "org")
    holes = []
    for _ in range(3):  # UDP ports that swallow everything: peers that are away
        h = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        h.bind(("127.0.0.1", 0))
        holes.append(h)
    try:
        for i, h in enumerate(holes[:2]):
            with pytest.raises(Exception):
                scr.sync("%s@127.0.0.1:%d" % (public_key(bytes([60 + i] * 32)).hex(), h.getsockname()[1]))
        assert len(scr._wanted) == 2
        scr.sync(org.ticket())  # a reachable newcomer takes the slot of one that is away
        assert len(scr._wanted) == 2
        assert any(e["peer"].node_ids == [org.node_id_bytes] for e in scr._wanted.values()), [(e["peer"].node_ids, e.get("last_error")) for e in scr._wanted.values()]
    finally:
        for h in holes:
            h.close()


def test_a_peer_announced_at_an_address_that_is_away_is_kept_once_at_the_one_that_answered(nodes):
    """mDNS gives a peer's addresses (a laptop on two LANs): the one that did not answer is not
    kept beside the one that did, redialled at each cut and counted twice against max_peers."""
    from pandascreen.node.discovery import iroh_add_peer
    scr, _ = nodes(SCREEN_1, "s1", max_peers=2, connect_timeout=0.3)
    other, _ = nodes(SCREEN_2, "s2")
    third, _ = nodes(bytes([44] * 32), "s3")
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # swallows everything: an address that is away
    hole.bind(("127.0.0.1", 0))
    try:
        real_port = int(other.addresses()[0].rpartition(":")[2])
        add = iroh_add_peer(scr, timeout=5.0)
        assert add(other.node_id_bytes, [("127.0.0.1", hole.getsockname()[1]), ("127.0.0.1", real_port)]) is True
        kept = [(e["peer"].node_ids, e["peer"].addr) for e in scr._wanted.values()]
        assert kept == [([other.node_id_bytes], "127.0.0.1:%d" % real_port)], kept
        scr.sync(third.ticket())  # a second peer still has a place
        assert len(scr._wanted) == 2
        assert wait_for(lambda: len(scr.live_peers()) == 2, 5.0), scr.live_peers()
    finally:
        hole.close()


def test_an_organiser_found_while_its_own_dial_still_syncs_is_kept_and_redialled_after_a_blip(nodes):
    """serve never redials; a screen that found it (mDNS) while serve's dial to it was still
    syncing, and whose caller stopped waiting ("still under way"), keeps it wanted: after the
    session breaks, the screen dials it again."""
    org, org_store = nodes(ORG, "org", reconnect=False)
    scr, _ = nodes(SCREEN_1, "scr")
    publish(org_store, ORG, 300)
    sends_slowly(org)
    with pytest.raises(Exception, match="still under way"):
        org.sync(scr.ticket(), timeout=0.5)
    with pytest.raises(Exception, match="still under way"):
        scr.sync(org.ticket(), timeout=1.0)
    assert wait_for(lambda: any(st["live"] for st in scr.status()), 30.0)
    link = next(l for l in scr.links if not l.ended)
    scr._loop.call_soon_threadsafe(scr._abort, link, "a blip")
    assert wait_for(lambda: link.ended, 10.0)
    assert wait_for(lambda: any(st["live"] for st in scr.status()), 25.0), (list(scr._wanted), scr.lines[-4:])


# ------------------------------------------------------------------------ resync

def test_resync_repairs_a_live_message_that_was_lost(nodes):
    org, org_store = nodes(ORG, "org", resync_every=2.0)
    scr, scr_store = nodes(SCREEN_1, "s1", resync_every=2.0)
    publish(org_store, ORG, 2)
    scr.sync(org.ticket())
    assert scr_store.count() == 2
    live_link = scr._live_links()[0]
    # the next live push of the organiser is lost on the way: its sessions see nothing new
    org._pull = lambda link: setattr(link, "cursor", link.sub.store.version)
    publish(org_store, ORG, 1, start=2)
    org.notify()
    # repaired by the resync within RESYNC_EVERY * 1.5 (here 3 s) plus one sync
    assert wait_for(lambda: scr_store.count() == 3, 8.0), scr.lines + org.lines
    assert wait_for(lambda: any("repaired what live mode had missed" in line for line in scr.lines + org.lines), 2.0)
    # the live sessions go on beside it, not torn down and not redialled
    assert wait_for(lambda: len([l for l in scr.status() if l["live"]]) == 1, 3.0), scr.status()
    assert not live_link.ended
    assert not scr.errors and not org.errors, scr.errors + org.errors


def test_a_quiet_live_session_on_a_node_with_room_is_not_closed_at_the_idle_limit(nodes):
    # a night without changes: the festival topic's live sessions carry no byte for hours
    org, _ = nodes(ORG, "org", live_idle=1.0)
    scr, _ = nodes(SCREEN_1, "s1", serve=False)
    scr.sync(org.ticket())
    wait_for(lambda: False, 4.0)
    assert not any("nothing from the peer" in line for line in org.lines), org.lines
    assert len([line for line in org.lines if "connected" in line]) == 1
    assert [l["live"] for l in org.status()] == [True]


def test_two_screens_that_dial_each_other_at_once_keep_one_live_session(nodes):
    from pandascreen.node.iroh_address import parse_peer
    a, a_store = nodes(SCREEN_1, "a")
    b, b_store = nodes(SCREEN_2, "b")
    a.sync(b.ticket())
    # b dials a as well, as when both found each other by mDNS at the same moment (a plain
    # b.sync would see the live session and not dial)
    peer = parse_peer(a.ticket())
    b._submit(b._dial(b.subs[0], peer, ("twin",), 5.0)).result(10)
    assert wait_for(lambda: len([l for l in a.status() if l["live"]]) == 1
                    and len([l for l in b.status() if l["live"]]) == 1, 6.0), (a.status(), b.status())
    assert wait_for(lambda: any("both dialled at once" in line for line in a.lines + b.lines), 3.0), a.lines + b.lines
    publish(a_store, SCREEN_1, 1)
    a.notify()
    assert wait_for(lambda: b_store.count() == 1, 3.0)
    publish(b_store, SCREEN_2, 1)
    b.notify()
    assert wait_for(lambda: a_store.count() == 1, 3.0)
    assert not a.errors and not b.errors, a.errors + b.errors


def test_a_node_dialled_by_a_peer_it_finds_waits_for_that_session_rather_than_dial_a_twin(nodes):
    """Under load a session takes seconds to sync; a screen that found (mDNS) a peer whose dial
    to it was still syncing dialled a second session, which one side then closed: a QUIC
    handshake and a sync each way for nothing (two or three times in a 50-screen cold start)."""
    a, a_store = nodes(SCREEN_1, "a")
    b, b_store = nodes(SCREEN_2, "b")
    publish(b_store, SCREEN_2, 300)
    sends_slowly(b)  # b is loaded: it sends, but each write a second late
    with pytest.raises(Exception, match="still under way"):
        a.sync(b.ticket(), timeout=0.5)
    assert b.sync(a.ticket(), timeout=20.0)["peer"] == a.node_id
    assert wait_for(lambda: a_store.count() == 300, 20.0), a.lines + b.lines
    assert len([line for line in a.lines + b.lines if " connected (" in line]) == 2, a.lines + b.lines
    assert not any("both dialled at once" in line for line in a.lines + b.lines)


def test_an_incoming_sync_still_under_way_at_the_callers_timeout_is_not_twinned(nodes):
    """The caller hears "still under way" (discovery keeps such a peer), as for a dial of our own,
    and no second session is dialled after the wait."""
    a, _ = nodes(SCREEN_1, "a")
    b, b_store = nodes(SCREEN_2, "b")
    publish(b_store, SCREEN_2, 3000)
    sends_slowly(b, delay=2.0)
    with pytest.raises(Exception, match="still under way"):
        b.sync(a.ticket(), timeout=0.5)
    with pytest.raises(Exception, match="still under way"):
        a.sync(b.ticket(), timeout=3.0)
    assert len([line for line in a.lines + b.lines if " connected (" in line]) == 2, a.lines + b.lines


def test_a_background_caller_never_waits_for_a_peers_own_dial(nodes):
    """The screen's loop syncs its configured peers with ``background=True``: once a peer is
    wanted it raises at once and never holds the loop (the display would not redraw)."""
    from pandascreen.node.iroh_address import parse_peer
    a, _ = nodes(SCREEN_1, "a")
    b, b_store = nodes(SCREEN_2, "b")
    publish(b_store, SCREEN_2, 3000)
    spec = b.ticket()
    peer = parse_peer(spec)

    def want():  # configured, dialled before, waiting for its redial
        redial = liveness.Redial(time.monotonic())
        redial.due = float("inf")
        a._wanted[(a.subs[0].topic, peer.who)] = {"spec": spec, "peer": peer, "sub": a.subs[0],
                                                    "redial": redial, "last_error": "an earlier failure"}
    a._loop.call_soon_threadsafe(want)
    sends_slowly(b, delay=2.0)
    with pytest.raises(Exception, match="still under way"):
        b.sync(a.ticket(), timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(Exception, match="redialling in the background"):
        a.sync(spec, timeout=30.0, background=True)
    assert time.monotonic() - t0 < 15  # not the 30 s a wait for the peer's own dial would take


@pytest.mark.parametrize("slow", [True, False])
def test_a_peer_found_while_its_own_dial_runs_is_redialled_when_that_session_ends(nodes, slow):
    """serve dials the screens it finds and never redials (reconnect=False).  A screen that found
    serve while serve's session with it was syncing (``slow``) or live took that session and did
    not keep serve wanted: after a blip neither side dialled again."""
    org, org_store = nodes(ORG, "org", reconnect=False)
    scr, _ = nodes(SCREEN_1, "scr")
    publish(org_store, ORG, 300 if slow else 3)
    if slow:
        sends_slowly(org)
        with pytest.raises(Exception, match="still under way"):
            org.sync(scr.ticket(), timeout=0.5)
    else:
        org.sync(scr.ticket())
    assert scr.sync(org.ticket(), timeout=20.0)["live"]
    assert len([line for line in scr.lines if " connected (" in line]) == 1
    link = next(l for l in scr.links if not l.ended)
    scr._loop.call_soon_threadsafe(scr._abort, link, "test: a blip")
    assert wait_for(lambda: link.ended, 10.0)
    assert wait_for(lambda: any(l["live"] for l in scr.status()), 20.0), scr.lines[-8:] + org.lines[-8:]
    assert any("(we dialled" in line for line in scr.lines)


def test_live_push_skips_what_the_peers_have_said_it_holds(tmp_path):
    from types import SimpleNamespace
    from pandascreen.node.iroh_relay import lacking
    store = SqliteStore(str(tmp_path / "s.db"))
    try:
        publish(store, ORG, 5)
        ops = list(store.all_operations(LOG))
        pk = public_key(ORG)

        def link(heights):
            return SimpleNamespace(remote_id=bytes(32), known={},
                                   session=SimpleNamespace(remote_heights=heights, seen=set()))
        assert lacking(ops, link(None)) == ops
        assert [op.seq_num for op in lacking(ops, link({pk: {LOG: 2}}))] == [3, 4]
        assert lacking(ops, link({pk: {LOG: 4}})) == []
        assert lacking(ops, link({bytes(32): {LOG: 9}})) == ops  # another author's log says nothing
    finally:
        store.close()


def test_a_slow_first_sync_goes_on_when_the_caller_stops_waiting(nodes):
    org, org_store = nodes(ORG, "org")
    scr, scr_store = nodes(SCREEN_1, "s1")
    publish(org_store, ORG, 300)
    # the organiser is loaded: it sends, but slowly (each write a second late); the screen's caller
    # waits only half a second, less than one write
    sends_slowly(org)
    with pytest.raises(Exception, match="still under way"):
        scr.sync(org.ticket(), timeout=0.5)
    assert wait_for(lambda: scr_store.count() == 300, 20.0), scr.lines + org.lines
    assert wait_for(lambda: any(l["live"] for l in scr.status()), 5.0)
    assert len([line for line in org.lines if "connected" in line]) == 1  # not aborted, not redialled


def test_a_caller_that_gives_up_on_a_dial_leaves_no_task_error(nodes, caplog):
    # the dial outlives its caller (sync's own bound is shorter than the connect timeout)
    scr, _ = nodes(SCREEN_1, "s1", connect_timeout=3.0, timeout=0.5)
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))  # swallows everything
    try:
        with pytest.raises(Exception):
            scr.sync("%s@127.0.0.1:%d" % (public_key(ORG).hex(), hole.getsockname()[1]), timeout=0.2)
        import gc
        wait_for(lambda: False, 5.0)  # past the dial's own end (iroh gives up after its timeout)
        gc.collect()
    finally:
        hole.close()
    # the fixture checks that no task error went unretrieved


# ------------------------------------------------------------------------ an organiser's bound

def _live_with(node):
    return sorted(l["peer"] for l in node.status() if l["live"])


def _screens(nodes, org, n, **kw):
    """``n`` screens of ``org``'s festival, each on its own loopback address (a place of an
    organiser is per IP address), seeds 50, 51, ..."""
    return [nodes(bytes([50 + i] * 32), "s%d" % i, bind="127.0.0.%d:0" % (10 + i),
                  default_node_ids=[org.node_id_bytes], **kw) for i in range(n)]


def _dials_to(node, org):
    return len([line for line in node.lines if " connected (we dialled" in line and org.node_id[:16] in line])


def _one_place_taken(nodes, **org_kw):
    """An organiser with one place, taken by screen s1; s2 heard "full" and is linked to s3."""
    org, org_store = nodes(ORG, "org", reconnect=False, max_linked=1, **org_kw)
    screens = _screens(nodes, org, 3)
    (s1, _), (s2, _), (s3, _) = screens
    assert s1.sync(org.ticket())["live"]
    with pytest.raises(Exception, match="full"):
        s2.sync(org.ticket())
    s2.sync(s3.ticket())
    return org, org_store, screens


def test_an_organiser_links_at_most_its_bound_and_tells_the_rest_it_is_full(nodes):
    """Every screen dials the organiser; one that holds ``max_linked`` screens says "full" to the
    next, which takes the program from a screen instead (node/liveness.py ORGANISER_PEERS)."""
    org, org_store = nodes(ORG, "org", reconnect=False, max_linked=2)
    publish(org_store, ORG, 3)
    (s1, _), (s2, _), (s3, s3_store) = _screens(nodes, org, 3)
    for scr in (s1, s2):
        assert scr.sync(org.ticket())["live"]
    with pytest.raises(Exception, match="full"):
        s3.sync(org.ticket())
    assert s3_store.count() == 0
    assert len(_live_with(org)) == 2
    assert any("full" in line for line in s3.lines), s3.lines
    assert any("told it is full (2 peers linked)" in line for line in org.lines), org.lines
    s3.sync(s1.ticket())
    assert wait_for(lambda: s3_store.count() == 3, 5.0)
    # alone for a moment it did not redial the organiser at once, and linked to a screen it does
    # not redial it at all (its redial would be due within REDIAL_MAX): one dial in all
    wait_for(lambda: False, 1.5 * liveness.REDIAL_MAX)
    assert _dials_to(s3, org) == 1, s3.lines
    # nor does it dial it when it finds it again (mDNS): that place is for screens with no peer
    with pytest.raises(Exception, match="full"):
        s3.sync(org.ticket())
    assert _dials_to(s3, org) == 1, s3.lines
    assert not any("refused" in line for line in org.lines), org.lines


def test_an_organiser_gives_one_place_per_address(nodes):
    """A stranger's many node ids on one address take one place, not all of them."""
    org, _ = nodes(ORG, "org", reconnect=False, max_linked=2)
    from pandascreen.node.iroh_address import parse_peer
    first, second = [nodes(bytes([70 + i] * 32), "x%d" % i, bind="127.0.0.40:0") for i in range(2)]
    assert first[0].sync(org.ticket())["live"]
    x = second[0]
    for i in range(2):  # a stranger dials again at once, as only an alone screen would: still full
        with pytest.raises(Exception, match="full"):
            x._submit(x._dial(x.subs[0], parse_peer(org.ticket()), ("again", i), 5.0)).result(10)
    (scr, _), = _screens(nodes, org, 1)
    assert scr.sync(org.ticket())["live"]


def test_an_organiser_remembers_one_screen_told_full_per_address(nodes):
    org, _ = nodes(ORG, "org", reconnect=False, max_linked=1)

    async def told(node_ids_and_addrs):
        for node_id, addr in node_ids_and_addrs:
            org._spare_add(node_id, addr, told=True)
        return dict(org._spare)
    many = [(bytes([80 + i] * 32), "127.0.0.50:%d" % (4000 + i)) for i in range(40)]
    assert org._submit(told(many)).result(5) == {many[-1][0]: many[-1][1]}
    v6 = [(bytes([120 + i] * 32), "[2001:db8:0:1::%x]:2026" % (i + 1)) for i in range(3)]  # one /64
    assert len(org._submit(told(v6)).result(5)) == 2
    screens = [(bytes([i] * 32), "10.0.%d.%d:2026" % (i // 200, i % 200)) for i in range(1, 41)]
    spare = org._submit(told(screens)).result(5)
    assert len(spare) == liveness.ORGANISER_SPARES and list(spare)[-1] == screens[-1][0]
    assert set(org._told_at) == set(spare)


def test_an_organiser_below_its_bound_dials_a_screen_it_told_it_was_full(nodes):
    """Screens told "full" do not dial the organiser again while they have other peers, so an
    organiser whose screens went away fills its place itself: it dials a screen it refused."""
    org, org_store, ((s1, _), (s2, s2_store), (s3, _)) = _one_place_taken(nodes)
    s1.stop()  # the organiser's one screen goes away
    publish(org_store, ORG, 2)
    org.notify()
    assert wait_for(lambda: s2_store.count() == 2, 15.0), s2.lines[-6:] + org.lines[-6:]
    assert wait_for(lambda: _live_with(org) == [s2.node_id], 5.0), org.status()
    assert wait_for(lambda: org._refilling == 0, 5.0)


def test_an_organiser_dials_back_a_screen_that_cannot_store_what_it_sends_ever_later(nodes):
    """A screen whose SD card is full ends each session whose operations it cannot store, at
    once: the organiser, its place free again, dialled it back at once, thousands of times a
    minute on both machines (found on a full card).  Now after a redial's growing wait, and the
    program still arrives soon after the card has room again."""
    org, org_store = nodes(ORG, "org", reconnect=False, max_linked=1)
    (scr, scr_store), = _screens(nodes, org, 1, reconnect=False)
    org_store.publish_many(ORG, [b"op %d %s" % (i, b"x" * 900) for i in range(40)], LOG, 1_700_000_000_000_000)
    pages = scr_store._db.execute("PRAGMA page_count").fetchone()[0]
    scr_store._db.execute("PRAGMA max_page_count=%d" % pages)  # full: SQLite fails as a full disk does
    try:
        scr.sync(org.ticket())
    except Exception:  # the session ends: what it brought cannot be stored
        pass
    assert wait_for(lambda: scr_store.write_failed == "full", 10.0), scr.lines[-6:]
    wait_for(lambda: False, 12.0)  # redials 0.5-1, 1-2, 2-4, 4-8 s apart: about four
    dials = len([line for line in org.lines if " connected (we dialled" in line and scr.node_id[:16] in line])
    assert 1 <= dials <= 8, (dials, org.lines[-6:])
    scr_store._db.execute("PRAGMA max_page_count=1073741823")  # room again: the next redial brings the program
    assert wait_for(lambda: scr_store.count() == 40, 20.0), org.lines[-6:] + scr.lines[-6:]


def test_a_screen_told_full_dials_the_organiser_again_once_it_is_alone_and_gets_in(nodes):
    """Its second dial gets in whatever the bound: it has no other peer (on a Wi-Fi that keeps
    screens apart, no screen has)."""
    org, org_store = nodes(ORG, "org", reconnect=False, max_linked=1)
    publish(org_store, ORG, 2)
    (s1, _), (s2, s2_store), (s3, _) = _screens(nodes, org, 3)
    assert s1.sync(org.ticket())["live"]
    with pytest.raises(Exception, match="full"):
        s2.sync(org.ticket())
    org._refill = lambda: None  # the organiser does not dial it: the screen must
    s2.sync(s3.ticket())
    wait_for(lambda: False, 1.5 * liveness.REDIAL_MAX)
    assert _dials_to(s2, org) == 1  # not alone: it keeps off
    s3.stop()
    assert wait_for(lambda: org.node_id in _live_with(s2), 25.0), s2.lines[-6:]
    assert s2_store.count() == 2
    assert wait_for(lambda: sorted(_live_with(org)) == sorted([s1.node_id, s2.node_id]), 5.0)  # beyond the bound


def test_a_screen_dialling_in_gets_the_place_of_an_organisers_dial_to_a_cut_off_one(nodes):
    org, _ = nodes(ORG, "org", reconnect=False, max_linked=1, connect_timeout=8.0)
    (s1, _), (s2, _) = _screens(nodes, org, 2)
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.30", 0))  # a screen the organiser told "full" and that is cut off now
    away = public_key(bytes([60] * 32))
    try:
        org._loop.call_soon_threadsafe(org._spare_add, away, "127.0.0.30:%d" % hole.getsockname()[1])
        assert s1.sync(org.ticket())["live"]
        s1.stop()  # the organiser dials the cut-off one, which hangs for its dial timeout
        assert wait_for(lambda: org._refilling == 1, 5.0)
        assert s2.sync(org.ticket())["live"]
        assert org._refilling == 1  # still dialling the cut-off one
    finally:
        hole.close()


def test_an_organisers_change_reaches_screens_it_told_full_when_its_own_screens_are_cut_off(nodes):
    """Its linked screens may all be cut off while they still count as live: a change of its
    program is also announced in a round to a few screens it told "full", which relay it on."""
    org, org_store, ((s1, s1_store), (s2, s2_store), (s3, s3_store)) = _one_place_taken(nodes)
    s1._pull = lambda link: None  # the organiser's screen is cut off: it relays nothing on
    org._pull = lambda link: setattr(link, "cursor", link.sub.store.version)  # nor hears its push
    publish(org_store, ORG, 2)
    org.notify()
    assert wait_for(lambda: s2_store.count() == 2 and s3_store.count() == 2, 8.0), org.lines[-6:]
    assert s1_store.count() == 0
    wait_for(lambda: False, 1.5 * liveness.REDIAL_MAX)  # the round is no invitation: s2 keeps off
    assert _dials_to(s2, org) == 1, "\n".join(s2.lines)


def test_an_organisers_resync_reaches_screens_it_told_full(nodes):
    """A group of screens told "full" and linked only to each other hears of what it missed at
    the organiser's next resync."""
    org, org_store, ((s1, _), (s2, s2_store), (s3, s3_store)) = _one_place_taken(nodes, resync_every=2.0)
    org._tell_spares = lambda: None  # no round for the change itself: only the resync is left
    s1._pull = lambda link: None
    org._pull = lambda link: setattr(link, "cursor", link.sub.store.version)
    publish(org_store, ORG, 2)
    org.notify()
    assert wait_for(lambda: s2_store.count() == 2 and s3_store.count() == 2, 10.0), org.lines[-6:]


def test_a_screen_told_full_does_not_dial_again_at_once_when_it_finds_the_organiser(nodes):
    """An mDNS find right after the "full": its second dial would get in, as an alone screen's."""
    org, _ = nodes(ORG, "org", reconnect=False, max_linked=1)
    (s1, _), (s2, _) = _screens(nodes, org, 2)
    assert s1.sync(org.ticket())["live"]
    for _ in range(2):
        with pytest.raises(Exception, match="full"):
            s2.sync(org.ticket())
    assert _dials_to(s2, org) == 1
    assert _live_with(org) == [s1.node_id]


def test_an_organiser_dials_back_a_screen_whose_session_ended(nodes):
    """Not only screens told "full" are in its list: a place that ends is filled again, hour
    after hour (an incoming live session ends after ``LIVE_LIFETIME``)."""
    org, _ = nodes(ORG, "org", reconnect=False, max_linked=1)
    (s1, _), = _screens(nodes, org, 1, reconnect=False)  # it never dials again itself
    assert s1.sync(org.ticket())["live"]
    link = next(l for l in s1.links if not l.ended)
    s1._loop.call_soon_threadsafe(s1._abort, link, "test: a blip")
    assert wait_for(lambda: link.ended, 5.0)
    assert wait_for(lambda: org.node_id in _live_with(s1), 10.0), org.lines[-6:]
    assert any("(we dialled" in line for line in org.lines), org.lines


def test_a_screen_with_peers_asks_an_organiser_that_said_full_again_after_a_while(nodes, monkeypatch):
    """So the organiser's list of screens to dial back hears of it again."""
    monkeypatch.setattr(liveness, "FULL_RETRY", 4.0)
    monkeypatch.setattr(liveness, "FULL_SECOND_DIAL", 1.0)  # so its dial again is no alone screen's
    org, _, ((s1, _), (s2, _), (s3, _)) = _one_place_taken(nodes)
    assert wait_for(lambda: _dials_to(s2, org) == 2, 10.0), s2.lines
    wait_for(lambda: False, 1.0)
    assert len([line for line in org.lines if "told it is full" in line]) == 2, org.lines
    assert _live_with(org) == [s1.node_id]  # not alone: "full" again


def test_a_screen_whose_session_with_the_organiser_lasted_asks_it_again_as_any_peer(nodes, monkeypatch):
    monkeypatch.setattr(liveness, "SHORT_SESSION", 1.0)
    org, _, ((s1, _), (s2, _), (s3, _)) = _one_place_taken(nodes)
    s1.stop()  # the organiser dials s2 into the place
    assert wait_for(lambda: org.node_id in _live_with(s2), 15.0), org.lines[-6:]
    org._refill = lambda: None  # from now on only s2 may dial
    wait_for(lambda: False, 1.5)
    link = next(l for l in s2.links if not l.ended and l.remote_id == org.node_id_bytes)
    s2._loop.call_soon_threadsafe(s2._abort, link, "test: a blip")
    assert wait_for(lambda: link.ended, 5.0)
    assert wait_for(lambda: org.node_id in _live_with(s2), 15.0), s2.lines[-6:]
