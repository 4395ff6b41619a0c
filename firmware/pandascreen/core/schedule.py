"""Materialised festival schedule, kept up to date one operation at a time.

Every document (festival, venue or event) is a set of last-writer-wins registers, one per
field, stamped with ``(timestamp_us, operation hash)``.  A document is visible when its
newest create/update is newer than its newest delete.  Applying the same operations in any
order gives the same schedule, so peers converge whatever order sync delivers them in.

``apply`` updates the views it affects and nothing else, so a screen that keeps ONE schedule
and feeds it each new operation pays O(log n) per operation instead of a rebuild from the
store (1.1-1.6 s at 20,000 events on a laptop, ~10x that on a Pi Zero 2 W, under the lock
the buttons wait for):

* each venue's visible events sit in a list sorted by (start, end, id), kept sorted by
  binary search, so ``now_next`` is a binary search plus a look back as long as the lane's
  longest event;
* the visible venues sit in a list sorted by (order, name, id), the same way;
* the festival dict is recomputed only when a festival document changes.

``version`` grows whenever what is visible may have changed (a frame cache keys on it); an
operation that only loses to newer ones, repeats one, or touches hidden documents leaves it.

Memory (20,000 events must fit a Pi Zero beside the store): documents ARE the view objects
(``Event``/``Venue`` with ``__slots__``, ignored but harmless on MicroPython), the fields of
one operation share its one stamp (see ``stamp_of``), and repeated values (venue ids,
tracks, languages, speaker lists, start and end times) are interned in a per-schedule table.

``Event`` and ``Venue`` objects are live: a later operation updates them in place.
"""

import sys

from pandascreen.core import schema
from pandascreen.core.errors import SchemaError


def _search(items, key, moved=None):
    """Index of the first of ``items`` (sorted by ``item.key()``) whose key is not below ``key``.

    ``moved``: an item already changed in place whose key WAS ``key`` (it is found where it
    was sorted).  Hand-written rather than ``bisect``: MicroPython has no bisect module, and
    asking the items for their keys spares a parallel list of key tuples (1.1 MB at 20,000
    events).
    """
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        item = items[mid]
        if item is not moved and item.key() < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


_AFTER = float("inf")  # sorts after every end time: (now, _AFTER) follows every event starting at now
_HASH_BITS = 256


