"""Festival schema: operation bodies for festival, venue and event documents.

A body is a CBOR map::

    {"v": 1, "kind": "festival"|"venue"|"event", "action": "create"|"update"|"delete",
     "id": "<document id>", "fields": {...}}

``fields`` is required for create, optional-but-non-empty for update, absent for delete.

Forward compatibility: a field this firmware does not know is ACCEPTED and ignored when a body
arrives (``validate``), within limits (at most ``MAX_UNKNOWN`` of them, names of at most
``MAX_ID_LEN`` characters, values plain and bounded: text/bytes of at most ``MAX_TEXT_LEN``,
numbers, true/false/null, or a list of at most ``MAX_UNKNOWN`` of those; no maps).  WHY: the
screens deployed in a field cannot all be reflashed before the organiser's laptop learns a new
optional field (the festival's ``language``, an event's ``status``); refusing the whole body
would drop a schedule edit on every older screen.  Known fields stay typed, and a new field
can only ever be optional.  The laptop publishes with ``make_body(strict=True)`` (the default),
so a typo ("titel") is still refused at the source.

An event's ``status``: "" (as planned) or ``CANCELLED``; a cancelled event stays in its slot
(the screens say so) instead of vanishing.

A festival's ``utc_offsets``: its IANA ``timezone`` as data a board can apply (it has no tz
database): ``[from_utc_s, offset_minutes, ...]``, the offset in force from each instant on, over
the festival's span and a margin (core/layout.py ``offset_at``).  At most ``MAX_UNKNOWN`` numbers
(8 changes), so firmware that does not know the field still takes the body (a newer schema's
plain list) and keeps using ``utc_offset``.
"""

from pandascreen.core import cbor
from pandascreen.core import event_fields as event_fields_mod
from pandascreen.core.errors import SchemaError

SCHEMA_VERSION = 1
KINDS = ("festival", "venue", "event")
ACTIONS = ("create", "update", "delete")
MAX_ID_LEN = 200
MAX_TEXT_LEN = event_fields_mod.MAX_TEXT
MAX_UNKNOWN = 16  # unknown (future) fields in one body, and entries in one of their lists
CANCELLED = "cancelled"

_STR = event_fields_mod.TEXT
_INT = event_fields_mod.NUMBER
_STRLIST = event_fields_mod.TEXT_LIST
_ZONE = "[int, int]"
TEXT, NUMBER, TEXT_LIST = _STR, _INT, _STRLIST

# an event's fields, each said once (type, limit, where it goes): core/event_fields.py
EVENT_FIELDS = event_fields_mod.EVENT_FIELDS
EMPTY = event_fields_mod.EMPTY
event_fields = event_fields_mod.event_fields

FIELDS = {
    "festival": {"name": _STR, "timezone": _STR, "utc_offset": _INT, "start": _INT, "end": _INT, "language": _STR,
                 "utc_offsets": _ZONE},
    "venue": {"name": _STR, "order": _INT},
    "event": dict((f[0], f[1]) for f in EVENT_FIELDS),
}


# Fields that hold a time (Unix seconds, UTC): 1970 to 2100.  Anything else is no festival's, and a
# time a year 3-billion page cannot draw (Python's gmtime, a phone's Date) must not reach the
# screens that pass it on.
TIME_FIELDS = {"festival": ("start", "end"), "event": ("start", "end")}
LATEST_TIME = 4102444800  # 2100-01-01T00:00:00Z


REQUIRED = {
    "festival": ("name",),
    "venue": ("name",),
    "event": ("venue", "title", "start", "end"),
}


