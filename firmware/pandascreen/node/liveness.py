"""[CPython] How an iroh node keeps its sync peers through a bad night: how many, when a silent
peer counts as gone, how redials back off, how often a live session is double-checked.

Why a module of its own: these numbers decide how fast a screen recovers after the Wi-Fi comes
back and how much a quiet screen costs; they are chosen together and explained here once.

Peers.  A screen dials at most ``MAX_PEERS`` peers it found (mDNS or config) and keeps them,
besides the organisers', which it always dials; others dial it (incoming sessions are bounded in
node/iroh_limits.py).  Five, as p2panda-net: it syncs with its iroh-gossip HyParView active view,
whose capacity is 5 by default (the HyParView paper's value).  Dialled by others too, a screen of
a 50-screen festival holds about nine live sessions (measured), so every change reaches every
screen through live relays.  Half of 50 such screens vanishing leaves the rest split in about 6 %
of random halves (with 8 peers, 0.03 %; a simulation), the organiser's links aside: each screen
keeps one to the organiser too, and the resync below repairs what a split missed once it heals.
A screen holds 5 dialled links x 2 topics (festival, fleet) whose keepalives cost a few packets a
second.  Eight doubled a 50-screen cold start's sessions (its screens logged 930 connections,
not 460, each about 5 ms of CPU per side), and its slowest screen held the program after 15 s,
not 13.

Organiser.  Every screen dials the organiser (where the program comes from), so its sessions
grew with the festival: at a 50-screen cold start ``serve`` sent the whole program about 36 times
and kept 50 live sessions' keepalives.  An organiser gives ``ORGANISER_PEERS`` places (its
``max_linked``), as many as a screen of a 50-screen festival holds live: then it is one more node
of the overlay, no busier than a screen, and its load stays flat from 10 screens to 50.
* The next screen that dials it hears "full" (a QUIC close right after the QUIC handshake) and
  takes the program from the screens, which relay every change.  It does not dial the organiser
  again while it has a live session with any other peer, for ``FULL_RETRY`` (jittered); once it
  has none, it dials again ``REDIAL_MAX`` (jittered) after the "full", not at once: a cold
  start's screens are alone until they found each other.  A second dial within
  ``FULL_SECOND_DIAL`` of the "full" gets in, whatever the bound: it comes from a screen with no
  other peer, for which the organiser is the one way to the program (on a Wi-Fi that keeps
  screens apart, every screen is such a one).  After ``FULL_RETRY`` a screen with peers asks
  again, so the organiser hears of it again: with ``FULL_RETRY`` jittered to 450-900 s, 50 screens
  cost it a QUIC handshake about every 14 s.  A
  screen whose session with the organiser lasted and ended asks it again as any peer.
* One place per address (an IPv4 address, an IPv6 /64; a screen has one), checked first: a
  stranger on one address takes one place, not all eight, and its many node ids take one line
  of the list below.  Screens behind one address (a NAT) share one place too.
* The organiser remembers the last ``ORGANISER_SPARES`` screens it told "full" or whose live
  festival session ended (one per address) and, whenever a session of its ends, dials one of
  them per free place (HyParView's passive view): a screen told "full" at once, one whose
  session ended after a redial's wait (below; a screen that cannot store what it is sent ends
  each session at once).  Such a dial may hang for the dial timeout when that screen is cut off
  too, so a screen that dials in meanwhile gets the place; a dial that fails forgets the screen
  until it dials in again.
* The screens that dialled first got its places, so a cut may take all of them at once while
  they still count as live (for ``DEAD_AFTER``): in the 50-screen field test a change then reached
  no other screen for about 16 s.  So each change of the organiser's program is also announced in
  a plain sync round to ``ORGANISER_SPARE_ROUNDS`` screens of that list, at random, and its
  periodic resync (below) does one with as many: a group of screens linked only to each other
  hears of what it missed, when one of them is in the list.  Two QUIC handshakes and Have
  exchanges per change and per resync, whatever the festival's size; the screens relay it on.

Dead peers.  iroh sends a QUIC keepalive every ``KEEPALIVE`` seconds on an idle connection and
times it out after about 30 s of silence.  A peer counts as gone earlier only when nothing came
back for ``DEAD_AFTER`` seconds (three keepalives) while at least ``DEAD_PACKETS`` of ours went
out unanswered: a lone unanswered packet is normal (an ACK is never answered), and a peer
starved of CPU for seconds is alive and must keep its session.

Redials.  After a failed dial the next one waits ``REDIAL_MIN`` doubling to ``REDIAL_MAX``
seconds, each wait drawn at random between half and all of it, so screens cut off together do
not all dial at once when the link returns.  A live session that ends within ``SHORT_SESSION``
is redialled after ``REDIAL_MIN`` too, and each next one in a row twice as long, up to
``REDIAL_MAX``: a peer that takes each dial and ends it (it evicts us, it cannot store what we
send) is not dialled every second.  A failed dial or a heal ends the row: a cut ends sessions
within seconds too, and the heal's first session, cut short under load, must not wait for
them.  The first peer that answers again (a dial of ours
or one that dials in) proves the network is back: every other waiting redial is then due
within ``REDIAL_AFTER_HEAL`` seconds (again spread at random), so a healed screen is linked in
a few seconds, not at the end of its backoff.  A dial still under way then, begun
``STALE_DIAL`` seconds or more before, is restarted rather than waited for: its packets went
into the cut, and its QUIC handshake may only give up at the dial timeout (10 s); the field
test with both cores loaded shows healed screens waiting for exactly that.  Only a dial begun
before the first of these signals (the first since that peer's last failed dial or ended
session) is stale: as a heal goes on, more peers answer again, and each is another signal; a
dial begun after the first one went out into a working network, and under load its handshake
takes seconds: restarting it at every signal would only start that handshake over, again and
again while the heal goes on.

Resync.  Live mode pushes each change once; one lost on the way (a session that ended between
the change and the push, a refused operation) would never come again while mDNS sees nothing
new.  So every ``RESYNC_EVERY`` seconds (times 0.5 to 1.5, at random) the node runs one plain
sync (Have, missing operations, Close) with one of its live peers, beside the live sessions:
each live peer in turn, the one asked longest ago first (``resync_peer``).  Whatever any of its
k live peers holds and it lacks arrives within k * ``RESYNC_EVERY`` * 1.5 s plus one sync, k counting every live festival session, the ``MAX_PEERS`` it dialled and those
dialled in (a peer that joins is asked first, so under churn an old one may wait longer); every
peer does the same, so a change usually comes sooner, from the nearest peer that has it.
"""

