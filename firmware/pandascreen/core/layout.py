"""The now/next screen: schedule -> plain view dict -> draw calls on a canvas.

``build_view`` does all the schedule and clock arithmetic and returns a plain dict (easy to
test, log or send elsewhere); ``draw_view`` only places text and boxes.  A canvas is anything
with ``pixel(x, y, c)`` and ``fill_rect(x, y, w, h, c)`` - MicroPython's ``framebuf.FrameBuffer``
works as is.  Colors: 0 background, 1 foreground, 2 accent (red/yellow e-paper; drawn as 1 on
mono screens).  The sizes of a screen class and the header, footer and message it shares with
the overview are core/frame_parts.py's.

Times are Unix epoch seconds (UTC), in the festival's local time through core/festival_time.py
(whose helpers callers also reach here: ``layout.hhmm``).
"""

from pandascreen.core import font, frame_parts
from pandascreen.core.clock import NO_CLOCK, STARTING, SYNCED
from pandascreen.core.event_fields import event_fields
from pandascreen.core.festival_time import (WEEKDAYS, ceil_minutes, festival_zone, hhmm, local_day,  # noqa: F401
                                            local_seconds, offset_at, span, weekday)
from pandascreen.core.frame_parts import Metrics

NO_SCHEDULE = "No schedule yet \u2014 waiting for sync"
NOT_IN_PROGRAM = "This screen's venues are not in the program"  # config "venues" names none the program has
NO_MORE = "No more events today"
THATS_ALL = "That's all"
MORE = "+%d more at the Pi screen"  # a satellite's feed left out this many events or venues (its size)
UNTITLED = "Untitled"
CLOSED = "See you next time!"
CANCELLED = "cancelled"
MOVED = "moved"
# messages with a time in them (``view["say"]``: key, epoch), in English; node/i18n.py has the rest
SAY = {"starts": "Starts %s", "break_until": "Break until %s", "tomorrow": "tomorrow", "in_days": "in %d days"}
# a next event on the following day but less than this many minutes away (festival nights)
# is still "in 2h", not "tomorrow"
SOON_MIN = 6 * 60

def message_text(view, words=SAY, day_name=None, clock=None):
    """``view["say"]`` (key, epoch) in words: "Starts Fri 16:00", "Break until 15:15".

    One function for English (here) and the other languages (node/i18n.py passes its words,
    weekday names and clock), so they say the same thing.  The day is left out when it is
    today, "tomorrow", a weekday within the week, else how many days ahead (no time then)."""
    key, epoch = view["say"]
    offset = view.get("utc_offset") or 0
    day = local_day(epoch, offset)
    days = day - local_day(view["at"], offset)
    if days >= 7:
        return words[key] % (words["in_days"] % days)
    at = hhmm(epoch, offset)
    at = clock(at) if clock else at
    if days == 1:
        at = words["tomorrow"] + " " + at
    elif days > 1:
        at = (day_name(day) if day_name else WEEKDAYS[day % 7]) + " " + at
    return words[key] % at


# -- view -------------------------------------------------------------------------------------

_VIEW_FIELDS = event_fields("view")  # what a view's now/next carries of its event


def field_text(value):
    """A field as the view says it: a list (speakers) as "A, B", anything else as text."""
    if isinstance(value, (list, tuple)):
        out = []
        for n in value:
            if n:
                out.append(str(n))
        return ", ".join(out)
    return str(value or "")


def _with_fields(out, ev):
    """``out`` plus every view field of ``ev`` it does not say itself (title and status are
    worded by build_view)."""
    for name in _VIEW_FIELDS:
        if name not in out:
            out[name] = field_text(getattr(ev, name, None))
    return out


def event_title(ev):
    # cleaned first: a title of line breaks alone is "Untitled" on CPython and MicroPython alike
    # (their str.split() differ on non-ASCII spaces such as U+0085)
    t = getattr(ev, "title", None)
    if t:
        t = " ".join(font.clean(t).split())
    # zero-width characters alone draw nothing (``normalize`` drops them, as drawing does): such a
    # title is as untitled as one of spaces.  Not ``str.strip(chars)``: MicroPython strips bytes.
    return t if t and font.normalize(t).strip() else UNTITLED


def _tag(ev):
    """CANCELLED, MOVED or "": a schedule's events know (core/schedule.py), a feed's read their title's marker (core/feed.py)."""
    if not hasattr(ev, "moved"):
        return ""
    return CANCELLED if ev.status == CANCELLED else (MOVED if ev.moved() else "")


