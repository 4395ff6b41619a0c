"""Titles in any script on a satellite: the feed carries the glyphs a festival uses beyond the
board's 5x7 font (rendered by the Pi from DejaVu), and the board draws by code point without
interning a string per character (MicroPython keeps every interned string for good)."""
import re

from pandascreen.testing.micropython import run_micropython

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


import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from pandascreen.core import feed, font, layout  # noqa: E402
from pandascreen.core.crypto import SigningKey, public_key  # noqa: E402
from pandascreen.core.schedule import Schedule  # noqa: E402
from pandascreen.node import feed_glyphs, feed_sign  # noqa: E402
import goldens  # noqa: E402
from pandascreen.testing.canvas import VLSBCanvas  # noqa: E402

SEED = bytes(range(9, 41))
T0 = 1767261600
TITLES = {  # venue: (name, title, speakers)
    "german": ("Große Bühne", "Über Straßen, Brücken & Größe", "Jürgen Weiß"),
    "french": ("Salle Œuf", "Être ou ne pas être : l'œuvre", "Hélène Noël"),
    "cyrillic": ("Зал 1", "Свободное ПО для всех", "Ирина Жукова"),
    "greek": ("Αίθουσα", "Ελεύθερο λογισμικό σήμερα", "Νίκος Παππάς"),
    "cjk": ("会场", "开源软件与社区", "李雷"),
    "emoji": ("Tent \u2600", "Party \U0001F600 \U0001F389 \U0001F680 \u2764", "DJ \u266B \U0001F3B8"),
}


def scripts_feed():
    s = Schedule()
    n = [0]

    def apply(kind, doc_id, fields):
        n[0] += 1
        s.apply({"v": 1, "kind": kind, "action": "create", "id": doc_id, "fields": fields}, 1, n[0].to_bytes(4, "big"))

    apply("festival", "scripts", {"name": "Scripts", "utc_offset": 60})
    for i, (vid, (name, title, who)) in enumerate(sorted(TITLES.items())):
        apply("venue", vid, {"name": name, "order": i})
        apply("event", vid + "-1", {"venue": vid, "title": title, "start": T0, "end": T0 + 3600, "speakers": [who]})
        apply("event", vid + "-2", {"venue": vid, "title": title[::-1], "start": T0 + 3600, "end": T0 + 7200})
    items = feed_sign.payload(s, "scripts", T0 + 600, [], public_key(SEED), None, version=feed.VERSION)
    data = bytearray(feed_sign.sign_payload(items, SigningKey(SEED)))
    info = feed.Checker("scripts", [public_key(SEED)]).check(data, len(data))
    return feed.FeedView(data, info, 1), sorted(TITLES)


def frame(view, index, now=T0 + 1200):
    c = VLSBCanvas(128, 64)
    layout.draw_view(c, 128, 64, layout.build_view(view, index, now, "synced 12:10"))
    img = Image.new("1", (128, 64))
    img.putdata([c.get(x, y) for y in range(64) for x in range(128)])
    return img


def test_the_feed_carries_the_glyphs_the_board_lacks():
    view, order = scripts_feed()
    table = bytes(view.glyphs())
    codes = [int.from_bytes(table[i:i + 3], "big") for i in range(0, len(table), feed.GLYPH_ENTRY)]
    assert codes == sorted(codes)
    for ch in "ЖСвΕλ\u2600\U0001F600\U0001F389会场开\u674e":
        assert ord(ch) in codes, ch
    for ch in "äÜßéŒ":  # the board's font or its transliteration has these
        assert ord(ch) not in codes, ch
    assert not feed_glyphs.needs_glyph("ä") and feed_glyphs.needs_glyph("Ж")


@pytest.mark.parametrize("script", sorted(TITLES))
def test_titles_in_any_script_draw_legibly_on_a_satellite(script):
    """The satellite's frame of each script's venue (tests/golden/satellite_<script>.png): no "?"
    where the Pi's face has the glyph; the same frame without the feed's glyphs differs."""
    view, order = scripts_feed()
    img = frame(view, order.index(script))
    goldens.check(img, "satellite_%s" % script)
    name, title, who = TITLES[script]
    if script not in ("german", "french"):
        assert "?" not in font.normalize(title)  # drawn with the feed's glyphs (normalize sees them now)
        bare = feed.FeedView(view.buf, view.info, 2)
        bare.glyphs = lambda: None
        assert frame(bare, order.index(script)).tobytes() != img.tobytes()


