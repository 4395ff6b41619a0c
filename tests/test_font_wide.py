"""Wide glyphs on a satellite: CJK, Hangul, kana, fullwidth forms and emoji travel in the feed as
8x8 bitmaps and take 8 px + the letter gap on the board, and every width the board's layout
measures (ellipsis, wrap, centring, right alignment) counts them at that width, on CPython and on
MicroPython alike."""
import json
import unicodedata

from pandascreen.core import font, font_wide
from pandascreen.node import feed_glyphs
from pandascreen.testing.canvas import VLSBCanvas
from pandascreen.testing.micropython import run_micropython

# whole blocks of pictographs drawn wide, though a few of theirs are narrow in East Asian Width
PICTOGRAPH_BLOCKS = ((0x1F300, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF))

FULL = bytes([0xFF] * 8)
# a synthetic glyph table: an 8x8 box for two ideographs and a 5-column one for Cyrillic Zhe
TABLE = b"".join(sorted([
    (0x416).to_bytes(3, "big") + bytes([0x1F] * 8),
    (0x4E00).to_bytes(3, "big") + FULL,
    (0x4E8C).to_bytes(3, "big") + bytes([0x81] * 8),
]))
TEXTS = ["\u4e00\u4e8c" * 12, "Talk \u4e00\u4e8c\u4e00 und \u0416 \u4e00" * 3, "ABC " + "\u4e00" * 20,
         "\u4e00 \u4e8c \u4e00\u4e8c \u4e00\u4e8c\u4e00 " * 4, "plain ascii title that is long enough to cut"]
WIDTHS = [9, 20, 33, 60, 100, 126]


def _pictograph(cp):
    return any(a <= cp <= b for a, b in PICTOGRAPH_BLOCKS)


def test_wide_is_east_asian_width_w_or_f_and_the_pictograph_blocks():
    for cp in range(0x32000):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cn", "Cs", "Co"):
            continue
        want = unicodedata.east_asian_width(ch) in "WF" or _pictograph(cp)
        assert font_wide.is_wide(cp) == want, hex(cp)


def test_micropython_decides_wide_ness_the_same_way():
    probes = sorted({cp + d for a, b in font_wide.ranges() for cp in (a, b) for d in (-1, 0, 1)} | {65, 0xE9, 0x416})
    code = "from pandascreen.core import font_wide\nprint([font_wide.is_wide(c) for c in %r])" % probes
    got = run_micropython(code).strip().splitlines()[-1]
    assert got == repr([font_wide.is_wide(c) for c in probes])


def _drawn(s, x=3):
    font.use_glyphs(memoryview(TABLE))
    try:
        c = VLSBCanvas(200, 8)
        w = font.draw_text(c, x, 0, s)
        cols = sorted({px for px in range(200) for y in range(8) if c.get(px, y)})
        return w, cols
    finally:
        font.use_glyphs(None)


def test_a_wide_glyph_draws_eight_columns_and_advances_nine():
    w, cols = _drawn("A\u4e00B")
    assert w == font.CELL_W + font_wide.WIDE_W + 1 + font.CELL_W
    assert [x for x in cols if 3 + 6 <= x < 3 + 15] == list(range(9, 17))  # all 8 columns of the box
    assert min(x for x in cols if x >= 3 + 15) >= 3 + 15  # "B" starts after the gap
    font.use_glyphs(memoryview(TABLE))
    try:
        assert font.text_width("A\u4e00B") == w and font.text_width("\u4e00", 2) == 18
        assert font.text_width("\u0416") == font.CELL_W  # a narrow feed glyph keeps the 6-pixel cell
        assert font.text_width("\u4e8c\u4e8c") == 18
    finally:
        font.use_glyphs(None)
    assert font.text_width("\u4e00") == font.CELL_W  # without the feed's glyph: "?", one cell


def _measures():
    """What the board's layout measures, for every text and width: ellipsize, wrap, and the width
    drawn of each (the same code runs on MicroPython below)."""
    out = []
    for s in TEXTS:
        for w in WIDTHS:
            e = font.ellipsize(s, w)
            ew = font.ellipsize(s, w, word=True)
            lines = font.wrap(s, w, 2)
            out.append([w, e, font.text_width(e), ew, font.text_width(ew), lines, [font.text_width(t) for t in lines]])
    return out


