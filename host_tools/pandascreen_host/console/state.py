"""The console's view of the festival: one JSON-able snapshot, and each screen's picture.

WHY: the page, the server-sent events and the tests all read the same snapshot, built from
the same store, the same Schedule and the same layout/display code the screens run, so what
the page shows a screen showing is what that screen draws from the same data.
"""

import io
import time

from pandascreen.node import fleet_report
from pandascreen.node.program_page_html import shown
from pandascreen.core import fleet, layout, schema
from pandascreen.core.schedule import Schedule
from pandascreen.core.schema import parse_body
from pandascreen.core.errors import BadInput, SchemaError
from pandascreen.core.util import hexlify
from pandascreen_host.console import fleet_view, local_time

CHANGES_SHOWN = 30


class IdentifyError(BadInput):
    """An identify the console refuses (the message is shown in the page as is)."""


# an operation the screen has not confirmed is "on its way" this long after it was published:
# a sync and a status (sent at once on a catch-up, fleet.Reporter) and the way back, with a
# relay's rate (fleet.RATE_INTERVAL) to spare
CONFIRM_WITHIN = 2 * fleet.RATE_INTERVAL
PNG_SCALE = 3


class Console:
    def __init__(self, store, log_id, fleet_store, authorizer, organiser_key, festival_id,
                 clock=time.time, screen_kind="ssd1306_128x64", offline_after=fleet.OFFLINE_AFTER):
        self.store = store
        self.log_id = bytes(log_id)
        self.fleet_store = fleet_store
        self.fleet_log_id = fleet.fleet_log_id(festival_id)
        self.authorizer = authorizer
        self.organiser = bytes(organiser_key)
        self.clock = clock
        self.screen_kind = screen_kind
        self.offline_after = offline_after
        self._picked = {}  # (screen hex, seq) -> when that screen first reported holding it

    def schedule(self):
        return Schedule.from_store(self.store, self.log_id, authors=[self.organiser])

    def fleet(self):
        f = fleet_view.Fleet(self.authorizer)
        f.load(self.fleet_store, self.fleet_log_id)
        return f

    def snapshot(self, now=None):
        now = int(self.clock() if now is None else now)
        sched = self.schedule()
        f = self.fleet()
        org16 = hexlify(self.organiser)[:16]
        heights = fleet_report.heights_summary(self.store.heights(self.log_id))
        published = self.published(heights)
        screens = []
        for key in sorted(f.screens):
            entry = f.screens[key]
            st = entry["status"]
            held = (st.get("heights") or {}).get(org16, -1)
            for seq in range(max(0, held - CHANGES_SHOWN), held + 1):
                self._picked.setdefault((key, seq), entry["seen"])
            behind, pending = fleet_view.lag(st, published, now, CONFIRM_WITHIN)
            warns = fleet_view.warnings(entry, now, heights, self.offline_after, behind=behind)
            screens.append({
                "key": key, "name": key[:8], "shows": st.get("shows"), "venue": st.get("venue"),
                "seen": entry["seen"], "ago": now - entry["seen"], "clock": st.get("clock"),
                "uptime": st.get("uptime"), "temp_c": None if st.get("temp_mc") is None else st["temp_mc"] / 1000,
                "version": st.get("version"), "held": held, "pending": pending,
                "identify_until": f.identify.get(key[:16]),
                "warnings": [{"kind": w, "text": t} for w, t in warns],
                "state": "offline" if any(w == "offline" for w, _ in warns) else ("warn" if warns else "ok"),
                "png": "/screen/%s.png?v=%d-%d-%d" % (key, sched.version, now // 60, entry["seq"]),
            })
        program = []
        zone = sched.zone()
        for v in sched.venues():
            program.append({"id": v.id, "name": venue_name(v), "events": [program_event(e, zone)
                                                                   for e in sched.events(v.id)]})
        notes = self.notes()
        changes = [{"seq": "", "at": now, "when": local_time.when(now, zone), "what": n, "picked": {}, "picked_when": {}}
                   for n in notes] + self.changes(screens, zone)
        return {"now": now, "screens": screens, "program": program, "changes": changes, "notes": notes,
                "ignored": f.ignored, "organiser": org16, "days": local_time.days(sched, zone),
                "today": local_time.date_of(now, zone), "utc_offset": layout.offset_at(zone, now)}

    def published(self, heights):
        """``[(author hex16, seq_num, timestamp s)]`` of the schedule log's operations, for the
        authors a screen's status names (``heights``, as heights_summary gives it)."""
        out = []
        for author in self.store.heights(self.log_id):
            k16 = hexlify(bytes(author))[:16]
            if k16 in heights:
                out.extend((k16, op.seq_num, op.timestamp // 1000000)
                           for op in self.store.operations(bytes(author), self.log_id))
        return out

    def notes(self):
        """What the organiser must decide, naming the author: a member over its quota (raise it:
        ``group promote KEY --level write --max-...``, or ``group remove``), a forked log."""
        out = []
        if self.authorizer is not None:
            for line in self.authorizer.over_quota():
                out.append("quota: %s" % line)
        for author, _log, seq, kept, other in self.store.forks:
            out.append("fork: author %s signed two operations at seq_num %d: kept %s, refused %s"
                       % (hexlify(author)[:16], seq, hexlify(kept)[:16], hexlify(other)[:16]))
        return out

    def changes(self, screens, zone=0):
        ops = list(self.store.operations(self.organiser, self.log_id))[-CHANGES_SHOWN:]
        out = []
        for op in reversed(ops):
            try:
                body = parse_body(op.body)
                fields = body.get("fields") or {}
                action = "cancel" if fields.get("status") == schema.CANCELLED else body["action"]
                what = "%s %s %s" % (action, body["kind"], body["id"])
                title = fields.get("title")
                if title:
                    what += " (%s)" % title
            except (SchemaError, TypeError):
                what = "group change"
            picked = {s["name"]: self._picked.get((s["key"], op.seq_num)) for s in screens}
            out.append({"seq": op.seq_num, "at": op.timestamp // 1000000, "what": what, "picked": picked,
                        "when": local_time.when(op.timestamp // 1000000, zone),
                        "picked_when": {n: None if t is None else local_time.when(t, zone) for n, t in picked.items()}})
        return out

    def identify(self, seed, key, now=None):
        """Sign and publish into the fleet log the organiser's request that screen ``key`` (hex)
        shows its name for fleet.IDENTIFY_FOR seconds; IdentifyError for a key no screen reported."""
        now = int(self.clock() if now is None else now)
        if not isinstance(key, str) or key not in self.fleet().screens:
            raise IdentifyError("no screen %r has reported: pick one from the list" % (key,))
        body = fleet.make_identify(now, key[:16], now + fleet.IDENTIFY_FOR)
        self.fleet_store.publish(seed, body, self.fleet_log_id, now * 1000000, prune=True)
        return now + fleet.IDENTIFY_FOR

    def png(self, key, now=None):
        """The picture screen ``key`` shows now, drawn by node/display.py from this laptop's
        copy of the schedule in the festival's language, as a screen provisioned without
        ``--language`` draws it (PNG bytes, scaled up for the page); None for an unknown screen."""
        from pandascreen.node import display
        now = int(self.clock() if now is None else now)
        f = self.fleet()
        entry = f.screens.get(key)
        if entry is None:
            return None
        sched = self.schedule()
        names = [v.name for v in sched.venues()]
        venue = entry["status"].get("venue")
        index = names.index(venue) if venue in names else 0
        img = display.render_schedule_image(sched, index, now, self.screen_kind, "console",
                                            language=(sched.festival or {}).get("language"))
        img = img.convert("RGB").resize((img.width * PNG_SCALE, img.height * PNG_SCALE))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        return buf.getvalue()


def venue_name(venue):
    """A venue's name as the screens draw it (one line, no bidi override)."""
    return shown(venue.name)


def program_event(event, zone):
    """One event of the console's program list: its "console" fields (core/event_fields.py), the
    tag the screens show and its time as they say it."""
    out = {"id": event.id}
    for name in schema.event_fields("console"):
        value = getattr(event, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    out["title"] = shown(event.title)  # as the screens draw it: no bidi override reverses it here
    out["tag"] = layout.CANCELLED if event.status == schema.CANCELLED else (layout.MOVED if event.moved() else "")
    out["time"] = "%s-%s" % (layout.hhmm(event.start, zone), layout.hhmm(event.end, zone))
    out["date"] = local_time.date_of(event.start, zone)
    out["day"] = local_time.day_label(out["date"])
    return out

