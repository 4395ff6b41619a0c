"""Which live sessions a node pushes new operations to, and which only hear of them
(node/iroh_relay.py), decided by the node's own ``_pull`` on live sessions driven in memory:
no network, no endpoint."""
from pandascreen.core import operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import ACCEPTOR, INITIATOR, SyncSession
from pandascreen.node import iroh_relay
from pandascreen.node.iroh_link import Link, Subscription
from pandascreen.node.iroh_transport import IrohNode

TOPIC = operation.festival_topic("relayfest")
LOG = operation.log_id_for_topic(TOPIC)
NODE = bytes([60] * 32)
ORG = bytes([61] * 32)
PEER_SEEDS = [bytes([70 + i] * 32) for i in range(10)]
PEERS = [public_key(seed) for seed in PEER_SEEDS]  # a node id is its key


def publish(store, seed, n, start=0):
    return store.publish_many(seed, [b"op %d" % i for i in range(start, start + n)], LOG,
                              1_700_000_000_000_000 + start)


def live_pair(node_store, peer_store, log_id=LOG, topic=TOPIC):
    """Our session and the peer's, through the sync and into live mode."""
    ours = SyncSession(node_store, log_id, INITIATOR, topic=topic, handshake=False, live=True)
    theirs = SyncSession(peer_store, log_id, ACCEPTOR, topic=topic, handshake=False, live=True)
    for _ in range(100):
        if ours.in_live_mode and theirs.in_live_mode:
            break
        a, b = ours.outgoing(), theirs.outgoing()
        if a:
            theirs.feed(a)
        if b:
            ours.feed(b)
    assert ours.in_live_mode and theirs.in_live_mode
    return ours, theirs


class Swarm:
    """An IrohNode (never started) with live sessions to ``peers``, each peer holding what the
    node held when its session began."""

    def __init__(self, peers, initial=3, role=INITIATOR):
        self.store = MemoryStore()
        publish(self.store, ORG, initial)
        self.node = IrohNode(self.store, TOPIC, NODE, reconnect=False)
        self.node._event = lambda line: None
        self.peer_stores = {}
        for remote_id in peers:
            peer_store = MemoryStore()
            publish(peer_store, ORG, initial)
            link = Link(self.node, None, role, remote_id, "127.0.0.1:1", self.node.subs[0])
            link.session, _ = live_pair(self.store, peer_store)
            link.cursor = self.store.version
            self.node.links.append(link)
            self.peer_stores[remote_id] = peer_store

    def pull_all(self):
        """``{remote id: operations pushed as Live}`` after every session looked at the store."""
        before = {l.remote_id: l.session.live_sent for l in self.node.links}
        for link in self.node.links:
            self.node._pull(link)
        return {l.remote_id: l.session.live_sent - before[l.remote_id] for l in self.node.links}


def test_a_change_is_pushed_to_a_bounded_set_of_sessions_and_announced_to_the_others():
    swarm = Swarm(PEERS)
    publish(swarm.store, ORG, 2, start=3)  # a change: two new operations of the organiser's log
    pushed = swarm.pull_all()
    eager = [r for r, n in pushed.items() if n]
    assert len(eager) == iroh_relay.EAGER_PEERS, pushed
    assert all(pushed[r] == 2 for r in eager)
    owed = swarm.node._owed[swarm.node.subs[0]]
    assert sorted(l.remote_id for l in owed) == sorted(r for r in PEERS if r not in eager)


def test_a_change_is_pushed_to_every_peer_a_round_cannot_reach():
    """Peers that dialled us and that we never reached ourselves may not serve (a screen started
    with --no-serve, or behind a firewall): a round to them cannot connect, so they get the push."""
    swarm = Swarm(PEERS, role=ACCEPTOR)
    publish(swarm.store, ORG, 2, start=3)
    pushed = swarm.pull_all()
    assert all(n == 2 for n in pushed.values()), pushed
    assert swarm.node._owed[swarm.node.subs[0]] == set()
    swarm.node.reachable.update(PEERS)  # once dialled, peers are known to take rounds: lazy again
    publish(swarm.store, ORG, 2, start=5)
    assert sum(1 for n in swarm.pull_all().values() if n) == iroh_relay.EAGER_PEERS


def test_a_backlog_a_sync_brought_in_is_never_pushed_live_only_announced():
    swarm = Swarm(PEERS)
    publish(swarm.store, ORG, 200, start=3)  # what a sync with the organiser just brought in
    assert sum(swarm.pull_all().values()) == 0
    assert len(swarm.node._owed[swarm.node.subs[0]]) == len(PEERS)


def test_a_peer_known_to_hold_the_operations_gets_neither():
    swarm = Swarm(PEERS[:3])
    author = swarm.node.links[0]
    publish(swarm.store, PEER_SEEDS[0], 2)  # the first peer's own log: it holds it
    knows = swarm.node.links[1]
    iroh_relay.note_heights(knows, swarm.store.heights(LOG))  # its Have in a later round said so
    pushed = swarm.pull_all()
    assert pushed[author.remote_id] == 0 and pushed[knows.remote_id] == 0
    assert pushed[swarm.node.links[2].remote_id] == 2
    assert swarm.node._owed[swarm.node.subs[0]] == set()


