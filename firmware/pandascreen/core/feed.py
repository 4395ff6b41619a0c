"""The signed screen feed, satellite side: check ONE signature per update, read in place.

WHY: a Pico W cannot hold a festival's operations nor check them; a full peer derives and
signs this feed (node/feed_sign.py, where the wire form, the signature and the chain of trust
are described) and the board keeps only its bytes, at most ``MAX_FEED_BYTES``.  Kept apart
from the signing side so a board compiles only what it runs.
"""

from array import array

from pandascreen.core import crypto
from pandascreen.core.errors import DecodeError
from pandascreen.core.feed_cursor import Cursor, FeedError

MAGIC = "pandascreen/feed"
VERSION = 2  # the form a full peer emits to boards that ask for it (``http_request``)
DOMAIN = b"pandascreen feed v1\n"
MAX_FEED_BYTES = 10240  # what a board accepts and a full peer emits (fewer events per venue above it)
HORIZON = 3 * 3600  # seconds of schedule ahead
PER_VENUE = 4  # events per venue (running + next), fewer when the feed would be too big
TITLE_MAX = 64  # UTF-8 bytes of a title kept (a 128x64 OLED shows ~2 lines of 21); speakers likewise
SPEAKERS_MAX = 48
MAX_SOURCES = 64
GLYPH_ENTRY = 11  # a glyph in a feed: code point (3 bytes), 8 rows (core/font.py use_glyphs)
GLYPHS_MAX = 256
FEED_LEVEL = 1  # auth.READ: the access a feed signer needs in the festival group
_SIG_ITEM = 66  # 0x58 0x40 + 64 signature bytes
_ITEMS = 12
TRUSTED_SIGNERS = 4  # grants remembered (one per feed server a board moves between)
MAX_ZONE = 16  # numbers in a feed's zone: [from_utc_s, offset_minutes, ...] (core/schema.py utc_offsets)
FEED_PORT = 8026  # where full peers serve the feed (node/feed_server.py), provisioning's default


def feed_addrs(cfg):
    """The (host, port) feed servers a satellite asks, from a validated config: its
    ``feed_peers`` ("host:port", written by `pandascreen-host provision --feed-peer`), else
    the sync peers' hosts on FEED_PORT (a full peer serves the feed beside its sync port)."""
    if cfg.get("feed_peers"):
        from pandascreen.core.config import parse_peer
        return [parse_peer(p) for p in cfg["feed_peers"]]
    return [(host, FEED_PORT) for host, _ in cfg.get("peer_addrs") or ()]


_LEVELS = ("Pull", "Read", "Write", "Manage")  # core/auth.py's LEVEL_NAMES


def _grants(body, group_id, signer):
    """True if the group operation ``body`` Adds or Promotes ``signer`` (an individual) in
    ``group_id`` to at least FEED_LEVEL.

    Walks the canonical wire form of core/auth_group.py (``group_body``) with the Cursor
    instead of calling its parser: that parser pulls in core/auth, schema and cbor (~22 KB
    of a Pico W's heap) for one check; tests/test_feed.py checks both agree."""
    try:
        c = Cursor(body)
        if c.head() != (5, 3) or c.text(16) != "group_id" or bytes(c.raw(32)) != bytes(group_id):
            return False
        if c.text(16) != "action" or c.head() != (5, 1) or c.text(16) not in ("Add", "Promote"):
            return False
        if c.head() != (5, 2) or c.text(16) != "member" or c.head() != (5, 1) or c.text(16) != "Individual":
            return False
        if bytes(c.raw(32)) != bytes(signer) or c.text(16) != "access" or c.head() != (5, 2):
            return False
        if c.text(16) != "conditions" or not c.null() or c.text(16) != "level":
            return False
        level = c.text(16)
        if level not in _LEVELS or _LEVELS.index(level) < FEED_LEVEL or c.text(16) != "dependencies":
            return False
        for _ in range(c.array(64)):
            c.raw(32)
        return c.pos == len(body)
    except FeedError:
        return False


