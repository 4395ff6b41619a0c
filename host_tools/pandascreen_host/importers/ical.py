"""iCalendar (RFC 5545) importer, through ``icalendar`` and ``recurring-ical-events``.

Why the libraries: the hand-written parser this replaces ignored ``RRULE``/``RDATE`` (a
weekly event appeared once), failed on a ``TZID`` defined by the file's own ``VTIMEZONE``
and garbled non-UTF-8 files without a word.  Recurrence (RRULE, RDATE, EXDATE, moved
occurrences), VTIMEZONE rules, Windows zone names and X-WR-TIMEZONE are exactly what these
two well-kept libraries get right, and this runs on the organiser's laptop (CPython), so
nothing argues for doing it by hand.

What stays ours, because schedules need it:

* bytes: folds are undone at the byte level (RFC 5545 folds at octets, even inside a UTF-8
  sequence), then UTF-8 is tried and Windows-1252/Latin-1 used with a warning if it fails;
* a truncated file ("is the download complete?") is told apart from a malformed one;
* recurrence is expanded over the festival's span: the one the organiser gives
  (``--from``/``--until``), else the span the file's own one-off events cover; a calendar of
  recurring events only is refused without a span, since an endless rule has no end to show;
* nothing is dropped silently: occurrences outside the span are counted and named by title
  (``Builder.left_out``), an event that ends before it starts is kept at its start and named
  (the library would drop it), speakers come from ``ATTENDEE``/``ORGANIZER`` ``CN``;
* warnings: a calendar with no time zone at all, broken lines the library skipped.
"""

import datetime
import itertools
import re

import icalendar
import recurring_ical_events
from icalendar.prop import vBroken

from pandascreen.core import schema

from .common import Builder, ScheduleImportError, decode_text, get_zone, say_jumped, slug, to_epoch

UTC = datetime.timezone.utc
MAX_OCCURRENCES = 50000                      # bound on events after expansion
TOO_FREQUENT = ("SECONDLY", "MINUTELY")      # no schedule repeats a talk every minute
# What icalendar / recurring-ical-events / zoneinfo raise on malformed input (fuzzing found each
# one; e.g. a TZID naming a tzdata folder gives IsADirectoryError).  Caught only around calls
# into the libraries, and turned into one line naming the file.
LIBRARY_ERRORS = (icalendar.InvalidCalendar, recurring_ical_events.InvalidCalendar, ValueError, TypeError,
                  AttributeError, KeyError, OSError)


def decode(data, b):
    """Unfold at the byte level (a fold may split a UTF-8 sequence), then decode the text."""
    return decode_text(re.sub(rb"\r?\n[ \t]", b"", data), b.warn)


def _check_complete(path, text):
    """A file cut short says so, before the parser reports something vaguer."""
    lines = [l.strip().upper() for l in text.splitlines() if l.strip()]
    if not lines or not lines[0].startswith("BEGIN:VCALENDAR"):
        raise ScheduleImportError("%s: not an iCalendar file (no BEGIN:VCALENDAR at the top)" % path)
    depth, open_event = 0, None
    for n, line in enumerate(lines, 1):
        if line.startswith("BEGIN:"):
            depth += 1
            if line == "BEGIN:VEVENT":
                open_event = n
        elif line.startswith("END:"):
            depth -= 1
            if line == "END:VEVENT":
                open_event = None
    if depth > 0:
        if open_event is not None:
            raise ScheduleImportError("%s: VEVENT starting at line %d never ends; is the file truncated "
                                      "(is the download complete?)" % (path, open_event))
        raise ScheduleImportError("%s: the calendar never ends (no END:VCALENDAR); is the download complete?"
                                  % path)


def _parse(path, text):
    try:
        cals = icalendar.Calendar.from_ical(text, multiple=True)
    except LIBRARY_ERRORS as e:
        raise ScheduleImportError("%s: not a valid iCalendar file (%s)" % (path, " ".join(str(e).split())[:200]))
    if len(cals) != 1:
        raise ScheduleImportError("%s: holds %d calendars; export one festival per file" % (path, len(cals)))
    return cals[0]


def _text(component, name):
    v = component.get(name)
    if isinstance(v, list):
        v = v[0] if v else ""
    if isinstance(v, icalendar.prop.vUnknown):  # an X- property (X-WR-CALNAME): escapes as written
        return _TEXT_ESCAPE.sub(lambda m: _TEXT_ESCAPES[m.group(1)], str(v))
    return str(v or "")


