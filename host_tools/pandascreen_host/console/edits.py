"""An event edit from the console page: checked, then signed and published like a re-import.

WHY: a form is bad input; an end before the start, an unknown venue or an empty title must be
said in words the organiser understands and nothing may be published.  Publishing goes
through import_cmd's one publish path (store.publish_many with the organiser seed).
"""

import datetime

from pandascreen.core import layout, schema
from pandascreen.core.errors import BadInput
from pandascreen_host.console import local_time


class EditError(BadInput):
    """An edit the console refuses (the message is shown in the page as is)."""


ACTIONS = ("move", "retitle", "cancel")


def body_for(schedule, form):
    """The schema body (bytes) for one edit ``form`` (a dict from the page), or EditError."""
    action = form.get("action")
    if action not in ACTIONS:
        raise EditError("unknown edit %r (expected move, retitle or cancel)" % (action,))
    event_id = form.get("id")
    events = {e.id: e for e in schedule.all_events()}
    event = events.get(event_id)
    if event is None:
        raise EditError("no event %r in the program" % (event_id,))
    if action == "cancel":  # kept in its slot and said on the screens, not vanished
        return schema.make_body("event", "update", event_id, {"status": schema.CANCELLED})
    if action == "retitle":
        title = str(form.get("title") or "").strip()
        if not title:
            raise EditError("the title is empty: type the new title")
        return schema.make_body("event", "update", event_id, {"title": title})
    venue = str(form.get("venue") or event.venue)
    known = [v.id for v in schedule.venues()]
    if venue not in known:
        raise EditError("unknown venue %r (the program has: %s)" % (venue, ", ".join(known)))
    start, end = _move_times(schedule.zone(), event, form)
    # only what changes is published: a field the organiser did not touch stays the importer's
    # (importers.merge: a re-import then still updates it).  Start and end are one time, both
    # published when either changes: merged per field with another laptop's edit, an end alone
    # could land after that edit's start moved past it (an event that ends before it starts)
    fields = {k: v for k, v in (("venue", venue), ("start", start), ("end", end)) if getattr(event, k) != v}
    if "start" in fields or "end" in fields:
        fields.update(start=start, end=end)
    if not fields:
        raise EditError("the move changes nothing: pick another day, time or venue")
    return schema.make_body("event", "update", event_id, fields)


def _move_times(zone, event, form):
    """(start, end) in Unix seconds from the form's festival-local ``day`` (YYYY-MM-DD) and
    ``start``/``end`` (HH:MM); what the form leaves out stays as the event has it (the length
    too, when only the start moves).  An end at or before the start is on the next day."""
    day = local_time.parse_day(form.get("day") or local_time.date_of(event.start, zone))
    if form.get("start") in (None, ""):
        h, m = divmod((layout.local_seconds(event.start, zone) // 60) % 1440, 60)
    else:
        h, m = local_time.parse_time(form["start"], "start")
    start = local_time.to_epoch(day, h, m, zone, "start")
    if form.get("end") in (None, ""):
        return start, start + (event.end - event.start)
    eh, em = local_time.parse_time(form["end"], "end")
    end_day = day if (eh, em) > (h, m) else day + datetime.timedelta(days=1)
    return start, local_time.to_epoch(end_day, eh, em, zone, "end")


def publish(store, seed, log_id, schedule, form, err=None):
    """Check ``form`` and publish its body with the organiser ``seed``; returns the body."""
    import io

    from pandascreen_host.import_cmd import _publish
    body = body_for(schedule, form)
    _publish(store, seed, log_id, [body], err if err is not None else io.StringIO())
    return body
