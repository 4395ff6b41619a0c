"""What a participant's phone publishes through the program page: one signed operation per
request, taken into the screen's store through the same guard as sync, then relayed by it.

WHY here and not a second sync peer: a phone on the festival Wi-Fi speaks HTTP to the screen it
reads, not iroh; the screen it reaches is already a peer of the festival, so an operation it
stores goes out with the next sync like one of its own.

Nothing the browser sends is trusted beyond its signature and the festival group's rules: the
operation is decoded and its signature checked (core/operation.py), it must belong to this
festival's log, carry a festival or venue or event body (core/schema.py), pass the store tier
(``authorizer.check_store``: may this key write at all, within its limits and quota) and the
document tier (``authorizer.may_apply``: this venue, this event) before the store sees it, and
the store's log rules (seq_num, backlink: no replay, no fork).  A refusal is one line saying
why, and changes nothing.

Request bodies: JSON ``{"header": hex, "body": hex | null}`` or raw CBOR
(``application/cbor``) ``[header bytes, body bytes | null]``; at most ``MAX_REQUEST`` bytes.
"""

import json
import threading

from pandascreen.core import auth, cbor, layout, operation, schema
from pandascreen.core.auth import MANAGE, WRITE
from pandascreen.core.auth_group import venue_group
from pandascreen.core.errors import BadInput, GroupOpError, OperationError, SchemaError, Unauthorized
from pandascreen.core.group_model import LIMITS
from pandascreen.core.quota import OverQuota
from pandascreen.core.schedule import HIDE_STAMP, stamp_of
from pandascreen.core.util import hexlify, unhexlify
from pandascreen.node import i18n, phone_groups
from pandascreen.node.program_page_html import shown

# how far a phone's clock may be from the screen's (seconds): phones keep their time well; ten
# minutes is a clock set by hand, not one a day or a year off
PHONE_CLOCK_SKEW = 10 * 60

# how many sessions still to come (or begun within COUNTED_FOR) one participant may have when it
# books another through a page: a member's quota is a program signing key's (core/quota.py, 2,500
# event creates), with which one phone could fill every screen's page; someone who hosts more
# asks the organisers, who are not limited
PHONE_BOOKINGS = 20
# a start set through a page lies at most BOOKING_LEAD back (a phone as far behind as
# PHONE_CLOCK_SKEW still books a session from its own minute), and a session counts toward
# PHONE_BOOKINGS until it ended and COUNTED_FOR after it began: one booked to end a second on
# would count for that second, and one phone could put hundreds on every page
BOOKING_LEAD = PHONE_CLOCK_SKEW + 5 * 60
COUNTED_FOR = 24 * 3600
# the longest session a page books: a year-long one would make every look for a venue's talk on
# now scan back a year of its events (core/schedule.py ``now_next``)
LONGEST_BOOKING = 24 * 3600

# the largest body the group lets through and a header (well under 512 bytes), twice over as
# hex in the JSON form, and the JSON around them
MAX_REQUEST = 2 * (max(LIMITS.values()) + 512) + 256


def _bytes_from_hex(value, what):
    if not isinstance(value, str) or len(value) % 2:
        raise OperationError("%s must be hex" % what)
    try:
        return unhexlify(value)
    except ValueError:
        raise OperationError("%s must be hex" % what)