def _int_stamp(timestamp, op_hash):
    return (int(timestamp) << _HASH_BITS) | int.from_bytes(op_hash[:_HASH_BITS // 8], "big")


def _tuple_stamp(timestamp, op_hash):
    return (timestamp, op_hash)


# The LWW stamp of an operation: orders by timestamp, then by hash (both forms order alike for
# the 32-byte hashes of operations).  On CPython one int: the SQLite store does not keep
# operations in RAM, and 68 bytes beat 153 for a tuple of int and bytes (1.7 MB at 20,000
# events).  On MicroPython the board's store keeps every operation in RAM anyway, so a tuple
# of its timestamp and hash adds only the tuple, where a big int is new heap blocks plus
# temporaries (30 events, 32-bit MicroPython: 12.9 KB with tuples, 14.7 KB with ints).
stamp_of = _tuple_stamp if sys.implementation.name == "micropython" else _int_stamp
# a hide's delete stamp (core/auth_group.py ``hides``), after any an operation can carry (a u64 of
# microseconds): no later edit of the author's brings the booking back; peers converge all the same
HIDE_STAMP = stamp_of(1 << 64, b"")


def _field_index(kind):
    # sorted: MicroPython dicts do not keep insertion order
    out = {}
    for i, name in enumerate(sorted(schema.FIELDS[kind])):
        out[name] = i
    return out


class _Doc:
    """LWW bookkeeping shared by every document kind (the fields live in the subclass slots).

    ``_set``: bit i set when field i (``FIELD_INDEX`` order) has a value; ``_stamp``: the stamp
    of every set field while they agree (the usual case: one create), else a list of per-field
    stamps (None where unset).  ``alive``/``deleted``: newest create-or-update / delete stamp.
    """

    __slots__ = ("id", "_set", "_stamp", "alive", "deleted")
    FIELD_INDEX = {}

    def __init__(self, doc_id):
        self.id = doc_id
        self._set = 0
        self._stamp = None
        self.alive = None
        self.deleted = None

    def visible(self):
        return self.alive is not None and (self.deleted is None or self.alive > self.deleted)

    def field_stamp(self, i):
        """The stamp of field ``i`` (``FIELD_INDEX``), None while it is unset."""
        if not self._set & (1 << i):
            return None
        s = self._stamp
        return s[i] if isinstance(s, list) else s

    def _stamp_field(self, i, stamp):
        if not self._set:
            self._stamp = stamp
        elif not isinstance(self._stamp, list):
            if self._stamp != stamp:  # the fields' stamps part: one per field from now on
                old = self._stamp
                self._stamp = [old if self._set & (1 << j) else None for j in range(len(self.FIELD_INDEX))]
                self._stamp[i] = stamp
        else:
            self._stamp[i] = stamp
        self._set |= 1 << i

    def merge(self, fields, stamp, strings, create):  # create: ``fields`` are a create's (see Event)
        """Take each field of ``fields`` whose stamp is older than ``stamp``; True if any changed."""
        changed = False
        index = self.FIELD_INDEX
        for name in fields:
            i = index.get(name)
            if i is None:  # only reachable through apply(dict) without validation
                continue
            old = self.field_stamp(i)
            if old is None or stamp > old:
                self._stamp_field(i, stamp)
                setattr(self, name, self._clean(name, fields[name], strings))
                changed = True
        if changed:
            self._defaults()
        return changed

    def _clean(self, name, value, strings):
        return value

    def _defaults(self):
        pass


def _intern(strings, s):
    got = strings.get(s)
    if got is None:
        strings[s] = s
        return s
    return got


class Festival(_Doc):
    __slots__ = ("name", "timezone", "utc_offset", "start", "end", "language", "utc_offsets")
    FIELD_INDEX = _field_index("festival")

    def as_dict(self):
        """The set fields plus ``id`` (what ``Schedule.festival`` returns)."""
        out = {}
        for name in self.FIELD_INDEX:
            if self._set & (1 << self.FIELD_INDEX[name]):
                out[name] = getattr(self, name)
        out["id"] = self.id
        return out


class Venue(_Doc):
    __slots__ = ("name", "order")
    FIELD_INDEX = _field_index("venue")

    def __init__(self, doc_id):
        _Doc.__init__(self, doc_id)
        self.name = doc_id
        self.order = 0

    def key(self):
        return (self.order, self.name, self.id)

    def __repr__(self):
        return "<Venue %s %r>" % (self.id, self.name)


# an event's fields and their empty values: core/schema.py EVENT_FIELDS; the text fields are
# interned (venue ids, tracks, languages repeat), except a title, which rarely does, and so are
# the times: every talk of a slot starts and ends alike, and each decoded operation holds its own
# time objects (32 bytes each on CPython; on MicroPython a heap block past 2**30)
_EVENT_EMPTY = tuple((f[0], schema.EMPTY[f[1]]) for f in schema.EVENT_FIELDS)
_EVENT_INTERNED = tuple(f[0] for f in schema.EVENT_FIELDS
                       if (f[1] == schema.TEXT and f[0] != "title") or f[1] == schema.NUMBER)
_EVENT_LISTS = tuple(f[0] for f in schema.EVENT_FIELDS if f[1] == schema.TEXT_LIST)


class Event(_Doc):
    """An event; ``created`` is None before a create, else its oldest create's stamp while its start
    and venue are the ones that create announced, else ``[stamp, announced start, announced venue]``:
    ``moved`` compares values, in any delivery order, and only moved events pay for the list."""

    __slots__ = schema.event_fields() + ("created",)
    FIELD_INDEX = _field_index("event")
    _END = FIELD_INDEX["end"]

    def __init__(self, doc_id):
        _Doc.__init__(self, doc_id)
        for name, empty in _EVENT_EMPTY:
            setattr(self, name, empty)
        self.created = None

    def moved(self):
        """True when its start or venue is not what its oldest create announced (see the class)."""
        return isinstance(self.created, list)

    def _clean(self, name, value, strings):
        if name in _EVENT_LISTS:
            # in place in the decoded list (a temporary), then one tuple: few heap blocks
            names = list(value)
            for i in range(len(names)):
                names[i] = _intern(strings, names[i])
            return _intern(strings, tuple(names))
        if name in _EVENT_INTERNED:
            return _intern(strings, value)
        return value

    def _defaults(self):
        if not self._set & (1 << self._END):
            self.end = self.start

    def merge(self, fields, stamp, strings, create):  # keeps ``created`` as the class says, in any order
        c = self.created
        if c is not None and not isinstance(c, list):  # a stamp: the start and venue are the announced ones
            c = [c, self.start, self.venue]
        changed = _Doc.merge(self, fields, stamp, strings, create)
        if create and (c is None or stamp < c[0]):  # the oldest create yet: what counts as moved may change
            c, changed = [stamp, fields.get("start", 0), fields.get("venue", "")], True  # unvalidated: may lack one
        if c is not None:
            self.created = c if c[1] != self.start or c[2] != self.venue else c[0]
        return changed

    def key(self):
        return (self.start, self.end, self.id)

    def __repr__(self):
        return "<Event %s %r %d-%d>" % (self.id, self.title, self.start, self.end)


class _Sorted:
    """Items kept sorted by their ``key()`` (binary search on insert and removal).

    For a venue's events, ``longest`` bounds every event's duration (raised, never lowered),
    so ``now_next`` knows how far back a running event can have started.
    """

    __slots__ = ("items", "longest")

    def __init__(self):
        self.items = []
        self.longest = 0

    def add(self, item):
        self.items.insert(_search(self.items, item.key()), item)

    def remove(self, item, old_key):
        """Remove ``item``, sorted by ``old_key`` (it may have changed since)."""
        i = _search(self.items, old_key, item)
        if self.items[i] is not item:
            raise AssertionError("schedule view out of order")  # a bug here, never bad input
        del self.items[i]


_KINDS = {"festival": Festival, "venue": Venue, "event": Event}
PAGE = 500  # operations per read in from_store


class Schedule:
    def __init__(self, authors=None, authorizer=None):
        """``authorizer``: a ``core.auth.Authorizer``; only operations the festival group lets
        their authors make are applied (group operations are its business, skipped here).
        ``authors``: shorthand for a curated festival whose organisers are these keys."""
        if authorizer is None and authors is not None:
            from pandascreen.core import auth  # only then: the board passes its authorizer
            authorizer = auth.for_authors(authors)
        self.authorizer = authorizer
        self.problems = []
        self.version = 0
        # kind -> id -> document, visible or not: ``visible()``, its ``deleted`` stamp (HIDE_STAMP:
        # hidden for good); others read it (node/phone_inbox.py), only ``apply`` writes it
        self.docs = {"festival": {}, "venue": {}, "event": {}}
        self._strings = {}
        self._venues = _Sorted()
        self._lanes = {}
        self._festival = None
        self._bounds = (-1, None)  # (version, (first start, last end)) of ``bounds``

    # -- building ---------------------------------------------------------------------------
    def apply(self, op_or_body, timestamp=0, op_hash=b""):
        """Apply an ``Operation`` (or an already-decoded body dict). Returns True if applied.

        ``version`` grows when the operation changed anything (an operation older than what
        it touches, or a repeat, changes nothing).
        """
        author = None
        if isinstance(op_or_body, dict):
            body = op_or_body
        else:
            op = op_or_body
            if op.body is None:
                return False
            timestamp = op.timestamp
            op_hash = op.hash
            try:
                body = schema.parse_body(op.body)
            except SchemaError as e:
                if not _is_group_body(op.body):
                    self.problems.append("operation %s: %s" % (_short(op_hash), e))
                return False
            if self.authorizer is not None and not self.authorizer.may_apply(op, body):
                return False
            author = op.public_key
        stamp = stamp_of(timestamp, bytes(op_hash))
        if author is not None and body["action"] == "delete" and "/" in body["id"]:
            from pandascreen.core.auth_group import hides  # the open stage's rule, loaded where it may apply
            stamp = HIDE_STAMP if hides(body, author) else stamp
        kind = body["kind"]
        docs = self.docs[kind]
        doc_id = body["id"]
        doc = docs.get(doc_id)
        if doc is None:
            if kind == "venue":
                doc_id = _intern(self._strings, doc_id)
            doc = docs[doc_id] = _KINDS[kind](doc_id)
        was_visible = doc.visible()
        old_key = doc.key() if was_visible and kind != "festival" else None
        old_venue = doc.venue if kind == "event" else None
        stamps_changed = fields_changed = False
        if body["action"] == "delete":
            if doc.deleted is None or stamp > doc.deleted:
                doc.deleted = stamp
                stamps_changed = True
        else:
            if doc.alive is None or stamp > doc.alive:
                doc.alive = stamp
                stamps_changed = True
            fields_changed = doc.merge(body.get("fields") or {}, stamp, self._strings, body["action"] == "create")
        if stamps_changed or fields_changed:
            visible = doc.visible()
            if visible != was_visible or (visible and fields_changed):
                self.version += 1
            self._place(kind, doc, was_visible, old_key, old_venue)
        return True

    def _place(self, kind, doc, was_visible, old_key, old_venue):
        """Move ``doc`` within the sorted views after it changed."""
        visible = doc.visible()
        if kind == "festival":
            self._festival = self._pick_festival()
            return
        key = doc.key() if visible else None
        if kind == "venue":
            if old_key != key:
                if was_visible:
                    self._venues.remove(doc, old_key)
                if visible:
                    self._venues.add(doc)
            return
        if old_key == key and old_venue == doc.venue:
            return
        if was_visible:
            lane = self._lanes[old_venue]
            lane.remove(doc, old_key)
            if not lane.items:
                del self._lanes[old_venue]
        if visible:
            lane = self._lanes.get(doc.venue)
            if lane is None:
                lane = self._lanes[doc.venue] = _Sorted()
            lane.add(doc)
            if doc.end - doc.start > lane.longest:
                lane.longest = doc.end - doc.start

    def _pick_festival(self):
        best = None
        docs = self.docs["festival"]
        for fid in docs:
            doc = docs[fid]
            if doc.visible() and (best is None or doc.id < best.id):
                best = doc
        return None if best is None else best.as_dict()

    @classmethod
    def from_store(cls, store, log_id=None, authors=None, page=PAGE, authorizer=None):
        """A schedule of everything in ``store`` (of ``log_id``), read a page at a time.

        Pages (``store.operations`` by seq_num ranges) keep the peak memory at one page of
        operations instead of the whole log (46 -> 32 MB RSS at 20,000 events from SQLite),
        and logs of untrusted authors are not even read.  Order does not matter: the result
        is the same in any order.
        """
        s = cls(authors, authorizer)
        if log_id is None:
            for op in store.all_operations(None):
                s.apply(op)
            return s
        authors = None if s.authorizer is None else s.authorizer.could_write
        for op in store.pages(log_id, page, authors):
            s.apply(op)
        return s

    # -- reading ----------------------------------------------------------------------------
    @property
    def festival(self):
        return self._festival

    def utc_offset(self):
        f = self.festival
        return (f or {}).get("utc_offset", 0)

    def zone(self):
        """The festival's local time rule for core/layout.py (``layout.festival_zone``)."""
        from pandascreen.core.layout import festival_zone
        return festival_zone(self.festival)

    def venues(self):
        return list(self._venues.items)

    def events(self, venue_id):
        lane = self._lanes.get(venue_id)
        return [] if lane is None else list(lane.items)

    def all_events(self):
        out = []
        for v in self._venues.items:
            lane = self._lanes.get(v.id)
            if lane is not None:
                out.extend(lane.items)
        out.sort(key=Event.key)
        return out

    def bounds(self):
        """(first start, last end) of every visible event, or None: when the festival begins and
        ends on the screens ("starts Friday 16:00", the closing screen).  Kept per ``version``."""
        if self._bounds[0] != self.version:
            first = last = None
            for lane in self._lanes.values():
                items = lane.items
                if first is None or items[0].start < first:
                    first = items[0].start
                for ev in items:  # the longest event may end last: no shortcut by start
                    if last is None or ev.end > last:
                        last = ev.end
            self._bounds = (self.version, None if first is None else (first, last))
        return self._bounds[1]

    def now_next(self, venue_id, now):
        """(event shown as running at ``now`` or None, the event shown after it or None).

        Of several running events, the one that started last (then: ends last, then: largest
        id; a cancelled one only when no other runs) is "now", and the one before it may be
        next (core/feed.py ``after_now``), else the first to start after ``now`` (of several
        starting then, one not cancelled: ``first_up``).  A zero-length event runs at the second it
        starts."""
        lane = self._lanes.get(venue_id)
        if lane is None:
            return None, None
        from pandascreen.core.feed import after_now, first_up  # the satellite's rules, which a Pi's screen follows
        items = lane.items
        i = _search(items, (now, _AFTER))  # the first event starting after now
        nxt = first_up(items, i)
        current = also = cancelled = None
        oldest = now - lane.longest
        while i > 0 and also is None:
            i -= 1
            ev = items[i]
            if ev.start < oldest:
                break
            if now < ev.end or ev.start == ev.end == now:
                if ev.status == schema.CANCELLED:
                    cancelled = cancelled or ev
                else:  # the first one found is "now", the second one on now before it is ``also``
                    current, also = (ev, None) if current is None else (current, ev)
        return current or cancelled, after_now(current, also, nxt)

    def lanes(self):
        """Venue ids that hold visible events, sorted (a venue document may be missing)."""
        return sorted(self._lanes)


def _is_group_body(body):
    from pandascreen.core import auth
    return auth.is_group_body(body)


def _short(h):
    from pandascreen.core.util import hexlify
    return hexlify(h)[:12]