_TEXT_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\"}  # RFC 5545 3.3.11
_TEXT_ESCAPE = re.compile(r"\\([nN,;\\])")


def _categories(ev):
    v = ev.get("CATEGORIES")
    for c in (v if isinstance(v, list) else [v]):
        cats = getattr(c, "cats", None)
        if cats:
            return str(cats[0])
    return ""


def _dt(value, zone):
    """A DATE or DATE-TIME as an aware datetime; an all-day DATE starts at midnight in ``zone``."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.datetime(value.year, value.month, value.day, tzinfo=zone or UTC)


def _where(ev):
    uid = _text(ev, "UID")
    return "VEVENT %s" % (("UID %r" % uid[:60]) if uid else repr(_text(ev, "SUMMARY")[:60]))


class _Survey:
    """What the file's own events say before expansion: kinds of times, range, recurring UIDs."""

    def __init__(self, path, cal):
        self.floating = 0        # times with neither TZID nor Z
        self.tzid = None         # first zone a TZID names, as a tzinfo
        self.tzids = set()       # the names of every zone a TZID names
        self.recurring = set()   # UIDs with RRULE or RDATE
        self.endless = set()     # UIDs of events with neither DTEND nor DURATION
        self.starts = []         # every DTSTART (recurring ones included)
        self.single_starts = []  # one-off events' starts and ends: the festival's own span
        self.single_ends = []
        self.one_offs = {}       # UID -> the VEVENT of a one-off event whose UID no other entry has
        self.by_uid = {}         # UID -> its entries (VEVENTs)
        self.rules = {}          # UID -> the entry that holds its series' RRULE/RDATE
        self.events = cal.walk("VEVENT")
        if not self.events:
            raise ScheduleImportError("%s: the calendar has no VEVENT entries" % path)
        for ev in self.events:
            self._one(path, ev)
            self.by_uid.setdefault(_text(ev, "UID").strip(), []).append(ev)
        for uid in [u for u in self.one_offs if len(self.by_uid[u]) > 1]:
            del self.one_offs[uid]

    def _one(self, path, ev):
        where = "%s %s" % (path, _where(ev))
        if "DTSTART" not in ev:
            raise ScheduleImportError("%s: has no DTSTART" % where)
        start = self._value(ev, "DTSTART", where)
        end = self._value(ev, "DTEND", where) if "DTEND" in ev else None
        for name in ("DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"):
            for prop in (ev[name] if isinstance(ev.get(name), list) else [ev.get(name)]):
                if isinstance(prop, vBroken):  # icalendar kept the raw text of a value it could not read
                    raise ScheduleImportError("%s: %s %r is not valid iCalendar" % (where, name, str(prop)[:40]))
        for rule in (ev["RRULE"] if isinstance(ev.get("RRULE"), list) else [ev.get("RRULE")]):
            freq = (rule.get("FREQ") or [""])[0] if hasattr(rule, "get") else ""
            if str(freq).upper() in TOO_FREQUENT:
                raise ScheduleImportError("%s: RRULE repeats %s; a festival schedule cannot show that"
                                          % (where, str(freq).lower()))
        if "RRULE" in ev or "RDATE" in ev:
            self.recurring.add(_text(ev, "UID"))
            if "RECURRENCE-ID" not in ev:
                self.rules[_text(ev, "UID").strip()] = ev
        if "DTEND" not in ev and "DURATION" not in ev:
            self.endless.add(_text(ev, "UID"))
        self.starts.append(start)
        if "RRULE" not in ev and "RDATE" not in ev and "RECURRENCE-ID" not in ev:
            self.single_starts.append(start)
            self.single_ends.append(max(start, end) if _comparable(start, end) else start)
            uid = _text(ev, "UID").strip()
            if uid:
                self.one_offs[uid] = ev

    def _value(self, ev, name, where):
        prop = ev[name]
        try:
            value = prop.dt
        except (AttributeError, ValueError):  # icalendar's vBroken: the library kept the raw text
            value = None
        if not isinstance(value, (datetime.date, datetime.datetime)):
            raw = prop.to_ical() if hasattr(prop, "to_ical") else prop
            raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            raise ScheduleImportError("%s: %s %r is not an iCal date-time" % (where, name, raw[:40]))
        tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None and tzid:
                raise ScheduleImportError("%s: %s names time zone %r, which is neither a known zone nor defined "
                                          "by a VTIMEZONE in the file" % (where, name, tzid))
            if value.tzinfo is None:
                self.floating += 1
            elif tzid:
                self.tzid = self.tzid or value.tzinfo
                self.tzids.add(_iana_name(value.tzinfo) or str(tzid))
        return value