def parse_request(data, ctype):
    """(header bytes, body bytes or None) from a request body; OperationError otherwise."""
    if len(data) > MAX_REQUEST:
        raise OperationError("request of %d bytes is over the %d byte limit" % (len(data), MAX_REQUEST))
    if ctype.startswith("application/cbor"):
        try:
            value = cbor.loads(bytes(data))
        except BadInput as e:
            raise OperationError("request is not CBOR: %s" % e)
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], bytes) \
                or not (value[1] is None or isinstance(value[1], bytes)):
            raise OperationError("a CBOR request is [header bytes, body bytes or null]")
        return value[0], value[1]
    try:
        value = json.loads(bytes(data).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[..." nested past the stack
        raise OperationError("request is neither JSON nor CBOR (send application/json or application/cbor)")
    if not isinstance(value, dict) or "header" not in value:
        raise OperationError('a JSON request is {"header": hex, "body": hex or null}')
    body = value.get("body")
    return _bytes_from_hex(value["header"], "header"), None if body is None else _bytes_from_hex(body, "body")


class Refusal(Unauthorized):
    """A refusal by the festival's rules, in the festival's language; ``status``: 403, or 409 when
    the request came too late or twice (the group changed, replay, already done)."""

    def __init__(self, line, status=403):
        Unauthorized.__init__(self, line)
        self.status = status


class PhoneInbox:
    """``submit(data, ctype)`` takes one operation a phone signed into ``store`` (guarded by
    ``authorizer``: core/auth.guard); ``state(key_hex)`` tells the phone what it needs to sign the
    next one (its log's height, the venues and what it may do there, its events, the words).

    ``lock``: what the screen holds while it touches the store (a Pi screen passes its device lock);
    ``language``: the configured one, else the festival document's (node/i18n.py); ``on_stored``:
    called after an operation is stored (a screen redraws and its node relays it at once)."""

    def __init__(self, store, log_id, authorizer, lock=None, schedule=None, language=None, on_stored=None, clock=None):
        if authorizer is None:
            raise Unauthorized("phones can publish only to a festival with a group (core/auth.py)")
        self.store = store
        self.log_id = bytes(log_id)
        self.authorizer = authorizer
        self.lock = lock or threading.RLock()
        self.schedule = schedule  # callable returning the current Schedule (for state)
        self.language = language
        self.on_stored = on_stored
        self.clock = clock  # () -> (the screen's time, whether it is the time), called under ``lock``
        self.taken = 0
        self.refused = 0
        self._stored = {}  # id -> (start, end, stamp) of new bookings stored and not yet shown (``_booked``)

    def words(self):
        """The stage's words in the festival's language (call under ``lock``)."""
        sched = self.schedule() if self.schedule is not None else None
        return i18n.labels(i18n.language_for(self.language, sched.festival if sched is not None else None))

    def _refuse(self, key, status=403):
        raise Refusal(self.words()[key], status)

    def submit(self, data, ctype="application/json"):
        """Check and store one operation; returns its hash (hex).  Raises a BadInput (one line)
        for a request that is malformed or refused; the store is then unchanged."""
        try:
            header, body = parse_request(data, ctype)
            op = operation.decode(header, body)  # structure, signature, payload hash
            with self.lock:
                if op.log_id != self.log_id:
                    self._refuse("refused_other_log", 400)
                if op.body is None:
                    raise SchemaError("a phone publishes festival, venue or event documents: the body is missing")
                self._check_clock(op)
                parsed, booking = self._check(op)
                self._store(op, header, body)
                self._remember(parsed, op, booking)
        except BadInput:
            self.refused += 1
            raise
        self.taken += 1
        if self.on_stored is not None:
            self.on_stored()
        return hexlify(op.hash)

    def _check(self, op):
        """The festival's rules for ``op``, as a phone's participant reads them (under ``lock``).
        Returns (its parsed document body or None for a group operation, ``_check_booking``'s)."""
        a = self.authorizer
        parsed = booking = None
        if auth.is_group_body(op.body):
            try:
                gid, action, deps = auth.parse_group_body(op.body)
            except GroupOpError as e:
                raise GroupOpError("refused group operation: %s" % e)
            why = phone_groups.why_not(a, op, gid, action, deps)
            if why is not None:
                self._refuse(why[1], why[0])
        else:
            parsed = schema.parse_body(op.body)
            if not a.may_apply(op, parsed):
                self._refuse(phone_groups.why_not_document(a, op, parsed))
            booking = self._check_event(parsed, op)
            if len(op.body) > LIMITS[parsed["kind"]]:
                raise Refusal(self.words()["refused_too_large"] % (len(op.body), LIMITS[parsed["kind"]]), 413)
        try:
            a.check_store(op)  # the same guard as sync: size, quota, may this key write at all
        except OverQuota:
            self._refuse("refused_quota")
        return parsed, booking

    def _remember(self, body, op, booking):
        """After ``op`` is stored: a new booking is kept until the schedule shows it (``_booked``);
        a delete newer than a kept booking ends it."""
        if booking is not None:
            self._stored[body["id"]] = booking
        elif body is not None and body["kind"] == "event" and body["action"] == "delete":
            kept = self._stored.get(body["id"])
            if kept is not None and stamp_of(op.timestamp, op.hash) > kept[2]:
                del self._stored[body["id"]]

    def _check_clock(self, op):
        """An operation is stamped by the phone's clock, and the newest stamp wins a field: from a
        phone far behind, an edit would be taken and lost to the value it meant to change; from one
        far ahead, it would outvote every later edit.  Refused, saying by how much, when the screen
        knows its own clock is the time (``clock``: NTP keeps it)."""
        if self.clock is None:
            return
        now, trusted = self.clock()
        off = op.timestamp // 1000000 - int(now)
        if trusted and abs(off) > PHONE_CLOCK_SKEW:
            key = "refused_clock_ahead" if off > 0 else "refused_clock_behind"
            raise Refusal(self.words()[key] % layout.span(abs(off) // 60), 400)

    def _check_event(self, body, op):
        """What the festival's rules leave to the program a phone books into: an event a steward hid
        stays hidden (core/schedule.py), an author's edit that would lose is not taken, an event's
        venue is one of the program's (a made-up one would be a heading on every phone, in no one's
        hide list), and an update of its start or end alone must not make it end before it starts
        (the schema sees one body; the screens merge it field by field with what they hold).
        Returns ``_check_booking``'s for what is not a delete."""
        fields = body.get("fields") or {}
        sched = self.schedule() if self.schedule is not None else None
        if body["kind"] != "event" or sched is None:
            return
        ev = sched.docs["event"].get(body["id"])
        if ev is not None and ev.deleted == HIDE_STAMP and body["action"] != "delete":  # stored, never shown
            self._refuse("refused_hidden", 409)
        live = ev is not None and ev.visible()
        if live and _owner(ev.id) == hexlify(op.public_key) and _loses(ev, body, stamp_of(op.timestamp, op.hash)):
            # measured by stamps, so an offline screen that cannot tell the time tells this too
            self._refuse("refused_clock_before_edit", 409)
        venue = sched.docs["venue"].get(fields["venue"]) if "venue" in fields else None
        if "venue" in fields and (venue is None or not venue.visible()):
            self._refuse("refused_no_venue")  # as for a group of a venue not here (node/phone_groups.py)
        if body["action"] == "update" and live and fields.get("end", ev.end) < fields.get("start", ev.start):
            self._refuse("refused_ends_before_start", 400)
        if body["action"] != "delete":
            return self._check_booking(sched, ev if live else None, body, op)
        return None

    def _check_booking(self, sched, ev, body, op):
        """A participant's booking (``ev``: the event on the program it edits, or None: a new one)
        starts at most ``BOOKING_LEAD`` back, ends after now and lasts ``LONGEST_BOOKING`` at most,
        and one more may be made while it has fewer than ``PHONE_BOOKINGS`` that count
        (``_counts``).  Returns (start, end, stamp) of a new booking, which ``submit`` remembers
        once stored (``_remember``), else None.  Organisers, who are not limited,
        may mend a session that is over."""
        fields = body.get("fields") or {}
        if ev is None and "start" not in fields:  # a title alone would make a session in 1970, over at once
            self._refuse("refused_no_time", 400)
        if self.authorizer.quota_of(op.public_key) is None:
            return None
        now = self.clock()[0] if self.clock is not None else None
        start = fields.get("start", ev.start if ev is not None else None)
        end = fields.get("end", ev.end if ev is not None else start)
        if now is not None and (("start" in fields and start < now - BOOKING_LEAD
                                 and (ev is None or start != ev.start)) or ("end" in fields and end < now)):
            self._refuse("refused_over", 400)
        if ("start" in fields or "end" in fields) and end - start > LONGEST_BOOKING:
            self._refuse("refused_too_long", 400)
        if ev is not None:
            return None
        # an update of an id not on the program makes an event as a create does
        if self._booked(sched, hexlify(op.public_key), now) >= PHONE_BOOKINGS:
            raise Refusal(self.words()["refused_too_many"] % PHONE_BOOKINGS)
        return start, end, stamp_of(op.timestamp, op.hash)

    def _booked(self, sched, key_hex, now):
        """The sessions of ``key_hex`` that count (all, without a clock): on the program, and those
        this inbox stored that the screen's schedule has not taken in yet (it does at its loop's
        next turn; a burst of bookings comes faster)."""
        booked = set(ev.id for ev in sched.all_events() if _owner(ev.id) == key_hex and _counts(ev.start, ev.end, now))
        events = sched.docs["event"]
        for event_id, (start, end, _) in list(self._stored.items()):
            held = events.get(event_id)
            if (held is not None and held.visible()) or not _counts(start, end, now):
                del self._stored[event_id]  # the schedule shows it (counted above when it counts), or it is over
            elif _owner(event_id) == key_hex:
                booked.add(event_id)
        return len(booked)

    def _store(self, op, header, body):
        _, new = self.store.check(header, body)
        if not new:
            self._refuse("refused_replay", 409)
        refused = self.store.refused
        _, changed = self.store.ingest_op(op)
        if not changed or self.store.refused != refused:
            raise Unauthorized(self.store.last_refused or "the store refused this operation")

    def state(self, key_hex):
        """What the phone of ``key_hex`` needs: JSON-ready dict."""
        key = _bytes_from_hex(key_hex, "key")
        if len(key) != 32:
            raise OperationError("key must be 32 bytes (64 hex)")
        a = self.authorizer
        with self.lock:
            latest = self.store.latest(key, self.log_id)
            fest = a.level(a.group_id, key)
            sched = self.schedule() if self.schedule is not None else None
            venues, mine, hideable = _venues(a, sched, key, fest), [], []
            steward = set(v["id"] for v in venues if v["steward"])
            for ev in (sched.all_events() if sched is not None else ()):
                owner = _owner(ev.id)
                if owner == hexlify(key):
                    mine.append(_event(ev))
                elif ev.venue in steward or (fest >= MANAGE and owner is not None):
                    hideable.append(_event(ev))
            words = self.words()
        return {"log_id": hexlify(self.log_id), "seq": 0 if latest is None else latest.seq_num + 1,
                "backlink": None if latest is None else hexlify(latest.hash),
                "member": fest >= WRITE, "organiser": fest >= MANAGE, "mode": a.mode,
                "festival_group": hexlify(a.group_id),
                "festival_heads": [hexlify(h) for h in a.heads(a.group_id)] if fest >= MANAGE else [],
                "venues": venues, "events": mine, "hideable": hideable,
                "zone": sched.zone() if sched is not None else 0, "words": words}


def _loses(ev, body, stamp):
    """True when ``body`` stamped ``stamp`` would change nothing of ``ev`` it names: a delete older
    than its last create or update, an edit older than each field it sets (the newest stamp wins
    a field)."""
    if body["action"] == "delete":
        return stamp < ev.alive
    stamps = [ev.field_stamp(ev.FIELD_INDEX[name]) for name in body.get("fields") or {} if name in ev.FIELD_INDEX]
    return all(old is not None and stamp < old for old in stamps) and bool(stamps)


def _counts(start, end, now):
    """True while a session counts toward ``PHONE_BOOKINGS`` at ``now`` (always, without a clock)."""
    return now is None or end > now or start > now - COUNTED_FOR


def _owner(event_id):
    """The author's key hex a member's event id names ("<venue>/<author key hex>/<name>"), or None."""
    parts = event_id.split("/", 2)
    return parts[1] if len(parts) == 3 else None


def _event(ev):
    return {"id": ev.id, "venue": ev.venue, "title": shown(ev.title), "start": ev.start, "end": ev.end, "status": ev.status}


def _venues(a, sched, key, fest):
    """The venues as a phone sees them: may it book there, does it steward it, is it open, and the
    group's heads (what a steward's next group operation names)."""
    out = []
    for v in (sched.venues() if sched is not None else ()):
        vg = venue_group(a, v.id)
        level = a.level(vg, key) if vg is not None else fest
        steward = vg is not None and level >= MANAGE
        out.append({"id": v.id, "name": shown(v.name), "may_book": level >= WRITE, "steward": steward,
                    "open": phone_groups.is_open(a, vg),
                    "heads": [hexlify(h) for h in a.heads(vg)] if steward else []})
    return out
