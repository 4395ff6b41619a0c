"""A TrueType face for the layout on large screens (the system's DejaVu Sans Bold, node/fonts).

The layout (``pandascreen.core.layout``) sizes everything in cells of the 6x8 bitmap font times
an integer ``scale``; this face keeps that contract so one layout serves both: text drawn at
``scale`` fills a box ``CELL_H * scale`` pixels high (ascender to descender, so a "y" keeps its
tail), and widths are the face's real, proportional widths.  Wrapping and ellipsizing are the
bitmap font's own functions given this face's ``measure`` (one word-wrap for both).

Every string is ``bitmap.clean``-ed before Pillow sees it, the bitmap font's own sanitiser: a
paragraph break (LF, CR, U+2029, ...) makes raqm's layout fail outright, and a bidi override
would reorder the whole line.  Layout engine: raqm where Pillow has it (it puts Hebrew and
Arabic in reading order and joins Arabic letters; combining marks sit on their letters), else
Pillow's basic engine; cleaned text draws under both (tests/test_hostile_text.py runs both).

What DejaVu has no glyph for (CJK, emoji) is drawn from the fallback faces the satellite feed
uses too (node/feed_glyphs.py: WenQuanYi Zen Hei, Symbola): a string is split into runs, each in
the first face that has its characters, measured and drawn one after the other.

The canvas must offer ``text(x, y, s, color, font)`` (``display.PILCanvas`` does).  Anti-aliasing
is off on 1-bit and palette canvases (e-paper has no grey) and on for greyscale/RGB ones.
"""

from PIL import ImageFont

from pandascreen.core import font as bitmap
from pandascreen.node import feed_glyphs, fonts

CELL_W = bitmap.CELL_W
CELL_H = bitmap.CELL_H
# DejaVu's ascent + descent is 1.164 em: the pixel size whose line fills CELL_H * scale
_EM_PER_BOX = 1 / 1.17


class TrueTypeFace:
    """``text_width/draw_text/wrap/ellipsize`` with the bitmap font's signatures, in a TTF."""

    CELL_W = CELL_W
    CELL_H = CELL_H

    def __init__(self, path=None, layout_engine=None, fallbacks=None):
        self.path = path or fonts.bold()
        self.layout_engine = layout_engine  # None: raqm when Pillow has it, else basic
        # faces for what the first lacks; by default the installed ones of node/feed_glyphs.py
        self.paths = [self.path] + list(feed_glyphs.fallback_paths() if fallbacks is None else fallbacks)
        self._fonts = {}
        self._face_of = {}  # character: index in ``paths`` of the face that draws it

    def font(self, scale, face=0):
        f = self._fonts.get((scale, face))
        if f is None:
            f = ImageFont.truetype(self.paths[face], max(6, int(CELL_H * scale * _EM_PER_BOX)),
                                   layout_engine=self.layout_engine)
            self._fonts[(scale, face)] = f
        return f

    def _face_index(self, ch):
        if ch < "\u0250" or len(self.paths) == 1:  # Latin: DejaVu has it (and the common case stays cheap)
            return 0
        i = self._face_of.get(ch)
        if i is None:
            path = feed_glyphs.face_for(ch, self.paths)
            i = self._face_of[ch] = 0 if path is None else self.paths.index(path)
        return i

    def runs(self, s):
        """``s`` (cleaned) as ``[(face index, text)]``: each run in the first face that has it."""
        if not s or len(self.paths) == 1 or max(s) < "\u0250":
            return [(0, s)] if s else []
        out = []
        for ch in s:
            i = self._face_index(ch)
            if out and (out[-1][0] == i or ch == " "):
                out[-1] = (out[-1][0], out[-1][1] + ch)
            else:
                out.append((i, ch))
        return out

    def _length(self, s, scale):
        return sum(self.font(scale, i).getlength(t) for i, t in self.runs(s))

    def text_width(self, s, scale=1):
        return int(round(self._length(bitmap.clean(s), scale)))

    def draw_text(self, canvas, x, y, s, color=1, scale=1):
        s = " ".join(bitmap.clean(s).split())
        at = x
        for i, t in self.runs(s):
            f = self.font(scale, i)
            canvas.text(int(round(at)), y, t, color, f)
            at += f.getlength(t)
        return self.text_width(s, scale)

    def measure(self, scale):
        """Pixel width of text ``bitmap.wrap``/``ellipsize`` already cleaned (they do, first)."""
        return lambda t: self._length(t, scale)

    def wrap(self, s, max_width, max_lines=None, scale=1):
        return bitmap.wrap(s, max_width, max_lines, scale, measure=self.measure(scale))

    def ellipsize(self, s, max_width, scale=1, word=False):
        return bitmap.ellipsize(s, max_width, scale, word=word, measure=self.measure(scale))


_DEFAULT = []


def default_face():
    """The system's DejaVu Sans Bold (node/fonts), loaded once per process."""
    if not _DEFAULT:
        _DEFAULT.append(TrueTypeFace())
    return _DEFAULT[0]
