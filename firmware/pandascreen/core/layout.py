"""The now/next screen: schedule -> plain view dict -> draw calls on a canvas.

``build_view`` does all the schedule and clock arithmetic and returns a plain dict (easy to
test, log or send elsewhere); ``draw_view`` only places text and boxes.  A canvas is anything
with ``pixel(x, y, c)`` and ``fill_rect(x, y, w, h, c)`` - MicroPython's ``framebuf.FrameBuffer``
works as is.  Colors: 0 background, 1 foreground, 2 accent (red/yellow e-paper; drawn as 1 on
mono screens).

Times are Unix epoch seconds (UTC).  Local time is ``epoch + the festival's UTC offset at epoch``,
computed here with integer arithmetic: no ``time.localtime``/``strftime``, whose time zone and
epoch differ between CPython and MicroPython boards, and no tz database (a board has none).
A festival's zone (``festival_zone``) is its ``utc_offsets`` rule when it has one (the laptop
writes its IANA zone's offsets and change instants over the festival's span), else its one
``utc_offset``.
"""

from pandascreen.core import font
from pandascreen.core.event_fields import event_fields

NO_SCHEDULE = "No schedule yet \u2014 waiting for sync"
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

# 1970-01-01 was a Thursday
WEEKDAYS = ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")


# -- time helpers (integer arithmetic only) -------------------------------------------------

def festival_zone(fest):
    """The zone of a festival dict: its ``utc_offsets`` list ``[from_utc_s, minutes, ...]`` (by
    instant) when it holds one, else its fixed ``utc_offset`` in minutes (0 if none)."""
    fest = fest or {}
    rule = fest.get("utc_offsets")
    if isinstance(rule, (list, tuple)) and len(rule) >= 2 and not len(rule) % 2:
        return rule
    return int(fest.get("utc_offset") or 0)


def offset_at(zone, epoch):
    """Minutes east of UTC at ``epoch`` in ``zone`` (``festival_zone``): a change's offset holds from
    its instant on; before the first change, the first offset."""
    if not isinstance(zone, (list, tuple)):
        return int(zone or 0)
    off = zone[1]
    for i in range(2, len(zone) - 1, 2):
        if epoch < zone[i]:
            break
        off = zone[i + 1]
    return int(off)


def local_seconds(epoch, zone=0):
    return int(epoch) + offset_at(zone, epoch) * 60