class Info:
    """What ``Checker.check`` found: the header fields and where the festival and venues start."""

    __slots__ = ("version", "issued_at", "valid_until", "signer", "name", "utc_offset", "zone", "venues_at",
                 "venue_count", "venues_left_out", "glyphs_at", "glyphs_len", "size", "digest")


class Checker:
    """Checks a received feed for one festival against the provisioned organiser keys."""

    def __init__(self, festival_id, organisers, log_id=None, trust_anyone=False):
        """``trust_anyone``: a demo board without organiser keys accepts any signer."""
        self.festival_id = festival_id
        self.organisers = [bytes(k) for k in organisers]
        self.trust_anyone = trust_anyone
        self.log_id = log_id
        self._trusted = []  # [(signer, SHA-256 of its grant)] verified, newest last
        self._trust = None  # SHA-256 of what a signer is checked against (``recorded``)

    def recorded(self, digest):
        """What a board records for a feed it checked (``Info.digest``), for ``check``'s
        ``known``: the digest bound to this checker's festival and keys, so that a feed checked
        against other keys (the board provisioned again) is checked in full."""
        if self._trust is None:
            self._trust = crypto.sha256(self.festival_id.encode() + b"".join(sorted(self.organisers))
                                        + (b"*" if self.trust_anyone else b""))
        return crypto.sha256(self._trust + digest)

    def _head(self, buf, end, info):
        """Read the items before the grant into ``info``; a Cursor at the grant."""
        c = Cursor(buf, 0, end)
        if c.array() != _ITEMS or c.text(32) != MAGIC:
            raise FeedError("not a pandascreen feed")
        info.version = c.uint()
        if not 1 <= info.version <= VERSION:  # 1: what deployed boards ask for and read
            raise FeedError("feed version not understood by this firmware")
        if c.text(256) != self.festival_id:
            raise FeedError("feed of another festival")
        info.issued_at = c.uint()
        info.valid_until = c.uint()
        info.zone = None
        n = c.array(3)  # rules: [horizon_s, per_venue] and, from newer full peers, the festival's zone
        if n < 2:
            raise FeedError("feed rules are not [horizon, per_venue, zone?]")
        c.uint()
        c.uint()
        if n == 3:
            k = c.array(MAX_ZONE)
            if k % 2:
                raise FeedError("feed zone is not [from_utc_s, offset_minutes, ...]")
            zone = []
            for i in range(k):
                v = c.int()
                if i % 2 and not -1440 < v < 1440:
                    raise FeedError("feed zone offset of %d minutes" % v)
                zone.append(v)
            info.zone = zone or None
        info.signer = bytes(c.raw(32))
        return c

    def check(self, buf, n, known=None):
        """Check ``buf[:n]``; an ``Info``, or FeedError (never anything else for bad bytes).

        ``known``: what a board recorded (``recorded``) when it checked these bytes itself (its
        saved feed) with the same festival and keys: if the bytes still hash to it, neither its
        venues are walked nor the grant and the signature verified again (~2.5 s on an RP2040
        before the first frame after a reboot); the head is read as always, for the ``Info``."""
        if n < _SIG_ITEM + 4 or n > len(buf):
            raise FeedError("feed of %d bytes is too short" % n)
        mv = memoryview(buf)
        if buf[n - _SIG_ITEM] != 0x58 or buf[n - _SIG_ITEM + 1] != 64:
            raise FeedError("feed does not end with its signature")
        info = Info()
        info.size = n
        c = self._head(buf, n - _SIG_ITEM, info)
        signer = info.signer
        grant_at = c.pos
        c.skip()
        grant_end = c.pos
        c.skip()  # sources: for auditors
        k = c.array(64)
        if k < 2:
            raise FeedError("feed festival is not [name, utc_offset, ...]")
        info.name = c.text(256)
        info.utc_offset = c.int()
        info.venues_left_out = c.uint() if k > 2 else 0
        info.glyphs_at = info.glyphs_len = 0
        if k > 3:  # the bitmaps of characters beyond the board's font (node/feed_glyphs.py)
            glyphs = c.raw(GLYPHS_MAX * GLYPH_ENTRY)
            if len(glyphs) % GLYPH_ENTRY:
                raise FeedError("feed glyph table is not whole entries")
            info.glyphs_at, info.glyphs_len = c.pos - len(glyphs), len(glyphs)
        for _ in range(k - 4):  # items a newer full peer added
            c.skip()
        info.venue_count = c.array(1024)
        info.venues_at = c.pos
        digest = crypto.sha256(mv[:n - _SIG_ITEM])
        info.digest = digest
        if known is not None and bytes(known) == self.recorded(digest):
            return info  # bytes that passed the walk below and the signature when the board took them
        for _ in range(info.venue_count):
            _check_venue(c)
        if c.pos != n - _SIG_ITEM:
            raise FeedError("trailing bytes before the feed's signature")
        self._check_signer(signer, mv[grant_at:grant_end])
        if not crypto.verify(signer, DOMAIN + digest, bytes(mv[n - 64:n])):
            raise FeedError("feed signature does not verify")
        return info

    def _check_signer(self, signer, grant):
        if signer in self.organisers or self.trust_anyone:
            return
        if not self.organisers:
            raise FeedError("no organiser keys provisioned: no feed signer can be trusted")
        tag = crypto.sha256(grant)
        if (signer, tag) in self._trusted:
            return
        c = Cursor(grant)
        if c.null() or c.array() != 2:
            raise FeedError("feed signer is no organiser and shows no grant")
        header = bytes(c.raw(1024))
        body = bytes(c.raw(2048))
        fresh = _not_loaded(("operation", "cbor"))
        from pandascreen.core import operation
        try:
            try:
                op = operation.decode(header, body)  # signature and payload hash
            except DecodeError as e:
                raise FeedError("feed grant is not a valid operation: %s" % e)
            if self.log_id is None:
                self.log_id = operation.log_id_for_festival(self.festival_id)
        finally:
            _unload(fresh)
        if bytes(op.public_key) not in self.organisers or bytes(op.log_id) != bytes(self.log_id):
            raise FeedError("feed grant is not an organiser's operation in this festival's log")
        if not _grants(body, self.organisers[0], signer):
            raise FeedError("feed grant does not give the signer Read access")
        self._trusted = self._trusted[-(TRUSTED_SIGNERS - 1):] + [(signer, tag)]


