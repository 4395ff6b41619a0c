"""pandascreen.core.font: our bundled 5x7 bitmap font."""

from pandascreen.core import font


class Recorder:
    """Canvas that records painted pixels: {(x, y): color}."""

    def __init__(self, width=None, height=None):
        self.px = {}
        self.calls = 0
        self.width = width
        self.height = height

    def pixel(self, x, y, c):
        self.px[(x, y)] = c

    def fill_rect(self, x, y, w, h, c):
        self.calls += 1
        assert w > 0 and h > 0
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                self.px[(xx, yy)] = c

    def rows(self, w, h):
        return ["".join("#" if (x, y) in self.px else "." for x in range(w)) for y in range(h)]


ASCII = "".join(chr(c) for c in range(32, 127))
ACCENTED = "äöüÄÖÜßéèêàáçñøåíóú"
DESCENDERS = set("gjpqy,_ç")


def test_every_ascii_and_accented_char_has_its_own_glyph():
    seen = {}
    for ch in ASCII + ACCENTED + font.ELLIPSIS:
        assert font.normalize(ch) == ch
        g = bytes(font._glyph(ch))
        assert len(g) == font.CELL_H
        assert all(b < 32 for b in g), "glyph %r wider than 5 columns" % ch
        if ch != " ":
            assert any(g), "glyph %r is empty" % ch
            assert g not in seen, "%r and %r look the same" % (ch, seen.get(g))
            seen[g] = ch
        if ch not in DESCENDERS:
            assert g[7] == 0, "%r uses the descender row" % ch
    for ch in "gjpqy":
        assert font._glyph(ch)[7], ch


def test_glyph_shapes():
    assert font.preview("A") == [
        ".###..", "#...#.", "#...#.", "#####.", "#...#.", "#...#.", "#...#.", "......"]
    assert font.preview("\u00e4")[0] == ".#.#.."
    assert font.preview(font.ELLIPSIS)[6] == "#.#.#."


def test_normalize_transliterates_and_composes():
    assert font.normalize("Straße Köln") == "Straße Köln"
    assert font.normalize("Çağrı Łódź") == "Cagri Lódz"
    assert font.normalize("Æbleskiver œuvre") == "AEbleskiver oeuvre"
    assert font.normalize("e\u0301a\u0308o\u0302") == "éäo"          # decomposed accents
    assert font.normalize("\u201cHi\u201d \u2013 it\u2019s 5\u20ac") == "\"Hi\" - it's 5EUR"
    assert font.normalize("a\tb\nc\u00a0d") == "a b c d"
    assert font.normalize("soft\u00adhy\u200bphen") == "softhyphen"
    assert font.normalize("\u2603 \U0001f43c \u4e2d") == "? ? ?"
    assert font.normalize(None) == ""


TRANSLIT_SAMPLES = {"\u0100": "A", "\u0105": "a", "\u00c6": "AE", "\u0111": "d", "\u0130": "I", "\u0149": "n",
                    "\u0152": "OE", "\u1e9e": "SS", "\u00de": "Th", "\u017e": "z", "\u2014": "-",
                    "\u00b4": "'", "\u00bb": '"', "\u2039": "<", "\u2219": "*", "\u00f7": "/", "\u00b1": "+-",
                    "\u20ac": "EUR", "\u00a9": "(c)", "\u2122": "TM", "\u00be": "3/4", "\u22ef": "...",
                    "\u2603": "?"}


def test_transliteration_table_on_cpython_and_micropython():
    """The table is one "target=characters|..." string (small on a board's heap): the first,
    last and multi-letter targets come out whole, on CPython and under MicroPython."""
    from pandascreen.testing.micropython import run_micropython

    assert {ch: font._translit(ch) for ch in TRANSLIT_SAMPLES} == TRANSLIT_SAMPLES
    out = run_micropython("from pandascreen.core import font\n"
                          "for ch in %r:\n    print(repr(font._translit(ch)))\n" % "".join(TRANSLIT_SAMPLES))
    assert out.split() == [repr(t) for t in TRANSLIT_SAMPLES.values()]


def test_text_width():
    assert font.text_width("") == 0
    assert font.text_width("abc") == 18
    assert font.text_width("abc", scale=2) == 36
    assert font.text_width("æ") == 12               # transliterated to "ae"
    assert font.text_width("e\u0301") == 6


def test_draw_text_paints_glyph_pixels_only():
    c = Recorder()
    w = font.draw_text(c, 0, 0, "Hi!", color=1)
    assert w == 18
    assert c.rows(18, 8) == [a + b + d for a, b, d in zip(*(font.preview(ch) for ch in "Hi!"))]
    assert set(c.px.values()) == {1}
    # horizontal runs are merged into one fill_rect
    c = Recorder()
    font.draw_text(c, 0, 0, "-")
    assert c.calls == 1


