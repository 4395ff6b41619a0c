"""The signed screen feed, full-peer side: derive it from the logs, encode, sign, audit.

WHY: a Pico W cannot hold a festival's operations (2.1 MB for 38c3) nor check them (one
Ed25519 verify each).  A full peer (a Pi screen, the organiser's ``serve``) derives what is on
now and next per venue over the next hours, signs it once, and the board checks ONE signature
per update and keeps only the feed's bytes (bounded: ``MAX_FEED_BYTES``).  This side lives
in node/ (full peers: Pi screens, ``serve``) so it is never flashed; the board's side is
core/feed.py.

Wire form: one canonical CBOR array (definite lengths, shortest heads, arrays only, so the
bytes are the same on every encoder; core/cbor.py writes them)::

    ["pandascreen/feed", 1, festival_id, issued_at, valid_until, [horizon_s, per_venue, zone?],
     signer (32 bytes), grant ([header, body] of a p2panda group operation, or null),
     sources ([[author, seq_num, op hash], ...] sorted by author: the log heads it was derived from),
     [festival name, utc_offset minutes at issued_at],
     [[venue id, venue name, [[start, end, title, speakers], ...]], ...],   # display order
     signature (64 bytes)]

Version 2 (what boards ask for with ``Feed-Version: 2``, core/feed.py ``http_request``) adds
counts of what the size budget left out: the festival item is ``[name, utc_offset, venues left
out, glyphs]`` (node/feed_glyphs.py: the bitmaps of the characters the board's font lacks), a venue
``[id, name, events, events left out]``.  A version 2 reader skips items past the
ones it knows in the festival, a venue and an event, so a newer full peer adds fields there
without breaking it.  Version 1 (requests without the header: deployed boards, whose reader wants
exactly 4 items per event) shows what was left out as a stand-in event "+N more at the Pi screen".

A venue holds its events running at ``issued_at``, the next ``per_venue`` and, when nothing more
starts within ``horizon``, the first one after (the next talk, however far ahead), the last of
them with the replacement of a cancelled talk in its slot (core/feed.py ``first_up``); the feed is
valid until the start of the last one kept where a venue had more, at most ``horizon``, and always
past ``issued_at``.  Until then a board's now/next is the full peer's (tests/test_feed_truth.py).

``zone`` (only when the festival has ``utc_offsets``): ``[from_utc_s, offset_minutes, ...]``, the
festival's local time rule across daylight saving changes; boards that predate it skip the rules
item and use the offset, which is the one in force at ``issued_at`` (a feed lives at most 3 hours).

Signature: Ed25519 by ``signer`` over ``DOMAIN + SHA-256(every byte before the signature
item)`` (the signature item is always the last 66 bytes).  SHA-256 and not BLAKE3 because
every MicroPython port has it in C (hashlib), where the pure-Python BLAKE3 costs milliseconds
per KiB on a board.

Chain of trust, as the satellite checks it (``Checker``): the board is provisioned with the
organiser (root) keys.  The signer is accepted if it IS one of them (``grant`` null), or if
``grant`` is a valid p2panda operation (signature and payload hash checked by
``operation.decode``) of the festival log, authored by one of those keys, whose body is a
festival-group operation (``auth_group.parse_group_body``, group id = the first organiser key,
as in core/auth.py) that Adds or Promotes the signer, or Creates the group with it, at
``FEED_LEVEL`` (Read) or above.  A verified grant is remembered by the SHA-256 of its bytes
and the signer, so every later update costs one signature.  Limits: a grant by a manager
other than the provisioned organisers is not accepted, and a removal of the signer from the
group is not visible to a board that has no log (feeds expire after ``valid_until``; a key
removed for compromise means re-provisioning the boards' organiser list or rotating keys).

Audit (``audit``): anyone with the logs truncates them at ``sources``, checks the head hashes,
re-derives with the same ``issued_at`` and rules, and compares the signed bytes.
"""

