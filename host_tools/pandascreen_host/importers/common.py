"""Shared helpers for the schedule importers (CPython only).

Every helper that reads a value from a file checks its type and raises ScheduleImportError
naming where it was (file, record, field): an importer must never let an AttributeError or an
OverflowError from odd input escape, the CLI shows only our errors as one clean line.
"""

import datetime
import hashlib
import re
import unicodedata

from pandascreen.core import font, schema
from pandascreen.core.errors import ScheduleImportError

try:
    import zoneinfo
except ImportError:  # Python < 3.9
    zoneinfo = None


def one_line(text):
    """A name, title or speaker as it is published: one line (line breaks, tabs and runs of spaces
    one space, as an iCal LOCATION with a line break in it needs), without control characters or
    bidi overrides -- the screens' own sanitiser (core/font.clean), so what is published is what
    a screen draws -- and within the schema's text limit."""
    return " ".join(font.clean(text, schema.MAX_TEXT_LEN).split())


def slug(text, fallback="x"):
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("ß", "ss").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:60] or fallback


_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])",
                         re.I | re.S)
HTML_PAGE = "this looks like an HTML page, not a %s: did the download hit a login/error page?"
DUPLICATE_ID = "duplicate event id; the copy is kept under a numbered id"  # said of each copy: "'title' kept as id-2"


def refuse_html(path, data, what="schedule"):
    """A saved login or error page is the commonest wrong download; say so whatever the file is called."""
    if _HTML_START.match(data[:4096]):
        raise ScheduleImportError("%s: %s" % (path, HTML_PAGE % what))


