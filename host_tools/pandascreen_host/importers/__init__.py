"""Schedule importers (CPython): frab/pretalx XML and JSON, iCal, voctosched CSV -> neutral form.

``load(path)`` returns::

    {"festival": {"id", "name", "timezone", "utc_offset", "start", "end", "utc_offsets" (if it changes)},
     "venues": [{"id", "name", "order"}],
     "events": [{"id", and the "import" fields of core/event_fields.py: "venue", "title", "start", ...}],
     "warnings": [str]}

with times as UTC epoch seconds.  ``diff(old, new)`` turns two neutral forms into the
create/update/delete changes that bring ``old`` to ``new``.
"""

import os

from pandascreen.core import schema
from pandascreen.core.event_fields import EMPTY, EVENT_FIELDS as EVENT_FIELDS_TABLE, TEXT_LIST

from .common import ScheduleImportError, refuse_html

SUPPORTED = ("frab/pentabarf/pretalx schedule.xml", "frab/c3voc/pretalx schedule.json",
             "iCalendar .ics", "voctosched .csv")
MAX_SIZE = 64 * 1024 * 1024


def _sniff(path, data):
    ext = os.path.splitext(path)[1].lower()
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if ext == ".ics" or head.upper().startswith(b"BEGIN:VCALENDAR"):
        return "ical"
    if ext == ".json" or head.startswith(b"{"):
        return "json"
    if ext == ".xml" or head.startswith(b"<"):
        return "xml"
    if ext == ".csv" or head.startswith(b"Room,"):
        return "csv"
    return None


def load(path, timezone=None, festival_id=None, span=None):
    """Parse a schedule file; raises ScheduleImportError with a clear message.

    ``span`` (first day, last day), both ``datetime.date`` and included: keep only the events
    that start on those days (in the festival's zone); the rest are counted and named in one
    warning.  A calendar expands its recurring events over it.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SIZE + 1)
    except FileNotFoundError:
        raise ScheduleImportError("%s: no such file" % path)
    except IsADirectoryError:
        raise ScheduleImportError("%s: is a folder, not a schedule file" % path)
    except OSError as e:
        raise ScheduleImportError("%s: cannot read (%s)" % (path, e.strerror or e))
    if len(data) > MAX_SIZE:
        raise ScheduleImportError("%s: larger than %d MiB; is this really a schedule?" % (path, MAX_SIZE >> 20))
    if not data.strip():
        raise ScheduleImportError("%s: the file is empty" % path)
    kind = _sniff(path, data)
    refuse_html(path, data, "frab schedule" if kind == "xml" else "schedule")
    if kind is None:
        raise ScheduleImportError("%s: unknown schedule format (supported: %s)" % (path, "; ".join(SUPPORTED)))
    if kind == "xml":
        from . import frab_xml as mod
    elif kind == "json":
        from . import json_schedule as mod
    elif kind == "ical":
        from . import ical as mod
    else:
        from . import csv_schedule as mod
    return mod.load(path, data, timezone=timezone, festival_id=festival_id, span=span)


FESTIVAL_FIELDS = ("name", "timezone", "utc_offset", "start", "end", "utc_offsets")
VENUE_FIELDS = ("name", "order")
EVENT_FIELDS = schema.event_fields("import")  # core/event_fields.py: the one list
# an event field's value until an operation sets it (core/event_fields.py)
_EVENT_EMPTY = dict((name, list(EMPTY[kind]) if kind == TEXT_LIST else EMPTY[kind])
                    for name, kind, _limit, _where in EVENT_FIELDS_TABLE)


def from_schedule(schedule):
    """The neutral form of what ``schedule`` (core/schedule.py) shows now: what a re-import is
    diffed against.  Here and not in core: only the laptop diffs, and a board's heap is small."""
    fest = schedule.festival
    out = {"festival": None if fest is None else dict(fest), "venues": [], "events": [], "warnings": []}
    for v in schedule.venues():
        out["venues"].append({"id": v.id, "name": v.name, "order": v.order})
    for vid in schedule.lanes():
        for e in schedule.events(vid):
            event = {"id": e.id}
            for name in schema.event_fields():
                value = getattr(e, name)
                event[name] = list(value) if isinstance(value, tuple) else value
            out["events"].append(event)
    return out


def _changed(old, new, fields):
    out = {}
    for f in fields:
        if f in new and (old is None or old.get(f) != new[f]):
            out[f] = new[f]
    return out


def _index(items):
    return dict((x["id"], x) for x in items or ())