def _check_value(kind, name, kind_of, value):
    where = "%s field %r" % (kind, name)
    if kind_of == _STR:
        if not isinstance(value, str):
            raise SchemaError("%s must be text, got %s" % (where, type(value).__name__))
        if len(value) > MAX_TEXT_LEN:
            raise SchemaError("%s is longer than %d characters" % (where, MAX_TEXT_LEN))
    elif kind_of == _INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError("%s must be a whole number, got %s" % (where, type(value).__name__))
        if value < -(1 << 62) or value > (1 << 62):
            raise SchemaError("%s is out of range" % where)
    elif kind_of == _STRLIST:
        if not isinstance(value, (list, tuple)):
            raise SchemaError("%s must be a list of text" % where)
        for v in value:
            if not isinstance(v, str):
                raise SchemaError("%s must only contain text" % where)
            if len(v) > MAX_TEXT_LEN:
                raise SchemaError("%s has an entry longer than %d characters" % (where, MAX_TEXT_LEN))
    elif kind_of == _ZONE:
        ok = isinstance(value, (list, tuple)) and 2 <= len(value) <= MAX_UNKNOWN and not len(value) % 2
        for i, v in enumerate(value if ok else ()):
            ok = ok and isinstance(v, int) and not isinstance(v, bool) and -(1 << 62) <= v <= (1 << 62)
            ok = ok and (i % 2 or i < 2 or v > value[i - 2]) and (not i % 2 or -1440 < v < 1440)
        if not ok:
            raise SchemaError("%s must be [from_utc_s, offset_minutes, ...]: at most %d changes, by instant, "
                              "offsets within a day" % (where, MAX_UNKNOWN // 2))
    else:  # a field from a newer schema: bounded plain values only (module docstring)
        items = value if isinstance(value, list) else (value,)
        ok = isinstance(name, str) and len(name) <= MAX_ID_LEN and len(items) <= MAX_UNKNOWN
        for v in items:
            if isinstance(v, (str, bytes)):
                ok = ok and len(v) <= MAX_TEXT_LEN
            elif v is not None and not isinstance(v, (int, float)):  # bool is an int
                ok = False
        if not ok:
            raise SchemaError("%s from a newer schema must hold short plain values" % where)


def validate(body, strict=False):
    """Check a decoded body dict; return it. Raises SchemaError naming what is wrong.

    ``strict``: refuse fields this schema does not know (publishing); else they are checked
    against the limits for future fields and left for the reader to ignore."""
    if not isinstance(body, dict):
        raise SchemaError("operation body must be a CBOR map")
    v = body.get("v")
    if v != SCHEMA_VERSION:
        raise SchemaError("unsupported schema version %r (this firmware understands %d)" % (v, SCHEMA_VERSION))
    kind = body.get("kind")
    if kind not in KINDS:
        raise SchemaError("unknown document kind %r (expected one of %s)" % (kind, ", ".join(KINDS)))
    action = body.get("action")
    if action not in ACTIONS:
        raise SchemaError("unknown action %r (expected one of %s)" % (action, ", ".join(ACTIONS)))
    doc_id = body.get("id")
    if not isinstance(doc_id, str) or not doc_id or len(doc_id) > MAX_ID_LEN:
        raise SchemaError("%s id must be non-empty text of at most %d characters" % (kind, MAX_ID_LEN))
    for k in body:
        if k not in ("v", "kind", "action", "id", "fields"):
            raise SchemaError("unexpected key %r in operation body" % (k,))
    fields = body.get("fields")
    if action == "delete":
        if fields is not None:
            raise SchemaError("delete of %s %r must not carry fields" % (kind, doc_id))
        return body
    if not isinstance(fields, dict) or not fields:
        raise SchemaError("%s of %s %r needs a non-empty fields map" % (action, kind, doc_id))
    spec = FIELDS[kind]
    unknown = 0
    for name in fields:
        kind_of = spec.get(name)
        if kind_of is None:
            unknown += 1
            if strict or unknown > MAX_UNKNOWN:  # publishing, or more than a newer schema would add
                raise SchemaError("unknown %s field %r (known: %s)" % (kind, name, ", ".join(sorted(spec))))
        _check_value(kind, name, kind_of, fields[name])
    for name in TIME_FIELDS.get(kind, ()):
        if name in fields and not 0 <= fields[name] < LATEST_TIME:
            raise SchemaError("%s field %r is not a time between 1970 and 2100" % (kind, name))
    if action == "create":
        for name in REQUIRED[kind]:
            if name not in fields:
                raise SchemaError("create of %s %r is missing required field %r" % (kind, doc_id, name))
    if kind == "event" and "start" in fields and "end" in fields and fields["end"] < fields["start"]:
        raise SchemaError("event %r ends before it starts" % doc_id)
    return body


def make_body(kind, action, doc_id, fields=None, strict=True):
    """Build, validate (``strict``: known fields only) and CBOR-encode an operation body."""
    body = {"v": SCHEMA_VERSION, "kind": kind, "action": action, "id": doc_id}
    if fields is not None and action != "delete":
        ordered = {}
        for name in sorted(fields):
            value = fields[name]
            if isinstance(value, tuple):
                value = list(value)
            ordered[name] = value
        body["fields"] = ordered
    validate(body, strict)
    return cbor.dumps(body)


def parse_body(data):
    """Decode and validate a body (bytes). Raises SchemaError."""
    try:
        body = cbor.loads(data)
    except cbor.CBORError as e:
        raise SchemaError("operation body is not valid CBOR: %s" % e)
    return validate(body)