def hhmm(epoch, zone=0):
    """"HH:MM" local time of Unix ``epoch`` seconds."""
    m = (local_seconds(epoch, zone) // 60) % 1440
    return "%02d:%02d" % (m // 60, m % 60)


def local_day(epoch, zone=0):
    """Days since 1970-01-01 in local time."""
    return local_seconds(epoch, zone) // 86400


def weekday(epoch, zone=0):
    return WEEKDAYS[local_day(epoch, zone) % 7]


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


def ceil_minutes(seconds):
    seconds = int(seconds)
    if seconds <= 0:
        return 0
    return (seconds + 59) // 60


def span(minutes):
    """25 -> "25m", 65 -> "1h 5m", 120 -> "2h": the one time-left format on every screen."""
    if minutes < 60:
        return "%dm" % minutes
    h, m = divmod(minutes, 60)
    if m:
        return "%dh %dm" % (h, m)
    return "%dh" % h


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
    return t or UNTITLED


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
    clock ("HH:MM" local), now (dict or None), next (dict or None), message, status.
    ``now``: title, time ("HH:MM–HH:MM"), start, end, speakers, track, lang, progress (0..1),
    elapsed, duration (seconds), minutes_left, left ("25 min left").
    ``next``: title, start ("HH:MM"), in ("in 25 min" / "tomorrow" / "Sat"), minutes_until,
    days (local days ahead), soon (shown as "in ..."), speakers, track, lang.
    ``message``: what to say where something is missing ("" when nothing is): before the
    festival "Starts Fri 16:00", in a gap "Break until 15:15", after it CLOSED (``say`` holds
    the key and time of the first two, for node/i18n.py).  ``now``/``next`` ``status``: CANCELLED
    (still in its slot, said instead of the time left), MOVED (a later edit changed its time or
    venue) or "".
    ``absolute``: for full-refresh-only e-paper (core/refresh.py): no clock, "until 17:00" instead
    of "25m left", the next start without "in 25m", so the picture changes only at event boundaries.
    """
    now = int(now)
    fest = getattr(schedule, "festival", None) if schedule is not None else None
    if callable(fest):
        fest = fest()
    fest = fest or {}
    offset = festival_zone(fest)
    view = {
        "festival": str(fest.get("name") or ""),
        "venue": "",
        "venue_id": None,
        "venue_index": 0,
        "venue_count": 0,
        "position": "",
        "clock": "" if absolute else hhmm(now, offset),
        "now": None,
        "next": None,
        "message": "",
        "status": str(status or ""),
        "absolute": bool(absolute),
        "at": now,
        "utc_offset": offset,
    }
    glyphs = getattr(schedule, "glyphs", None)  # a satellite's feed (core/feed.py FeedView)
    view["glyphs"] = glyphs() if glyphs is not None else None
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
    more = getattr(venue, "left_out", None)  # a satellite's feed venue: what the feed left out
    more = more() if more is not None else 0
    if current is not None:
        start = int(current.start)
        end = int(current.end)
        duration = max(0, end - start)
        elapsed = min(max(0, now - start), duration)
        left = ceil_minutes(end - now)
        tag = _tag(current)
        view["now"] = _with_fields({
            "title": event_title(current),
            "time": "%s\u2013%s" % (hhmm(start, offset), hhmm(end, offset)),
            "start": hhmm(start, offset),
            "end": hhmm(end, offset),
            "progress": (elapsed / duration) if duration else 1.0,
            "elapsed": elapsed if duration else 1,
            "duration": duration if duration else 1,
            "minutes_left": left,
            "left": "until %s" % hhmm(end, offset) if absolute else ("%s left" % span(left) if left else "ending"),
            "status": tag,
        }, current)
        if tag == CANCELLED:
            view["now"]["left"] = tag
    if upcoming is not None:
        start = int(upcoming.start)
        until = ceil_minutes(start - now)
        days = local_day(start, offset) - local_day(now, offset)
        soon = days <= 0 or until < SOON_MIN
        if soon:
            when = "" if absolute else ("in %s" % span(until) if until else "now")
        elif days == 1:
            when = "tomorrow"
        else:
            when = weekday(start, offset)
        tag = _tag(upcoming)
        if tag == CANCELLED or (tag and soon):
            when = tag  # a moved talk days away keeps its day
        view["next"] = _with_fields({
            "title": event_title(upcoming),
            "start": hhmm(start, offset),
            "in": when,
            "minutes_until": until,
            "days": days,
            "soon": soon,
            "status": tag,
        }, upcoming)
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
    return view


# -- drawing ----------------------------------------------------------------------------------

class Metrics:
    """Sizes for one screen class: text scales, margins, gaps, bar height, and the text face.

    * small (128x64 OLED, 256x64): everything at scale 1, progress bar inline with the time range.
    * medium (212x104 and 250x122 Inky pHAT): scale-2 header, scale-1 body, footer.
    * large (400x300 Inky wHAT and up): header, titles and details grow with the screen
      (``unit``: 1 on the wHAT, 2 on 800x480 and a 1280x720 TV, 4 at 1920x1080; TrueType text
      grows half as fast).  With a TrueType ``face``
      (the Pi's large screens) titles are set so their capitals are >= 5 mm high on the wHAT's
      and Impression's ~0.2 mm pixels: legible from 3 m (tests/test_display.py measures it).

    ``face``: anything with the bitmap font's ``text_width/draw_text/wrap/ellipsize`` (the
    ``font`` module itself by default; ``node.ttf.TrueTypeFace`` on the Pi).
    """

    def __init__(self, width, height, face=None):
        self.f = face or font
        self.ttf = face is not None and face is not font
        if width >= 300 and height >= 200:
            self.size = "large"
            # how many wHATs the screen is, rounded (integer maths: MicroPython draws this too)
            u = max(1, (min(width * 10 // 400, height * 10 // 300) + 5) // 10)
            self.unit = u
            if self.ttf:
                # text grows by half per unit: the 800x480 Impression has the wHAT's 0.2 mm
                # pixels, so its titles need no more pixels, only more room; a TV gets as much
                g = u - 1
                self.hs, self.ts, self.ds, self.fs = 3 + g, 5 + 2 * g, 3 + g, 2 + g
            else:
                self.hs, self.ts, self.ds, self.fs = 3 * u, 3 * u, 2 * u, 2 * u
            self.pad, self.gap, self.bar_h = 4 * u, 4 * u, 10 * u
            self.caps = (4, 3, 5)
        elif width >= 200 and height >= 96:
            self.size = "medium"
            self.unit = 1
            self.hs, self.ts, self.ds, self.fs = 2, 1, 1, 1
            self.pad, self.gap, self.bar_h = 3, 2, 6
            self.caps = (3, 2, 4)
        else:
            self.size = "small"
            self.unit = 1
            self.hs, self.ts, self.ds, self.fs = 1, 1, 1, 0
            self.pad, self.gap, self.bar_h = 1, 1, 7
            self.caps = (2, 2, 4)
        self.big = self.size != "small"
        # title lines, detail lines (times, labels: no descenders), speaker lines
        # (a TrueType line box already holds its descenders: no blank row between title lines)
        self.tl = (font.CELL_H + (0 if self.ttf else 1)) * self.ts
        self.dl = font.CELL_H * self.ds
        self.sl = (font.CELL_H + 1) * self.ds
        self.header_h = font.CELL_H * self.hs + (2 * self.hs if self.big else 1)
        self.footer_h = font.CELL_H * self.fs + 3 if self.fs else 0
        self.position_in_header = self.size != "medium"
        self.inner = width - 2 * self.pad


def _right(f, canvas, right_x, y, s, color, scale):
    w = f.text_width(s, scale)
    f.draw_text(canvas, right_x - w, y, s, color, scale)
    return right_x - w


def _center(f, canvas, width, y, s, color, scale):
    f.draw_text(canvas, (width - f.text_width(s, scale)) // 2, y, s, color, scale)


def _hline(canvas, x, y, w, color, dotted=False):
    if not dotted:
        canvas.fill_rect(x, y, w, 1, color)
        return
    for i in range(x, x + w, 2):
        canvas.pixel(i, y, color)


def _titles(canvas, f, x, y, ev, w, k, m, color):
    """Up to ``k`` wrapped title lines of ``ev``; a cancelled one struck through. Returns y."""
    for line in f.wrap(ev["title"], w, k, m.ts):
        f.draw_text(canvas, x, y, line, 1, m.ts)
        if ev.get("status") == CANCELLED:
            canvas.fill_rect(x, y + (font.CELL_H * m.ts) // 2 - 1, f.text_width(line, m.ts), max(1, m.ts // 2), color)
        y += m.tl
    return y


def _bar(canvas, x, y, w, h, elapsed, duration, color, accent):
    """Progress bar: 1px frame, filled in proportion elapsed/duration (integer maths only)."""
    if w < 5 or h < 5:
        return
    canvas.fill_rect(x, y, w, 1, color)
    canvas.fill_rect(x, y + h - 1, w, 1, color)
    canvas.fill_rect(x, y, 1, h, color)
    canvas.fill_rect(x + w - 1, y, 1, h, color)
    inner = w - 4
    fill = inner * elapsed // duration if duration > 0 else inner
    if fill > 0:
        canvas.fill_rect(x + 2, y + 2, min(fill, inner), h - 4, accent)


def _header(canvas, width, view, m):
    """Inverted bar: venue name (or festival), position "i/n", clock. Returns its height."""
    f = m.f
    hs = m.hs
    h = m.header_h
    canvas.fill_rect(0, 0, width, h, 1)
    ty = (h - (font.CELL_H - 1) * hs) // 2
    if not m.big:
        ty = 1
    clock_x = _right(f, canvas, width - m.pad, ty, view.get("clock") or "", 0, hs)
    limit = clock_x - font.CELL_W * hs // 2
    pos = view.get("position") or ""
    if pos and m.position_in_header:
        ps = m.ds
        py = ty + (font.CELL_H - 1) * (hs - ps)   # same baseline as the big text
        limit = _right(f, canvas, limit, py, pos, 0, ps) - font.CELL_W * ps
    title = view.get("venue") or view.get("festival") or "pandascreen"
    _header_title(canvas, m, title, limit - m.pad, ty)
    return h


def _header_title(canvas, m, title, room, ty):
    """The venue name in the header: at the header size when it fits, else on up to two lines
    at half that size, ending in an ellipsis at a word boundary only if even those are full
    ("Accueil Parc Bambou" whole on a 212x104 pHAT, not "Accueil Pa...")."""
    f = m.f
    hs = m.hs
    if hs < 2 or f.text_width(title, hs) <= room:
        f.draw_text(canvas, m.pad, ty, f.ellipsize(title, room, hs, word=hs >= 2), 0, hs)
        return
    small = max(hs // 2, 2 if m.ttf else 1)   # a TrueType face below 2 is a 6 px smudge
    line_h = font.CELL_H * small
    rows = max(1, (m.header_h - 2) // line_h)
    lines = f.wrap(title, room, 0, small)
    if len(lines) > rows:
        lines = lines[:rows - 1] + [f.ellipsize(" ".join(lines[rows - 1:]), room, small, word=True)]
    y = (m.header_h - len(lines) * line_h) // 2
    for line in lines:
        f.draw_text(canvas, m.pad, y, line, 0, small)
        y += line_h


def _footer(canvas, width, height, view, m):
    """Line + festival name (left) + status and, on medium screens, "i/n" (right)."""
    f = m.f
    top = height - m.footer_h
    _hline(canvas, 0, top, width, 1)
    fy = top + 2
    fs = m.fs
    right = view.get("status") or ""
    pos = view.get("position") or ""
    if pos and not m.position_in_header:
        right = right + "  " + pos if right else pos
    inner = width - 2 * m.pad
    sx = width - m.pad
    if right:
        sx = _right(f, canvas, sx, fy, f.ellipsize(right, inner * 2 // 3, fs), 1, fs) - font.CELL_W * fs
    fest = view.get("festival") or ""
    if fest:
        f.draw_text(canvas, m.pad, fy, f.ellipsize(fest, sx - m.pad, fs), 1, fs)
    return top - 1


def _plan_height(m, now, nxt, message, k1, k2, sp1, sp2):
    h = 0
    if now is not None:
        if m.big:
            h += m.dl + m.gap
        h += k1 * m.tl + (m.sl if sp1 else 0)
        h += m.gap + m.bar_h if m.big else m.dl
    if now is not None and (nxt is not None or message):
        h += 2 * m.gap + 1
    if nxt is not None:
        if now is None and message:
            h += m.dl + m.gap
        h += m.dl + (m.gap if m.big else 0) + k2 * m.tl + (m.sl if sp2 else 0)
    elif message:
        h += m.dl
    return h


def _plan(m, avail, now, nxt, message):
    """Choose title lines (k1 now, k2 next) and whether speaker lines fit in ``avail`` pixels."""
    f = m.f
    want1 = want2 = 0
    if now is not None:
        want1 = max(1, min(len(f.wrap(now["title"], m.inner, 0, m.ts)), m.caps[0]))
    if nxt is not None:
        cap = m.caps[1] if now is not None else m.caps[2]
        want2 = max(1, min(len(f.wrap(nxt["title"], m.inner, 0, m.ts)), cap))
    k1 = 1 if want1 else 0
    k2 = 1 if want2 else 0
    sp1 = sp2 = False
    if now is not None and _plan_height(m, now, nxt, message, k1, k2, sp1, sp2) > avail:
        # tiny screen (e.g. 128x32): only what is on now
        nxt = None
        message = ""
        want2 = k2 = 0
    elif nxt is not None and _plan_height(m, now, nxt, message, k1, k2, sp1, sp2) > avail:
        message = ""  # "Break until 15:15" above "Next 15:15": the next line says it too
    # big TrueType titles hold few lines: what is on NOW gets its whole title first
    while m.ttf and k1 < want1 and _plan_height(m, now, nxt, message, k1 + 1, k2, sp1, sp2) <= avail:
        k1 += 1
    grew = True
    while grew:
        grew = False
        if k1 < want1 and _plan_height(m, now, nxt, message, k1 + 1, k2, sp1, sp2) <= avail:
            k1 += 1
            grew = True
        if k2 < want2 and _plan_height(m, now, nxt, message, k1, k2 + 1, sp1, sp2) <= avail:
            k2 += 1
            grew = True
    if now is not None and now["speakers"] and _plan_height(m, now, nxt, message, k1, k2, True, sp2) <= avail:
        sp1 = True
    if nxt is not None and nxt["speakers"] and _plan_height(m, now, nxt, message, k1, k2, sp1, True) <= avail:
        sp2 = True
    return k1, k2, sp1, sp2, nxt, message


def accent_color(palette):
    """Color index of the accent: 2 where the screen has a third color, else the foreground."""
    return 1 if palette == "mono" else 2


def draw_view(canvas, width, height, view, palette="mono", face=None):
    """Draw ``view`` (from ``build_view``) on a ``width`` x ``height`` canvas.

    ``palette``: "mono" (accent drawn as foreground) or any palette with a third color
    ("tricolor", "grey", "7colour", "rgb": accent = color 2).  ``face``: see ``Metrics``.
    """
    accent = accent_color(palette)
    m = Metrics(width, height, face)
    f = m.f
    font.use_glyphs(view.get("glyphs"))  # a satellite's feed: bitmaps of characters beyond the 5x7 font
    canvas.fill_rect(0, 0, width, height, 0)
    y = _header(canvas, width, view, m) + m.gap + (1 if m.big else 0)
    bottom = _footer(canvas, width, height, view, m) if m.footer_h else height
    x0 = m.pad
    w = m.inner
    now = view.get("now")
    nxt = view.get("next")
    message = view.get("message") or ""
    if not view.get("venue_count") or (now is None and nxt is None):
        _draw_message(canvas, width, y, bottom, view, m)
        return

    # the last line's blank row below the text may fall off the bottom
    # a gap's "Break until 15:15" must not push the status ("offline") off a footerless screen
    room = bottom - y + 1 - (m.dl + 1 if now is None and message and view.get("status") and not m.footer_h else 0)
    k1, k2, sp1, sp2, nxt, message = _plan(m, room, now, nxt, message)
    ds = m.ds
    if now is not None:
        if m.big:
            # "NOW 14:00–15:00 ........ 25 min left"
            lx = x0 + f.draw_text(canvas, x0, y, view.get("label_now") or "NOW", accent, ds) + font.CELL_W * ds
            f.draw_text(canvas, lx, y, now["time"], 1, ds)
            _right(f, canvas, x0 + w, y, now["left"], accent if now.get("status") else 1, ds)
            y += m.dl + m.gap
        y = _titles(canvas, f, x0, y, now, w, k1, m, accent)
        cancelled = now.get("status") == CANCELLED
        if sp1 and m.big:
            f.draw_text(canvas, x0, y, f.ellipsize(now["speakers"], w, ds), 1, ds)
            y += m.sl
        if m.big and not view.get("absolute") and not cancelled:  # a bar would tick on a full-refresh panel
            y += m.gap
            _bar(canvas, x0, y, w, m.bar_h, now["elapsed"], now["duration"], 1, accent)
            y += m.bar_h
        elif not m.big:
            # "14:00–15:00 [=====    ] 25m" ("14:00–15:00    cancelled"; "14:00–15:00" alone when the
            # view has absolute times: a clock the screen cannot vouch for counts nothing down)
            tw = f.draw_text(canvas, x0, y, now["time"], 1, 1)
            rx = x0 + w
            if cancelled or not view.get("absolute"):
                rx = _right(f, canvas, rx, y, now["left"] if cancelled else span(now["minutes_left"]), 1, 1)
            if not cancelled and not view.get("absolute"):
                bx = x0 + tw + 3
                _bar(canvas, bx, y, rx - 3 - bx, m.bar_h, now["elapsed"], now["duration"], 1, accent)
            y += m.dl
            if sp1:
                # below the time line, so speakers do not read as another title line
                f.draw_text(canvas, x0, y, f.ellipsize(now["speakers"], w, ds), 1, ds)
                y += m.sl
        if nxt is not None or message:
            y += m.gap
            _hline(canvas, 0, y, width, accent if m.big else 1, dotted=not m.big)
            y += 1 + m.gap
    if nxt is not None:
        if now is None and message:
            f.draw_text(canvas, x0, y, f.ellipsize(message, w, ds), accent, ds)
            y += m.dl + m.gap
        # "Next 14:30 ......... in 25 min"
        label = view.get("label_next") or "Next"  # node/i18n.translate sets the labels
        label = label.upper() if m.big else label
        lx = x0 + f.draw_text(canvas, x0, y, label, accent, ds) + font.CELL_W * ds
        f.draw_text(canvas, lx, y, nxt["start"], 1, ds)
        _right(f, canvas, x0 + w, y, nxt["in"], accent if nxt.get("status") else 1, ds)
        y += m.dl + (m.gap if m.big else 0)
        y = _titles(canvas, f, x0, y, nxt, w, k2, m, accent)
        if sp2:
            f.draw_text(canvas, x0, y, f.ellipsize(nxt["speakers"], w, ds), 1, ds)
            y += m.sl
    elif message:
        f.draw_text(canvas, x0, y, f.ellipsize(message, w, ds), accent, ds)
        y += m.dl
    status = view.get("status") or ""
    if not m.footer_h and status and bottom - y >= m.dl + 1:
        _right(f, canvas, width - m.pad, bottom - font.CELL_H, f.ellipsize(status, w, 1), 1, 1)


def _draw_message(canvas, width, y, bottom, view, m):
    """Whole-body message (no schedule yet / nothing more today), centered."""
    f = m.f
    scale = m.hs
    lh = (font.CELL_H + 1) * scale
    text = view.get("message") or NO_MORE
    status = "" if m.footer_h else (view.get("status") or "")
    reserve = font.CELL_H if status else 0
    room = max(1, (bottom - y - reserve + scale) // lh)
    lines = f.wrap(text, m.inner, room, scale)
    block = len(lines) * lh - scale
    ty = y + max(0, (bottom - y - reserve - block) // 2)
    for t in lines:
        _center(f, canvas, width, ty, t, 1, scale)
        ty += lh
    if status:
        _center(f, canvas, width, bottom - font.CELL_H, f.ellipsize(status, m.inner, 1), 1, 1)
