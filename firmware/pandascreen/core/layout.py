"""The now/next screen: schedule -> plain view dict -> draw calls on a canvas.

``build_view`` does all the schedule and clock arithmetic and returns a plain dict (easy to
test, log or send elsewhere); ``draw_view`` only places text and boxes.  A canvas is anything
with ``pixel(x, y, c)`` and ``fill_rect(x, y, w, h, c)`` - MicroPython's ``framebuf.FrameBuffer``
works as is.  Colors: 0 background, 1 foreground, 2 accent (red/yellow e-paper; drawn as 1 on
mono screens).

Times are Unix epoch seconds (UTC).  Local time is ``now + festival utc_offset minutes``,
computed here with integer arithmetic: no ``time.localtime``/``strftime``, whose time zone and
epoch differ between CPython and MicroPython boards.
"""

from pandascreen.core import font

NO_SCHEDULE = "No schedule yet \u2014 waiting for sync"
NO_MORE = "No more events today"
THATS_ALL = "That's all"
UNTITLED = "Untitled"
# a next event on the following day but less than this many minutes away (festival nights)
# is still "in 2h", not "tomorrow"
SOON_MIN = 6 * 60

# 1970-01-01 was a Thursday
WEEKDAYS = ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")


# -- time helpers (integer arithmetic only) -------------------------------------------------

def local_seconds(epoch, utc_offset_min=0):
    return int(epoch) + int(utc_offset_min or 0) * 60