def decode_text(data, warn):
    """UTF-8 (BOM allowed), UTF-16 with its BOM (a spreadsheet's "Unicode text"); else
    Windows-1252, else Latin-1, with a warning naming the first bad byte."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # a BOM and then something else: read as below
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        first_bad = e.start
    for codec, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        warn("not UTF-8 (first bad byte at offset %d); read as %s, check the accents" % (first_bad, label))
        return text


def describe(value):
    """What a JSON value is, for an error message: 'a number (42)', 'a list', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number (%r)" % value
    if isinstance(value, str):
        return "text (%r)" % value[:40]
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def need_text(value, where, what):
    """``value`` as text ('' for None); anything else is an error naming ``what``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ScheduleImportError("%s: %s is %s, expected text" % (where, what, describe(value)))
    return value


def to_epoch(dt, where):
    """Seconds since 1970 of an aware datetime; a date out of range is named, not an OverflowError."""
    try:
        return int(dt.timestamp())
    except (OverflowError, ValueError, OSError):
        raise ScheduleImportError("%s: date %s is out of range" % (where, dt.isoformat()))


def get_zone(name, path):
    if not name:
        return None
    if not isinstance(name, str):
        raise ScheduleImportError("%s: time zone is %s, expected an IANA name like Europe/Berlin"
                                  % (path, describe(name)))
    if name.upper() in ("UTC", "Z", "GMT", "ETC/UTC"):
        return datetime.timezone.utc
    if zoneinfo is None:
        raise ScheduleImportError("%s: time zone %r needs Python 3.9+ (zoneinfo)" % (path, name))
    try:
        return zoneinfo.ZoneInfo(name)
    except Exception:
        raise ScheduleImportError("%s: unknown time zone %r (use an IANA name like Europe/Berlin)" % (path, name))


def parse_duration(text, where):
    """'01:30', '1:30', '00:05:00', '90' (minutes) -> seconds; None when empty."""
    text = need_text(text, where, "duration").strip()
    if not text:
        return None
    parts = text.split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise ScheduleImportError("%s: duration %r is not HH:MM" % (where, text))
    if text.startswith("-") or any(n < 0 for n in nums) or len(nums) > 3:  # "-0:30" too
        raise ScheduleImportError("%s: duration %r is not HH:MM" % (where, text))
    if len(nums) == 1:
        return nums[0] * 60
    if len(nums) == 2:
        return nums[0] * 3600 + nums[1] * 60
    return nums[0] * 3600 + nums[1] * 60 + nums[2]


def parse_hhmm(text, where):
    m = re.match(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$", need_text(text, where, "start time"))
    if not m or int(m.group(1)) > 47 or int(m.group(2)) > 59:
        raise ScheduleImportError("%s: start time %r is not HH:MM" % (where, text))
    return int(m.group(1)), int(m.group(2))


def parse_iso(text, where):
    text = need_text(text, where, "date").strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.datetime.fromisoformat(text)
        if dt.tzinfo is not None:
            dt.utcoffset()  # an offset of a day or more fails here, not later
        return dt
    except ValueError:
        raise ScheduleImportError("%s: date %r is not an ISO 8601 date-time" % (where, text))


def parse_date(text, where):
    try:
        return datetime.date.fromisoformat(need_text(text, where, "date").strip()[:10])
    except ValueError:
        raise ScheduleImportError("%s: %r is not a date (YYYY-MM-DD)" % (where, text))


def aware(text, zone, where):
    """Parse an ISO date-time; one without a UTC offset is read in ``zone`` (required then)."""
    dt = parse_iso(text, where)
    if dt.tzinfo is None:
        if zone is None:
            raise ScheduleImportError("%s: date %s has no UTC offset; pass --timezone" % (where, text))
        dt = dt.replace(tzinfo=zone)
    return dt


def local_to_epoch(day, hour, minute, zone, where="", warn=None, about=""):
    """Epoch seconds of ``day`` at hour:minute wall-clock time in ``zone``; a time that does not
    exist there (the hour the clocks jump forward) is read after the jump and, with ``warn``
    (a ``Builder.warn``), said about ``about``."""
    extra_days, hour = divmod(hour, 24)
    try:
        dt = datetime.datetime(day.year, day.month, day.day, hour, minute) + datetime.timedelta(days=extra_days)
    except OverflowError:
        raise ScheduleImportError("%s: date %s is out of range" % (where, day.isoformat()))
    dt = dt.replace(tzinfo=zone)
    if warn is not None:
        say_jumped(dt, warn, about)
    return to_epoch(dt, where)


JUMPED = "local time does not exist (the clocks jump forward then): read as the time after the jump"
TWICE = "local time happens twice (the clocks go back then): read as the first"


def say_jumped(dt, warn, about):
    """``warn(JUMPED, ...)`` when aware ``dt``'s wall-clock time does not exist in its zone (as
    the console refuses such a time; zoneinfo reads it after the jump), ``warn(TWICE, ...)`` when
    it happens twice (zoneinfo reads the first, before the clocks go back)."""
    try:
        read = dt.astimezone(datetime.timezone.utc).astimezone(dt.tzinfo)
        second = dt.replace(fold=1).utcoffset()
    except (OverflowError, ValueError, OSError):
        return
    if read.replace(tzinfo=None) != dt.replace(tzinfo=None):
        warn(JUMPED, "%s %s read as %s" % (about, dt.strftime("%Y-%m-%d %H:%M"),
                                           read.strftime("%H:%M" if read.date() == dt.date() else "%Y-%m-%d %H:%M")))
    elif dt.fold == 0 and second is not None and second != dt.utcoffset():
        warn(TWICE, "%s %s read at UTC%s" % (about, dt.strftime("%Y-%m-%d %H:%M"),
                                             _utc_offset_text(int(dt.utcoffset().total_seconds() // 60))))


def offset_minutes(zone, epoch):
    if zone is None:
        return 0
    try:
        dt = datetime.datetime.fromtimestamp(epoch, zone)
    except (OverflowError, ValueError, OSError):
        return 0
    return int(dt.utcoffset().total_seconds() // 60)


# s of the zone's rule kept before the first event and after the last: a screen is mounted and
# says when the festival starts weeks before it, and that it is over for weeks after; a zone
# changes its offset about twice a year, so each margin adds a change or two at most
ZONE_BEFORE = 92 * 86400
ZONE_AFTER = 31 * 86400
ZONE_NUMBERS = 16  # schema.MAX_UNKNOWN: firmware that predates utc_offsets still takes the body


def zone_offsets(zone, start, end):
    """The festival's ``utc_offsets`` (core/schema.py): ``[from_utc_s, minutes, ...]`` of ``zone``
    over [start, end] and the margins around it (``ZONE_BEFORE``, ``ZONE_AFTER``), so a board without a tz database follows daylight saving
    changes; None when the offset does not change in that span (``utc_offset`` says it all).
    A calendar crossing more than 7 changes keeps the first 7 (the last offset then holds)."""
    if zone is None:
        return None
    lo, hi = int(start) - ZONE_BEFORE, int(end) + ZONE_AFTER
    out = [lo, offset_minutes(zone, lo)]
    t = lo
    while t < hi and len(out) < ZONE_NUMBERS:  # a day at a time, then bisect to the second
        step = min(t + 86400, hi)
        if offset_minutes(zone, step) == out[-1]:
            t = step
            continue
        a, b = t, step
        while b - a > 1:
            mid = (a + b) // 2
            if offset_minutes(zone, mid) == out[-1]:
                a = mid
            else:
                b = mid
        out += [b, offset_minutes(zone, b)]
        t = b
    return out if len(out) > 2 else None


def collapse_warnings(path, grouped):
    """One line per kind of warning: 17 events without a room make one line with a count and
    the first few examples, not 17 lines that hide the one warning that differs."""
    lines = []
    for msg, about in grouped.items():
        named = [a for a in about if a]
        if len(about) == 1:
            line = "%s (%s)" % (msg, named[0]) if named else msg
        else:
            line = "%s (%d times%s)" % (msg, len(about), (", e.g. " + "; ".join(named[:3])) if named else "")
        lines.append("%s: %s" % (path, line))
    return lines


DAY = 24 * 3600
LEFT_OUT_NAMED = 5  # titles named in the one "left out" line; the rest are counted



def _cut(value, kind_of, limit):
    """A field's value as the neutral form keeps it: text stripped and cut to ``limit``
    characters, a list's non-empty texts (each cut to a text's limit), at most ``limit`` of them."""
    if kind_of == schema.NUMBER:
        return int(value)
    if kind_of == schema.TEXT_LIST:
        return [t for t in (one_line(s) for s in value or ()) if t][:limit]
    return one_line(value)[:limit]

def _utc_offset_text(minutes):
    """"+02:00", "-03:30"."""
    sign = "-" if minutes < 0 else "+"
    return "%s%02d:%02d" % (sign, abs(minutes) // 60, abs(minutes) % 60)


class Builder:
    """Collects venues and events, assigns stable unique ids, and produces the neutral form.

    With a ``span`` (two dates, both included: ``--from``/``--until``) events outside it are
    left out, and every event left out, here or by an importer, is counted and named by title in
    one warning line: an importer never drops an event silently.
    """

    def __init__(self, path, span=None):
        self.path = path
        self.span = span      # (first day, last day) asked for, or None
        self.shown_span = span  # what the "left out" line names as the span
        self._left_out = {}  # title -> [occurrences left out, repeats after the span]
        self.venues = {}  # name -> venue dict
        self.events = []
        self._warnings = {}  # message -> [what each occurrence is about], in first-seen order
        self._ids = {}
        self.seen_offsets = []  # UTC offsets (minutes) the file's own times use, first seen first

    def note_offset(self, dt):
        """Remember the UTC offsets the file itself uses (for files that name no time zone)."""
        if dt.utcoffset() is not None:
            minutes = int(dt.utcoffset().total_seconds() // 60)
            if minutes not in self.seen_offsets:
                self.seen_offsets.append(minutes)

    def _say_no_zone(self):
        """With no zone, one line on what the screens will show: every time UTC, or the first of
        the offsets the file's times use when they differ (a festival across a clock change)."""
        if len(self.seen_offsets) > 1:
            said = ", ".join(_utc_offset_text(m) for m in self.seen_offsets[:4])
            self.warn("the schedule names no time zone and its times use UTC offsets %s; screens show %s "
                      "throughout unless you pass --timezone (e.g. Europe/Berlin)"
                      % (said, _utc_offset_text(self.seen_offsets[0])))
        elif self.seen_offsets in ([], [0]):
            self.warn("the schedule names no time zone (every time is UTC); screens will show UTC unless you "
                      "pass --timezone")

    def warn(self, msg, about=""):
        """Note a warning; the same ``msg`` about several things collapses into one counted line."""
        self._warnings.setdefault(msg, []).append(about)

    def left_out(self, title, repeats=False):
        """Note an event left out of the festival's span (``repeats``: an endless rule goes on after it)."""
        title = " ".join((title or "").split()) or "Untitled"
        count = self._left_out.setdefault(title, [0, False])
        if repeats:
            count[1] = True
        else:
            count[0] += 1

    def _left_out_line(self):
        if not self._left_out:
            return []
        n = sum(c for c, _ in self._left_out.values())
        rules = sum(1 for _, repeats in self._left_out.values() if repeats)
        named = []
        for title, (count, repeats) in list(self._left_out.items())[:LEFT_OUT_NAMED]:
            what = [] if count <= 1 and not repeats else ["%d" % count] if not repeats else \
                (["%d, and repeats after" % count] if count else ["repeats after"])
            named.append("%r%s" % (title[:60], (" (%s)" % what[0]) if what else ""))
        more = len(self._left_out) - LEFT_OUT_NAMED
        span = (" %s to %s" % tuple(self.shown_span)) if self.shown_span else ""
        # a rule that goes on after the span cannot be counted (it may never end): its repeats are
        # said apart from the events counted
        what = (["%d event%s outside the festival's span%s" % (n, "" if n == 1 else "s", span)] if n else []) + \
            (["the repeats of %d recurring event%s after %s" % (rules, "" if rules == 1 else "s",
                                                                 "it" if n else "the festival's span" + span)]
             if rules else [])
        return ["%s: left out %s (--from/--until to change it): %s%s"
                % (self.path, " and ".join(what), ", ".join(named), (", and %d more titles" % more) if more > 0 else "")]

    @property
    def warnings(self):
        return collapse_warnings(self.path, self._warnings) + self._left_out_line()

    def venue(self, name):
        name = one_line(name)
        if not name:
            name = "Elsewhere"
        v = self.venues.get(name)
        if v is None:
            # "#" and a number: unique, and no slug; ``_settle_venue_ids`` gives the ids from the names
            v = self.venues[name] = {"id": "#%d" % len(self.venues), "name": name, "order": len(self.venues) + 1}
        return v["id"]

    def event(self, ident, venue_name, title, start, duration, speakers=(), track="", lang="", where="", more=None):
        """One event of the file; ``more``: its other "import" fields (core/event_fields.py) by
        name.  Every field is published on one line (``one_line``) and cut to its limit there."""
        title = one_line(title)
        if not title:
            self.warn("event has no title; shown as 'Untitled'", where)
            title = "Untitled"
        about = "%s %r" % (where, title[:60])
        if not one_line(venue_name):
            self.warn("event has no room; put under 'Elsewhere'", about)
        vid = self.venue(venue_name)
        room = one_line(venue_name) or "Elsewhere"
        if duration is None:
            self.warn("event has no duration; treated as 0 minutes", about)
            duration = 0
        elif duration == 0:
            self.warn("event has zero duration", about)
        elif duration > DAY:
            self.warn("event lasts over a day", "%s (%.1f days)" % (about, duration / DAY))
        ident = (ident or "").strip()
        if not ident:
            # from the room's slug, its time and title: the same whatever the order of the file
            h = hashlib.sha256(("%s|%d|%s" % (slug(room, "") or "room", start, title)).encode("utf-8")).hexdigest()[:16]
            ident = "h-" + h
        if ident in self._ids:
            self._ids[ident] += 1
            self.warn(DUPLICATE_ID,
                      "%r kept as %s-%d" % (title[:60], ident[:60], self._ids[ident]))
            ident = "%s-%d" % (ident, self._ids[ident])
        else:
            self._ids[ident] = 1
        fields = dict(more or {})
        fields.update(venue=vid, title=title, start=start, end=start + duration, speakers=speakers, track=track,
                      lang=lang)
        event = {"id": ident[:200]}
        for name, kind_of, limit, where in schema.EVENT_FIELDS:
            if "import" in where and name in fields:
                event[name] = _cut(fields[name], kind_of, limit)
        self.events.append(event)

    def _keep_span(self, zone):
        """Leave out (and count) the events outside ``span``, whose days are read in the festival's zone."""
        if self.span is None:
            return
        tz = zone or datetime.timezone.utc
        lo = datetime.datetime(self.span[0].year, self.span[0].month, self.span[0].day, tzinfo=tz).timestamp()
        hi = (datetime.datetime(self.span[1].year, self.span[1].month, self.span[1].day, tzinfo=tz)
              + datetime.timedelta(days=1)).timestamp()
        kept = []
        for e in self.events:
            if lo <= e["start"] < hi:
                kept.append(e)
            else:
                self.left_out(e["title"])
        self.events = kept

    def _settle_venue_ids(self):
        """Each venue's id from its name alone, never from its place in the file (a venue added
        above another must not take its id): its slug, or where the slug is another name's too
        ("Зал 1" and "Аудитория 1" are both "1", "Hall" and "HALL" "hall") or empty (no Latin
        letter or digit), the slug (or "room") and a short hash of the name."""
        used = set(e["venue"] for e in self.events)  # the rooms of the events kept (``--from/--until``)
        by_slug = {}
        for name in self.venues:
            if self.venues[name]["id"] in used:
                by_slug.setdefault(slug(name, ""), []).append(name)
        ids = {}
        for base, names in by_slug.items():
            for name in names:
                ids[name] = base if base and len(names) == 1 else "%s-%s" % (
                    base or "room", hashlib.blake2s(name.encode("utf-8"), digest_size=3).hexdigest())
        twice = [vid for vid in set(ids.values()) if list(ids.values()).count(vid) > 1]
        for name in [n for n in ids if ids[n] in twice]:  # a hashed id that is another name's slug
            ids[name] = "%s-%s" % (slug(name, "") or "room", hashlib.blake2s(name.encode("utf-8"), digest_size=8).hexdigest())
        now = dict((v["id"], ids[name]) for name, v in self.venues.items() if name in ids)
        for name, v in self.venues.items():
            v["id"] = ids.get(name, v["id"])
        for e in self.events:
            e["venue"] = now.get(e["venue"], e["venue"])

    def result(self, name, festival_id, zone_name, zone):
        self._keep_span(zone)
        if not self.events:
            raise ScheduleImportError("%s: the schedule has no events" % self.path)
        start = min(e["start"] for e in self.events)
        end = max(e["end"] for e in self.events)
        if zone is None:
            self._say_no_zone()
        fest = {"id": festival_id or slug(name, "festival"), "name": one_line(name or festival_id) or "Festival",
                "timezone": zone_name or "", "utc_offset": (offset_minutes(zone, start) if zone is not None
                                                         else (self.seen_offsets or [0])[0]),
                "start": start, "end": end}
        offsets = zone_offsets(zone, start, end)
        if offsets is not None:
            fest["utc_offsets"] = offsets
        self._settle_venue_ids()
        self.events.sort(key=lambda e: (e["start"], e["venue"], e["id"]))
        used = set(e["venue"] for e in self.events)
        venues = [v for v in sorted(self.venues.values(), key=lambda v: v["order"]) if v["id"] in used]
        for i, v in enumerate(venues):
            v["order"] = i + 1
        return {"festival": fest, "venues": venues, "events": self.events, "warnings": self.warnings}
