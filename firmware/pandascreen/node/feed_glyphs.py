"""The glyphs a satellite's feed carries: characters of a festival's titles, speakers and
venue names that the board's 5x7 font (core/font.py) has no glyph for, rendered here from the Pi's
TrueType face (node/fonts: DejaVu Sans Bold) to the board's cell.

WHY on the Pi: a board has room neither for a TrueType rasteriser nor for a font of every script;
the feed is signed, so the few bitmaps a festival needs travel with it (core/feed.py reads them in
place, core/font.py draws them by code point).  A character the face has no glyph for stays "?".

Table: ``GLYPH_ENTRY`` (11) bytes per character, sorted by code point: the code point in 3 bytes
big-endian, then 8 rows from the top, bit 4 the leftmost of 5 columns (core/font.py's layout:
capitals in rows 0-6 on the baseline of row 6, descenders in row 7).
"""

from PIL import Image, ImageDraw, ImageFont

from pandascreen.core import font
from pandascreen.node import fonts

MAX_GLYPHS = 192  # per feed: 2 KB of a 10 KB feed at most
_SIZE = 8  # pixels: FreeType's hinted outline at the board's cell, capitals on row 6
_faces = {}


def _face(path):
    f = _faces.get(path)
    if f is None:
        f = _faces[path] = ImageFont.truetype(path, _SIZE)
    return f


def needs_glyph(ch):
    """True if the board's font would draw ``ch`` as "?" (no glyph, no transliteration)."""
    return ch != "?" and ord(ch) > 127 and font.clean(ch, glyphs=True) == "?"


def _ink(face, ch):
    """``ch`` drawn without anti-aliasing, its baseline under row 6 of the cell."""
    img = Image.new("1", (4 * font.CELL_W, 2 * font.CELL_H), 0)
    d = ImageDraw.Draw(img)
    d.fontmode = "1"
    d.text((font.CELL_W, font.CELL_H - 1), ch, 1, font=face, anchor="ls")
    return img


def render(ch, path=None):
    """The 8 rows of ``ch`` in the board's cell, None if the face has no glyph for it.  Wider
    than the board's 5 columns, it is reduced to them."""
    face = _face(path or fonts.bold())
    img = _ink(face, ch)
    if img.tobytes() == _ink(face, "\U0010fffd").tobytes():  # the face's "missing glyph" box
        return None
    box = img.getbbox()
    rows = bytearray(font.CELL_H)
    if box is None:
        return bytes(rows)
    # columns as bit masks over the rows; a bold face draws 2-pixel strokes, so a glyph wider than
    # the board's 5 columns loses the column most like its neighbour (half of a stroke) until it fits
    cols = []
    for x in range(box[0], box[2]):
        cols.append(sum(1 << y for y in range(font.CELL_H) if img.getpixel((x, y))))
    while len(cols) > font.GLYPH_W:
        best = min(range(len(cols) - 1), key=lambda i: (bin(cols[i] ^ cols[i + 1]).count("1"), -bin(cols[i]).count("1")))
        cols[best] |= cols.pop(best + 1)
    off = (font.GLYPH_W - len(cols)) // 2
    for x, col in enumerate(cols):
        for y in range(font.CELL_H):
            if col >> y & 1:
                rows[y] |= 16 >> (x + off)
    return bytes(rows)


def table(texts, limit=MAX_GLYPHS, path=None):
    """The glyph table (bytes) for the characters of ``texts`` the board's font lacks, in order of
    first use up to ``limit``, sorted by code point."""
    wanted = []
    seen = set()
    for t in texts:
        for ch in t or "":
            if ch not in seen:
                seen.add(ch)
                if needs_glyph(ch):
                    wanted.append(ch)
    out = []
    for ch in wanted:
        if len(out) == limit:
            break
        rows = render(ch, path)
        if rows is not None:
            out.append(ord(ch).to_bytes(3, "big") + rows)
    return b"".join(sorted(out))
