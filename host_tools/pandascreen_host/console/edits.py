"""An event edit from the console page: checked, then signed and published like a re-import.

WHY: a form is bad input; an end before the start, an unknown venue or an empty title must be
said in words the organiser understands and nothing may be published.  Publishing goes
through import_cmd's one publish path (store.publish_many with the organiser seed).
"""

from pandascreen.core import schema
from pandascreen.core.errors import BadInput


class EditError(BadInput):
    """An edit the console refuses (the message is shown in the page as is)."""


ACTIONS = ("move", "retitle", "cancel")


def _int(value, what):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise EditError("%s must be a time in seconds, got %r" % (what, value))


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
    start = _int(form.get("start", event.start), "start")
    end = _int(form.get("end", event.end), "end")
    if end <= start:
        raise EditError("the end (%d) is not after the start (%d)" % (end, start))
    return schema.make_body("event", "update", event_id, {"venue": venue, "start": start, "end": end})


def publish(store, seed, log_id, schedule, form, err=None):
    """Check ``form`` and publish its body with the organiser ``seed``; returns the body."""
    import io

    from pandascreen_host.import_cmd import _publish
    body = body_for(schedule, form)
    _publish(store, seed, log_id, [body], err if err is not None else io.StringIO())
    return body
