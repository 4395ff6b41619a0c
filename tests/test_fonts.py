"""node/fonts: the large screens' TrueType face comes from the system by name, never bundled."""
import os

import pytest

from pandascreen.core.errors import PandascreenError
from pandascreen.node import fonts, ttf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_found_on_the_system_and_nothing_bundled():
    assert os.path.isfile(fonts.bold()) and fonts.bold().endswith("DejaVuSans-Bold.ttf")
    shipped = [n for _d, _s, names in os.walk(os.path.join(ROOT, "firmware")) for n in names
               if n.lower().endswith((".ttf", ".otf", ".pcf", ".bdf", ".woff", ".woff2"))]
    assert shipped == []


def test_missing_font_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("PANDASCREEN_FONT", raising=False)
    monkeypatch.setattr(fonts, "SEARCH", (str(tmp_path),))
    with pytest.raises(PandascreenError, match=r"apt-get install fonts-dejavu-core") as e:
        ttf.TrueTypeFace()
    assert "\n" not in str(e.value)
    monkeypatch.setenv("PANDASCREEN_FONT", str(tmp_path / "nope.ttf"))
    with pytest.raises(fonts.FontMissing, match="no such font file"):
        fonts.bold()


def test_pandascreen_font_names_another_file(monkeypatch):
    system = fonts.bold()
    monkeypatch.setattr(fonts, "SEARCH", ())
    monkeypatch.setenv("PANDASCREEN_FONT", system)
    assert fonts.bold() == system and ttf.TrueTypeFace().text_width("Main Stage", 2) > 0