def _alphabet_feed(tmp_path, name, chars, issued):
    """A 12-venue feed whose titles use ``chars`` (its glyph table, if any, carried), signed."""
    s = Schedule()
    n = [0]

    def apply(kind, doc_id, fields):
        n[0] += 1
        s.apply({"v": 1, "kind": kind, "action": "create", "id": doc_id, "fields": fields}, 1, n[0].to_bytes(4, "big"))

    apply("festival", "abc", {"name": "ABC", "utc_offset": 0})
    per = max(1, len(chars) // 24)
    for v in range(12):
        apply("venue", "v%d" % v, {"name": "Venue %d" % v, "order": v})
        for e in range(2):
            k = (v * 2 + e) * per
            apply("event", "v%d-%d" % (v, e), {"venue": "v%d" % v, "title": chars[k:k + per] or "x",
                                               "start": T0 + e * 3600, "end": T0 + (e + 1) * 3600})
    items = feed_sign.payload(s, "abc", issued, [], public_key(SEED), None, version=feed.VERSION)
    data = feed_sign.sign_payload(items, SigningKey(SEED))
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _covered(start, count):
    out = []
    cp = start
    while len(out) < count and cp < start + 4096:
        ch = chr(cp)
        if feed_glyphs.needs_glyph(ch) and ch.isprintable() and feed_glyphs.render(ch) is not None:
            out.append(ch)
        cp += 1
    return "".join(out)


def test_heap_and_string_table_do_not_depend_on_the_alphabet(tmp_path):
    """On MicroPython: frames of every venue of an ASCII feed, then of four feeds of ~190 distinct
    Cyrillic, Greek, symbol and (wide) CJK characters each (their glyphs in the feed): the string
    table does not grow and the live heap after each is the ASCII one's, within a few hundred bytes."""
    ascii_ = "".join(chr(c) for c in range(65, 91)) * 8
    alphabets = [_covered(0x400, 190), _covered(0x370, 190), _covered(0x2190, 190), _covered(0x4E00, 190)]
    paths = [_alphabet_feed(tmp_path, "f%d" % i, a, T0 + 600) for i, a in enumerate([ascii_] + alphabets)]
    from pandascreen.testing.micropython import run_scenario
    steps = "".join("""
info, view = None, None
info, view = show(%d, %r)
print("feed", %d, info.glyphs_len // feed.GLYPH_ENTRY)
info, view = None, None
# live: feed
""" % (i, p, i) + ("""print("A", end=" ")
micropython.qstr_info()
""" if i == 0 else "") for i, p in enumerate(paths))
    code = """
import micropython, framebuf
from pandascreen.core import feed, layout, font
c = framebuf.FrameBuffer(bytearray(128 * 8), 128, 64, framebuf.MONO_VLSB)
buf = bytearray(10240)
chk = feed.Checker("abc", [bytes.fromhex(%r)])
def show(i, path):
    f = open(path, "rb")
    n = f.readinto(buf)
    f.close()
    info = chk.check(buf, n)
    view = feed.FeedView(buf, info, i + 1)
    for v in range(len(view.venues())):
        layout.draw_view(c, 128, 64, layout.build_view(view, v, %d, "synced"))
    return info, view
show(0, %r)
""" % (public_key(SEED).hex(), T0 + 1200, paths[0]) + steps + """
print("B", end=" ")
micropython.qstr_info()
"""
    ((_, out),) = run_scenario("satellite frames in five alphabets", code, dirs=[str(tmp_path)])[:1]
    assert _qstrs(out, "A") == _qstrs(out, "B"), out
    glyphs = [int(line.split()[2]) for line in out.splitlines() if line.startswith("feed ")]
    heap = [int(line.split()[2]) for line in out.splitlines() if line.startswith("LIVE feed ")]
    assert glyphs[0] == 0 and min(glyphs[1:]) >= 150, out
    assert len(heap) == 5 and max(heap) - min(heap) < 512, out


def test_a_peer_without_the_face_still_serves_the_feed(monkeypatch):
    monkeypatch.setenv("PANDASCREEN_FONT", "/nonexistent/face.ttf")
    monkeypatch.setattr(feed_glyphs, "_faces", {})
    view, order = scripts_feed()
    assert view.glyphs() is None and view.info.venue_count == len(TITLES)


def test_characters_dejavu_lacks_come_from_the_fallback_faces():
    """CJK from WenQuanYi Zen Hei, emoji DejaVu lacks from Symbola (both Debian packages by name,
    installed by .ci/run); what DejaVu has stays DejaVu's."""
    zenhei, symbola = feed_glyphs.fallback_paths()
    assert zenhei.endswith("wqy-zenhei.ttc") and symbola.endswith("Symbola_hint.ttf")
    assert feed_glyphs.face_for("Ж") == feed_glyphs.face_paths()[0]
    assert feed_glyphs.face_for("\u5f00") == zenhei
    assert feed_glyphs.face_for("\U0001F389") == symbola
    assert feed_glyphs.face_for("\U00013000") is None  # an Egyptian hieroglyph: no face here has it
    assert feed_glyphs.render("\u5f00") == feed_glyphs.render("\u5f00", zenhei) != bytes(8)


def test_without_the_fallbacks_cjk_stays_a_question_mark(monkeypatch):
    monkeypatch.setattr(feed_glyphs, "fallback_paths", lambda: [])
    view, order = scripts_feed()
    table = bytes(view.glyphs())
    codes = {int.from_bytes(table[i:i + 3], "big") for i in range(0, len(table), feed.GLYPH_ENTRY)}
    assert ord("Ж") in codes and ord("\u5f00") not in codes and ord("\U0001F389") not in codes
    assert view.info.venue_count == len(TITLES)