def test_draw_text_offset_color_and_scale():
    c1 = Recorder()
    font.draw_text(c1, 3, 5, "Ä7", color=2)
    c2 = Recorder()
    assert font.draw_text(c2, 10, 20, "Ä7", color=2, scale=2) == 24
    assert set(c1.px.values()) == {2}
    expect = set()
    for (x, y) in c1.px:
        for dx in (0, 1):
            for dy in (0, 1):
                expect.add((10 + (x - 3) * 2 + dx, 20 + (y - 5) * 2 + dy))
    assert set(c2.px) == expect


def test_unknown_chars_draw_as_question_mark():
    a = Recorder()
    b = Recorder()
    font.draw_text(a, 0, 0, "\u2603")
    font.draw_text(b, 0, 0, "?")
    assert a.px == b.px


def test_ellipsize():
    assert font.ellipsize("Hello", 30) == "Hello"
    assert font.ellipsize("Hello world", 60) == "Hello wor" + font.ELLIPSIS
    assert font.ellipsize("Hello world", 42) == "Hello" + font.ELLIPSIS     # trailing space trimmed
    assert font.ellipsize("Hi, there", 24) == "Hi" + font.ELLIPSIS          # trailing comma trimmed
    assert font.ellipsize("Hello", 5) == ""
    assert font.ellipsize("Hello world", 60, scale=2) == "Hell" + font.ELLIPSIS
    for n in range(0, 100, 7):
        assert font.text_width(font.ellipsize("Straße \u2013 Café Köln", n)) <= n


def test_wrap_basic():
    assert font.wrap("", 60, 2) == []
    assert font.wrap("   ", 60, 2) == []
    assert font.wrap("one two three four", 60) == ["one two", "three four"]
    assert font.wrap("one two three four", 60, 1) == ["one two t" + font.ELLIPSIS]
    assert font.wrap("one two three four", 60, 2) == ["one two", "three four"]   # exactly fits
    assert font.wrap("one  two\nthree", 200, 3) == ["one two three"]
    assert font.wrap("one two three four", 120, 3, scale=2) == ["one two", "three four"]


def test_wrap_long_words_and_hyphens():
    assert font.wrap("Supercalifragilistic", 60) == ["Supercalif", "ragilistic"]
    assert font.wrap("Supercalifragilistic", 60, 1) == ["Supercali" + font.ELLIPSIS]
    # split after a hyphen when the word does not fit
    assert font.wrap("a Peer-to-peer talk", 60) == ["a Peer-to-", "peer talk"]
    # the ellipsized last line keeps a split word together
    assert font.wrap("Local-first-software-for-everyone here", 60, 2) == [
        "Local-", "first-sof" + font.ELLIPSIS]


def test_wrap_lines_always_fit():
    text = ("Grüße aus Köln: Çağrı & Ñandú über Straßenmusik, Café-Kultur und "
            "Smørrebrød in Århus \u2014 a very-long-hyphenated-word-that-goes-on and on")
    for width in (30, 61, 100, 128, 212):
        for lines in (1, 2, 3, None):
            out = font.wrap(text, width, lines)
            assert out
            if lines:
                assert len(out) <= lines
                assert out[-1].endswith(font.ELLIPSIS)
            for line in out:
                assert font.text_width(line) <= width
                assert line == line.strip()
        full = font.wrap(text, width)
        assert "".join(full).replace(" ", "") == font.normalize(text).replace(" ", "")


def test_wrap_and_ellipsize_with_a_measure_match_the_cells():
    """The TrueType face shares wrap/ellipsize through ``measure``: given the cell widths it must
    give what the bitmap path gives."""
    cells = lambda t: len(t) * font.CELL_W
    for text in ("Opening: Why festivals need local-first software", "W" * 50, "a-b/c-d-e-f-g-h-i-j-k",
                 "Peer-to-peer schedules with p2panda", "", "x"):
        for width in (30, 60, 127, 200):
            for lines in (0, 1, 2, 3):
                assert font.wrap(text, width, lines, measure=cells) == font.wrap(text, width, lines), (text, width)
            assert font.ellipsize(text, width, measure=cells) == font.ellipsize(text, width)


def test_ellipsize_at_a_word_boundary():
    assert font.ellipsize("Accueil Parc Bambou", 13 * 6) == "Accueil Parc\u2026"
    assert font.ellipsize("Accueil Parc Bambou", 15 * 6) == "Accueil Parc B\u2026"
    assert font.ellipsize("Accueil Parc Bambou", 15 * 6, word=True) == "Accueil Parc\u2026"
    # no space in the second half of what fits: cut inside the word
    assert font.ellipsize("A Supercalifragilistic", 12 * 6, word=True) == "A Supercali\u2026"
    assert font.ellipsize("Short", 60, word=True) == "Short"