from pandascreen.core import cbor, crypto, layout
from pandascreen.core.feed import (DOMAIN, HORIZON, MAGIC, MAX_FEED_BYTES, MAX_SOURCES, PER_VENUE, SPEAKERS_MAX,
                                   TITLE_MAX, FeedError, _grants, _SIG_ITEM, first_up)


# -- full peer: derive, encode, sign -------------------------------------------------------------

def _cut(text, limit):
    """``text`` cut to at most ``limit`` UTF-8 bytes on a character boundary."""
    b = text.encode("utf-8")
    if len(b) <= limit:
        return text
    b = b[:limit]
    while b and (b[-1] & 0xC0) == 0x80:
        b = b[:-1]
    if b and b[-1] >= 0xC0:
        b = b[:-1]
    return b.decode("utf-8")


EVENTS_MAX = 64  # events of one venue in a feed (the board's parser bound)
MORE = layout.MORE  # what a version 1 feed shows old boards in place of what it left out


def _window(schedule, venue_id, issued_at, horizon):
    """Events of one venue a screen needs from ``issued_at`` for ``horizon`` seconds: every one
    running or starting in that time, and the first one starting after it (the next talk,
    however far ahead), through the one a screen shows next of those starting with it
    (``first_up``: a cancelled talk's replacement)."""
    out = []
    evs = schedule.events(venue_id)
    for i, ev in enumerate(evs):
        if ev.end > issued_at or ev.start >= issued_at:
            if ev.start >= issued_at + horizon:
                return out + evs[i:evs.index(first_up(evs, i)) + 1]
            out.append(ev)
    return out


def _keep(evs, issued_at, per_venue):
    """How many of ``evs`` (a venue's ``_window``) a feed keeps: those running at ``issued_at`` and
    ``per_venue`` (at least 1) starting after it, at most EVENTS_MAX; where the last of them is a
    cancelled talk, on through the one a screen shows in its slot (``first_up``), which a board
    must have to show it next until ``valid_until`` (the last one's start); a slot the limit would
    split is left out whole where an event to come is kept before it."""
    running = 0
    while running < len(evs) and evs[running].start <= issued_at:
        running += 1
    keep = min(len(evs), running + max(1, per_venue))
    if keep > running:
        keep = evs.index(first_up(evs, keep - 1)) + 1
    if keep > EVENTS_MAX:
        # cut before a slot the limit would split (its replacement would be left out), keeping one
        # event to come: with none the feed would be valid until a running one's start, gone already
        cut = EVENTS_MAX
        while cut > running + 1 and evs[cut].start == evs[cut - 1].start:
            cut -= 1
        keep = cut if evs[cut].start != evs[cut - 1].start else EVENTS_MAX
    return keep


def _feed_title(ev):
    """The title a satellite shows: a cancelled or moved event says so in its title (the wire form
    has no status; a board reads the marker back, core/feed.py ``FeedEvent``, and older boards show it)."""
    title = ev.title or ""
    if ev.status == layout.CANCELLED:
        return "%s: %s" % (layout.CANCELLED.upper(), title)
    if ev.moved():
        return "%s: %s" % (layout.MOVED.upper(), title)
    if title.startswith(("%s: " % layout.CANCELLED.upper(), "%s: " % layout.MOVED.upper())):
        return " " + title  # a title that reads like the marker is none: the board draws it without the space
    return title


def _event(e):
    return [int(e.start), int(e.end), _cut(_feed_title(e), TITLE_MAX), _cut(", ".join(e.speakers or ()), SPEAKERS_MAX)]


def _more(issued_at, valid_until, n):
    """Version 1's stand-in for ``n`` events or venues left out: an event on now, so a board that
    predates the left-out counts says where the program is instead of "No more events"."""
    return [issued_at, valid_until, MORE % n, ""]


def payload(schedule, festival_id, issued_at, sources, signer, grant=None, horizon=HORIZON,
            per_venue=PER_VENUE, version=1, max_bytes=MAX_FEED_BYTES):
    """The feed's items before the signature (a list): ``derive``'s."""
    return derive(schedule, festival_id, issued_at, sources, signer, grant, horizon, per_venue, version,
                  max_bytes)[0]


