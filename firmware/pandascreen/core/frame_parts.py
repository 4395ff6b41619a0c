"""What every frame is made of: the sizes of a screen class and the pieces both screens draw.

WHY a module of its own: the now/next screen (core/layout.py) and the overview (core/overview.py)
draw the same header, footer, whole-body message and lines at the same sizes; here each is
written once and neither reaches into the other.  A canvas is anything with ``pixel(x, y, c)``
and ``fill_rect(x, y, w, h, c)``.  Colors: 0 background, 1 foreground, 2 accent.
"""

from pandascreen.core import font


def accent_color(palette):
    """Color index of the accent: 2 where the screen has a third color, else the foreground."""
    return 1 if palette == "mono" else 2


class Metrics:
    """Sizes for one screen class: text scales, line heights, margins, gaps, bar height, the face.

    * small (128x64 OLED, 256x64): everything at scale 1, progress bar inline with the time range.
    * medium (212x104 and 250x122 Inky pHAT): scale-2 header, scale-1 body, footer.
    * large (400x300 Inky wHAT and up): header, titles and details grow with the screen
      (``unit``: 1 on the wHAT, 2 on 800x480 and a 1280x720 TV, 4 at 1920x1080; TrueType text
      grows half as fast).  With a TrueType ``face``
      (the Pi's large screens) titles are set so their capitals are >= 5 mm high on the wHAT's
      and Impression's ~0.2 mm pixels: legible from 3 m (tests/test_display.py measures it).

    Scales (font pixels per bitmap pixel): ``header_scale`` (venue name and clock),
    ``title_scale`` (event titles), ``detail_scale`` (times, labels, speakers, messages),
    ``footer_scale`` (0: no footer).  Line heights in pixels: ``title_line_h``,
    ``detail_line_h`` (no descenders), ``speaker_line_h``.  ``max_title_lines``: how many lines
    a title may take (the event on now, the next one below it, the next one alone).

    ``face``: anything with the bitmap font's ``text_width/draw_text/wrap/ellipsize`` (the
    ``font`` module itself by default; ``node.ttf.TrueTypeFace`` on the Pi).
    """

    def __init__(self, width, height, face=None):
        self.face = face or font
        self.truetype = face is not None and face is not font
        if width >= 300 and height >= 200:
            self.size = "large"
            # how many wHATs the screen is, rounded (integer maths: MicroPython draws this too)
            u = max(1, (min(width * 10 // 400, height * 10 // 300) + 5) // 10)
            self.unit = u
            if self.truetype:
                # text grows by half per unit: the 800x480 Impression has the wHAT's 0.2 mm
                # pixels, so its titles need no more pixels, only more room; a TV gets as much
                g = u - 1
                self._scales(3 + g, 5 + 2 * g, 3 + g, 2 + g)
            else:
                self._scales(3 * u, 3 * u, 2 * u, 2 * u)
            self.pad, self.gap, self.bar_h = 4 * u, 4 * u, 10 * u
            self.max_title_lines = (4, 3, 5)
        elif width >= 200 and height >= 96:
            self.size = "medium"
            self.unit = 1
            self._scales(2, 1, 1, 1)
            self.pad, self.gap, self.bar_h = 3, 2, 6
            self.max_title_lines = (3, 2, 4)
        else:
            self.size = "small"
            self.unit = 1
            self._scales(1, 1, 1, 0)
            self.pad, self.gap, self.bar_h = 1, 1, 7
            self.max_title_lines = (2, 2, 4)
        self.big = self.size != "small"
        # a TrueType line box already holds its descenders: no blank row between title lines
        self.title_line_h = (font.CELL_H + (0 if self.truetype else 1)) * self.title_scale
        self.detail_line_h = font.CELL_H * self.detail_scale
        self.speaker_line_h = (font.CELL_H + 1) * self.detail_scale
        self.header_h = font.CELL_H * self.header_scale + (2 * self.header_scale if self.big else 1)
        self.footer_h = font.CELL_H * self.footer_scale + 3 if self.footer_scale else 0
        self.position_in_header = self.size != "medium"
        self.inner = width - 2 * self.pad

    def _scales(self, header, title, detail, footer):
        self.header_scale, self.title_scale, self.detail_scale, self.footer_scale = header, title, detail, footer


def right_text(face, canvas, right_x, y, s, color, scale):
    """``s`` ending at ``right_x``; returns where it starts."""
    w = face.text_width(s, scale)
    face.draw_text(canvas, right_x - w, y, s, color, scale)
    return right_x - w


def center_text(face, canvas, width, y, s, color, scale):
    face.draw_text(canvas, (width - face.text_width(s, scale)) // 2, y, s, color, scale)


def hline(canvas, x, y, w, color, dotted=False):
    if not dotted:
        canvas.fill_rect(x, y, w, 1, color)
        return
    for i in range(x, x + w, 2):
        canvas.pixel(i, y, color)


def bar(canvas, x, y, w, h, elapsed, duration, color, accent):
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


def header(canvas, width, view, m):
    """Inverted bar: venue name (or festival), position "i/n", clock. Returns its height."""
    face = m.face
    scale = m.header_scale
    h = m.header_h
    canvas.fill_rect(0, 0, width, h, 1)
    ty = (h - (font.CELL_H - 1) * scale) // 2
    if not m.big:
        ty = 1
    clock_x = right_text(face, canvas, width - m.pad, ty, view.get("clock") or "", 0, scale)
    limit = clock_x - font.CELL_W * scale // 2
    pos = view.get("position") or ""
    if pos and m.position_in_header:
        ps = m.detail_scale
        py = ty + (font.CELL_H - 1) * (scale - ps)   # same baseline as the big text
        limit = right_text(face, canvas, limit, py, pos, 0, ps) - font.CELL_W * ps
    title = view.get("venue") or view.get("festival") or "pandascreen"
    _header_title(canvas, m, title, limit - m.pad, ty)
    return h


def _header_title(canvas, m, title, room, ty):
    """The venue name in the header: at the header size when it fits, else on up to two lines
    at half that size, ending in an ellipsis at a word boundary only if even those are full
    ("Accueil Parc Bambou" whole on a 212x104 pHAT, not "Accueil Pa...")."""
    face = m.face
    scale = m.header_scale
    if scale < 2 or face.text_width(title, scale) <= room:
        face.draw_text(canvas, m.pad, ty, face.ellipsize(title, room, scale, word=scale >= 2), 0, scale)
        return
    small = max(scale // 2, 2 if m.truetype else 1)   # a TrueType face below 2 is a 6 px smudge
    line_h = font.CELL_H * small
    rows = max(1, (m.header_h - 2) // line_h)
    lines = face.wrap(title, room, 0, small)
    if len(lines) > rows:
        lines = lines[:rows - 1] + [face.ellipsize(" ".join(lines[rows - 1:]), room, small, word=True)]
    y = (m.header_h - len(lines) * line_h) // 2
    for line in lines:
        face.draw_text(canvas, m.pad, y, line, 0, small)
        y += line_h


def footer(canvas, width, height, view, m):
    """Line + festival name (left) + status and, on medium screens, "i/n" (right).  Returns
    the last row above it."""
    face = m.face
    top = height - m.footer_h
    hline(canvas, 0, top, width, 1)
    fy = top + 2
    scale = m.footer_scale
    right = view.get("status") or ""
    pos = view.get("position") or ""
    if pos and not m.position_in_header:
        right = right + "  " + pos if right else pos
    inner = width - 2 * m.pad
    sx = width - m.pad
    if right:
        sx = right_text(face, canvas, sx, fy, face.ellipsize(right, inner * 2 // 3, scale), 1, scale) \
            - font.CELL_W * scale
    fest = view.get("festival") or ""
    if fest:
        face.draw_text(canvas, m.pad, fy, face.ellipsize(fest, sx - m.pad, scale), 1, scale)
    return top - 1


def draw_message(canvas, width, y, bottom, text, status, m):
    """A whole-body message (no schedule yet, nothing more today), centered between ``y`` and
    ``bottom``; ``status`` below it where the screen has no footer to say it."""
    face = m.face
    status = "" if m.footer_h else status
    scale = m.header_scale
    lh = (font.CELL_H + 1) * scale
    reserve = font.CELL_H if status else 0
    room = max(1, (bottom - y - reserve + scale) // lh)
    lines = face.wrap(text, m.inner, room, scale)
    block = len(lines) * lh - scale
    ty = y + max(0, (bottom - y - reserve - block) // 2)
    for t in lines:
        center_text(face, canvas, width, ty, t, 1, scale)
        ty += lh
    if status:
        center_text(face, canvas, width, bottom - font.CELL_H, face.ellipsize(status, m.inner, 1), 1, 1)
