"""[core] Materialised festival schedule, built from operations in any order.

Every document (festival, venue or event) is a set of last-writer-wins registers, one per
field, stamped with ``(timestamp_us, operation hash)``.  A document is visible when its
newest create/update is newer than its newest delete.  Applying the same operations in any
order gives the same schedule, so peers converge whatever order sync delivers them in.
"""

from pandascreen.core import schema


class _Doc:
    def __init__(self, kind, doc_id):
        self.kind = kind
        self.id = doc_id
        self.fields = {}
        self.stamps = {}
        self.alive = None
        self.deleted = None

    def visible(self):
        return self.alive is not None and (self.deleted is None or self.alive > self.deleted)


class Venue:
    def __init__(self, doc):
        self.id = doc.id
        f = doc.fields
        self.name = f.get("name", doc.id)
        self.order = f.get("order", 0)

    def __repr__(self):
        return "<Venue %s %r>" % (self.id, self.name)


class Event:
    def __init__(self, doc):
        self.id = doc.id
        f = doc.fields
        self.venue = f.get("venue", "")
        self.title = f.get("title", "")
        self.start = f.get("start", 0)
        self.end = f.get("end", self.start)
        self.speakers = list(f.get("speakers", ()))
        self.track = f.get("track", "")
        self.lang = f.get("lang", "")

    def __repr__(self):
        return "<Event %s %r %d-%d>" % (self.id, self.title, self.start, self.end)


def _event_key(e):
    return (e.start, e.end, e.id)


class Schedule:
    def __init__(self, authors=None):
        """``authors``: optional collection of trusted public keys; others are ignored."""
        self.authors = None if authors is None else set(bytes(a) for a in authors)
        self.docs = {}
        self.problems = []
        self.applied = 0
        self._cache = None

    # -- building ---------------------------------------------------------------------------
    def apply(self, op_or_body, timestamp=0, op_hash=b""):
        """Apply an ``Operation`` (or an already-decoded body dict). Returns True if applied."""
        if isinstance(op_or_body, dict):
            body = op_or_body
        else:
            op = op_or_body
            if self.authors is not None and op.public_key not in self.authors:
                return False
            if op.body is None:
                return False
            timestamp = op.timestamp
            op_hash = op.hash
            try:
                body = schema.parse_body(op.body)
            except schema.SchemaError as e:
                self.problems.append("operation %s: %s" % (_short(op_hash), e))
                return False
        stamp = (timestamp, bytes(op_hash))
        key = (body["kind"], body["id"])
        doc = self.docs.get(key)
        if doc is None:
            doc = self.docs[key] = _Doc(body["kind"], body["id"])
        if body["action"] == "delete":
            if doc.deleted is None or stamp > doc.deleted:
                doc.deleted = stamp
        else:
            if doc.alive is None or stamp > doc.alive:
                doc.alive = stamp
            fields = body.get("fields") or {}
            for name in fields:
                old = doc.stamps.get(name)
                if old is None or stamp > old:
                    doc.stamps[name] = stamp
                    doc.fields[name] = fields[name]
        self.applied += 1
        self._cache = None
        return True

    @classmethod
    def from_store(cls, store, log_id=None, authors=None):
        s = cls(authors)
        for op in store.all_operations(log_id):
            s.apply(op)
        return s

    # -- reading ----------------------------------------------------------------------------
    def _views(self):
        if self._cache is None:
            festival = None
            venues = []
            events = {}
            for key in self.docs:
                doc = self.docs[key]
                if not doc.visible():
                    continue
                if doc.kind == "festival":
                    if festival is None or doc.id < festival["id"]:
                        festival = dict(doc.fields)
                        festival["id"] = doc.id
                elif doc.kind == "venue":
                    venues.append(Venue(doc))
                else:
                    ev = Event(doc)
                    events.setdefault(ev.venue, []).append(ev)
            venues.sort(key=lambda v: (v.order, v.name, v.id))
            for vid in events:
                events[vid].sort(key=_event_key)
            self._cache = (festival, venues, events)
        return self._cache

    @property
    def festival(self):
        return self._views()[0]

    def utc_offset(self):
        f = self.festival
        return (f or {}).get("utc_offset", 0)

    def venues(self):
        return list(self._views()[1])

    def events(self, venue_id):
        return list(self._views()[2].get(venue_id, ()))

    def all_events(self):
        out = []
        known = set(v.id for v in self.venues())
        evs = self._views()[2]
        for vid in evs:
            if vid in known:
                out.extend(evs[vid])
        out.sort(key=_event_key)
        return out

    def now_next(self, venue_id, now):
        """(event running at ``now`` or None, next event starting after ``now`` or None)."""
        current = None
        nxt = None
        for ev in self._views()[2].get(venue_id, ()):
            if ev.start <= now < ev.end or (ev.start == ev.end == now):
                if current is None or ev.start >= current.start:
                    current = ev
            elif ev.start > now:
                nxt = ev
                break
        return current, nxt

    def to_neutral(self):
        """The importer's neutral form of what is visible now (for diffing re-imports)."""
        fest = self.festival
        out = {"festival": None, "venues": [], "events": [], "warnings": []}
        if fest is not None:
            out["festival"] = dict(fest)
        for v in self.venues():
            out["venues"].append({"id": v.id, "name": v.name, "order": v.order})
        evs = self._views()[2]
        for vid in sorted(evs):
            for e in evs[vid]:
                out["events"].append({"id": e.id, "venue": e.venue, "title": e.title, "start": e.start,
                                      "end": e.end, "speakers": list(e.speakers), "track": e.track,
                                      "lang": e.lang})
        return out


def _short(h):
    from pandascreen.core.util import hexlify
    return hexlify(h)[:12]