def _say(view, key, epoch):
    view["say"] = (key, int(epoch))
    view["message"] = message_text(view)


def build_view(schedule, venue_index, now, status="", absolute=False):
    """Everything the screen shows, as a plain dict (see module docstring for the schedule API).

    Keys: festival, venue, venue_id, venue_index (0-based, wrapped), venue_count, position ("2/5"),
    clock ("HH:MM" local), now (``_now_entry``, or None), next (``_next_entry``, or None),
    message (``_set_message``), status, absolute, at, utc_offset, glyphs (a satellite feed's).
    ``absolute``: for full-refresh-only e-paper (core/refresh.py): no clock, "until 17:00" instead
    of "25m left", the next start without "in 25m", so the picture changes only at event boundaries.
    """
    now = int(now)
    view = _empty_view(schedule, now, status, absolute)
    venues = schedule.venues() if schedule is not None else []  # a fresh list, or a feed's sequence
    if not venues:
        view["message"] = NO_SCHEDULE
        return view
    count = len(venues)
    index = int(venue_index or 0) % count
    venue = venues[index]
    view["venue"] = str(getattr(venue, "name", "") or getattr(venue, "id", "") or "")
    view["venue_id"] = venue.id
    view["venue_index"] = index
    view["venue_count"] = count
    view["position"] = "%d/%d" % (index + 1, count)
    current, upcoming = schedule.now_next(venue.id, now)
    if current is not None:
        view["now"] = _now_entry(current, now, view["utc_offset"], absolute)
    if upcoming is not None:
        view["next"] = _next_entry(upcoming, now, view["utc_offset"], absolute)
    _set_message(view, schedule, venue, now, current, upcoming)
    return view


def _empty_view(schedule, now, status, absolute):
    """A view with its festival, clock and status, before a venue is chosen."""
    fest = getattr(schedule, "festival", None) if schedule is not None else None
    if callable(fest):
        fest = fest()
    fest = fest or {}
    offset = festival_zone(fest)
    glyphs = getattr(schedule, "glyphs", None)  # a satellite's feed (core/feed.py FeedView)
    return {
        "festival": str(fest.get("name") or ""),
        "venue": "",
        "venue_id": None,
        "venue_index": 0,
        "venue_count": 0,
        "position": "",
        # no festival yet: its zone is not known, and UTC would pass for local time
        "clock": "" if absolute else hhmm(now, offset) if fest else NO_CLOCK,
        "now": None,
        "next": None,
        "message": "",
        "status": str(status or ""),
        "warn": warns(status),  # decided on the status's own words, before a translation
        "absolute": bool(absolute),
        "at": now,
        "utc_offset": offset,
        "glyphs": glyphs() if glyphs is not None else None,
    }


END_DAY_AFTER = 12 * 3600  # s: an end at least this far away, on another day, is said with its day


def _now_entry(ev, now, offset, absolute):
    """The event on now: title, time ("HH:MM–HH:MM", "HH:MM–Sun HH:MM"), start, end, end_day
    (its weekday when it ends another day, END_DAY_AFTER or more away, else ""), progress (0..1), elapsed,
    duration (seconds), minutes_left, left ("25m left"; CANCELLED for a cancelled one, which
    stays in its slot), status (CANCELLED, MOVED: a later edit changed its time or venue, or
    ""), and the view fields of core/event_fields.py (speakers, track, lang)."""
    start = int(ev.start)
    end = int(ev.end)
    duration = max(0, end - start)
    elapsed = min(max(0, now - start), duration)
    left = ceil_minutes(end - now)
    tag = _tag(ev)
    # an end on another day, half a day or more away, is said with its day: "until 15:00" at 16:00
    # reads as past; a late set's "until 01:00" half an hour before does not
    end_day = weekday(end, offset) if end - now >= END_DAY_AFTER and local_day(end, offset) != local_day(now, offset) else ""
    until = ("%s %s" % (end_day, hhmm(end, offset))) if end_day else hhmm(end, offset)
    entry = _with_fields({
        "title": event_title(ev),
        "time": "%s\u2013%s" % (hhmm(start, offset), until),
        "start": hhmm(start, offset),
        "end": hhmm(end, offset),
        "end_day": end_day,
        "progress": (elapsed / duration) if duration else 1.0,
        "elapsed": elapsed if duration else 1,
        "duration": duration if duration else 1,
        "minutes_left": left,
        "left": "until %s" % until if absolute else ("%s left" % span(left) if left else "ending"),
        "status": tag,
    }, ev)
    if tag == CANCELLED:
        entry["left"] = tag
    return entry