def diff(old, new):
    """Changes (kind, action, id, fields) turning neutral ``old`` (or None) into ``new``.

    Order: festival, venue creates/updates, event creates/updates, event deletes, venue deletes.
    Updates carry only the fields that changed.
    """
    old = old or {}
    changes = []
    nf = new.get("festival")
    of = old.get("festival")
    if nf is not None:
        if of is None or of.get("id") != nf["id"]:
            changes.append(("festival", "create", nf["id"], _changed(None, nf, FESTIVAL_FIELDS)))
        else:
            f = _changed(of, nf, FESTIVAL_FIELDS)
            if f:
                changes.append(("festival", "update", nf["id"], f))
    for kind, fields, key in (("venue", VENUE_FIELDS, "venues"), ("event", EVENT_FIELDS, "events")):
        olds = _index(old.get(key))
        for item in new.get(key) or ():
            prev = olds.get(item["id"])
            if prev is None:
                changes.append((kind, "create", item["id"], _changed(None, item, fields)))
            else:
                f = _changed(prev, item, fields)
                if f:
                    changes.append((kind, "update", item["id"], f))
    for kind, key in (("event", "events"), ("venue", "venues")):
        news = _index(new.get(key))
        for item in sorted(old.get(key) or (), key=lambda x: x["id"]):
            if item["id"] not in news:
                changes.append((kind, "delete", item["id"], None))
    return changes


def merge(base, current, new, keep_edits=False):
    """Changes that bring the file's edits since ``base`` into ``current``, and the conflicts.

    Two writers, one program: the file (re-imported) and everyone else (the console, other
    organisers, group members).  ``base`` is what the file said at the last import, ``current``
    what the store shows now, ``new`` what the file says now.  The rule, per field:

    * the file did not change it since the last import: the store keeps what it shows (an edit
      made elsewhere stays; a re-import of an unchanged file publishes nothing);
    * the file changed it and nobody else did (or both made the same change): the file's value;
    * both changed it differently: a conflict, named in the returned lines; the file wins,
      unless ``keep_edits``.  An item only others made is never touched; one the file dropped
      goes, unless it was edited elsewhere and ``keep_edits``.

    Without a ``base`` (the first import, or a store from before this rule) the file wins
    everywhere, as ``diff(current, new)``.
    """
    if base is None:
        # no record of the last import: a status the file does not set ("as planned") undoes no
        # cancel made elsewhere (importers before this one read no status)
        new = dict(new, events=[dict((k, v) for k, v in e.items() if k != "status" or v) for e in new["events"]])
        return diff(current, new), []
    conflicts = []
    target = {"festival": _merge_one("festival", base.get("festival"), (current or {}).get("festival"),
                                     new.get("festival"), FESTIVAL_FIELDS, keep_edits, conflicts)}
    for kind, fields, key in (("venue", VENUE_FIELDS, "venues"), ("event", EVENT_FIELDS, "events")):
        olds, nows, news = _index(base.get(key)), _index((current or {}).get(key)), _index(new.get(key))
        merged = dict(nows)
        for ident in sorted(set(olds) | set(news)):
            item = _merge_one(kind, olds.get(ident), nows.get(ident), news.get(ident), fields, keep_edits, conflicts)
            if item is None:
                merged.pop(ident, None)
            else:
                merged[ident] = item
        target[key] = list(merged.values())
    return diff(current, target), conflicts


def _merge_one(kind, base, now, new, fields, keep_edits, conflicts):
    """The item the store should show after the import (None: not there), by ``merge``'s rule."""
    if base is None and new is None:
        return now
    title = (new or now or base or {}).get("title") or (new or now or base or {}).get("name") or ""
    about = "%s %r (%s)" % (kind, title[:60], (new or now or base)["id"])
    if new is None:  # the file dropped it
        edited = now is not None and any(now.get(f) != _as_imported(kind, base, f) for f in fields)
        if edited:
            conflicts.append("%s was edited since the last import and the file drops it: %s" % (
                about, "kept (--keep-edits)" if keep_edits else "removed (re-run with --keep-edits to keep it)"))
            return now if keep_edits else None
        return None
    if now is None:
        return dict(new)  # new in the file, or gone elsewhere and brought back by the file
    item = dict(now)
    for f in fields:
        if f not in new:
            continue
        was = _as_imported(kind, base, f) if base is not None else now.get(f)
        if new[f] == was or new[f] == now.get(f):
            continue  # the file did not change it, or both agree
        if now.get(f) != was:
            side = ("the edit %r kept over the file's %r" % (now.get(f), new[f]) if keep_edits else
                    "the file's %r replaces the edit %r (re-run with --keep-edits to keep the edit)"
                    % (new[f], now.get(f)))
            conflicts.append("%s %s changed in the file and elsewhere: %s" % (about, f, side))
            if keep_edits:
                continue
        item[f] = new[f]
    return item


def _as_imported(kind, base, f):
    """Field ``f`` of ``base`` (the last import's record of the file) as the store showed it after
    that import: a field the record has no value for (an older importer's, or one that did not
    read it) was the field's empty value, as every event shows it until an operation sets it."""
    value = base.get(f)
    if value is None and kind == "event":
        return _EVENT_EMPTY.get(f)
    return value


__all__ = ["load", "diff", "merge", "from_schedule", "ScheduleImportError", "SUPPORTED"]
