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

from pandascreen.core import cbor, operation, schema
from pandascreen.core.auth import CURATED, MANAGE, WRITE
from pandascreen.core.auth_group import venue_group
from pandascreen.core.errors import BadInput, IngestError, OperationError, SchemaError, Unauthorized
from pandascreen.core.group_model import LIMITS
from pandascreen.core.util import hexlify, unhexlify

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
    except (ValueError, UnicodeDecodeError):
        raise OperationError("request is neither JSON nor CBOR (send application/json or application/cbor)")
    if not isinstance(value, dict) or "header" not in value:
        raise OperationError('a JSON request is {"header": hex, "body": hex or null}')
    body = value.get("body")
    return _bytes_from_hex(value["header"], "header"), None if body is None else _bytes_from_hex(body, "body")


def why_not(authorizer, op, body):
    """The one line a participant reads when the festival's rules refuse ``body`` by ``op``'s author."""
    author = op.public_key
    fest = authorizer.level(authorizer.group_id, author, op.seq_num)
    kind = body["kind"]
    if authorizer.mode == CURATED:
        return "this festival's program is curated: ask an organiser to publish it"
    if kind == "festival":
        return "only the festival's organisers change the festival itself"
    if kind == "venue":
        return "only this venue's steward changes the venue"
    parts = body["id"].split("/", 2)
    if len(parts) != 3:
        return "an event id is <venue id>/<your key>/<name>"
    venue, owner = parts[0], parts[1]
    fields = body.get("fields") or {}
    if "venue" in fields and fields["venue"] != venue:
        return "an event stays in the venue its id names; cancel it and book the other venue"
    if owner != hexlify(author):
        return "this event is someone else's: only its author edits it, and the venue's steward hides it"
    vg = venue_group(authorizer, venue)
    if vg is None and fest < WRITE:
        return "you are not invited to this festival: ask an organiser for an invite"
    if vg is not None and authorizer.level(vg, author, op.seq_num) < WRITE:
        return "this venue is invite-only; ask its steward"
    return "the festival's rules do not allow this"


def _open(authorizer, vg):
    """A venue is open when the festival group is a member of its group with Write."""
    if vg is None:
        return False
    got = authorizer._groups[vg].members.get(authorizer.group_id)
    return got is not None and got[0] >= WRITE


class PhoneInbox:
    """``submit(data, ctype)`` takes one operation a phone signed into ``store`` (guarded by
    ``authorizer``: core/auth.guard); ``state(key_hex)`` tells the phone what it needs to sign the
    next one (its log's height, the venues and whether it may book them, its own events).

    ``lock``: what the screen holds while it touches the store (a Pi screen passes its device lock)."""

    def __init__(self, store, log_id, authorizer, lock=None, schedule=None):
        if authorizer is None:
            raise Unauthorized("phones can publish only to a festival with a group (core/auth.py)")
        self.store = store
        self.log_id = bytes(log_id)
        self.authorizer = authorizer
        self.lock = lock or threading.RLock()
        self.schedule = schedule  # callable returning the current Schedule (for state)
        self.taken = 0
        self.refused = 0

    def submit(self, data, ctype="application/json"):
        """Check and store one operation; returns its hash (hex).  Raises a BadInput (one line)
        for a request that is malformed or refused; the store is then unchanged."""
        try:
            header, body = parse_request(data, ctype)
            op = operation.decode(header, body)  # structure, signature, payload hash
            if op.log_id != self.log_id:
                raise OperationError("this operation is for another festival's log")
            if op.body is None:
                raise SchemaError("a phone publishes festival, venue or event documents: the body is missing")
            parsed = schema.parse_body(op.body)
            with self.lock:
                self.authorizer.check_store(op)
                if not self.authorizer.may_apply(op, parsed):
                    raise Unauthorized(why_not(self.authorizer, op, parsed))
                _, new = self.store.check(header, body)
                if not new:
                    raise IngestError("this operation is stored already (replay)")
                refused = self.store.refused
                _, changed = self.store.ingest_op(op)
                if not changed or self.store.refused != refused:
                    raise Unauthorized(self.store.last_refused or "the store refused this operation")
        except BadInput:
            self.refused += 1
            raise
        self.taken += 1
        return hexlify(op.hash)

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
            venues, mine = [], []
            if sched is not None:
                for v in sched.venues():
                    vg = venue_group(a, v.id)
                    level = a.level(vg, key) if vg is not None else fest
                    venues.append({"id": v.id, "name": v.name, "may_book": level >= WRITE,
                                   "steward": vg is not None and level >= MANAGE,
                                   "open": _open(a, vg)})
                me = hexlify(key)
                for ev in sched.all_events():
                    parts = ev.id.split("/", 2)
                    if len(parts) == 3 and parts[1] == me:
                        mine.append({"id": ev.id, "venue": ev.venue, "title": ev.title, "start": ev.start,
                                     "end": ev.end, "status": ev.status})
        return {"log_id": hexlify(self.log_id), "seq": 0 if latest is None else latest.seq_num + 1,
                "backlink": None if latest is None else hexlify(latest.hash),
                "member": fest >= WRITE, "mode": a.mode, "venues": venues, "events": mine,
                "utc_offset": sched.utc_offset() if sched is not None else 0}