def test_announcements_go_to_at_most_a_few_owed_peers_still_behind():
    swarm = Swarm(PEERS)
    publish(swarm.store, ORG, 200, start=3)
    swarm.pull_all()
    owed = swarm.node._owed[swarm.node.subs[0]]
    caught_up = sorted(owed, key=lambda l: l.remote_id)[:8]
    for link in caught_up:
        iroh_relay.note_heights(link, swarm.store.heights(LOG))
    picked = iroh_relay.pick_owed(owed, swarm.store.heights(LOG))
    assert len(picked) == 2 and not set(picked) & set(caught_up)


def test_the_end_of_a_log_a_peer_is_still_syncing_is_announced_not_pushed():
    """A Live message after a gap is refused by the peer and ends the session: a slice of a log
    whose start the peer is not known to hold goes by a round."""
    swarm = Swarm(PEERS[:2], initial=3)
    publish(swarm.store, ORG, 40, start=3)  # a sync brought in seq 3..42: a backlog, announced
    swarm.pull_all()
    swarm.node._owed[swarm.node.subs[0]].clear()
    publish(swarm.store, ORG, 2, start=43)  # then the last two: the peers hold at most seq 2
    assert sum(swarm.pull_all().values()) == 0
    assert len(swarm.node._owed[swarm.node.subs[0]]) == 2


def test_a_change_after_a_pushed_one_is_pushed_again():
    swarm = Swarm(PEERS[:2])
    publish(swarm.store, ORG, 1, start=3)
    assert list(swarm.pull_all().values()) == [1, 1]
    publish(swarm.store, ORG, 1, start=4)
    assert list(swarm.pull_all().values()) == [1, 1]


def syncing_link(swarm, total):
    """A session of ours still in its log sync, whose peer's PreSync announced ``total`` operations."""
    link = Link(swarm.node, None, INITIATOR, public_key(ORG), "127.0.0.1:2", swarm.node.subs[0])
    link.session = SyncSession(swarm.store, LOG, INITIATOR, topic=TOPIC, handshake=False, live=True)
    link.session.log_sync.remote_total_ops = total
    return link


def test_a_backlog_a_sync_brings_in_page_by_page_is_announced_not_pushed():
    swarm = Swarm(PEERS[:3])
    sub = swarm.node.subs[0]
    syncing = syncing_link(swarm, iroh_relay.LIVE_BATCH + 1)
    publish(swarm.store, ORG, 2, start=3)  # its first page: two operations of many
    swarm.node._changed(sub, 2, syncing)
    assert sum(swarm.pull_all().values()) == 0
    assert len(swarm.node._owed[sub]) == 3


def test_a_change_a_sync_brought_in_goes_on_as_a_live_one_does():
    """A screen that was cut off takes the change in its first sync after the heal; the peers it
    is live with on its side of the cut get it pushed, as PlumTree pushes a message on however
    it came (an IHave's GRAFT too), instead of waiting for rounds one after the other."""
    swarm = Swarm(PEERS)
    sub = swarm.node.subs[0]
    syncing = syncing_link(swarm, 2)
    publish(swarm.store, ORG, 2, start=3)
    swarm.node._changed(sub, 2, syncing)
    pushed = swarm.pull_all()
    assert sorted(pushed.values()) == [0] * (len(PEERS) - iroh_relay.EAGER_PEERS) + [2] * iroh_relay.EAGER_PEERS
    assert len(swarm.node._owed[sub]) == len(PEERS) - iroh_relay.EAGER_PEERS


def live_pair_of(sub, peer_store):
    return live_pair(sub.store, peer_store, sub.log_id, sub.topic)


def test_the_fleet_log_is_pushed_to_the_eager_few_and_never_announced():
    swarm = Swarm([])
    fleet = Subscription(operation.festival_topic("relayfest-fleet"), MemoryStore(), "fleet")
    swarm.node.subs.append(fleet)
    swarm.node._owed[fleet] = set()
    for remote_id in PEERS:
        link = Link(swarm.node, None, INITIATOR, remote_id, "127.0.0.1:1", fleet)
        link.session, _ = live_pair_of(fleet, MemoryStore())
        link.cursor = fleet.store.version
        swarm.node.links.append(link)
    fleet.store.publish_many(ORG, [b"status"], fleet.log_id, 1_700_000_000_000_000)
    pushed = swarm.pull_all()
    assert len([n for n in pushed.values() if n]) == iroh_relay.EAGER_PEERS
    assert swarm.node._owed[fleet] == set()


def test_what_crossed_a_real_session_is_known_held_by_its_peer():
    """The relay reads what a real session saw cross it (not only stand-ins' attributes): an
    operation sent to the peer in the sync is never pushed to it again."""
    from types import SimpleNamespace
    ours_store, peer_store = MemoryStore(), MemoryStore()
    ops = publish(ours_store, ORG, 3)
    ours, _theirs = live_pair(ours_store, peer_store)
    link = SimpleNamespace(session=ours, remote_id=PEERS[0], known={})
    assert ours.seen is not None and all(op.hash in ours.seen for op in ops)
    assert iroh_relay.lacking(ops, link) == []
