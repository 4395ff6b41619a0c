"""Hostile text: any string a writer or an importer publishes draws on every screen.

A venue name, title, speaker or festival name reaches the renderers from any Write member (or a
calendar export's ``LOCATION`` with a line break).  Control characters, newlines, bidi overrides,
combining marks, emoji, empty strings and very long words must all draw, on every screen kind
(TrueType and the 5x7 bitmap font, now/next and the overview) and in ``preview``.
"""
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import ImageChops

from pandascreen.testing import festival as demofest
from pandascreen.core import config, operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.node import app, display
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host.cli import main
from pandascreen.testing.screen import RecordingScreen

SEED = bytes(range(40, 72))
LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)
AT = demofest.DAY_START + 70 * 60  # every demo venue has something on now or next
LARGE = ("hdmi", "inky_what_400x300", "inky_impression_800x480")


def festival_store(venue_name, store=None):
    """The demo festival with its first venue renamed (an ordinary update by the organiser)."""
    store = MemoryStore() if store is None else store
    bodies = demofest.bodies() + [schema.make_body("venue", "update", "main", {"name": venue_name})]
    for i, body in enumerate(bodies):
        store.publish(SEED, body, LOG, demofest.DAY_START * 1000000 + i)
    return store


def device_frame(venue_name, kind, layout_name):
    """The frame the app's ``Device`` (Controller + display) puts on a ``kind`` panel."""
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "display": kind, "layout": layout_name,
                           "organisers": [public_key(SEED).hex()]})
    panel = RecordingScreen()
    shown = panel.shown
    dev = app.Device(cfg, festival_store(venue_name), panel, clock=lambda: AT)
    dev.controller.step(AT)
    assert dev.controller.schedule.venues()[0].name == venue_name and len(shown) == 1
    return shown[0]


def same(a, b):
    return a.size == b.size and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


@pytest.mark.parametrize("kind", LARGE)
@pytest.mark.parametrize("layout_name", ("now_next", "overview"))
def test_a_newline_in_a_venue_name_draws_through_the_app(kind, layout_name):
    """The finding: "Main\\nStage" crash-looped HDMI, wHAT and Impression screens (raqm_layout)."""
    hostile = device_frame("Main\nStage", kind, layout_name)
    plain = device_frame("Main Stage", kind, layout_name)
    assert same(hostile, plain)  # a line break in a name is a space on the screen


@pytest.mark.parametrize("board", ("pi-4-hdmi-tv", "pi-4-inky-what", "pi-4-inky-impression-7"))
def test_a_newline_in_a_venue_name_previews(board, tmp_path, capsys):
    path = str(tmp_path / "festival.db")
    store = SqliteStore(path)
    festival_store("Main\nStage", store)
    store.close()
    out = str(tmp_path / "now.png")
    assert main(["preview", "--board", board, "--store", path, "--at", "@%d" % AT, "-o", out]) == 0
    assert "wrote " in capsys.readouterr().out


# -- any text, every face and every screen kind (Hypothesis) ------------------------------------------

NASTY = [
    "", " ", "\n", "Main\nStage", "Hall\r\nB", "\t\t", "\x00", "\x07bell", "\x1b[31mred", "\x7f", "\x85", "\x9b",
    "\x1c\x1d\x1e\x1f", "line\u2028sep", "para\u2029sep", "\u202eevil\u202c", "\u202dltr", "\u2066iso\u2069",
    "\u200eLRM\u200f", "\u061c", "\ud800", "\udfff", "\ufffe", "\uffff", "\ufeffBOM", "soft\u00adhyphen",
    "e\u0301\u0301\u0301\u0301", "\u0300" * 40, "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 42", "\u0928\u092e\u0938\u094d\u0924\u0947",
    "\U0001f43c\U0001f3aa", "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\U0001f3f4\U000e0067\U000e0062\U000e0065"
    "\U000e006e\U000e0067\U000e007f", "\u4e2d\u6587\u6f14\u8bb2", "Stra\u00dfe", "\U0010ffff", "-/-/-/",
]
ANY_CHARACTER = st.characters(blacklist_categories=())  # controls and lone surrogates included


def _long(args):
    piece, count = args
    return piece * count


hostile_text = st.one_of(
    st.text(ANY_CHARACTER, max_size=40),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY + ["Main", "Stage", " ", "-", "/"]), max_size=8).map("".join),
    # very long words: one over MAX_CHARS, whatever a wrap or a header makes of it
    st.tuples(st.sampled_from(["W", "i", "\u0645", "\U0001f43c", "\u00e9", "a\u0301", "x-"]),
              st.integers(0, 1200)).map(_long),
)