def _windows(schedule, issued_at, horizon, per_venue):
    """([(venue, events in the horizon, how many are kept)], valid_until): every venue keeps its
    running events and ``per_venue`` next ones; the feed is valid until the start of the last one
    kept where more were left, at most ``horizon``."""
    valid_until = issued_at + horizon
    windows = []
    for v in schedule.venues():
        evs = _window(schedule, v.id, issued_at, horizon)
        keep = _keep(evs, issued_at, per_venue)
        if keep < len(evs):
            valid_until = min(valid_until, int(evs[keep - 1].start))
        windows.append((v, evs, keep))
    return windows, valid_until


def _texts(name, windows):
    """Every text a board draws from the feed: the festival's name, venue names, titles, speakers."""
    texts = [name]
    for v, evs, keep in windows:
        texts.append(v.name or v.id)
        for e in evs[:keep]:
            texts.append(_feed_title(e))
            texts.extend(e.speakers or ())
    return texts


def derive(schedule, festival_id, issued_at, sources, signer, grant=None, horizon=HORIZON,
           per_venue=PER_VENUE, version=1, max_bytes=MAX_FEED_BYTES):
    """(items, venues that lost events or were left out).  The feed's items before the signature (a list), derived from ``schedule`` at ``issued_at``.

    Each venue keeps its running events and ``per_venue`` next ones (``_windows``), so a board shows
    the Pi's now/next until ``valid_until``.  If that is over ``max_bytes``, venues from the end of
    the display order lose their events, then whole venues go: the feed counts what it left out
    (version 2: a venue's 4th item, the festival's 3rd; version 1: ``_more`` stand-ins)."""
    issued_at = int(issued_at)
    windows, valid_until = _windows(schedule, issued_at, horizon, per_venue)
    zone = layout.festival_zone(schedule.festival)
    rules = [horizon, per_venue]
    if isinstance(zone, (list, tuple)):
        rules.append([int(x) for x in zone])
    name = str((schedule.festival or {}).get("name") or "")
    festival = [name, layout.offset_at(zone, issued_at)]
    if version > 1:
        from pandascreen.node import feed_glyphs  # Pillow and the faces: only for a feed that carries glyphs
        glyphs = feed_glyphs.table_here(_texts(name, windows))
    else:
        glyphs = b""
    head = [MAGIC, version, festival_id, issued_at, max(valid_until, issued_at + 1), rules,
            bytes(signer), grant, [list(s) for s in sources], festival]

    def venue(v, evs, keep, emptied):
        if emptied and evs:
            shown = [] if version > 1 else [_more(issued_at, head[4], len(evs))]
        else:
            shown = [_event(e) for e in evs[:keep]]
        item = [v.id, v.name or v.id, shown]
        if version > 1:
            item.append(len(evs) if emptied else 0)  # 0 for a venue with nothing to leave out
        return item

    # sizes: the fixed part (with room for the counts and the venue array's head), then venue by venue
    fixed = len(cbor.dumps(head + [[], b"\x00" * 64])) + 8 + len(cbor.dumps(glyphs))
    full = [len(cbor.dumps(venue(v, evs, keep, False))) for v, evs, keep in windows]
    empty = [len(cbor.dumps(venue(v, evs, keep, True))) for v, evs, keep in windows]
    emptied = len(windows)  # venues from this index on lose their events
    total = fixed + sum(full)
    while total > max_bytes and emptied > 0:
        emptied -= 1
        total += empty[emptied] - full[emptied]
    count = len(windows)  # venues from this index on are left out
    more = [issued_at, head[4], MORE % 0, ""] if version == 1 else None
    while total > max_bytes and count > 0:
        count -= 1
        total -= empty[count]
        if more is not None and count == len(windows) - 1:
            total += len(cbor.dumps(["", "", [more]])) + 8
    venues = [venue(v, evs, keep, i >= emptied) for i, (v, evs, keep) in enumerate(windows[:count])]
    left = len(windows) - count
    if version > 1:
        festival.append(left)
        festival.append(glyphs)
    elif left:
        venues.append(["", MORE % left, [_more(issued_at, head[4], left)]])
    return head + [venues], len(windows) - min(emptied, count)