def _not_loaded(names):
    import sys
    return [n for n in names if "pandascreen.core." + n not in sys.modules]


def _unload(names):
    """On MicroPython, forget modules a grant check loaded (operation and cbor: ~15 KB of a Pico
    W's heap, for a check done once per feed signer); ones loaded before stay.  CPython keeps all."""
    import sys
    if sys.implementation.name != "micropython":
        return
    import pandascreen.core as pkg
    for name in names:
        if sys.modules.pop("pandascreen.core." + name, None) is not None and name in pkg.__dict__:
            delattr(pkg, name)


def _check_venue(c):
    """One venue: [id, name, events, events left out?, ...]; an event [start, end, title,
    speakers, ...].  Trailing items past the known ones are skipped: a newer full peer adds
    fields there without breaking this board."""
    n = c.array(64)
    if n < 3:
        raise FeedError("feed venue is not [id, name, events, ...]")
    c.skip_text(256)
    c.skip_text(256)
    for _ in range(c.array(64)):
        k = c.array(64)
        if k < 4:
            raise FeedError("feed event is not [start, end, title, speakers, ...]")
        c.uint()
        c.uint()
        c.skip_text(TITLE_MAX)
        c.skip_text(SPEAKERS_MAX)
        for _ in range(k - 4):
            c.skip()
    if n > 3:
        c.uint()
    for _ in range(n - 4):
        c.skip()


def program_digest(buf, info):
    """SHA-256 of a checked feed's venues and events: what a screen shows, without the issued-at,
    sources and signature that change each time a full peer re-signs the same program."""
    return crypto.sha256(memoryview(buf)[info.venues_at:info.size - _SIG_ITEM])


