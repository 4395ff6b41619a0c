"""The glyphs a satellite's feed carries: characters of a festival's titles, speakers and
venue names that the board's 5x7 font (core/font.py) has no glyph for, rendered here from the Pi's
TrueType face (node/fonts: DejaVu Sans Bold) to the board's cell.

WHY on the Pi: a board has room neither for a TrueType rasteriser nor for a font of every script;
the feed is signed, so the few bitmaps a festival needs travel with it (core/feed.py reads them in
place, core/font.py draws them by code point).

Faces, in order (``face_paths``): DejaVu Sans Bold (node/fonts), then the fallbacks Debian installs
by name for what DejaVu lacks: WenQuanYi Zen Hei (``fonts-wqy-zenhei``: Chinese, Japanese, Korean)
and Symbola (``fonts-symbola``: emoji and symbols, monochrome).  Each character takes the first face
that has it (``face_for``; the Pi's TrueType layout can ask the same); one no face has stays "?".
A fallback that is not installed is passed over: its characters stay "?", the feed is still served.

Table: ``GLYPH_ENTRY`` (11) bytes per character, sorted by code point: the code point in 3 bytes
big-endian, then 8 rows from the top, bit 4 the leftmost of 5 columns (core/font.py's layout:
capitals in rows 0-6 on the baseline of row 6, descenders in row 7).

Wide characters (core/font_wide.py: CJK, kana, Hangul, fullwidth forms, emoji) use all 8 bits of
a row, bit 7 the leftmost of 8 columns, their ink centred in the 8x8 box: the board draws them 8
pixels wide plus the gap.  CJK comes from WenQuanYi Zen Hei's "Sharp" face at 8 px (one size for
every ideograph of a title: the em box is the board's line); emoji and symbols at the largest of
10, 9, 8 px whose ink fits the box.  A board that predates wide glyphs draws bits 4..0 only: the
right five columns of the box in its 6-pixel cell, clipped, never over the next character.
"""

import functools
import os

from PIL import Image, ImageDraw, ImageFont

from pandascreen.core import font, font_wide
from pandascreen.node import fonts

MAX_GLYPHS = 192  # per feed: 2 KB of a 10 KB feed at most
_SIZE = 8  # pixels: FreeType's hinted outline at the board's cell, capitals on row 6
# (file, Debian package, folders): the fallback faces for characters DejaVu has no glyph for
FALLBACKS = (
    ("wqy-zenhei.ttc", "fonts-wqy-zenhei", ("/usr/share/fonts/truetype/wqy", "/usr/share/fonts/wenquanyi/wqy-zenhei",
                                            "/usr/share/fonts/wqy-zenhei")),
    ("Symbola_hint.ttf", "fonts-symbola", ("/usr/share/fonts/truetype/ancient-scripts", "/usr/share/fonts/gdouros-symbola",
                                           "/usr/share/fonts/TTF")),
)
_WIDE_SIZES = (10, 9, 8)  # pixels tried for a wide glyph, largest first
_IDEOGRAPH_FACES = ("wqy-zenhei.ttc",)  # faces whose wide glyphs are all drawn at _SIZE
_faces = {}
_missing = {}  # path: the bytes of that face's "missing glyph" box in the cell


def _index(path):
    """The face of a collection (.ttc) to use: the one named "... Sharp" (WenQuanYi Zen Hei
    Sharp: hand-drawn bitmaps from 12 px up, its outlines below), else the first."""
    if path.endswith(".ttc"):
        for i in range(8):
            try:
                if ImageFont.truetype(path, _SIZE, index=i).getname()[0].endswith(" Sharp"):
                    return i
            except OSError:
                break
    return 0


def _face(path, size=_SIZE):
    f = _faces.get((path, size))
    if f is None:
        f = _faces[(path, size)] = ImageFont.truetype(path, size, index=_index(path))
    return f


def fallback_paths():
    """The fallback faces (``FALLBACKS``) installed here, in order."""
    out = []
    for name, _package, folders in FALLBACKS:
        for folder in folders + (os.path.expanduser("~/.local/share/fonts"),):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                out.append(path)
                break
    return out


def face_paths():
    """DejaVu Sans Bold (FontMissing without it), then the installed fallbacks."""
    return [fonts.bold()] + fallback_paths()


def has_glyph(path, ch):
    """True if the face at ``path`` draws ``ch`` as something other than its "missing glyph" box."""
    missing = _missing.get(path)
    if missing is None:
        missing = _missing[path] = _ink(_face(path), "\U0010fffd").tobytes()
    return _ink(_face(path), ch).tobytes() != missing


def face_for(ch, paths=None):
    """The path of the first face (``face_paths``) that has a glyph for ``ch``, None if none has."""
    for path in face_paths() if paths is None else paths:
        if has_glyph(path, ch):
            return path
    return None


