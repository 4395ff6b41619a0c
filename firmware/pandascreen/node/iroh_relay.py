"""Which live sessions get a new operation pushed, and which only hear that there is something
new: a node relays without flooding its peers.

Why: a node in live mode stores operations from many places (an import, a publish, a peer's Live
message, a sync that just brought in a whole program) and every live session of the topic pulls
from the store.  Pushing everything to every session sends each operation over every link of the
swarm, the ones a peer took in from someone else included: at 50 screens a cold start, where each
screen syncs the program and then pushes all of it to each of its peers, did not end.

How iroh-gossip does it (PlumTree over HyParView, which p2panda-net 0.7 runs beside its sync):
eager push along a few links (HyParView's active view, 5 by default), a lazy "IHave" with the
message id to the other links, and a GRAFT asking for the body when the IHave came and the body
did not.  p2panda-net 0.7's live sessions carry only ``Live(header, body)`` and ``Close``: there
is no IHave on that wire, and pandascreen adds no message of its own.  So here:

* eager: ``Live`` on at most ``EAGER_PEERS`` live sessions of the topic, and only for a change
  (at most ``LIVE_BATCH`` operations a session lacks, each log going on from what the peer is
  known to hold: a ``Live`` after a gap is refused); which sessions is a stable pseudo-random
  rank per pair of nodes (BLAKE3 of both node ids), so neighbours pick different peers and the
  eager links of the swarm reach nearly every node.  A peer a round cannot reach (it dialled us
  and we never reached it: it may not serve) is always eager;
* lazy: a session that lacks operations and gets no ``Live`` is owed an announcement.  The
  announcement is a plain p2panda log-sync round with that peer (topic handshake, ``Have`` both
  ways, then ``PreSync``/``Operation`` for only what one side lacks, ``Done``, ``Close``: the
  bytes of p2panda-net's LogSync), dialled ``LAZY_PEERS`` at a time, each step ``LAZY_WAIT``
  after the last, with at most ``LAZY_ROUNDS`` owed peers a burst that are still not known to
  hold it (a round with another peer, or theirs with us, may have shown they do); a burst owed
  only for a backlog ends after ``EMPTY_ROUNDS`` rounds that moved nothing.  Our ``Have`` is the IHave, the peer's ``PreSync``
  and operations are the GRAFT; a peer that took it from elsewhere answers with its ``Have`` and
  receives nothing.
* no round with a peer while a log sync with it runs (a round, or its sync with us): it carries
  the same operations, and a round beside it made the peer take them twice; that peer stays
  owed for the next step; and none at all while a sync still brings us a backlog: the peers
  would hear of each part of it in turn;
* a backlog is never pushed as ``Live``: a sync (not live mode) whose peer announced more than
  ``LIVE_BATCH`` operations, or more than that lacking for one session.  p2panda's live mode
  carries new operations, catching up is the sync's job, so those sessions are owed a round
  instead.  A sync that brings a change (a screen's first sync after a cut, an announcement
  round) passes it on as a live arrival does, as PlumTree pushes a message on however it came:
  waiting for rounds one after the other, hop by hop, made the last screens of a heal late;
* only the festival's own topic is announced: on the fleet log each screen's next status
  supersedes the last, so what the eager links miss waits for the next one;
* what a peer is known to hold, and so never sent: its own log (an author holds what it wrote),
  what crossed the session either way (the session's dedup set, as p2panda's), and its ``Have``
  in this session or in any later round with it (``note_heights``).

Owed sessions beyond ``LAZY_ROUNDS`` still converge: through the eager links and rounds of their
other peers, and at the latest through the periodic resync beside live mode (node/liveness.py).
Each node's own cost per burst stays bounded (``EAGER_PEERS`` pushes, ``LAZY_ROUNDS`` rounds),
however many screens there are: the organiser's load does not grow with the swarm.
"""

import asyncio
import random

from pandascreen.core.crypto import blake3
from pandascreen.node.iroh_link import relayable

EAGER_PEERS = 5  # iroh-gossip's default active view: enough eager links that every node is reached
LIVE_BATCH = 32  # more lacking operations than this is a backlog, not a change: a round moves it
LAZY_PEERS = 2  # announcement rounds at a time
LAZY_ROUNDS = 8  # announcement rounds per burst of new operations: bounded, whatever the node's degree
LAZY_WAIT = (0.5, 1.5)  # seconds before the rounds, jittered: eager pushes arrive first
EMPTY_ROUNDS = 2  # rounds of a backlog's burst that found the peer holding it all: the burst ends

PUSH = "push"
ANNOUNCE = "announce"


def note_heights(link, heights):
    """What ``link``'s peer holds is at least ``heights`` (``{public_key: {log_id: seq}}``)."""
    known = link.known
    for pk, logs in (heights or {}).items():
        mine = known.setdefault(pk, {})
        for log_id, seq in logs.items():
            if mine.get(log_id, -1) < seq:
                mine[log_id] = seq