def _next_entry(ev, now, offset, absolute):
    """The next event: title, start ("HH:MM"), in ("in 25m" / "tomorrow" / "Sat" / "in 9 days"), minutes_until,
    days (local days ahead), soon (shown as "in ..."), status, and the view fields."""
    start = int(ev.start)
    running = start <= now  # a second talk on now (core/feed.py ``after_now``): "now" on every panel
    until = max(0, ceil_minutes(start - now))
    days = max(0, local_day(start, offset) - local_day(now, offset))
    soon = days <= 0 or until < SOON_MIN
    if soon:
        when = "now" if running else "" if absolute else ("in %s" % span(until) if until else "now")
    elif days == 1:
        when = "tomorrow"
    elif days >= 7:  # a weekday name would be this week's
        when = SAY["in_days"] % days
    else:
        when = weekday(start, offset)
    tag = _tag(ev)
    if tag == CANCELLED or (tag and soon):
        when = tag  # a moved talk days away keeps its day
    return _with_fields({
        "title": event_title(ev),
        "start": hhmm(start, offset),
        "in": when,
        "minutes_until": until,
        "days": days,
        "soon": soon,
        "running": running,
        "status": tag,
    }, ev)


def _set_message(view, schedule, venue, now, current, upcoming):
    """What to say where something is missing ("" when nothing is): before the festival
    "Starts Fri 16:00", in a gap "Break until 15:15" (``say`` holds the key and time of these
    two, for node/i18n.py), after it CLOSED; a satellite feed's venue with events left out
    says how many."""
    more = getattr(venue, "left_out", None)  # a satellite's feed venue: what the feed left out
    more = more() if more is not None else 0
    bounds = getattr(schedule, "bounds", None)  # a satellite's feed has none
    bounds = bounds() if bounds is not None else None
    if bounds is not None and now < bounds[0]:
        _say(view, "starts", bounds[0])
    elif bounds is not None and now >= bounds[1]:
        view["message"] = CLOSED
    elif more and upcoming is None:
        view["message"] = MORE % more
    elif current is None and (upcoming is None or not view["next"]["soon"]):
        view["message"] = NO_MORE
    elif upcoming is None:
        view["message"] = THATS_ALL
    elif current is None:
        _say(view, "break_until", upcoming.start)


# -- drawing ----------------------------------------------------------------------------------

