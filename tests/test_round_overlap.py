"""An announcement round is not dialled to a peer that is in a log sync with the node right now
(a round of ours, or its own sync with us): both would carry the same operations, and in a cold
start the peer took the program two and three times (node/iroh_relay.py, ``_pick_rounds``)."""
from test_relay_decision import LOG, ORG, PEERS, Swarm, publish

from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import ACCEPTOR, INITIATOR, SyncSession
from pandascreen.node.iroh_link import Link


def _syncing(swarm, remote_id, role):
    """A session with ``remote_id`` that sent its Have and is still in its log sync."""
    link = Link(swarm.node, None, role, remote_id, "127.0.0.1:1", swarm.node.subs[0])
    link.live = False if role == INITIATOR else None
    link.session = SyncSession(MemoryStore(), LOG, role, handshake=False)
    link.session.start()
    assert not link.session.complete
    swarm.node.links.append(link)
    return link


def test_no_round_with_a_peer_while_a_sync_with_it_runs():
    swarm = Swarm(PEERS[:4])
    publish(swarm.store, ORG, 200, start=3)  # a sync brought in a backlog: every session is owed a round
    swarm.pull_all()
    owed = swarm.node._owed[swarm.node.subs[0]]
    assert len(owed) == 4
    round_of_ours = _syncing(swarm, PEERS[0], INITIATOR)
    theirs = _syncing(swarm, PEERS[1], ACCEPTOR)
    picked, held_back = swarm.node._pick_rounds(4)
    assert sorted(link.remote_id for _, link in picked) == sorted(PEERS[2:4])
    assert held_back  # the next step looks again
    assert sorted(l.remote_id for l in owed) == sorted(PEERS[:2])
    round_of_ours.ended = True
    theirs.ended = True
    picked, held_back = swarm.node._pick_rounds(4)
    assert sorted(link.remote_id for _, link in picked) == sorted(PEERS[:2]) and not held_back


def test_an_announcement_step_that_only_waits_for_a_sync_goes_on_and_ends(monkeypatch):
    import asyncio

    from pandascreen.node import iroh_relay
    swarm = Swarm(PEERS[:2])
    publish(swarm.store, ORG, 200, start=3)
    swarm.pull_all()
    for remote_id in PEERS[:2]:  # every owed peer is in a sync with us: each step holds all back
        _syncing(swarm, remote_id, ACCEPTOR)
    monkeypatch.setattr(iroh_relay, "LAZY_WAIT", (0.0, 0.0))
    node = swarm.node

    async def burst():
        node._announce = asyncio.Event()
        node._announce.set()
        loop = asyncio.ensure_future(node._announce_loop())
        for _ in range(200):  # bounded: the burst's steps, each costing one round
            await asyncio.sleep(0.01)
            if not node._owed[node.subs[0]]:
                break
        done = loop.done()
        node._stopping = True
        loop.cancel()
        return done, loop
    done, loop = asyncio.run(burst())
    assert not done  # the loop waits for the next burst: no step failed
    assert node._owed[node.subs[0]] == set()  # the burst ended: the resync repairs the rest


def test_no_round_while_the_node_itself_still_takes_in_a_backlog():
    """A cold start: while a sync still brings this node the program, rounds with its live peers
    would tell them of a part, then of the next part, each a QUIC handshake and a sync; at 50
    screens that was most of the cold start's sessions.  They wait until the backlog is in."""
    swarm = Swarm(PEERS[:4])
    publish(swarm.store, ORG, 200, start=3)  # the first pages of a sync with the organiser
    swarm.pull_all()
    assert len(swarm.node._owed[swarm.node.subs[0]]) == 4
    taking = _syncing(swarm, ORG, INITIATOR)
    taking.session.log_sync.remote_total_ops = 1080
    picked, held_back = swarm.node._pick_rounds(4)
    assert picked == [] and held_back
    taking.ended = True
    picked, held_back = swarm.node._pick_rounds(4)
    assert len(picked) == 4 and not held_back


def _rounds_of_a_burst(swarm, monkeypatch):
    """Run the announcement loop for one burst, each round finding the peer holding everything;
    the number of rounds it made."""
    import asyncio

    from pandascreen.node import iroh_relay
    monkeypatch.setattr(iroh_relay, "LAZY_WAIT", (0.0, 0.0))
    node, made = swarm.node, []

    async def empty_round(sub, node_id, addr, why):
        made.append(node_id)
        return {"ops_new": 0, "ops_sent": 0}
    node._round = empty_round

    async def burst():
        node._announce = asyncio.Event()
        node._announce.set()
        loop = asyncio.ensure_future(node._announce_loop())
        for _ in range(200):  # bounded: a burst is at most LAZY_ROUNDS steps
            await asyncio.sleep(0.01)
            if not node._owed[node.subs[0]]:
                break
        node._stopping = True
        loop.cancel()
    asyncio.run(burst())
    return len(made)


def test_a_backlog_burst_ends_when_its_rounds_find_the_peers_holding_it(monkeypatch):
    """At a cold start every screen syncs the program itself; rounds that found it already there
    (521 of 644 at 50 screens) tell the node that its peers have other sources."""
    from pandascreen.node import iroh_relay
    swarm = Swarm(PEERS)
    publish(swarm.store, ORG, 200, start=3)  # a sync brought in a backlog: all 10 sessions owed
    for link in swarm.node.links:
        swarm.node._pull(link, backlog=True)
    assert len(swarm.node._owed[swarm.node.subs[0]]) == len(PEERS)
    assert _rounds_of_a_burst(swarm, monkeypatch) == iroh_relay.EMPTY_ROUNDS
    assert swarm.node._owed[swarm.node.subs[0]] == set()


def test_a_change_burst_goes_on_whatever_its_first_rounds_found(monkeypatch):
    from pandascreen.node import iroh_relay
    swarm = Swarm(PEERS)
    publish(swarm.store, ORG, 2, start=3)  # a change: pushed to the eager few, the others owed
    swarm.pull_all()
    owed = len(PEERS) - iroh_relay.EAGER_PEERS
    assert iroh_relay.EMPTY_ROUNDS < owed <= iroh_relay.LAZY_ROUNDS
    assert _rounds_of_a_burst(swarm, monkeypatch) == owed  # every owed peer, as the heal needs