import random

from pandascreen.core.clock import ALONE_AFTER

MAX_PEERS = 5              # peers a node dials and keeps redialling (see above)
ORGANISER_PEERS = 8        # places an organiser gives; the next screen hears "full" (see above)
ORGANISER_SPARES = 32      # screens told "full" an organiser remembers, to dial when it has room
ORGANISER_SPARE_ROUNDS = 2 # ... of which it tells this many of each change, and at each resync
KEEPALIVE = 5.0            # iroh's keepalive interval on an idle QUIC connection (seconds)
DEAD_AFTER = 15.0          # seconds without any packet from the peer ...
DEAD_PACKETS = 3           # ... while this many of ours went unanswered: the peer is gone
REDIAL_MIN = 1.0           # first wait after a failed dial (seconds)
REDIAL_MAX = 8.0           # longest wait between dials of a peer that is away
REDIAL_AFTER_HEAL = 1.5    # once any peer answers again, the others are redialled within this
FULL_RETRY = 900.0         # a screen with other live peers asks an organiser that said "full" again after this
FULL_SECOND_DIAL = 2 * REDIAL_MAX  # a screen told "full" that dials again within this gets in: it is alone
STALE_DIAL = 2.0           # ... and a dial begun this long before is restarted, not waited for
SHORT_SESSION = 30.0       # a session that ends sooner than this is cut short (its redial backs off)
RESYNC_EVERY = 60.0        # a plain sync with one live peer, on average this often
NO_TOPIC_AGAIN = 300.0     # a topic a live peer refused (the fleet's) is asked again after this, at a resync
QUIC_IDLE = 30.0           # iroh times out a QUIC connection that heard nothing for about this long
# a screen cut off from every peer says "alone since" on its display within this many seconds: its
# last live session ends at most QUIC_IDLE after the cut, the footer changes ALONE_AFTER after that
# (core/clock.py says why 60 s), and the loop is woken for it (node/screen_network.py PeerWatch)
ALONE_SAID_WITHIN = ALONE_AFTER + QUIC_IDLE + 5.0


def jittered(seconds, rng=random):
    """``seconds`` times a random factor in [0.5, 1.0]: a wait no two screens share."""
    return seconds * (0.5 + 0.5 * rng.random())


def next_backoff(backoff):
    """The wait after the next failure: doubled, at most ``REDIAL_MAX``."""
    return min(max(backoff, REDIAL_MIN) * 2, REDIAL_MAX)


def resync_wait(rng=random, every=RESYNC_EVERY):
    """Seconds until the next resync: ``every`` times a random factor in [0.5, 1.5]."""
    return every * (0.5 + rng.random())


def resync_peer(peers, last, now, rng=random):
    """The live peer (of ``peers``) the next resync asks: one never asked first (at random among
    them), else the one asked longest ago.  ``last`` (node id -> when it was asked) is kept by the
    caller; peers gone from ``peers`` are forgotten."""
    for gone in [p for p in last if p not in peers]:
        del last[gone]
    never = sorted(p for p in peers if p not in last)
    pick = rng.choice(never) if never else min(peers, key=lambda p: last[p])
    last[pick] = now
    return pick