def _say_shared_uids(survey, b):
    """Entries that share a UID, none of them a RECURRENCE-ID (a moved occurrence of a series), are
    one event in iCalendar (RFC 5545: a UID names one event; its SEQUENCE numbers the revisions),
    and the recurrence library shows one of them: its newest revision.  An export or a hand merge
    that gave two talks one UID then loses one of them: each such UID is named with its titles."""
    for uid, entries in survey.by_uid.items():
        named = [_text(ev, "SUMMARY")[:60] for ev in entries if "RECURRENCE-ID" not in ev]
        if uid and len(named) > 1:
            b.warn(SHARED_UID, "UID %r: %s" % (uid[:60], ", ".join(repr(t) for t in named)))


SHARED_UID = ("calendar entries share a UID, so they are one event (iCalendar): its newest revision (the "
              "highest SEQUENCE) is shown; give each talk its own UID")


def _window(path, survey, zone, span):
    """The festival's span as whole days in its zone: ``span`` (first day, last day), else the
    days from the first start to the last end of the file's one-off events."""
    if span is None:
        if not survey.single_starts:
            raise ScheduleImportError("%s: every event repeats, so the calendar does not say when the festival is; "
                                      "pass --from YYYY-MM-DD and --until YYYY-MM-DD" % path)
        tz = zone or UTC
        span = (min(_dt(s, zone).astimezone(tz) for s in survey.single_starts).date(),
                max(_dt(e, zone).astimezone(tz) for e in survey.single_ends).date())
    elif span[1] < span[0]:
        raise ScheduleImportError("%s: --until %s is before --from %s" % (path, span[1], span[0]))
    lo = _dt(span[0], zone)
    return lo, _dt(span[1], zone) + datetime.timedelta(days=1) - datetime.timedelta(seconds=1)


def _end_not_before_start(cal, zone, b):
    """An event that ends before it starts (a DTEND before its DTSTART, a negative DURATION) is kept
    at its start (0 minutes) and named: the recurrence library would otherwise drop it without a
    word, or take the DURATION as positive."""
    for ev in cal.walk("VEVENT"):
        if "DURATION" in ev and "DTEND" not in ev and ev["DURATION"].dt < datetime.timedelta(0):
            b.warn("event ends before it starts; shown at its start, 0 minutes long",
                   "%s %r" % (_where(ev), _text(ev, "SUMMARY")[:60]))
            del ev["DURATION"]
            ev.add("DTEND", ev["DTSTART"].dt)
            continue
        if "DTEND" not in ev:
            continue
        start = _dt(ev["DTSTART"].dt, zone)
        if _dt(ev["DTEND"].dt, zone) < start:
            b.warn("event ends before it starts; shown at its start, 0 minutes long",
                   "%s %r" % (_where(ev), _text(ev, "SUMMARY")[:60]))
            del ev["DTEND"]
            ev.add("DTEND", ev["DTSTART"].dt)


def _comparable(a, b):
    """Both dates, or both date-times of the same kind (aware or floating)."""
    if b is None or type(a) is not type(b):
        return False
    return (getattr(a, "tzinfo", None) is None) == (getattr(b, "tzinfo", None) is None)


def _iana_name(tz):
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else ""


