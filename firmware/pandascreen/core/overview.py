"""The overview: the whole program at a glance, every venue's now and next in a grid.

WHY a module of its own beside core/layout.py: large screens (Inky wHAT/Impression, HDMI) show it
as their layout and a long press shows it on any Pi screen, but a MicroPython satellite never
does; out of layout.py its code is not loaded into a satellite's heap (120 KB, where every KB of
code is one the feed buffers cannot have: tests/test_board.py).  It reuses layout's view
(``build_view`` per venue) and the pieces every frame is made of (core/frame_parts.py).

One name for it everywhere: "overview" (config ``"layout": "overview"``; core/config.py also
reads "all_venues", the name configs already on screens carry).
"""

from pandascreen.core import font, frame_parts, layout

MIN_COLUMN_CHARS = 14   # a column narrower than this many cells of text reads as noise


def build_overview(schedule, now, status="", page=0, absolute=False):
    """The whole program at a glance: ``layout.build_view`` of every venue at ``now`` (one arithmetic).

    Keys: festival, clock, status, page (which page when not all venues fit; wraps), message
    (as in ``layout.build_view`` when there are no venues), absolute, venues (list of
    ``layout.build_view`` dicts).  ``absolute``: as in ``build_view`` (a full-refresh e-paper
    overview says "until 17:00", no clock and no countdown that would go stale between refreshes).
    """
    first = layout.build_view(schedule, 0, now, status, absolute)
    overview = {"festival": first["festival"], "clock": first["clock"], "status": first["status"],
                "page": int(page or 0), "message": "", "absolute": bool(absolute), "venues": []}
    count = first["venue_count"]
    if not count:
        overview["message"] = first["message"]
        return overview
    overview["venues"] = [first] + [layout.build_view(schedule, i, now, status, absolute) for i in range(1, count)]
    return overview


def _cell_lines(f, v, cw, s):
    """A venue's cell: its full name (up to two lines), then what is on now, then what is next."""
    name = f.wrap(v["venue"], cw, 2, s) or [""]
    return len(name) + 2, name


def _pages(f, venues, cols, cw, s, line_h, gap, body_h):
    """Split venues into pages of rows (row-major, row height = tallest cell); None if a
    single row does not fit."""
    pages = [[]]
    used = 0
    for r in range(0, len(venues), cols):
        row = venues[r:r + cols]
        rh = max(_cell_lines(f, v, cw, s)[0] for v in row) * line_h + gap
        if rh > body_h:
            return None
        if used + rh > body_h and pages[-1]:
            pages.append([])
            used = 0
        pages[-1].append((row, rh))
        used += rh
    return pages


def _plan(m, venues, inner, body_h):
    """Largest text scale (then fewest columns) that shows every venue on one page; else the
    smallest scale, as many columns as stay readable, over several pages."""
    f = m.face
    gap = max(2, m.gap)
    top = max(m.title_scale, 1)
    low = 2 * m.unit if m.truetype else 1
    best = None
    s = top
    while s >= low:
        line_h = (font.CELL_H + 1) * s
        cols = 1
        while True:
            cw = (inner - (cols - 1) * gap * 2) // cols
            if cw < MIN_COLUMN_CHARS * font.CELL_W * s:
                break
            pages = _pages(f, venues, cols, cw, s, line_h, gap, body_h)
            if pages is not None:
                plan = (s, cols, cw, line_h, gap, pages)
                if len(pages) == 1:
                    return plan
                if best is None or len(pages) < len(best[5]):
                    best = plan
            cols += 1
        s -= 1
    return best


def draw_overview(canvas, width, height, overview, palette="mono", face=None):
    """Draw ``overview`` (from ``build_overview``): a grid of venues, each with now and next."""
    accent = frame_parts.accent_color(palette)
    m = frame_parts.Metrics(width, height, face)
    f = m.face
    canvas.fill_rect(0, 0, width, height, 0)
    venues = overview.get("venues") or []
    head = {"festival": overview.get("festival") or "", "venue": overview.get("festival") or "",
            "clock": overview.get("clock") or "", "position": "", "status": overview.get("status") or ""}
    bottom = height
    y = m.header_h + m.gap
    plan = _plan(m, venues, m.inner, (height - m.footer_h - 1 if m.footer_h else height) - y) \
        if venues else None
    if plan is not None and len(plan[5]) > 1:
        head["position"] = "%d/%d" % (overview.get("page", 0) % len(plan[5]) + 1, len(plan[5]))
    frame_parts.header(canvas, width, head, m)
    if m.footer_h:
        bottom = frame_parts.footer(canvas, width, height, dict(head, festival=""), m)
    if plan is None:
        frame_parts.draw_message(canvas, width, y, bottom, overview.get("message") or layout.NO_SCHEDULE,
                                 head["status"], m)
        return
    s, cols, cw, line_h, gap, pages = plan
    rows = pages[overview.get("page", 0) % len(pages)]
    for row, rh in rows:
        x = m.pad
        for v in row:
            _draw_cell(canvas, f, x, y, cw, s, line_h, v, accent)
            x += cw + 2 * gap
        y += rh
        frame_parts.hline(canvas, m.pad, y - gap // 2 - 1, m.inner, 1, dotted=True)


def _draw_cell(canvas, f, x, y, cw, s, line_h, v, accent):
    n, name = _cell_lines(f, v, cw, s)
    for line in name:
        f.draw_text(canvas, x, y, line, accent, s)
        y += line_h
    now = v.get("now")
    if now is not None:
        left = layout.span(now["minutes_left"]) if now["minutes_left"] else "ending"
        left = now["left"] if v.get("absolute") or now.get("status") == layout.CANCELLED else left
        lx = frame_parts.right_text(f, canvas, x + cw, y, left, 1, s)
        f.draw_text(canvas, x, y, f.ellipsize(now["title"], lx - x - font.CELL_W * s, s), 1, s)
    else:
        f.draw_text(canvas, x, y, "-", 1, s)
    y += line_h
    nxt = v.get("next")
    if nxt is not None:
        when = nxt["in"] if nxt.get("running") else nxt["start"] if nxt["soon"] else nxt["in"]
        tw = f.draw_text(canvas, x, y, when, accent, s) + font.CELL_W * s
        f.draw_text(canvas, x + tw, y, f.ellipsize(nxt["title"], cw - tw, s), 1, s)
    elif now is None:
        f.draw_text(canvas, x, y, f.ellipsize(v.get("message") or layout.NO_MORE, cw, s), 1, s)