# -- satellite: the feed as a schedule for core/layout -----------------------------------------

class FeedVenue:
    """One venue of a feed: only its offset is kept, id and name are read when asked for."""

    __slots__ = ("buf", "at")

    def __init__(self, buf, at):
        self.buf = buf
        self.at = at  # offset of its [id, name, events] array

    def _item(self, skip):
        c = Cursor(self.buf, self.at)
        c.array()
        for _ in range(skip):
            c.skip()
        return c

    @property
    def id(self):
        return self._item(0).label()

    @property
    def name(self):
        return self._item(1).label()

    def events(self):
        c = self._item(2)
        out = []
        for _ in range(c.array()):
            k = c.array()
            out.append(FeedEvent(c.uint(), c.uint(), c.label(), c.label()))
            for _ in range(k - 4):
                c.skip()
        return out

    def left_out(self):
        """Events of this venue the full peer left out of the feed (its size budget): the
        screen says "+N more at the Pi screen" instead of "No more events"."""
        return Cursor(self.buf, self.at).array() > 3 and self._item(3).uint()


class LeftOutVenues:
    """The page after a feed's venues when the full peer left venues out (its size budget):
    no events, the count, so the board says "+N more at the Pi screen"."""

    id = None

    def __init__(self, count):
        self.name = "+%d venues" % count
        self.left_out = lambda: count


CANCELLED_PREFIX = "CANCELLED: "  # how a feed marks a cancelled event (node/feed_sign.py ``_feed_title``)
MOVED_PREFIX = "MOVED: "  # and one a later edit moved


# Which event a venue's screen shows on the line after "now", on a satellite (``FeedView``) and the
# Pi (core/schedule.py) alike, when two are on at once: "now" is the one that started last (a
# cancelled one only when no other is on), and the other one on now that is not cancelled is shown
# next, as on now too, when the visitor would otherwise never see it: it began with the one on now
# (two talks at 14:00 had shown one of them only, never the other), or nothing else starts before
# it ends (a workshop a booking began a minute after).  Else the next line is the next event to
# start (``first_up``): a venue's long background event (an assembly open all day) does not hide its
# next talk.
def after_now(current, also, upcoming):
    """The event for the line after ``current`` (on now): ``also`` (on now too, not cancelled, the
    one before ``current`` in start order, or None) or ``upcoming`` (the next to start, or None)."""
    if current is None or also is None:
        return upcoming
    if also.start == current.start or upcoming is None or upcoming.start >= also.end:
        return also
    return upcoming


def first_up(events, i):
    """The event a screen shows next: of ``events[i]`` (``events`` in start order, it the first to
    start after now) and the ones after it starting with it, the first not cancelled, else
    ``events[i]`` (None past the end).  A cancelled talk and its replacement share a slot, and
    "Next 14:00 Old talk, cancelled" would tell a visitor that nothing is on; alone in its slot a
    cancelled talk still shows, so visitors know it is off.  The Pi (core/schedule.py), a
    satellite (``FeedView``) and what a feed keeps (node/feed_sign.py) choose by it alike."""
    j = i
    while j < len(events) and events[j].start == events[i].start:
        if events[j].status != "cancelled":
            return events[j]
        j += 1
    return events[i] if i < len(events) else None


class FeedEvent:
    """An event of a feed with the ``status`` and ``moved()`` of core/schedule.py's events, read
    from its title's marker, so core/layout draws it as the full peers do."""

    __slots__ = ("start", "end", "title", "speakers", "status", "_moved")

    def __init__(self, start, end, title, speakers):
        self.start = start
        self.end = end
        self.status = ""
        self._moved = False
        if title.startswith(CANCELLED_PREFIX):
            title, self.status = title[len(CANCELLED_PREFIX):], "cancelled"
        elif title.startswith(MOVED_PREFIX):
            title, self._moved = title[len(MOVED_PREFIX):], True
        self.title = title
        self.speakers = (speakers,) if speakers else ()

    def moved(self):
        return self._moved