def load(path, data, timezone=None, festival_id=None, span=None):
    b = Builder(path, span)
    text = decode(data, b)
    _check_complete(path, text)
    cal = _parse(path, text)
    broken = sum(len(c.errors) for c in cal.walk() if getattr(c, "errors", None))
    if broken:
        b.warn("skipped %d malformed line(s) the iCalendar parser could not read" % broken)

    survey = _Survey(path, cal)
    _say_shared_uids(survey, b)
    wr_zone = _text(cal, "X-WR-TIMEZONE").strip()
    get_zone(wr_zone, "%s X-WR-TIMEZONE" % path)  # recurring-ical-events reads it too: check it first
    zone_name = timezone or wr_zone
    zone = get_zone(zone_name, path)
    if survey.floating:
        if zone is None:
            raise ScheduleImportError("%s: %d floating time(s) (no TZID, no Z) and the calendar names no time "
                                      "zone; pass --timezone" % (path, survey.floating))
        if not wr_zone:
            b.warn("the calendar names no time zone; read its %d floating time(s) as %s (--timezone)"
                   % (survey.floating, zone_name))
        if zone_name != wr_zone:  # recurring-ical-events reads floating times in it, as one-offs are read
            if "X-WR-TIMEZONE" in cal:
                del cal["X-WR-TIMEZONE"]
            cal["X-WR-TIMEZONE"] = zone_name
    elif zone is None and survey.tzid is not None:
        zone, zone_name = survey.tzid, _iana_name(survey.tzid)
    elif not timezone and len(survey.tzids) == 1 and zone_name not in survey.tzids:
        theirs = next(iter(survey.tzids))
        b.warn("the calendar's time zone is %s, but every time in it is %s's; screens show %s time unless you pass "
               "--timezone %s" % (zone_name, theirs, zone_name, theirs))

    try:
        lo, hi = _window(path, survey, zone, span)
        _end_not_before_start(cal, zone, b)
        occurrences, outside, repeating = _expand(path, cal, lo, hi, survey)
    except OverflowError:
        raise ScheduleImportError("%s: a date is out of range (near year 1 or 9999)" % path)
    except ScheduleImportError:
        raise  # the importer's own words, already naming the file
    except LIBRARY_ERRORS as e:
        raise ScheduleImportError("%s: cannot expand the recurring events: %s" % (path, " ".join(str(e).split())))
    b.shown_span = (lo.date(), hi.date())
    for ev in outside:
        b.left_out(_text(ev, "SUMMARY"))
    for ev in repeating:
        b.left_out(_text(ev, "SUMMARY"), repeats=True)
    for ev in occurrences:
        try:
            _add(b, ev, zone, survey, path)
        except OverflowError:
            raise ScheduleImportError("%s %s: a date is out of range" % (path, _where(ev)))
        except ScheduleImportError:
            raise
        except LIBRARY_ERRORS as e:
            raise ScheduleImportError("%s %s: %s" % (path, _where(ev), " ".join(str(e).split())))
    name = _text(cal, "X-WR-CALNAME") or _text(cal, "NAME") or _text(cal, "X-WR-CALDESC")
    return b.result(name, festival_id and slug(festival_id, "festival"), zone_name, zone)


def _expand(path, cal, lo, hi, survey):
    """Every occurrence in [lo, hi] (bounded); the one-offs and occurrences outside it; one
    occurrence per rule that still repeats after ``hi`` (an endless rule cannot be counted, only named)."""
    query = recurring_ical_events.of(cal)
    after = hi + datetime.timedelta(seconds=1)
    occurrences = list(itertools.islice(query.between(lo, after), MAX_OCCURRENCES + 1))
    if len(occurrences) > MAX_OCCURRENCES:
        raise ScheduleImportError("%s: expands to more than %d events between %s and %s; is an RRULE too frequent, "
                                  "or the span (--from/--until) too long?" % (path, MAX_OCCURRENCES, lo.date(), hi.date()))
    first = min(_dt(s, lo.tzinfo) for s in survey.starts)
    last = max(_dt(s, lo.tzinfo) for s in survey.starts)

    def key(o):
        return _text(o, "UID"), _dt(o["DTSTART"].dt, lo.tzinfo)

    # an occurrence across an edge of the span is in both queries: it is the festival's (or left
    # out by its start, Builder) and counted there only
    inside = {key(o) for o in occurrences}
    earlier = []
    if first < lo:
        earlier = [o for o in itertools.islice(query.between(first, lo), MAX_OCCURRENCES + 1) if key(o) not in inside]
    repeating, seen = [], set()
    for o in itertools.islice(query.after(after), MAX_OCCURRENCES + 1):
        uid = _text(o, "UID")
        if key(o) in inside:
            continue
        if uid not in survey.recurring:
            earlier.append(o)  # a one-off after an explicit --until: counted like one before --from
        elif uid not in seen:  # a rule that goes on (perhaps forever): named once
            seen.add(uid)
            repeating.append(o)
        if seen == survey.recurring and _dt(o["DTSTART"].dt, lo.tzinfo) > last:
            break  # every rule is named and no one-off comes later
    return occurrences, earlier, repeating