def needs_glyph(ch):
    """True if the board's font would draw ``ch`` as "?" (no glyph, no transliteration): its own
    font, not the glyph table of the feed a frame on this peer drew last (core/layout.py)."""
    if ch == "?" or ord(ch) < 128:
        return False
    return font.clean(ch, glyphs=True, feed=False) == "?"


def _ink(face, ch):
    """``ch`` drawn without anti-aliasing, its baseline under row 6 of the cell."""
    img = Image.new("1", (4 * font.CELL_W, 2 * font.CELL_H), 0)
    d = ImageDraw.Draw(img)
    d.fontmode = "1"
    d.text((font.CELL_W, font.CELL_H - 1), ch, 1, font=face, anchor="ls")
    return img


def _squeeze(lines, n):
    """``lines`` (bit masks) merged down to ``n``: a face draws 2-pixel strokes, so the line most
    like its neighbour (half of a stroke) goes first, OR-ed into it."""
    while len(lines) > n:
        best = min(range(len(lines) - 1),
                   key=lambda i: (bin(lines[i] ^ lines[i + 1]).count("1"), -bin(lines[i]).count("1")))
        lines[best] |= lines.pop(best + 1)
    return lines


def _wide_ink(path, ch, size):
    """``ch`` at ``size`` pixels without anti-aliasing, cropped to its ink (None: no ink)."""
    img = Image.new("1", (4 * font_wide.WIDE_W, 4 * font_wide.WIDE_W), 0)
    d = ImageDraw.Draw(img)
    d.fontmode = "1"
    d.text((font_wide.WIDE_W, 3 * font_wide.WIDE_W), ch, 1, font=_face(path, size), anchor="ls")
    box = img.getbbox()
    return img.crop(box) if box else None


def _render_wide(ch, path):
    """The 8 rows of wide ``ch``, bit 7 the leftmost of 8 columns, its ink centred in the box."""
    n = font_wide.WIDE_W
    sizes = (_SIZE,) if os.path.basename(path) in _IDEOGRAPH_FACES else _WIDE_SIZES
    for size in sizes:
        ink = _wide_ink(path, ch, size)
        if ink is None or (ink.width <= n and ink.height <= n):
            break
    rows = bytearray(font.CELL_H)
    if ink is None:
        return bytes(rows)
    lines = _squeeze([sum(1 << x for x in range(ink.width) if ink.getpixel((x, y))) for y in range(ink.height)], n)
    cols = _squeeze([sum(1 << y for y in range(len(lines)) if lines[y] >> x & 1) for x in range(ink.width)], n)
    top, left = (n - len(lines)) // 2, (n - len(cols)) // 2
    for x, col in enumerate(cols):
        for y in range(len(lines)):
            if col >> y & 1:
                rows[top + y] |= 128 >> (left + x)
    return bytes(rows)


def render(ch, path=None):
    """The 8 rows of ``ch`` in the board's cell from the face at ``path`` (default: the first of
    ``face_paths`` that has it), None if it has no glyph for it.  Wider than the board's 5 columns,
    it is reduced to them; a wide character (core/font_wide.py) gets the 8x8 box."""
    path = path or face_for(ch)
    if path is None or not has_glyph(path, ch):
        return None
    if font_wide.is_wide(ord(ch)):
        return _render_wide(ch, path)
    img = _ink(_face(path), ch)
    box = img.getbbox()
    rows = bytearray(font.CELL_H)
    if box is None:
        return bytes(rows)
    # columns as bit masks over the rows, reduced to the board's 5
    cols = []
    for x in range(box[0], box[2]):
        cols.append(sum(1 << y for y in range(font.CELL_H) if img.getpixel((x, y))))
    _squeeze(cols, font.GLYPH_W)
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
    paths = (path,) if path else tuple(face_paths())
    out = []
    for ch in wanted:
        if len(out) == limit:
            break
        entry = _entry(ch, paths)
        if entry is not None:
            out.append(entry)
    return b"".join(sorted(out))


def table_here(texts):
    """``table`` of ``texts``, or b"" where this peer has no TrueType face: a board, or a Pi's own
    small panel, then draws "?" for those characters, as before."""
    try:
        return table(texts)
    except (fonts.FontMissing, OSError):
        return b""


@functools.lru_cache(maxsize=1024)
def _entry(ch, paths):
    """``ch``'s line of a glyph table from the first of ``paths`` that has it, or None; kept, as a
    Pi's own small panel asks for the same characters at every frame (node/display.py)."""
    found = face_for(ch, paths)
    rows = render(ch, found) if found else None
    return None if rows is None else ord(ch).to_bytes(3, "big") + rows