class Redial:
    """When to dial one wanted peer next (see the module doc): ``due`` is a monotonic time."""

    def __init__(self, now=0.0, rng=random):
        self.rng = rng
        self.backoff = REDIAL_MIN
        self.due = now
        self.dialling_since = None  # when the dial under way began (None: none)
        self.heal_seen = None  # the first heal signal since this peer's last failure, success or session
        self.full_until = 0.0  # the peer said "full": not asked again before this while others are live
        self.short_wait = REDIAL_MIN  # the wait after the next session cut short (``ended``): doubled
        # by each in a row, back to REDIAL_MIN after a failed dial, a heal or a session that lasted

    def dialling(self, now):
        """A dial of this peer begins."""
        self.dialling_since = now

    def failed(self, now):
        """A dial failed: wait, jittered, then double the next wait.  It ends a row of sessions
        cut short (``ended``, see the module doc)."""
        self.dialling_since = None
        self.short_wait = REDIAL_MIN
        self.heal_seen = None
        self.due = now + jittered(self.backoff, self.rng)
        self.backoff = next_backoff(self.backoff)

    def told_full(self, now):
        """The peer (an organiser) said it is full: ask again only after the longest wait,
        jittered, when this screen has no other live peer then, else after ``FULL_RETRY``
        (jittered): the peers that took its dials bring the program meanwhile."""
        self.dialling_since = None
        self.heal_seen = None
        self.backoff = REDIAL_MAX
        self.due = now + jittered(REDIAL_MAX, self.rng)
        self.full_until = now + jittered(FULL_RETRY, self.rng)

    def succeeded(self):
        """A dial reached its sync: the network works, the dials' backoff starts over.  Sessions
        that then end soon keep their own count (``ended``)."""
        self.dialling_since = None
        self.heal_seen = None
        self.backoff = REDIAL_MIN

    def ended(self, now, lasted):
        """The live session with this peer ended after ``lasted`` seconds: redial after a
        jittered wait, backing off further when it ended soon after it began.  A heal seen
        before it belongs to the past: the next dial may go into a new cut."""
        if lasted < SHORT_SESSION:
            # the first waits REDIAL_MIN, as after a failed dial; each next one in a row twice as
            # long, up to REDIAL_MAX (the module doc says why)
            self.dialling_since = None
            self.heal_seen = None
            self.backoff = next_backoff(self.backoff)
            self.due = now + jittered(self.short_wait, self.rng)
            self.short_wait = next_backoff(self.short_wait)
            return
        self.short_wait = REDIAL_MIN
        self.heal_seen = None
        self.backoff = REDIAL_MIN
        self.due = max(self.due, now + jittered(self.backoff, self.rng))

    def healed(self, now):
        """Another peer answered again: the network is back, dial this one soon.  True when a
        dial of it is under way since ``STALE_DIAL`` seconds or more and began before the first
        heal signal since its last failure, success or session: the caller cancels that dial
        (``cancelled`` then) and this peer is dialled again within ``REDIAL_AFTER_HEAL``."""
        self.backoff = REDIAL_MIN
        self.short_wait = REDIAL_MIN
        if self.heal_seen is None:
            self.heal_seen = now
        if self.dialling_since is not None:
            return now - self.dialling_since >= STALE_DIAL and self.dialling_since < self.heal_seen
        self.due = min(self.due, now + REDIAL_AFTER_HEAL * self.rng.random())
        return False

    def cancelled(self, now):
        """The stale dial ``healed`` named was cancelled: dial again soon, not after a backoff."""
        self.dialling_since = None
        self.due = now + REDIAL_AFTER_HEAL * self.rng.random()


class Silence:
    """Decides from a QUIC connection's packet counters whether the peer is gone (see above).

    ``see(tx, rx, now)`` with the counters of datagrams sent and received; returns a reason
    (one line) once the peer counts as gone, else None."""

    def __init__(self, dead_after=DEAD_AFTER, packets=DEAD_PACKETS):
        self.dead_after = dead_after
        self.packets = packets
        self.rx = None
        self.tx_at_rx = None
        self.rx_at = None

    def see(self, tx, rx, now):
        if self.rx is None or rx != self.rx:
            self.rx, self.tx_at_rx, self.rx_at = rx, tx, now
            return None
        unanswered = tx - self.tx_at_rx
        silent = now - self.rx_at
        if unanswered >= self.packets and silent >= self.dead_after:
            return ("peer stopped answering (%d packets unanswered for %.0fs); everything received "
                    "is stored" % (unanswered, silent))
        return None
