"""pandascreen's bitmap font: 5x7 glyphs in a 6x8 cell.

The glyphs' bitmaps and how they are encoded are in ``font_bitmaps``.  The sixth column of the
cell is the letter gap.

Covered: printable ASCII (32-126), the accented letters in ``font_bitmaps.EXTRA_CHARS`` and an
ellipsis glyph ("\u2026").  Other characters are transliterated (``_TRANSLIT``, decomposed
accents via ``_COMBINE``) or shown as "?".  ``scale=2`` draws every font pixel as a 2x2 block
(clock, e-paper headings).

A satellite's feed adds glyphs by code point (``use_glyphs``); those of wide characters
(``font_wide``: CJK, kana, Hangul, emoji) are 8x8 and take 9 pixels, and every width measured
here (``text_width``, ``ellipsize``, ``wrap``) counts them so.

Every text is ``clean``-ed first, whoever wrote it: a control character, a line break or a
bidi override never reaches a glyph table or a layout engine (the Pi's TrueType face runs the
same function).

To look at a glyph: ``print("\\n".join(preview("Äpfel")))``.

A canvas is anything with ``fill_rect(x, y, w, h, color)`` (MicroPython's
``framebuf.FrameBuffer`` qualifies); nothing else is called.
"""

from pandascreen.core.font_bitmaps import ASCII, EXTRA, EXTRA_CHARS
from pandascreen.core.font_wide import WIDE_W, is_wide

CELL_W = 6
CELL_H = 8
GLYPH_W = 5
ELLIPSIS = "\u2026"

# "target=characters that become it", "|" between: one string on a board's heap, where a
# tuple of (target, characters) pairs was 65 tuples and 130 strings
_TRANSLIT = (
    "A=ÀÁÂÃÅĀĂĄ|a=âãāăą|AE=Æ|ae=æ|C=ÇĆĈĊČ|c=ćĉċč|D=ĎĐÐ|d=ďđð|E=ÈÉÊËĒĔĖĘĚ|e=ëēĕėęě|G=ĜĞĠĢ|g=ĝğġģ|"
    "H=ĤĦ|h=ĥħ|I=ÌÍÎÏĨĪĬĮİ|i=ìîïĩīĭįı|J=Ĵ|j=ĵ|K=Ķ|k=ķ|L=ĹĻĽĿŁ|l=ĺļľŀł|N=ÑŃŅŇ|n=ńņňŉ|O=ÒÓÔÕØŌŎŐ|"
    "o=òôõōŏő|OE=Œ|oe=œ|R=ŔŖŘ|r=ŕŗř|S=ŚŜŞŠȘ|s=śŝşšș|SS=ẞ|T=ŢŤŦȚ|t=ţťŧț|Th=Þ|th=þ|U=ÙÚÛŨŪŬŮŰŲ|"
    "u=ùûũūŭůűų|W=Ŵ|w=ŵ|Y=ÝŶŸ|y=ýÿŷ|Z=ŹŻŽ|z=źżž|-=\u2010\u2011\u2012\u2013\u2014\u2015\u2212|"
    "'=\u2018\u2019\u201a\u201b\u2032\u00b4|\"=\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb|<=\u2039|"
    ">=\u203a|*=\u2022\u00b7\u2219|!=\u00a1|?=\u00bf|x=\u00d7|/=\u00f7|+-=\u00b1|o=\u00b0|"
    "EUR=\u20ac|(c)=\u00a9|(R)=\u00ae|TM=\u2122|1/2=\u00bd|1/4=\u00bc|3/4=\u00be|...=\u22ef"
)

# shown as a plain space
_SPACES = "\u00a0\u2002\u2003\u2009\u200a\u202f\u3000"
# dropped: soft hyphen, zero-width space/joiners, BOM
_DROP = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

# decomposed accents (combining mark, base letters, composed letters we have glyphs for)
_COMBINE = (
    ("\u0308", "aouAOU", "äöüÄÖÜ"),
    ("\u0301", "eaiou", "éáíóú"),
    ("\u0300", "ea", "èà"),
    ("\u0302", "e", "ê"),
    ("\u0303", "n", "ñ"),
    ("\u030a", "a", "å"),
    ("\u0327", "c", "ç"),
)


def _translit(ch):
    # ``ch`` is never ASCII here, so it is found only among the characters, never a target
    i = _TRANSLIT.find(ch)
    if i < 0:
        return "?"
    start = _TRANSLIT.rfind("|", 0, i) + 1
    return _TRANSLIT[start:_TRANSLIT.find("=", start)]