def held(link, op):
    """Whether ``link``'s peer is known to hold ``op`` (it wrote it, it crossed this session, or a
    ``Have`` of the peer's said so)."""
    if op.public_key == link.remote_id:
        return True
    seen = getattr(link.session, "seen", None)
    if seen is not None and op.hash in seen:
        return True
    have = getattr(link.session, "remote_heights", None) or {}
    for heights in (link.known, have):
        if (heights.get(op.public_key) or {}).get(op.log_id, -1) >= op.seq_num:
            return True
    return False


def lacking(ops, link):
    """The operations of ``ops`` that ``link``'s peer is not known to hold."""
    return [op for op in ops if not held(link, op)]


def heights_of(ops):
    """``{public_key: {log_id: highest seq}}`` of ``ops``."""
    out = {}
    for op in ops:
        logs = out.setdefault(op.public_key, {})
        logs[op.log_id] = max(logs.get(op.log_id, -1), op.seq_num)
    return out


def behind(heights, link):
    """Whether we hold anything (per our ``heights``) that ``link``'s peer is not known to hold."""
    for pk, logs in heights.items():
        if pk == link.remote_id:
            continue
        mine = link.known.get(pk) or {}
        for log_id, seq in logs.items():
            if mine.get(log_id, -1) < seq:
                return True
    return False


def rank(node_id, remote_id):
    """A stable pseudo-random order of a node's peers, different at every node."""
    return blake3(bytes(node_id) + bytes(remote_id))


def eager_links(node_id, links, count=EAGER_PEERS, reachable=None):
    """The live sessions of one topic that get ``Live`` pushes: ``count`` of them by ``rank``, and
    every session whose peer a round cannot reach (it dialled us and we never reached it: it may
    not serve), since nothing else would bring it a change before its own resync."""
    if reachable is None:
        return sorted(links, key=lambda l: rank(node_id, l.remote_id))[:count]
    roundable = [l for l in links if l.remote_id in reachable]
    return sorted(roundable, key=lambda l: rank(node_id, l.remote_id))[:count] + \
        [l for l in links if l.remote_id not in reachable]


def follows(store, lacks, link):
    """Whether the peer is known to hold, in each log of ``lacks``, the operation just before the
    first one it lacks: a ``Live`` message after a gap is refused and ends the session (a peer
    that is still syncing the first part of a log must not get its end pushed).  An operation that
    prunes (a fleet status) needs nothing before it."""
    first = {}
    for op in lacks:
        key = (op.public_key, op.log_id)
        if key not in first or op.seq_num < first[key].seq_num:
            first[key] = op
    have = getattr(link.session, "remote_heights", None) or {}
    seen = getattr(link.session, "seen", None) or ()
    for (pk, log_id), op in first.items():
        seq = op.seq_num
        if seq == 0 or op.prune or max(link.known.get(pk, {}).get(log_id, -1), have.get(pk, {}).get(log_id, -1)) >= seq - 1:
            continue
        before = store.operations(pk, log_id, seq - 2 if seq >= 2 else None, seq - 1)
        if not before or before[-1].hash not in seen:
            return False
    return True


def decide(lacks, eager, follows=True, live_batch=LIVE_BATCH):
    """For one session: ``PUSH`` the operations it lacks, ``ANNOUNCE`` them (a round), or nothing."""
    if not lacks:
        return None
    if eager and follows and len(lacks) <= live_batch:
        return PUSH
    return ANNOUNCE


def brings_a_change(session):
    """Whether what a sync brings in is a change (its peer's ``PreSync`` announced at most
    ``LIVE_BATCH`` operations), which goes on as a live arrival does, rather than a backlog."""
    total = session.remote_total_ops
    return total is not None and total <= LIVE_BATCH


def moved_nothing(task):
    """Whether a finished round found the peer holding all we hold, and we all it holds."""
    if task.cancelled() or task.exception() is not None:
        return False
    st = task.result()
    # a forked log's head sent as evidence (core/log_sync.py) moves nothing
    return st is not None and not st.get("ops_new") and st.get("ops_sent", 0) <= st.get("ops_evidence", 0)


def pick_owed(owed, heights, count=LAZY_PEERS):
    """Up to ``count`` owed sessions, at random, that are still behind our ``heights``."""
    still = [l for l in owed if not l.ended and behind(heights, l)]
    random.shuffle(still)
    return still[:count]