class FeedView:
    """A checked feed read in place: ``festival``, ``utc_offset()``, ``venues()``, ``now_next``
    as ``core.layout.build_view`` wants them.  ``version`` tells frames apart."""

    def __init__(self, buf=None, info=None, version=0):
        self.buf = buf
        self.info = info
        self.version = version
        self.festival = None if info is None else {"name": info.name, "utc_offset": info.utc_offset,
                                                   "utc_offsets": info.zone}
        self._venues = None

    def utc_offset(self):
        return 0 if self.info is None else self.info.utc_offset

    def zone(self):
        """The festival's local time rule (``layout.festival_zone``): the feed's zone, else its offset."""
        if self.info is None:
            return 0
        return self.info.zone or self.info.utc_offset

    def glyphs(self):
        """The feed's glyph table (core/font.py ``use_glyphs``), read in place; None if it has none."""
        if self.info is None or not self.info.glyphs_len:
            return None
        return memoryview(self.buf)[self.info.glyphs_at:self.info.glyphs_at + self.info.glyphs_len]

    def venue_pages(self):
        """``len(venues())`` from the checked header alone: a button press allocates nothing."""
        if self.info is None:
            return 0
        return self.info.venue_count + (1 if self.info.venues_left_out else 0)

    def venues(self):
        """The venues as a sequence (``FeedVenues``: their offsets, found once per feed; build_view
        and now_next ask every frame)."""
        if self.info is None:
            return []
        if self._venues is None:
            c = Cursor(self.buf, self.info.venues_at, self.info.size - _SIG_ITEM)
            at = array("H", bytes(2 * self.info.venue_count))  # a feed is under 64 KB
            for i in range(self.info.venue_count):
                at[i] = c.pos
                c.skip()
            self._venues = FeedVenues(self.buf, at, self.info.venues_left_out)
        return self._venues

    def now_next(self, venue_id, now):
        """As ``Schedule.now_next``: the running event that started last (a cancelled one only when
        no other runs), and the running one before it or the first one after ``now``
        (``after_now``, ``first_up``)."""
        venues = self.venues()
        last = venues.last if venues else None  # build_view asks for the venue it was just handed
        for v in ([last] if last is not None and last.id == venue_id else venues):
            if venue_id is not None and v.id == venue_id:
                current = also = cancelled = nxt = None
                evs = v.events()
                for i in range(len(evs)):  # not enumerate: a tuple per event per frame on a board's heap
                    ev = evs[i]
                    if ev.start > now:
                        if nxt is None:
                            nxt = first_up(evs, i)
                    elif not (now < ev.end or ev.start == ev.end == now):
                        pass
                    elif ev.status == "cancelled":
                        cancelled = ev
                    else:
                        also, current = current, ev
                if current is None:
                    return cancelled, nxt
                return current, after_now(current, also, nxt)
        return None, None


class FeedVenues:
    """A feed's venues as a sequence: 2 bytes per venue (its offset), a ``FeedVenue`` made when one
    is asked for, and the ``LeftOutVenues`` page last when the feed left venues out.

    WHY: a board's heap must not grow with the venue count; an object per venue of a 600-venue
    feed would keep ~25 KB live."""

    def __init__(self, buf, at, left_out):
        self.buf = buf
        self._at = at
        self._left = left_out
        self.last = None  # the venue last handed out

    def __len__(self):
        return len(self._at) + (1 if self._left else 0)

    def __getitem__(self, i):
        n = len(self._at)
        if i < 0:
            i += len(self)
        if 0 <= i < n:
            self.last = FeedVenue(self.buf, self._at[i])
            return self.last
        if i == n and self._left:
            return LeftOutVenues(self._left)
        raise IndexError("venue index out of range")

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def index(self, venue):
        """Position of ``venue`` (a ``FeedVenue`` of this feed), as a list's ``index``."""
        at = getattr(venue, "at", None)
        for i in range(len(self._at)):
            if self._at[i] == at:
                return i
        raise ValueError("venue not in this feed")