def sign_payload(items, signing_key):
    """Canonical bytes of ``items`` plus the signature item."""
    unsigned = cbor.dumps(items + [b"\x00" * 64])[:-_SIG_ITEM]
    sig = signing_key.sign(DOMAIN + crypto.sha256(unsigned))
    return unsigned + cbor.dumps(bytes(sig))


def sources_of(store, log_id):
    """[[author, seq_num, hash of the latest operation]] of every log of ``log_id``, by author."""
    out = []
    heights = store.heights(log_id)
    for pk in sorted(heights):
        op = store.latest(pk, log_id)
        if op is not None:
            out.append([bytes(pk), op.seq_num, bytes(op.hash)])
    if len(out) > MAX_SOURCES:
        raise FeedError("the festival log has %d authors, a feed names at most %d" % (len(out), MAX_SOURCES))
    return out


def find_grant(store, log_id, signer, organisers):
    """``[header, body]`` of the newest group operation by an organiser that lets ``signer``
    sign feeds (see the module docstring), None if ``signer`` is an organiser; FeedError if
    there is none."""
    from pandascreen.core import auth

    signer = bytes(signer)
    organisers = [bytes(k) for k in organisers]
    if signer in organisers:
        return None
    best = None
    for op in store.pages(log_id):
        if op.body is None or not auth.is_group_body(op.body) or bytes(op.public_key) not in organisers:
            continue
        if _grants(op.body, organisers[0], signer):
            if best is None or op.timestamp > best.timestamp:
                best = op
    if best is None:
        raise FeedError("no group operation by an organiser gives this key Read access: "
                        "`pandascreen-host group add <key> --level read` first")
    return [bytes(best.header_bytes), bytes(best.body)]


def build(schedule, store, log_id, festival_id, signing_key, grant, issued_at, horizon=HORIZON,
          per_venue=PER_VENUE, max_bytes=MAX_FEED_BYTES, version=1):
    """Signed feed bytes of at most ``max_bytes``, in the form ``version`` (1: what deployed boards
    read; ``VERSION``: what they ask for now): fewer next events per venue while over, then what
    ``payload`` leaves out; FeedError if not even the festival's header fits."""
    sources = sources_of(store, log_id)
    while True:
        items, lost = derive(schedule, festival_id, issued_at, sources, signing_key.public_key, grant, horizon,
                             per_venue, version, max_bytes)
        data = sign_payload(items, signing_key)
        if per_venue <= 1 or not lost:
            break
        per_venue -= 1
    if len(data) > max_bytes:
        raise FeedError("a feed of festival %s is %d bytes even without venues, over %d"
                        % (festival_id, len(data), max_bytes))
    return data


def audit(data, store, log_id, authorizer=None):
    """Re-derive ``data``'s feed from ``store`` truncated at its sources; True if identical.

    FeedError says what differs (a head hash, a missing operation, the schedule)."""
    from pandascreen.core.schedule import Schedule
    from pandascreen.core.store import MemoryStore

    items = cbor.loads(bytes(data))
    fid, issued_at, rules, signer, grant, sources = items[2], items[3], items[5], items[6], items[7], items[8]
    part = MemoryStore()
    for author, seq, head in sources:
        ops = list(store.operations(author, log_id, None, seq))
        if not ops or ops[-1].seq_num != seq or bytes(ops[-1].hash) != bytes(head):
            raise FeedError("the logs do not hold the head the feed names for an author at seq %d" % seq)
        for op in ops:
            part.ingest_op(op)
    if authorizer is not None:
        from pandascreen.core import auth
        authorizer = auth.guard(part, authorizer, log_id)
    sch = Schedule.from_store(part, log_id, authorizer=authorizer)
    again = payload(sch, fid, issued_at, sources, signer, grant, rules[0], rules[1], items[1])
    if cbor.dumps(again + [b"\x00" * 64])[:-_SIG_ITEM] != bytes(data)[:-_SIG_ITEM]:
        raise FeedError("the feed does not match the schedule derived from its sources")
    return True