def _faces():
    from PIL import ImageFont

    from pandascreen.core import font
    from pandascreen.node.ttf import TrueTypeFace
    return {"bitmap": font, "raqm": TrueTypeFace(layout_engine=ImageFont.Layout.RAQM),
            "basic": TrueTypeFace(layout_engine=ImageFont.Layout.BASIC)}


FACES = _faces()


def test_pillow_here_has_raqm():
    """The fuzz below runs the TrueType face on raqm (Pillow's default where it has it, as on a
    Pi with libraqm) and on the basic engine (a Pillow without it): raqm must be here to be
    tested (basic always is)."""
    from PIL import features
    assert features.check("raqm")


@pytest.mark.parametrize("face", sorted(FACES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=hostile_text, scale=st.sampled_from((1, 2, 3, 5)), width=st.integers(0, 400))
def test_every_face_measures_draws_wraps_and_ellipsizes_any_text(face, s, scale, width):
    f = FACES[face]
    img = display.new_image("hdmi", (420, 64))
    canvas = display.PILCanvas(img, "rgb")
    assert f.text_width(s, scale) >= 0
    assert f.draw_text(canvas, 2, 2, s, 1, scale) >= 0
    for line in f.wrap(s, width, 3, scale):
        # a line holds at least one character, even one wider than the line (wrap's own rule)
        assert len(line) == 1 or f.text_width(line, scale) <= width, line
        f.draw_text(canvas, 0, 20, line, 2, scale)
    cut = f.ellipsize(s, width, scale, word=True)
    assert f.text_width(cut, scale) <= width
    f.draw_text(canvas, 0, 40, cut, 1, scale)


def _schedule(texts, cancelled):
    """Two venues with now and next each, every string from ``texts``.  A look-alike schedule, not the
    real one: the renderers must survive text no store can hold (lone surrogates, which UTF-8 and
    so CBOR cannot carry, and words past the schema's 1000 characters)."""
    from fakesched import DAY, FakeEvent, FakeSchedule, FakeVenue
    venues = [FakeVenue("a", texts["venue_a"], 0), FakeVenue("b", texts["venue_b"], 1)]
    events = []
    for i, vid in enumerate(("a", "b")):
        events.append(FakeEvent("%s1" % vid, vid, texts["title_now"], DAY, DAY + 3600, texts["speakers"],
                                texts["track"], texts["lang"]))
        events.append(FakeEvent("%s2" % vid, vid, texts["title_next"], DAY + 3600 + 600 * i, DAY + 7200))
    events[0].status = "cancelled" if cancelled else ""
    return FakeSchedule({"name": texts["festival"], "utc_offset": 120}, venues, events)


TEXTS = st.fixed_dictionaries({
    "festival": hostile_text, "venue_a": hostile_text, "venue_b": hostile_text, "title_now": hostile_text,
    "title_next": hostile_text, "speakers": st.lists(hostile_text, max_size=3), "track": hostile_text,
    "lang": hostile_text, "status": hostile_text})


@pytest.mark.parametrize("kind", sorted(display.SCREENS))
@pytest.mark.parametrize("layout_name", display.LAYOUTS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=TEXTS, minute=st.sampled_from((-30, 20, 65, 200)), cancelled=st.booleans())
def test_every_screen_kind_draws_any_text(kind, layout_name, texts, minute, cancelled):
    """Before, during, in a gap and after: now/next and the overview, every panel kind."""
    from fakesched import DAY
    img = display.render_schedule_image(_schedule(texts, cancelled), 0, DAY + minute * 60, kind,
                                        status=texts["status"], view=layout_name)
    assert img.size == (display.SCREENS[kind]["width"], display.SCREENS[kind]["height"])


# -- the one sanitiser ------------------------------------------------------------------------------

BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _letters_and_marks(s):
    import unicodedata
    return [c for c in s if unicodedata.category(c)[0] in "LMN"]


@settings(max_examples=600, deadline=None)
@given(s=hostile_text)
def test_clean_leaves_one_drawable_line_and_keeps_every_letter_and_mark(s):
    import unicodedata

    from pandascreen.core import font
    out = font.clean(s)
    assert font.clean(out) == out and len(out) <= font.MAX_CHARS
    for c in out:
        assert unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp") and c not in BIDI_CONTROLS, repr(c)
    if len(s) <= font.MAX_CHARS:
        # RTL letters, combining marks, digits, CJK and emoji stay, in their order
        assert _letters_and_marks(out) == _letters_and_marks(s)
        assert [c for c in out if unicodedata.category(c) == "So"] == [
            font.REPLACEMENT if unicodedata.category(c) in ("Cc", "Cs") else c for c in s
            if unicodedata.category(c) in ("So", "Cc", "Cs") and not (c.isspace() or c == "\x85")]
    else:
        assert out.endswith(font.ELLIPSIS) and out[:-1] == font.clean(s[:font.MAX_CHARS * 2])[:font.MAX_CHARS - 1]


def test_clean_examples():
    from pandascreen.core import font
    assert font.clean("Main\nStage") == "Main Stage"
    assert font.clean("Hall\r\nB\tC\x0b\x0c\x1cD\x85E\u2028F\u2029G") == "Hall  B C   D E F G"
    assert font.clean("a\x00b\x1b[0m\x7f\x9b") == "a\ufffdb\ufffd[0m\ufffd\ufffd"
    assert font.clean("\u202eevil\u202c and \u2066iso\u2069 \u200f") == "evil and iso "
    assert font.clean("\u05e9\u05dc\u05d5\u05dd e\u0301 \U0001f43c") == "\u05e9\u05dc\u05d5\u05dd e\u0301 \U0001f43c"
    assert font.clean("\ud800x") == "\ufffdx" and font.clean(None) == "" and font.clean(42) == "42"
    long = font.clean("W" * 5000)
    assert len(long) == font.MAX_CHARS and long.endswith(font.ELLIPSIS)
    ascii_only = "Mesh networks at festivals"
    assert font.clean(ascii_only) is ascii_only  # nothing to change: no copy
    # the bitmap font draws what clean left: a space, or "?" where a control character was
    assert font.normalize("Main\nStage\x00") == "Main Stage?"
    assert font.wrap("Main\nStage", 200) == ["Main Stage"]


MP_CLEAN = """
import ubinascii
from pandascreen.core import font
for h in %r:
    s = ubinascii.unhexlify(h).decode()
    print("clean=" + ubinascii.hexlify(font.clean(s).encode()).decode() + "="
          + ubinascii.hexlify(font.normalize(s).encode()).decode())
print("surrogate", ubinascii.hexlify(font.clean("x" + chr(0xd800)).encode()).decode())
"""


def test_clean_is_the_same_on_micropython():
    """The satellite runs the same sanitiser (core/font.py) under MicroPython 1.27 (WebAssembly)."""
    from pandascreen.testing.micropython import run_micropython

    from pandascreen.core import font
    samples = [s for s in NASTY + ["W" * 600, "\u00e9" * 600, "Caf\u00e9\r\nB\u00fchne"]
               if not any(0xD800 <= ord(c) < 0xE000 for c in s)]
    out = run_micropython(MP_CLEAN % ([s.encode().hex() for s in samples],))
    got = [line.split("=")[1:] for line in out.splitlines() if line.startswith("clean=")]
    assert got == [[font.clean(s).encode().hex(), font.normalize(s).encode().hex()] for s in samples]
    assert "surrogate 78efbfbd" in out


MP_FRAMES = """
import framebuf, ubinascii
from pandascreen.core import layout
from pandascreen.testing.festival import GOLDEN_DAY as DAY, event, schedule, venue
for h in %r:
    s = ubinascii.unhexlify(h).decode()
    sched = schedule({"name": s, "utc_offset": 120}, [venue("a", s, 0)],
                     [event("e1", "a", s, DAY, DAY + 3600, [s]), event("e2", "a", s + s, DAY + 3600, DAY + 7200)])
    buf = bytearray(128 * 8)
    fb = framebuf.FrameBuffer(buf, 128, 64, framebuf.MONO_VLSB)
    layout.draw_view(fb, 128, 64, layout.build_view(sched, 0, DAY + 600, s))
    print("frame", ubinascii.hexlify(buf).decode())
"""


def test_a_satellite_draws_the_same_hostile_text_on_micropython():
    """The satellite's own loop: layout + bitmap font on a framebuf under MicroPython, pixel for
    pixel what CPython draws from the same strings."""
    from pandascreen.testing.festival import GOLDEN_DAY as DAY, event, schedule, venue
    from pandascreen.testing.micropython import run_micropython
    from pandascreen.core import layout
    from pandascreen.testing.canvas import VLSBCanvas

    samples = [s for s in NASTY if not any(0xD800 <= ord(c) < 0xE000 for c in s)] + ["W" * 300]
    out = run_micropython(MP_FRAMES % ([s.encode().hex() for s in samples],))
    got = [line.split()[1] for line in out.splitlines() if line.startswith("frame ")]
    assert len(got) == len(samples)
    for s, frame in zip(samples, got):
        sched = schedule({"name": s, "utc_offset": 120}, [venue("a", s, 0)],
                         [event("e1", "a", s, DAY, DAY + 3600, [s]), event("e2", "a", s + s, DAY + 3600, DAY + 7200)])
        c = VLSBCanvas(128, 64)
        layout.draw_view(c, 128, 64, layout.build_view(sched, 0, DAY + 600, s))
        assert frame == bytes(c.buf).hex(), repr(s)


# -- the running screen: a frame that cannot be drawn never stops it ----------------------------------

def _device(kind, shown=None):
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "display": kind,
                           "organisers": [public_key(SEED).hex()]})
    shown = [] if shown is None else shown

    class Panel:
        def show(self, img):
            shown.append(img)

    t = [AT]
    return app.Device(cfg, festival_store("Main Stage"), Panel(), clock=lambda: t[0]), shown, t


