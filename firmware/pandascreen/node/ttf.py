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

The canvas must offer ``text(x, y, s, color, font)`` (``display.PILCanvas`` does).  Anti-aliasing
is off on 1-bit and palette canvases (e-paper has no grey) and on for greyscale/RGB ones.
"""

from PIL import ImageFont

from pandascreen.core import font as bitmap
from pandascreen.node import fonts

CELL_W = bitmap.CELL_W
CELL_H = bitmap.CELL_H
# DejaVu's ascent + descent is 1.164 em: the pixel size whose line fills CELL_H * scale
_EM_PER_BOX = 1 / 1.17


class TrueTypeFace:
    """``text_width/draw_text/wrap/ellipsize`` with the bitmap font's signatures, in a TTF."""

    CELL_W = CELL_W
    CELL_H = CELL_H

    def __init__(self, path=None, layout_engine=None):
        self.path = path or fonts.bold()
        self.layout_engine = layout_engine  # None: raqm when Pillow has it, else basic
        self._fonts = {}

    def font(self, scale):
        f = self._fonts.get(scale)
        if f is None:
            f = ImageFont.truetype(self.path, max(6, int(CELL_H * scale * _EM_PER_BOX)),
                                   layout_engine=self.layout_engine)
            self._fonts[scale] = f
        return f

    def text_width(self, s, scale=1):
        return int(round(self.font(scale).getlength(bitmap.clean(s))))

    def draw_text(self, canvas, x, y, s, color=1, scale=1):
        s = " ".join(bitmap.clean(s).split())
        if s:
            canvas.text(x, y, s, color, self.font(scale))
        return self.text_width(s, scale)

    def measure(self, scale):
        """Pixel width of text ``bitmap.wrap``/``ellipsize`` already cleaned (they do, first)."""
        f = self.font(scale)
        return lambda t: f.getlength(t)

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