# the longest string a face draws: no screen shows more of one text, and a 4 KB title with no
# space in it would otherwise cost a TrueType wrap a measurement of the whole rest per line
MAX_CHARS = 512
REPLACEMENT = "\ufffd"  # drawn where a character had no business in a name ("?" in this font)


def _ascii(s):
    """The UTF-8 bytes of ``s`` if it is printable ASCII only, else None.

    WHY bytes: MicroPython makes every character a loop takes out of a str a qstr, kept for good,
    and grows the qstr pool in doubling blocks (640 bytes at 160 entries) -- mid-frame, where a
    satellite's fragmented 120 KB heap may have no such block left.  The bytes of a str are small
    ints: nothing is interned, and the one copy is garbage of the size of the text."""
    # "surrogatepass": a CPython str may hold a lone surrogate (a JSON importer's "\ud800"),
    # which plain encode() refuses; MicroPython ignores the arguments
    b = s.encode("utf-8", "surrogatepass")
    if len(b) != len(s):
        return None
    for c in b:
        if c < 32 or c == 127:
            return None
    return b


def _utf8_at(b, i):
    """(code point, byte length) of the UTF-8 sequence at ``b[i]`` (``b`` from ``str.encode``; a
    CPython lone surrogate encoded with "surrogatepass" decodes to its surrogate)."""
    c = b[i]
    if c < 0x80:
        return c, 1
    if c < 0xE0:
        return ((c & 0x1F) << 6) | (b[i + 1] & 0x3F), 2
    if c < 0xF0:
        return ((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F), 3
    return ((c & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F), 4


# -- glyphs a satellite's feed carries (core/feed.py): code point (3 bytes) + 8 rows, by code point
GLYPH_ENTRY = 11
_feed = None  # a memoryview of the feed's glyph table, or None


def use_glyphs(table):
    """Draw with the glyphs of ``table`` (a feed's, read in place) beside this font's; None: none."""
    global _feed
    _feed = table if table else None


def _feed_glyph(o, t=None):
    """Offset of the rows of code point ``o`` in the feed's glyph table (or ``t``), -1 if it has none."""
    t = _feed if t is None else t
    if t is None:
        return -1
    lo, hi = 0, len(t) // GLYPH_ENTRY
    while lo < hi:
        mid = (lo + hi) // 2
        at = mid * GLYPH_ENTRY
        c = (t[at] << 16) | (t[at + 1] << 8) | t[at + 2]
        if c == o:
            return at + 3
        if c < o:
            lo = mid + 1
        else:
            hi = mid
    return -1


def clean(s, max_chars=MAX_CHARS, glyphs=False, feed=True):
    """``s`` as text every face can draw on one line, whoever wrote it: the one sanitiser every
    text path runs first (this font's ``normalize``, wrap and ellipsize, the Pi's TrueType face).

    Line and paragraph breaks, tabs and separators become a space; other control characters (C0,
    DEL, C1) and lone surrogates become ``REPLACEMENT``; bidi embeddings, overrides, isolates and
    marks are dropped (an unpaired override would reorder the rest of the line), while RTL letters
    and combining marks stay; longer than ``max_chars``, it ends in an ellipsis.  None is "".
    Printable ASCII comes back as it is, not copied.  ``glyphs=True`` is ``normalize``: the same
    pass also rewrites every character to one this font has a glyph for (``feed=False``: its own
    glyphs, not those of the table the frame being drawn uses)."""
    if s is None:
        return ""
    s = str(s)
    if _ascii(s) is None:
        out = []
        b = s.encode("utf-8", "surrogatepass")
        i = 0
        while i < len(b):
            # a character as its code point and a str made from its bytes: iterating a str
            # interns every character for good on MicroPython (see _ascii), decoding does not
            o, k = _utf8_at(b, i)
            ch = b[i:i + k].decode("utf-8", "surrogatepass")
            i += k
            if 32 <= o < 127:
                out.append(ch)
            elif o < 32 or 127 <= o < 160 or 0xD800 <= o < 0xE000 or o == 0x2028 or o == 0x2029:
                # line and paragraph breaks (LF, VT, FF, CR, FS..US, NEL, U+2028/9) and tabs read
                # as a space (raqm refuses a paragraph break inside a line outright)
                if 9 <= o <= 13 or 28 <= o <= 31 or o == 0x85 or 0x2028 <= o <= 0x2029:
                    out.append(" ")
                else:
                    out.append("?" if glyphs else REPLACEMENT)
            elif o == 0x61C or o == 0x200E or o == 0x200F or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069:
                pass  # bidi marks, embeddings, overrides, isolates
            elif not glyphs:
                out.append(ch)
            elif ch in _SPACES:
                out.append(" ")
            elif 0x300 <= o < 0x370:
                if out:
                    for mark, bases, composed in _COMBINE:
                        if ch == mark:
                            j = bases.find(out[-1])
                            if j >= 0:
                                out[-1] = composed[j:j + 1]
                            break
            elif ch in _DROP:
                pass
            elif EXTRA_CHARS.find(ch) >= 0 or (feed and _feed_glyph(o) >= 0):
                out.append(ch)
            else:
                out.append(_translit(ch))
        s = "".join(out)
    if len(s) > max_chars:
        s = s[:max_chars - 1] + ELLIPSIS
    return s


def normalize(s):
    """``s`` cleaned (``clean``) and rewritten to characters this font has glyphs for (what gets
    drawn).  Printable ASCII comes back as it is: every ``draw_text`` and ``text_width`` calls
    this, and a list of its characters was garbage on every frame of a satellite."""
    return clean(s, MAX_CHARS, True)


def _glyph(ch, o=None):
    """The 8 rows of character ``ch`` (code point ``o``): ASCII, this font's extras, the feed's, "?"."""
    if o is None:
        o = ord(ch)
    if 32 <= o < 127:
        i = (o - 32) * 8
        return ASCII[i:i + 8]
    i = EXTRA_CHARS.find(ch)
    if i >= 0:
        return EXTRA[i * 8:i * 8 + 8]
    table = _feed  # read once: the table ``_feed_glyph`` looked in
    at = _feed_glyph(o, table)
    if at >= 0:
        return table[at:at + 8]
    return ASCII[(63 - 32) * 8:(64 - 32) * 8]


def _advance(o):
    """Pixels at scale 1 that drawable code point ``o`` takes, its gap included: 6, or 9 for a
    wide character (core/font_wide.py; it has a feed glyph, else ``normalize`` made it "?")."""
    return WIDE_W + 1 if is_wide(o) else CELL_W


def _prefix(s, room):
    """How many leading characters of ``s`` (normalized) fit in ``room`` >= 0 pixels at scale 1."""
    b = s if _feed is None else s.encode("utf-8")  # no feed glyphs: no wide character either
    if len(b) == len(s):
        return min(len(s), room // CELL_W)
    n = w = i = 0
    while i < len(b):
        o, k = _utf8_at(b, i)  # code points from the bytes: nothing interned (see _ascii)
        w += CELL_W if k < 3 else _advance(o)
        if w > room:
            break
        n += 1
        i += k
    return n


def _px(s):
    """Width in pixels at scale 1 of ``s`` (normalized).  Without feed glyphs every character is
    one cell, counted without a copy of the text: wrap measures each word, on every frame."""
    b = s if _feed is None else s.encode("utf-8")
    if len(b) == len(s):
        return len(s) * CELL_W
    w = i = 0
    while i < len(b):
        o, k = _utf8_at(b, i)
        w += CELL_W if k < 3 else _advance(o)
        i += k
    return w


def text_width(s, scale=1):
    """Width in pixels of ``s`` drawn at ``scale`` (a 6-pixel cell a character, 9 a wide one)."""
    return _px(normalize(s)) * scale


def draw_text(canvas, x, y, s, color=1, scale=1):
    """Draw ``s`` with its top-left corner at (x, y); only glyph pixels are painted.

    Returns the width drawn (``text_width(s, scale)``).
    """
    s = "" if s is None else str(s)
    codes = _ascii(s)  # ints, not one-character strs (see _ascii)
    if codes is None or len(codes) > MAX_CHARS:
        codes = normalize(s).encode("utf-8")
    cx = x
    i = 0
    while i < len(codes):
        o, k = _utf8_at(codes, i)
        adv = CELL_W if k < 3 else _advance(o)
        if o != 32:
            rows = ASCII[(o - 32) * 8:(o - 31) * 8] if k == 1 else _glyph(codes[i:i + k].decode("utf-8"), o)
            # a narrow glyph's 5 columns are bits 4..0 of a row, a wide one's 8 are bits 7..0
            cols, left = (GLYPH_W, 16) if adv == CELL_W else (WIDE_W, 128)
            for r in range(CELL_H):
                bits = rows[r]
                c = 0
                while bits and c < cols:
                    if bits & (left >> c):
                        c0 = c
                        while c < cols and bits & (left >> c):
                            bits &= ~(left >> c)
                            c += 1
                        canvas.fill_rect(cx + c0 * scale, y + r * scale, (c - c0) * scale, scale, color)
                    else:
                        c += 1
        i += k
        cx += adv * scale
    return cx - x


def _fits(max_width, scale, measure):
    """A test "does this text fit": this font's cells (``_px``), ``measure(text)`` pixels for
    another face (a proportional TTF on the Pi's large screens shares wrap/ellipsize with us)."""
    if measure is None:
        if max_width is None:
            return lambda t: True
        room = max_width // scale
        return lambda t: _px(t) <= room
    if max_width is None:
        return lambda t: True
    return lambda t: measure(t) <= max_width


def _longest(fits, text, head=""):
    """How many leading characters of ``text`` fit after ``head`` (binary search)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(head + text[:mid]):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _trim_end(s):
    while s and s[-1:] in " ,.;:-/":  # slices: an index interns a character on MicroPython
        s = s[:-1]
    return s


def ellipsize(s, max_width, scale=1, word=False, measure=None):
    """``s`` (normalized) if it fits ``max_width`` pixels, else cut with a trailing ellipsis.

    ``word=True`` cuts at the last word boundary when one lies in the second half of what fits
    ("Accueil Parc…" rather than "Accueil Pa…"); ``measure`` see ``_fits``.
    """
    if measure is None:
        s = normalize(s)
        room = None if max_width is None else max_width // scale
        if room is None or _px(s) <= room:
            return s
        if room < CELL_W:
            return ""
        cut = s[:_prefix(s, room - CELL_W)]
    else:
        s = " ".join(clean(s).split())
        fits = _fits(max_width, scale, measure)
        if fits(s):
            return s
        k = _longest(lambda t: fits(t + ELLIPSIS), s)
        if k <= 0:
            return ""
        cut = s[:k]
    if word and s[len(cut):len(cut) + 1] != " ":
        space = cut.rfind(" ")
        if space * 2 >= len(cut):
            cut = cut[:space]
    return _trim_end(cut) + ELLIPSIS


def _break_at(word, room):
    """Index to split ``word`` after a '-' or '/' so the first part fits ``room`` chars, else 0."""
    i = min(room, len(word) - 1)
    while i > 1:
        if word[i - 1:i] in "-/":
            return i
        i -= 1
    return 0


def wrap(s, max_width, max_lines=None, scale=1, measure=None):
    """Word-wrap ``s`` into lines of at most ``max_width`` pixels.

    Words longer than a line are split after a hyphen/slash where possible, else hard.
    With ``max_lines`` (None/0 = unlimited) the last line is ellipsized when text is left
    over.  Returns a list of normalized strings ([] for blank input).  ``measure`` see ``_fits``.
    """
    fits = _fits(max_width, scale, measure)
    words = (normalize(s) if measure is None else clean(s)).split()
    if not words or not fits(words[0][:1]):
        return []
    lines = []  # [text, glued] - glued: the line continues a word split from the line before
    cur = ""
    glued = False
    i = 0
    while i < len(words):
        w = words[i]
        head = cur + " " if cur else ""
        if fits(head + w):
            cur = head + w
            i += 1
            continue
        room = _longest(fits, w, head) if cur else _longest(fits, w)
        cut = _break_at(w, room) if room >= 3 else 0
        if cut:
            cur = head + w[:cut]
            words[i] = w[cut:]
        elif not cur:
            cur = w[:max(1, room)]
            words[i] = w[len(cur):]
        lines.append([cur, glued])
        glued = words[i] != w
        cur = ""
    if cur:
        lines.append([cur, glued])
    if max_lines and len(lines) > max_lines:
        rest = lines[max_lines - 1][0]
        for text, g in lines[max_lines:]:
            rest = rest + text if g else rest + " " + text
        lines = lines[:max_lines - 1] + [[ellipsize(rest, max_width, scale, measure=measure), False]]
    return [line[0] for line in lines]


def preview(s, on="#", off="."):
    """ASCII-art rows of ``s`` at scale 1 (for looking at glyphs in a terminal)."""
    s = normalize(s)
    out = []
    for r in range(CELL_H):
        row = []
        for ch in s:
            bits = _glyph(ch)[r]
            adv = _advance(ord(ch))
            for c in range(adv):
                row.append(on if c < adv - 1 and bits & ((16 if adv == CELL_W else 128) >> c) else off)
        out.append("".join(row))
    return out