def test_a_frame_that_cannot_be_drawn_keeps_the_last_good_one_and_is_said_once(monkeypatch, capsys):
    dev, shown, t = _device("hdmi")  # a live panel: a new frame every minute
    dev.controller.step(t[0])
    good = dev.last_image
    assert len(shown) == 1
    real = display.render

    def broken(view, kind, size=None, page_url=None):
        raise RuntimeError("raqm_layout() failed.")

    monkeypatch.setattr(display, "render", broken)
    for minute in range(1, 6):  # the loop goes on, minute after minute
        t[0] = AT + minute * 60
        dev.controller.step(t[0])
    assert len(shown) == 1 and dev.last_image is good  # the last good frame stays on the panel
    err = capsys.readouterr().err
    assert err.count("cannot draw this frame (RuntimeError: raqm_layout() failed.)") == 1, err
    monkeypatch.setattr(display, "render", real)
    t[0] += 60
    dev.controller.step(t[0])
    assert len(shown) == 2  # drawn again as soon as it can be


def test_a_screen_with_no_good_frame_yet_shows_a_plain_error_frame(monkeypatch, capsys):
    dev, shown, t = _device("hdmi")

    def broken(view, kind, size=None, page_url=None):
        raise ValueError("no")

    monkeypatch.setattr(display, "render", broken)
    dev.run(threading.Event(), once=True)  # the app's own loop returns normally
    assert len(shown) == 1 and same(shown[0], display.render_error_image("hdmi"))
    assert "cannot draw this frame (ValueError: no); the screen keeps an error frame" in capsys.readouterr().err


