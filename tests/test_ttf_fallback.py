"""The Pi's large screens draw what DejaVu lacks from the fallback faces the satellite feed uses
(node/feed_glyphs.py: WenQuanYi Zen Hei for CJK, Symbola for emoji), not as DejaVu's empty box."""
from PIL import Image

from pandascreen.node import feed_glyphs
from pandascreen.node.display import PILCanvas
from pandascreen.node.ttf import TrueTypeFace

BOX = "\U0010fffd"  # no face has it: each face draws its "missing glyph" box


def _drawn(face, text, scale=3):
    img = Image.new("1", (200, 40), 0)
    face.draw_text(PILCanvas(img, "mono"), 0, 0, text, 1, scale)
    return img.tobytes()


def test_the_fallbacks_are_installed_here():
    names = [p.rsplit("/", 1)[-1] for p in feed_glyphs.fallback_paths()]
    assert names == ["wqy-zenhei.ttc", "Symbola_hint.ttf"]


def test_cjk_and_emoji_draw_from_the_fallback_faces_not_as_boxes():
    face = TrueTypeFace()
    for ch in ("开", "会", "\u2600", "\U0001f389"):
        assert _drawn(face, ch) != _drawn(face, BOX), ch
        assert face.text_width(ch, 3) > 0


def test_a_mixed_title_is_as_wide_as_its_runs_and_latin_stays_dejavu():
    face = TrueTypeFace()
    assert face.text_width("Talk 开会", 3) == face.text_width("Talk ", 3) + face.text_width("开会", 3)
    assert _drawn(face, "Main Stage") == _drawn(TrueTypeFace(fallbacks=()), "Main Stage")