def _add(b, ev, zone, survey, path):
    where = _where(ev)
    uid = _text(ev, "UID").strip()
    # a one-off event's times are its own VEVENT's: the recurrence library, given the calendar's
    # X-WR-TIMEZONE, shifted UTC times of the night the clocks go back (00:30Z and 01:00Z came
    # out at 00:00Z)
    own = survey.one_offs.get(uid) if uid not in survey.recurring else None
    start_dt = _dt((own or ev)["DTSTART"].dt, zone)
    say_jumped(start_dt, b.warn, "%s %r" % (where, _text(ev, "SUMMARY")[:60]))
    b.note_offset(start_dt)
    start = to_epoch(start_dt, "%s %s" % (path, where))
    day = (own or ev)["DTSTART"].dt
    if uid in survey.endless and not isinstance(day, datetime.datetime):
        # an all-day event with no end lasts its day (RFC 5545, 3.6.1): a calendar day, 23 or 25
        # hours the nights the clocks change
        dur = to_epoch(_dt(day + datetime.timedelta(days=1), zone), "%s %s" % (path, where)) - start
    elif uid in survey.endless:
        dur = None  # recurring-ical-events adds a DTEND; the file gave none
    elif own is not None and "DTEND" not in own:
        # a DURATION: the library's reading (a day is a calendar day, 25 h the night the clocks go
        # back; a negative one was made 0 minutes long before: ``_end_not_before_start``)
        dur = (to_epoch(_dt(ev["DTEND"].dt, zone), "%s %s" % (path, where))
               - to_epoch(_dt(ev["DTSTART"].dt, zone), "%s %s" % (path, where)))
    else:
        dur = to_epoch(_dt((own or ev)["DTEND"].dt, zone), "%s %s" % (path, where)) - start
    exact = _series_length(survey, uid, ev, zone, "%s %s" % (path, where))
    if exact is not None:
        dur = exact
    if uid in survey.recurring:
        rid = ev.get("RECURRENCE-ID")
        when = _dt(rid.dt, zone) if rid is not None else start_dt
        uid = "%s@%s" % (uid, when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    # STATUS:CANCELLED is said on the screens as the console's cancel is; any other status (or
    # none) is as planned, so a talk the calendar sets back is shown again
    cancelled = _text(own or ev, "STATUS").strip().upper() == "CANCELLED"
    b.event(uid, _text(ev, "LOCATION"), _text(ev, "SUMMARY"), start, dur, _speakers(ev), _categories(ev), "", where,
            more={"status": schema.CANCELLED if cancelled else ""})


def _series_length(survey, uid, ev, zone, where):
    """Seconds every occurrence a series' rule makes lasts, when the rule's entry says it exactly
    (a DTEND, or a DURATION of hours, minutes and seconds: RFC 5545, 3.8.5.3); None for an
    occurrence the file moves (its own entry's times hold), an all-day series and a DURATION of
    days or weeks (calendar days, 23 or 25 hours the nights the clocks change: the library's
    reading).  The recurrence library repeats a series' DTSTART and DTEND each at the same local
    time, so the night the clocks change a 30-minute set came out 90 or 0 minutes long."""
    rule = survey.rules.get(uid)
    if rule is None or not isinstance(rule["DTSTART"].dt, datetime.datetime):
        return None
    rid = ev.get("RECURRENCE-ID")
    if rid is not None and any(_moves(entry, rid, zone) for entry in survey.by_uid.get(uid, ())):
        return None
    if "DTEND" in rule:
        return to_epoch(_dt(rule["DTEND"].dt, zone), where) - to_epoch(_dt(rule["DTSTART"].dt, zone), where)
    length = rule["DURATION"].dt if "DURATION" in rule else None
    if isinstance(length, datetime.timedelta) and length.days == 0:
        return int(length.total_seconds())
    return None


def _moves(entry, rid, zone):
    """Whether ``entry`` is the file's own entry for the occurrence at ``rid``."""
    own = entry.get("RECURRENCE-ID")
    return own is not None and _comparable(own.dt, rid.dt) and _dt(own.dt, zone) == _dt(rid.dt, zone)


def _speakers(ev):
    """Names of the people an event lists: its ATTENDEEs (not rooms, resources or non-participants),
    else its ORGANIZER, each by ``CN``."""
    def named(prop):
        for p in (prop if isinstance(prop, list) else [prop] if prop is not None else []):
            params = getattr(p, "params", {})
            if str(params.get("CUTYPE", "")).upper() in ("ROOM", "RESOURCE"):
                continue
            if str(params.get("ROLE", "")).upper() == "NON-PARTICIPANT":
                continue
            cn = str(params.get("CN", "")).strip().strip('"').strip()
            if cn:
                yield cn
    return list(named(ev.get("ATTENDEE"))) or list(named(ev.get("ORGANIZER")))
