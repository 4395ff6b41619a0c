"""The OLED drivers a Pi's screen installs (pyproject extra ``oled``: luma.oled) with the Pillow
the same install may bring.  luma.oled sends every frame through ``Image.getdata``, which Pillow
says it removes in Pillow 14: a bundle made after that release, with Pillow unbounded, would put
a Pillow on the card under which no OLED frame is drawn.  Each luma panel in core/screens.py
draws a frame here, and every Pillow API it uses that Pillow says it removes in release N must be
kept out by the extra's ``pillow<N``."""
import re
import warnings
from pathlib import Path

import pytest

from pandascreen.core import screens

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent


def _extra(name):
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][name]


def _pillow_cap(requirements):
    """N of a ``pillow<N`` among ``requirements`` (None: Pillow is not bounded there)."""
    for req in requirements:
        m = re.fullmatch(r"\s*pillow\s*(?:>=\s*[\d.]+\s*,\s*)?<\s*(\d+)\s*", req, re.I)
        if m:
            return int(m.group(1))
    return None


def _removals_seen_drawing(chip):
    """The Pillow releases that, by the warnings luma's ``chip`` driver raises drawing one frame,
    remove an API it uses."""
    from luma.core.interface.serial import noop
    from luma.oled import device as oled
    from PIL import Image
    panel = getattr(oled, chip)(serial_interface=noop())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        panel.display(Image.new(panel.mode, panel.size))
    return {int(n) for w in seen for n in re.findall(r"removed in Pillow (\d+)", str(w.message))}


def test_the_oled_extra_keeps_out_every_pillow_that_removes_what_luma_draws_with():
    chips = sorted({screens.info(k)["chip"] for k in screens.kinds() if screens.info(k)["driver"] == "luma"})
    assert chips == ["sh1106", "ssd1306", "ssd1322"]
    for extra in ("oled", "host", "dev"):  # a Pi's screen; the laptop's preview; the tests
        cap = _pillow_cap(_extra(extra))
        for chip in chips:
            for release in _removals_seen_drawing(chip):
                assert cap is not None and cap <= release, (extra, chip, release, _extra(extra))


def test_a_pillow_cap_is_read_as_pip_reads_it():
    assert _pillow_cap(["luma.oled>=3.12", "pillow<14"]) == 14
    assert _pillow_cap(["pillow>=13,<14"]) == 14
    assert _pillow_cap(["luma.oled>=3.12"]) is None