def test_the_error_frame_draws_on_every_screen_kind():
    from PIL import Image
    for kind, info in display.SCREENS.items():
        img = display.render_error_image(kind)
        assert img.size == (info["width"], info["height"]) and img.mode == info["mode"]
        blank = display.new_image(kind)
        assert not same(img, blank), kind
    assert isinstance(display.render_error_image("ssd1306_128x64", (64, 32)), Image.Image)


# -- pandascreen-host preview, from a store anyone may have written -----------------------------------

PREVIEW_BOARDS = ("pi-zero-2w-ssd1306", "pi-zero-2w-sh1106", "pi-4-ssd1322", "pi-4-inky-phat", "pi-4-inky-what",
                  "pi-4-inky-impression-7", "pi-4-hdmi-tv")
STORABLE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    [s for s in NASTY if not any(0xD800 <= ord(c) < 0xE000 for c in s)])


def test_preview_boards_cover_every_kind_with_a_board_file():
    from pandascreen_host import boards
    kinds = {boards.load_board(b)["screen"]["kind"] for b in PREVIEW_BOARDS}
    assert kinds == {boards.load_board(b)["screen"]["kind"] for b in boards.list_boards()}


@pytest.mark.parametrize("board", PREVIEW_BOARDS)
@pytest.mark.parametrize("layout_name", display.LAYOUTS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(venue=STORABLE, title=STORABLE, festival=STORABLE)
def test_preview_draws_any_text_from_a_store(board, layout_name, venue, title, festival):
    import contextlib
    import io
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "festival.db")
        store = SqliteStore(path)
        festival_store(venue, store)
        for i, body in enumerate((schema.make_body("festival", "update", demofest.FESTIVAL_ID, {"name": festival}),
                                  schema.make_body("event", "update", demofest.event_id(1), {"title": title}))):
            store.publish(SEED, body, LOG, demofest.DAY_START * 1000000 + 100 + i)
        store.close()
        out = os.path.join(tmp, "now.png")
        said = io.StringIO()
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            code = main(["preview", "--board", board, "--store", path, "--at", "@%d" % AT, "--layout", layout_name,
                         "-o", out])
        assert code == 0 and os.path.exists(out), said.getvalue()