def test_every_measurement_counts_wide_glyphs_at_their_width():
    font.use_glyphs(memoryview(TABLE))
    try:
        got = _measures()
        assert font.ellipsize("\u4e00" * 3, 27) == "\u4e00" * 3  # exactly fits
        assert font.ellipsize("\u4e00" * 4, 27) == "\u4e00\u4e00\u2026"
    finally:
        font.use_glyphs(None)
    for w, e, e_w, ew, ew_w, lines, line_w in got:
        assert e_w <= w and ew_w <= w and all(x <= w for x in line_w), (w, e, ew, lines)
    # an ellipsis is not the whole answer: what fits is used (a 60-pixel line holds six ideographs)
    assert any(e.startswith("\u4e00\u4e8c" * 3) for w, e, *_ in got if w == 60)


def test_micropython_measures_the_same():
    code = """
import json
from pandascreen.core import font
font.use_glyphs(memoryview(bytes.fromhex(%r)))
out = []
for s in %s:
    for w in %r:
        e = font.ellipsize(s, w)
        ew = font.ellipsize(s, w, word=True)
        lines = font.wrap(s, w, 2)
        out.append([w, e, font.text_width(e), ew, font.text_width(ew), lines, [font.text_width(t) for t in lines]])
print(json.dumps(out))
""" % (TABLE.hex(), json.dumps(TEXTS), WIDTHS)
    got = json.loads(run_micropython(code).strip().splitlines()[-1])
    font.use_glyphs(memoryview(TABLE))
    try:
        assert got == json.loads(json.dumps(_measures()))
    finally:
        font.use_glyphs(None)


def test_micropython_draws_a_wide_glyph_the_same():
    code = """
import framebuf
from pandascreen.core import font
font.use_glyphs(memoryview(bytes.fromhex(%r)))
buf = bytearray(200)
fb = framebuf.FrameBuffer(buf, 200, 8, framebuf.MONO_VLSB)
w = font.draw_text(fb, 3, 0, "A\\u4e00B\\u4e8c")
print(w, sorted(set(x for x in range(200) for y in range(8) if fb.pixel(x, y))))
""" % TABLE.hex()
    w, cols = _drawn("A\u4e00B\u4e8c")
    assert run_micropython(code).strip().splitlines()[-1] == "%d %r" % (w, cols)


def test_the_feed_carries_wide_characters_as_eight_by_eight():
    """CJK from WenQuanYi Zen Hei's Sharp face, emoji from Symbola: the full 8 columns of the
    entry (bit 7 leftmost); a narrow character keeps the 5-column cell (bits 4..0)."""
    zenhei = feed_glyphs.fallback_paths()[0]
    assert feed_glyphs._face(zenhei).getname()[0] == "WenQuanYi Zen Hei Sharp"
    for ch in "\u5f00\u6e90\u8f6f\u4ef6\ud55c\u30ab\U0001F600\U0001F680":
        rows = feed_glyphs.render(ch)
        assert len(rows) == 8 and any(r & 0xE0 for r in rows), ch  # ink beyond the narrow cell's columns
        assert sum(bin(r).count("1") for r in rows) >= 12, ch
    assert all(r < 32 for r in feed_glyphs.render("\u0416"))
    assert feed_glyphs.render("\u5f00") == feed_glyphs.render("\u5f00", zenhei)


def test_the_glyphs_a_feed_carries_do_not_depend_on_the_frame_drawn_last():
    """A full peer that drew a satellite frame (core/layout.py sets the board font's glyph table)
    and then signs the next feed still carries every glyph: what the board lacks is judged
    against the board's own font, not against the last feed drawn."""
    from test_feed_glyphs import frame, scripts_feed
    view, order = scripts_feed()
    first = bytes(view.glyphs())
    frame(view, order.index("cjk"))
    try:
        again, _ = scripts_feed()
        assert bytes(again.glyphs()) == first
    finally:
        font.use_glyphs(None)