def hhmm(epoch, utc_offset_min=0):
    """"HH:MM" local time of Unix ``epoch`` seconds."""
    m = (local_seconds(epoch, utc_offset_min) // 60) % 1440
    return "%02d:%02d" % (m // 60, m % 60)


def local_day(epoch, utc_offset_min=0):
    """Days since 1970-01-01 in local time."""
    return local_seconds(epoch, utc_offset_min) // 86400


def weekday(epoch, utc_offset_min=0):
    return WEEKDAYS[local_day(epoch, utc_offset_min) % 7]


def ceil_minutes(seconds):
    seconds = int(seconds)
    if seconds <= 0:
        return 0
    return (seconds + 59) // 60


def span(minutes):
    """25 -> "25 min", 65 -> "1h 5m", 120 -> "2h"."""
    if minutes < 60:
        return "%d min" % minutes
    h, m = divmod(minutes, 60)
    if m:
        return "%dh %dm" % (h, m)
    return "%dh" % h


# -- view -------------------------------------------------------------------------------------

def _speakers(ev):
    names = getattr(ev, "speakers", None) or ()
    out = []
    for n in names:
        if n:
            out.append(str(n))
    return ", ".join(out)


def _title(ev):
    t = getattr(ev, "title", None)
    if t:
        t = " ".join(str(t).split())
    return t or UNTITLED


def build_view(schedule, venue_index, now, status=""):
    """Everything the screen shows, as a plain dict (see module docstring for the schedule API).

    Keys: festival, venue, venue_id, venue_index (0-based, wrapped), venue_count, position ("2/5"),
    clock ("HH:MM" local), now (dict or None), next (dict or None), message, status.
    ``now``: title, time ("HH:MM–HH:MM"), start, end, speakers, track, lang, progress (0..1),
    elapsed, duration (seconds), minutes_left, left ("25 min left").
    ``next``: title, start ("HH:MM"), in ("in 25 min" / "tomorrow" / "Sat"), minutes_until,
    days (local days ahead), soon (shown as "in ..."), speakers, track, lang.
    ``message``: what to say where something is missing ("" when nothing is).
    """
    now = int(now)
    fest = getattr(schedule, "festival", None) if schedule is not None else None
    if callable(fest):
        fest = fest()
    fest = fest or {}
    offset = fest.get("utc_offset") or 0
    view = {
        "festival": str(fest.get("name") or ""),
        "venue": "",
        "venue_id": None,
        "venue_index": 0,
        "venue_count": 0,
        "position": "",
        "clock": hhmm(now, offset),
        "now": None,
        "next": None,
        "message": "",
        "status": str(status or ""),
    }
    venues = list(schedule.venues()) if schedule is not None else []
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
        start = int(current.start)
        end = int(current.end)
        duration = max(0, end - start)
        elapsed = min(max(0, now - start), duration)
        left = ceil_minutes(end - now)
        view["now"] = {
            "title": _title(current),
            "time": "%s\u2013%s" % (hhmm(start, offset), hhmm(end, offset)),
            "start": hhmm(start, offset),
            "end": hhmm(end, offset),
            "speakers": _speakers(current),
            "track": str(getattr(current, "track", "") or ""),
            "lang": str(getattr(current, "lang", "") or ""),
            "progress": (elapsed / duration) if duration else 1.0,
            "elapsed": elapsed if duration else 1,
            "duration": duration if duration else 1,
            "minutes_left": left,
            "left": "%s left" % span(left) if left else "ending",
        }
    if upcoming is not None:
        start = int(upcoming.start)
        until = ceil_minutes(start - now)
        days = local_day(start, offset) - local_day(now, offset)
        soon = days <= 0 or until < SOON_MIN
        if soon:
            when = "in %s" % span(until) if until else "now"
        elif days == 1:
            when = "tomorrow"
        else:
            when = weekday(start, offset)
        view["next"] = {
            "title": _title(upcoming),
            "start": hhmm(start, offset),
            "in": when,
            "minutes_until": until,
            "days": days,
            "soon": soon,
            "speakers": _speakers(upcoming),
            "track": str(getattr(upcoming, "track", "") or ""),
            "lang": str(getattr(upcoming, "lang", "") or ""),
        }
    if current is None and (upcoming is None or not view["next"]["soon"]):
        view["message"] = NO_MORE
    elif upcoming is None:
        view["message"] = THATS_ALL
    return view


# -- drawing ----------------------------------------------------------------------------------

class Metrics:
    """Sizes for one screen class: text scales, margins, gaps, bar height.

    * small (128x64 OLED): everything at scale 1, progress bar inline with the time range.
    * medium (212x104 Inky pHAT): scale-2 header, scale-1 body, footer with festival/status.
    * large (400x300 Inky wHAT): scale-3 header and titles, scale-2 details, footer.
    """

    def __init__(self, width, height):
        if width >= 300 and height >= 200:
            self.size = "large"
            self.hs, self.ts, self.ds, self.fs = 3, 3, 2, 2
            self.pad, self.gap, self.bar_h = 4, 4, 10
            self.caps = (4, 3, 5)
        elif width >= 200 and height >= 96:
            self.size = "medium"
            self.hs, self.ts, self.ds, self.fs = 2, 1, 1, 1
            self.pad, self.gap, self.bar_h = 3, 2, 6
            self.caps = (3, 2, 4)
        else:
            self.size = "small"
            self.hs, self.ts, self.ds, self.fs = 1, 1, 1, 0
            self.pad, self.gap, self.bar_h = 1, 1, 7
            self.caps = (2, 2, 4)
        self.big = self.size != "small"
        # title lines, detail lines (times, labels: no descenders), speaker lines
        self.tl = (font.CELL_H + 1) * self.ts
        self.dl = font.CELL_H * self.ds
        self.sl = (font.CELL_H + 1) * self.ds
        self.header_h = font.CELL_H * self.hs + (2 * self.hs if self.big else 1)
        self.footer_h = font.CELL_H * self.fs + 3 if self.fs else 0
        self.position_in_header = self.size != "medium"


def _right(canvas, right_x, y, s, color, scale):
    w = font.text_width(s, scale)
    font.draw_text(canvas, right_x - w, y, s, color, scale)
    return right_x - w


def _center(canvas, width, y, s, color, scale):
    font.draw_text(canvas, (width - font.text_width(s, scale)) // 2, y, s, color, scale)


def _hline(canvas, x, y, w, color, dotted=False):
    if not dotted:
        canvas.fill_rect(x, y, w, 1, color)
        return
    for i in range(x, x + w, 2):
        canvas.pixel(i, y, color)


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
    hs = m.hs
    h = m.header_h
    canvas.fill_rect(0, 0, width, h, 1)
    ty = (h - (font.CELL_H - 1) * hs) // 2
    if not m.big:
        ty = 1
    clock_x = _right(canvas, width - m.pad, ty, view.get("clock") or "", 0, hs)
    limit = clock_x - font.CELL_W * hs // 2
    pos = view.get("position") or ""
    if pos and m.position_in_header:
        ps = m.ds
        py = ty + (font.CELL_H - 1) * (hs - ps)   # same baseline as the big text
        limit = _right(canvas, limit, py, pos, 0, ps) - font.CELL_W * ps
    title = view.get("venue") or view.get("festival") or "pandascreen"
    font.draw_text(canvas, m.pad, ty, font.ellipsize(title, limit - m.pad, hs), 0, hs)
    return h


def _footer(canvas, width, height, view, m):
    """Line + festival name (left) + status and, on medium screens, "i/n" (right)."""
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
        sx = _right(canvas, sx, fy, font.ellipsize(right, inner * 2 // 3, fs), 1, fs) - font.CELL_W * fs
    fest = view.get("festival") or ""
    if fest:
        font.draw_text(canvas, m.pad, fy, font.ellipsize(fest, sx - m.pad, fs), 1, fs)
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
    want1 = want2 = 0
    if now is not None:
        want1 = max(1, min(len(font.wrap(now["title"], m.inner, 0, m.ts)), m.caps[0]))
    if nxt is not None:
        cap = m.caps[1] if now is not None else m.caps[2]
        want2 = max(1, min(len(font.wrap(nxt["title"], m.inner, 0, m.ts)), cap))
    k1 = 1 if want1 else 0
    k2 = 1 if want2 else 0
    sp1 = sp2 = False
    if now is not None and _plan_height(m, now, nxt, message, k1, k2, sp1, sp2) > avail:
        # tiny screen (e.g. 128x32): only what is on now
        nxt = None
        message = ""
        want2 = k2 = 0
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


def draw_view(canvas, width, height, view, palette="mono"):
    """Draw ``view`` (from ``build_view``) on a ``width`` x ``height`` canvas.

    ``palette``: "mono" (accent drawn as foreground) or "tricolor" (accent = color 2).
    """
    accent = 2 if palette == "tricolor" else 1
    m = Metrics(width, height)
    m.inner = width - 2 * m.pad
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
    k1, k2, sp1, sp2, nxt, message = _plan(m, bottom - y + 1, now, nxt, message)
    ds = m.ds
    if now is not None:
        if m.big:
            # "NOW 14:00–15:00 ........ 25 min left"
            lx = x0 + font.draw_text(canvas, x0, y, "NOW", accent, ds) + font.CELL_W * ds
            font.draw_text(canvas, lx, y, now["time"], 1, ds)
            _right(canvas, x0 + w, y, now["left"], 1, ds)
            y += m.dl + m.gap
        for line in font.wrap(now["title"], w, k1, m.ts):
            font.draw_text(canvas, x0, y, line, 1, m.ts)
            y += m.tl
        if sp1 and m.big:
            font.draw_text(canvas, x0, y, font.ellipsize(now["speakers"], w, ds), 1, ds)
            y += m.sl
        if m.big:
            y += m.gap
            _bar(canvas, x0, y, w, m.bar_h, now["elapsed"], now["duration"], 1, accent)
            y += m.bar_h
        else:
            # "14:00–15:00 [=====    ] 25m"
            tw = font.draw_text(canvas, x0, y, now["time"], 1, 1)
            left = now["minutes_left"]
            short = "%dm" % left if left < 100 else "%dh%02d" % divmod(left, 60)
            rx = _right(canvas, x0 + w, y, short, 1, 1)
            bx = x0 + tw + 3
            _bar(canvas, bx, y, rx - 3 - bx, m.bar_h, now["elapsed"], now["duration"], 1, accent)
            y += m.dl
            if sp1:
                # below the time line, so speakers do not read as another title line
                font.draw_text(canvas, x0, y, font.ellipsize(now["speakers"], w, ds), 1, ds)
                y += m.sl
        if nxt is not None or message:
            y += m.gap
            _hline(canvas, 0, y, width, accent if m.big else 1, dotted=not m.big)
            y += 1 + m.gap
    if nxt is not None:
        if now is None and message:
            font.draw_text(canvas, x0, y, font.ellipsize(message, w, ds), accent, ds)
            y += m.dl + m.gap
        # "Next 14:30 ......... in 25 min"
        label = "NEXT" if m.big else "Next"
        lx = x0 + font.draw_text(canvas, x0, y, label, accent, ds) + font.CELL_W * ds
        font.draw_text(canvas, lx, y, nxt["start"], 1, ds)
        _right(canvas, x0 + w, y, nxt["in"], 1, ds)
        y += m.dl + (m.gap if m.big else 0)
        for line in font.wrap(nxt["title"], w, k2, m.ts):
            font.draw_text(canvas, x0, y, line, 1, m.ts)
            y += m.tl
        if sp2:
            font.draw_text(canvas, x0, y, font.ellipsize(nxt["speakers"], w, ds), 1, ds)
            y += m.sl
    elif message:
        font.draw_text(canvas, x0, y, font.ellipsize(message, w, ds), accent, ds)
        y += m.dl
    status = view.get("status") or ""
    if not m.footer_h and status and bottom - y >= m.dl + 1:
        _right(canvas, width - m.pad, bottom - font.CELL_H + 1, font.ellipsize(status, w, 1), 1, 1)


def _draw_message(canvas, width, y, bottom, view, m):
    """Whole-body message (no schedule yet / nothing more today), centered."""
    scale = m.hs
    lh = (font.CELL_H + 1) * scale
    text = view.get("message") or NO_MORE
    status = "" if m.footer_h else (view.get("status") or "")
    reserve = font.CELL_H if status else 0
    room = max(1, (bottom - y - reserve + scale) // lh)
    lines = font.wrap(text, m.inner, room, scale)
    block = len(lines) * lh - scale
    ty = y + max(0, (bottom - y - reserve - block) // 2)
    for t in lines:
        _center(canvas, width, ty, t, 1, scale)
        ty += lh
    if status:
        _center(canvas, width, bottom - font.CELL_H + 1, font.ellipsize(status, m.inner, 1), 1, 1)
