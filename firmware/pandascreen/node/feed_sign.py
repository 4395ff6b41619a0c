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

``zone`` (only when the festival has ``utc_offsets``): ``[from_utc_s, offset_minutes, ...]``, the
festival's local time rule across daylight saving changes; boards that predate it skip the rules
item and use the offset, which is the one in force at ``issued_at`` (a feed lives 3 hours).

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

import hashlib

from pandascreen.core import cbor, layout
from pandascreen.core.feed import (DOMAIN, HORIZON, MAGIC, MAX_FEED_BYTES, MAX_SOURCES, PER_VENUE, SPEAKERS_MAX,
                                   TITLE_MAX, VERSION, FeedError, _grants, _SIG_ITEM)


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


def _window(schedule, venue_id, issued_at, horizon, per_venue):
    """(events of one venue that run at or start within ``horizon`` of ``issued_at``, first
    ``per_venue`` of them; start of the first one left out, or None)."""
    out = []
    for ev in schedule.events(venue_id):
        if ev.start >= issued_at + horizon:
            break
        if ev.end > issued_at or ev.start >= issued_at:
            if len(out) == per_venue:
                return out, ev.start
            out.append(ev)
    return out, None


def _feed_title(ev):
    """The title a satellite shows: a cancelled or moved event says so in its title (the wire form
    has no status; a board reads the marker back, core/feed.py ``FeedEvent``, and older boards show it)."""
    title = ev.title or ""
    if ev.status == layout.CANCELLED:
        return "%s: %s" % (layout.CANCELLED.upper(), title)
    return "%s: %s" % (layout.MOVED.upper(), title) if ev.moved() else title


def payload(schedule, festival_id, issued_at, sources, signer, grant=None, horizon=HORIZON,
            per_venue=PER_VENUE):
    """The feed's items before the signature (a list), derived from ``schedule`` at ``issued_at``."""
    issued_at = int(issued_at)
    valid_until = issued_at + horizon
    venues = []
    for v in schedule.venues():
        evs, left_out = _window(schedule, v.id, issued_at, horizon, per_venue)
        if left_out is not None and left_out < valid_until:
            valid_until = left_out
        venues.append([v.id, v.name or v.id,
                       [[int(e.start), int(e.end), _cut(_feed_title(e), TITLE_MAX),
                         _cut(", ".join(e.speakers or ()), SPEAKERS_MAX)] for e in evs]])
    zone = layout.festival_zone(schedule.festival)
    rules = [horizon, per_venue]
    if isinstance(zone, (list, tuple)):
        rules.append([int(x) for x in zone])
    return [MAGIC, VERSION, festival_id, issued_at, max(valid_until, issued_at), rules,
            bytes(signer), grant, [list(s) for s in sources],
            [str((schedule.festival or {}).get("name") or ""), layout.offset_at(zone, issued_at)], venues]


def sign_payload(items, signing_key):
    """Canonical bytes of ``items`` plus the signature item."""
    unsigned = cbor.dumps(items + [b"\x00" * 64])[:-_SIG_ITEM]
    sig = signing_key.sign(DOMAIN + hashlib.sha256(unsigned).digest())
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
          per_venue=PER_VENUE, max_bytes=MAX_FEED_BYTES):
    """Signed feed bytes; fewer events per venue while it is over ``max_bytes``."""
    sources = sources_of(store, log_id)
    while True:
        items = payload(schedule, festival_id, issued_at, sources, signing_key.public_key, grant, horizon,
                        per_venue)
        data = sign_payload(items, signing_key)
        if len(data) <= max_bytes:
            return data
        if per_venue == 0:
            raise FeedError("a feed of %d venues is %d bytes even without events, over %d"
                            % (len(items[10]), len(data), max_bytes))
        per_venue -= 1


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
    again = payload(sch, fid, issued_at, sources, signer, grant, rules[0], rules[1])
    if cbor.dumps(again + [b"\x00" * 64])[:-_SIG_ITEM] != bytes(data)[:-_SIG_ITEM]:
        raise FeedError("the feed does not match the schedule derived from its sources")
    return True
