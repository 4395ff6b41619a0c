"""Titles in any script on a satellite: the feed carries the glyphs a festival uses beyond the
board's 5x7 font (rendered by the Pi from DejaVu), and the board draws by code point without
interning a string per character (MicroPython keeps every interned string for good)."""
import re

from mpy import run_micropython

CJK = "".join(chr(0x4E00 + i) for i in range(600))


def _qstrs(out, tag):
    return int(re.search(r"%s qstr pool: n_pool=\d+, n_qstr=(\d+)" % tag, out).group(1))


def test_drawing_many_distinct_characters_interns_none():
    """600 distinct CJK characters drawn (as "?" without a glyph table): the board's string
    table does not grow, so it never needs its ~9 KB block mid-frame."""
    code = """
import micropython
from pandascreen.core import font, layout
class C:
    def fill_rect(self, x, y, w, h, c):
        pass
c = C()
text = %r
font.draw_text(c, 0, 0, "warm up \\u00e4 \\u0416", 1)
font.wrap("warm up \\u00e4 \\u0416 -/ x", 60, 2)
font.ellipsize("warm up \\u00e4 \\u0416", 30)
print("A", end=" ")
micropython.qstr_info()
for i in range(0, len(text), 20):
    t = text[i:i + 20]
    font.draw_text(c, 0, 0, t, 1)
    font.wrap(t + " " + t, 60, 2)
    font.ellipsize(t, 30, word=True)
print("B", end=" ")
micropython.qstr_info()
""" % CJK
    out = run_micropython(code)
    assert _qstrs(out, "A") == _qstrs(out, "B"), out