def _cjk_feed(tmp_path):
    """A signed feed of one venue whose name and titles are long runs of ideographs."""
    from pandascreen.core import feed
    from pandascreen.core.crypto import SigningKey, public_key
    from pandascreen.core.schedule import Schedule
    from pandascreen.node import feed_sign
    from test_feed_glyphs import SEED, T0
    s = Schedule()
    n = [0]

    def apply(kind, doc_id, fields):
        n[0] += 1
        s.apply({"v": 1, "kind": kind, "action": "create", "id": doc_id, "fields": fields}, 1, n[0].to_bytes(4, "big"))

    apply("festival", "cjk", {"name": "CJK", "utc_offset": 60})
    apply("venue", "hall", {"name": "\u56fd\u9645\u4f1a\u8bae\u4e2d\u5fc3\u5927\u793c\u5802", "order": 0})
    apply("event", "a", {"venue": "hall", "title": "\u5f00\u6e90\u8f6f\u4ef6\u4e0e\u793e\u533a" * 4,
                         "start": T0, "end": T0 + 3600, "speakers": ["\u674e\u96f7" * 9]})
    apply("event", "b", {"venue": "hall", "title": "\u4e16\u754c\u4f60\u597d" * 6, "start": T0 + 3600, "end": T0 + 7200})
    items = feed_sign.payload(s, "cjk", T0 + 600, [], public_key(SEED), None, version=feed.VERSION)
    path = tmp_path / "cjk.feed"
    path.write_bytes(feed_sign.sign_payload(items, SigningKey(SEED)))
    return str(path), public_key(SEED), T0 + 1200


_FRAME = """
from pandascreen.core import feed, layout, font
from pandascreen.testing.canvas import VLSBCanvas
def cjk_frame(path, key, now):
    f = open(path, "rb")
    buf = bytearray(f.read())
    f.close()
    info = feed.Checker("cjk", [key]).check(buf, len(buf))
    c = VLSBCanvas(200, 64)  # wider than the screen: a stroke past its edge stays visible
    layout.draw_view(c, 128, 64, layout.build_view(feed.FeedView(buf, info, 1), 0, now, "synced"))
    font.use_glyphs(None)
    return c
"""


def test_a_cjk_title_is_cut_at_the_screen_edge_on_cpython_and_micropython(tmp_path):
    """Titles, speakers and the venue name of ideographs (9 pixels each) on a 128x64 board: each
    line ends in an ellipsis inside the screen, the venue name before the header's "1/1 11:20",
    and MicroPython draws the very same frame."""
    path, key, now = _cjk_feed(tmp_path)
    scope = {}
    exec(_FRAME, scope)
    c = scope["cjk_frame"](path, key, now)
    past = [(x, y) for y in range(64) for x in range(128, 200) if c.get(x, y)]
    assert not past, past[:5]
    # the header is inverted: its ink is where the bar is cleared; the clock block stands alone
    header = [x for x in range(128) if any(not c.get(x, y) for y in range(1, 8))]
    clock_from = 128 - 1 - font.text_width("1/1 11:20")
    name = [x for x in header if x < clock_from]
    assert name and max(name) < clock_from - 2, (max(name), clock_from)
    code = _FRAME + "c = cjk_frame(%r, bytes.fromhex(%r), %d)\nprint(bytes(c.buf).hex())\n" % (path, key.hex(), now)
    got = run_micropython(code, dirs=[str(tmp_path)]).strip().splitlines()[-1]
    assert got == bytes(c.buf).hex()


def test_a_narrow_character_draws_only_its_five_columns_of_an_eight_column_entry():
    """How a board draws an entry's bits 7..5 where it takes the character as narrow (a board
    flashed before wide glyphs takes every character so): not at all, the glyph is clipped to its
    cell and the next character starts 6 pixels on."""
    table = (0x416).to_bytes(3, "big") + FULL
    font.use_glyphs(memoryview(table))
    try:
        c = VLSBCanvas(40, 8)
        w = font.draw_text(c, 0, 0, "\u0416\u0416")
    finally:
        font.use_glyphs(None)
    assert w == 2 * font.CELL_W
    assert [x for x in range(40) if c.get(x, 0)] == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