class Relayer:
    """Pushes and announces new operations for an ``IrohNode`` (a part of it; uses its ``subs``,
    ``links``, ``node_id_bytes``, ``_owed``, and ``_round`` of node/iroh_peers.py)."""

    def _pull(self, link, backlog=False):
        """What the store got since this session last looked: ``Live`` when the session is one of
        the eager few and it is a change (not a ``backlog``), else an announcement round owed to it."""
        store, log_id = link.sub.store, link.sub.log_id
        v = store.version
        if v == link.cursor:
            return
        ops = store.operations_since(link.cursor, log_id=log_id)
        if ops is None:  # a prune since (every fleet status prunes): offer the whole log, the dedup set filters
            ops = list(store.all_operations(log_id))
        link.cursor = v
        lacks = lacking(relayable(store, ops), link)
        topic_links = [l for l in self._live_links() if l.sub is link.sub and l.live is not False]
        eager = not backlog and link in eager_links(self.node_id_bytes, topic_links, reachable=self.reachable)
        what = decide(lacks, eager, eager and bool(lacks) and follows(store, lacks, link))
        if what == PUSH:
            n = link.session.push(lacks)
            note_heights(link, heights_of(lacks))
            if n:
                self._event("%s: sent %d live operation(s)" % (link.name, n))
        elif what == ANNOUNCE:
            self._owe(link, backlog)

    def _synced_in(self, sub, source):
        """``source``'s sync (not live mode) just stored operations.  A change goes on as a live
        arrival does (the sessions' own pulls push it); a backlog is taken by every other live
        session of the topic as what it has not looked at yet, announced and never pushed."""
        if brings_a_change(source.session):
            return
        for link in self._live_links():
            if link.sub is sub and link is not source and link.live is not False:
                self._pull(link, backlog=True)

    def _owe(self, link, backlog=False):
        if link.sub is not self.subs[0]:
            # another topic (the fleet log): each screen's next status supersedes the last, so a
            # missed one is not worth a round (a change of program makes every screen report at once)
            return
        self._owed[link.sub].add(link)
        if not backlog:
            self._change_owed = True
        if self._announce is not None:
            self._announce.set()

    def _heard_have(self, link, heights):
        """A session's peer said what it holds: every live session with that peer knows it."""
        for l in self.links:
            if l.sub is link.sub and l.remote_id == link.remote_id and not l.ended:
                note_heights(l, heights)

    async def _announce_loop(self):
        """The lazy half: after a burst of new operations, plain log-sync rounds, ``LAZY_PEERS`` at
        a time, with the sessions owed one that are still not known to hold them; at most
        ``LAZY_ROUNDS`` a burst, the rest hear of it through other peers or the periodic resync.
        A burst owed only for a backlog ends once ``EMPTY_ROUNDS`` of its rounds moved nothing
        either way: a backlog is a catch-up, which every peer's own syncs bring too (at a cold
        start of 50 screens, 521 of 644 rounds found the peer holding it all)."""
        while not self._stopping:
            await self._announce.wait()
            budget, empty = LAZY_ROUNDS, 0
            while budget > 0 and not self._stopping:
                await asyncio.sleep(random.uniform(*LAZY_WAIT))
                self._announce.clear()
                picked, held_back = self._pick_rounds(min(LAZY_PEERS, budget))
                if not picked and not held_back:
                    break
                budget -= max(1, len(picked))  # a step that only waited for a sync costs one round
                rounds = [self._spawn(self._round(sub, link.remote_id, link.addr, "announcement"))
                          for sub, link in picked]
                if rounds:  # a peer that is away holds a round for its connect timeout: the next step need not wait
                    done, _ = await asyncio.wait(rounds, timeout=LAZY_WAIT[1])
                    empty += sum(1 for t in done if moved_nothing(t))
                if empty >= EMPTY_ROUNDS and not self._change_owed:
                    budget = 0
            if budget <= 0:
                for sub in self.subs:
                    self._owed[sub].clear()
            if not any(self._owed[sub] for sub in self.subs):
                self._change_owed = False

    def _pick_rounds(self, count):
        """Up to ``count`` ``(sub, link)`` owed a round, at random, taken off the owed sets; and
        whether some were held back: their peer is in a log sync with us right now (a round, or
        its sync with us), which carries the same operations; a round beside it made the peer
        take them twice.  Those stay owed for the next step."""
        picked, held_back = [], False
        for sub in self.subs:
            owed = self._owed[sub]
            if owed and self._taking_backlog(sub):
                held_back = True
                continue
            free = set(l for l in owed if not self._syncing_with(sub, l.remote_id))
            held_back = held_back or len(free) < len(owed)
            for link in pick_owed(free, sub.store.heights(sub.log_id), count - len(picked)):
                owed.discard(link)
                picked.append((sub, link))
        return picked, held_back

    def _taking_backlog(self, sub):
        """A log sync of ``sub`` is still bringing us a backlog (its peer announced more than
        ``LIVE_BATCH`` operations): rounds now would tell our peers of a part, then of the next
        part, each a QUIC handshake and a sync (at a cold start of 50 screens, about half its
        sessions).  The sync's last page owes the rounds again, for all of it at once."""
        for l in self.links:
            s = l.session
            if l.sub is sub and not l.ended and s is not None and not s.complete \
                    and (s.remote_total_ops or 0) > LIVE_BATCH and s.ops_received < s.remote_total_ops:
                return True
        return False

    def _syncing_with(self, sub, remote_id):
        """A session of ``sub`` with that peer has not finished its log sync yet."""
        return any(l.sub is sub and l.remote_id == remote_id and not l.ended
                   and (l.session is None or not l.session.complete) for l in self.links)