def _titles(canvas, m, y, ev, lines, color):
    """Up to ``lines`` wrapped title lines of ``ev``; a cancelled one struck through. Returns y."""
    face = m.face
    scale = m.title_scale
    for line in face.wrap(ev["title"], m.inner, lines, scale):
        face.draw_text(canvas, m.pad, y, line, 1, scale)
        if ev.get("status") == CANCELLED:
            canvas.fill_rect(m.pad, y + (font.CELL_H * scale) // 2 - 1, face.text_width(line, scale),
                             max(1, scale // 2), color)
        y += m.title_line_h
    return y


def _plan_height(m, now, nxt, message, now_lines, next_lines, now_speakers, next_speakers):
    """Pixels the body takes with ``now_lines`` title lines of the event on now and
    ``next_lines`` of the next one, each one's speakers line when its ``*_speakers`` is true,
    and ``message`` (what ``draw_view`` draws, measured the same way)."""
    h = 0
    if now is not None:
        if m.big:
            h += m.detail_line_h + m.gap
        h += now_lines * m.title_line_h + (m.speaker_line_h if now_speakers else 0)
        h += m.gap + m.bar_h if m.big else m.detail_line_h
    if now is not None and (nxt is not None or message):
        h += 2 * m.gap + 1
    if nxt is not None:
        if now is None and message:
            h += m.detail_line_h + m.gap
        h += m.detail_line_h + (m.gap if m.big else 0) + next_lines * m.title_line_h
        h += m.speaker_line_h if next_speakers else 0
    elif message:
        h += m.detail_line_h
    return h


def _plan(m, avail, now, nxt, message):
    """What fits in ``avail`` pixels: (now_lines, next_lines, now_speakers, next_speakers, nxt,
    message); on a tiny screen the next event and then the message are dropped first."""
    face = m.face
    want_now = want_next = 0
    if now is not None:
        want_now = max(1, min(len(face.wrap(now["title"], m.inner, 0, m.title_scale)), m.max_title_lines[0]))
    if nxt is not None:
        cap = m.max_title_lines[1] if now is not None else m.max_title_lines[2]
        want_next = max(1, min(len(face.wrap(nxt["title"], m.inner, 0, m.title_scale)), cap))
    now_lines = 1 if want_now else 0
    next_lines = 1 if want_next else 0

    def fits(now_lines, next_lines, now_speakers=False, next_speakers=False):
        return _plan_height(m, now, nxt, message, now_lines, next_lines, now_speakers, next_speakers) <= avail

    if now is not None and not fits(now_lines, next_lines):
        # tiny screen (e.g. 128x32): only what is on now
        nxt = None
        message = ""
        want_next = next_lines = 0
    elif nxt is not None and not fits(now_lines, next_lines):
        message = ""  # "Break until 15:15" above "Next 15:15": the next line says it too
    # big TrueType titles hold few lines: what is on NOW gets its whole title first
    while m.truetype and now_lines < want_now and fits(now_lines + 1, next_lines):
        now_lines += 1
    grew = True
    while grew:
        grew = False
        if now_lines < want_now and fits(now_lines + 1, next_lines):
            now_lines += 1
            grew = True
        if next_lines < want_next and fits(now_lines, next_lines + 1):
            next_lines += 1
            grew = True
    now_speakers = bool(now is not None and now["speakers"] and fits(now_lines, next_lines, True))
    next_speakers = bool(nxt is not None and nxt["speakers"] and fits(now_lines, next_lines, now_speakers, True))
    return now_lines, next_lines, now_speakers, next_speakers, nxt, message


def warns(status):
    """Whether a screen's status is a warning its display must show: anything but "synced ..." and
    the first seconds' "starting" (core/clock.py's words, in English: "alone since", "stale",
    "offline", "no peers", "clock not set", "disk full", "program forked"; a board's "low memory"),
    and any status with a part joined by " | ": a warning before the state, a part of the screen
    that does not work after it ("synced 14:05 | buttons off", core/controller.py)."""
    status = str(status or "")
    return bool(status) and (" | " in status or not (status.startswith(SYNCED) or status.startswith(STARTING)))


def draw_view(canvas, width, height, view, palette="mono", face=None):
    """Draw ``view`` (from ``build_view``) on a ``width`` x ``height`` canvas.

    ``palette``: "mono" (accent drawn as foreground) or any palette with a third color
    ("tricolor", "grey", "7colour", "rgb": accent = color 2).  ``face``: see
    ``frame_parts.Metrics``.
    """
    accent = frame_parts.accent_color(palette)
    m = Metrics(width, height, face)
    font.use_glyphs(view.get("glyphs"))  # a satellite's feed: bitmaps of characters beyond the 5x7 font
    canvas.fill_rect(0, 0, width, height, 0)
    y = frame_parts.header(canvas, width, view, m) + m.gap + (1 if m.big else 0)
    bottom = frame_parts.footer(canvas, width, height, view, m) if m.footer_h else height
    now = view.get("now")
    nxt = view.get("next")
    message = view.get("message") or ""
    status = view.get("status") or ""
    if not view.get("venue_count") or (now is None and nxt is None):
        frame_parts.draw_message(canvas, width, y, bottom, message or NO_MORE, status, m)
        return
    # the last line's blank row below the text may fall off the bottom (+1).  A footerless screen
    # keeps its last line, with a blank row above it, for a warning ("alone since 21:40",
    # "offline") even at the cost of its next event, and for any status beside a gap's "Break
    # until 15:15"
    keep = not m.footer_h and status and (view.get("warn", warns(status)) or (now is None and message))
    room = bottom - y + 1 - (m.detail_line_h + 2 if keep else 0)
    now_lines, next_lines, now_speakers, next_speakers, nxt, message = _plan(m, room, now, nxt, message)
    if now is not None:
        y = _draw_now(canvas, m, view, now, y, now_lines, now_speakers, accent)
        if nxt is not None or message:
            y += m.gap
            frame_parts.hline(canvas, 0, y, width, accent if m.big else 1, dotted=not m.big)
            y += 1 + m.gap
    if nxt is not None:
        y = _draw_next(canvas, m, view, nxt, message if now is None else "", y, next_lines, next_speakers, accent)
    elif message:
        m.face.draw_text(canvas, m.pad, y, m.face.ellipsize(message, m.inner, m.detail_scale), accent,
                         m.detail_scale)
        y += m.detail_line_h
    if not m.footer_h and status and bottom - y >= m.detail_line_h + 1:
        frame_parts.right_text(m.face, canvas, width - m.pad, bottom - font.CELL_H,
                               m.face.ellipsize(status, m.inner, 1), 1, 1)


def _draw_now(canvas, m, view, now, y, lines, speakers, accent):
    """The event on now from ``y``: on big screens "NOW 14:00–15:00 ... 25m left", its title,
    speakers and a progress bar; on small ones its title, then "14:00–15:00 [====  ] 25m".
    Returns the y below it."""
    face, x0, w, ds = m.face, m.pad, m.inner, m.detail_scale
    if m.big:
        lx = x0 + face.draw_text(canvas, x0, y, view.get("label_now") or "NOW", accent, ds) + font.CELL_W * ds
        face.draw_text(canvas, lx, y, now["time"], 1, ds)
        frame_parts.right_text(face, canvas, x0 + w, y, now["left"], accent if now.get("status") else 1, ds)
        y += m.detail_line_h + m.gap
    y = _titles(canvas, m, y, now, lines, accent)
    cancelled = now.get("status") == CANCELLED
    absolute = view.get("absolute")
    if speakers and m.big:
        face.draw_text(canvas, x0, y, face.ellipsize(now["speakers"], w, ds), 1, ds)
        y += m.speaker_line_h
    if m.big and not absolute and not cancelled:  # a bar would tick on a full-refresh panel
        y += m.gap
        frame_parts.bar(canvas, x0, y, w, m.bar_h, now["elapsed"], now["duration"], 1, accent)
        y += m.bar_h
    elif not m.big:
        # "14:00–15:00    cancelled"; "14:00–15:00" alone when the view has absolute times:
        # a clock the screen cannot vouch for counts nothing down
        tw = face.draw_text(canvas, x0, y, now["time"], 1, 1)
        rx = x0 + w
        if cancelled or not absolute:
            rx = frame_parts.right_text(face, canvas, rx, y, now["left"] if cancelled else span(now["minutes_left"]),
                                        1, 1)
        if not cancelled and not absolute:
            bx = x0 + tw + 3
            frame_parts.bar(canvas, bx, y, rx - 3 - bx, m.bar_h, now["elapsed"], now["duration"], 1, accent)
        y += m.detail_line_h
        if speakers:
            # below the time line, so speakers do not read as another title line
            face.draw_text(canvas, x0, y, face.ellipsize(now["speakers"], w, ds), 1, ds)
            y += m.speaker_line_h
    return y


def _draw_next(canvas, m, view, nxt, message, y, lines, speakers, accent):
    """``message`` (a gap's "Break until 15:15"), then "Next 14:30 ... in 25m", the next
    event's title and speakers from ``y``.  Returns the y below it."""
    face, x0, w, ds = m.face, m.pad, m.inner, m.detail_scale
    if message:
        face.draw_text(canvas, x0, y, face.ellipsize(message, w, ds), accent, ds)
        y += m.detail_line_h + m.gap
    label = view.get("label_next") or "Next"  # node/i18n.translate sets the labels
    label = label.upper() if m.big else label
    space = font.CELL_W * ds
    start_w, in_w = face.text_width(nxt["start"], ds), face.text_width(nxt["in"], ds)
    # "Ensuite 14:00 ... dans 2h 16m" is wider than a 128-pixel OLED: the label goes first, then the
    # countdown is cut, and the start time is always drawn whole
    lx = x0
    if face.text_width(label, ds) + space + start_w + space + in_w <= w:
        lx += face.draw_text(canvas, x0, y, label, accent, ds) + space
    lx += face.draw_text(canvas, lx, y, nxt["start"], 1, ds) + space
    countdown = nxt["in"] if lx + in_w <= x0 + w else face.ellipsize(nxt["in"], x0 + w - lx, ds)
    frame_parts.right_text(face, canvas, x0 + w, y, countdown, accent if nxt.get("status") else 1, ds)
    y += m.detail_line_h + (m.gap if m.big else 0)
    y = _titles(canvas, m, y, nxt, lines, accent)
    if speakers:
        face.draw_text(canvas, x0, y, face.ellipsize(nxt["speakers"], w, ds), 1, ds)
        y += m.speaker_line_h
    return y
