"""core/screens.py, the one table of screen kinds: every entry complete, and everything reads it.

A new panel is one entry in the table plus its driver (node/display.py ``DRIVERS``) and its golden
images; these tests fail when an entry lacks any of them, and prove that config, refresh, the
display, board files and the bundle follow an entry without naming it anywhere else.
"""
import os

import pytest

from pandascreen.core import config, refresh, screens
from pandascreen.core.errors import ConfigError
from pandascreen.node import display
from pandascreen_host import boards, bundle

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


@pytest.mark.parametrize("kind", sorted(screens.SCREENS))
def test_every_entry_is_complete(kind):
    row = screens.SCREENS[kind]
    assert len(row) == len(screens.COLUMNS), kind
    info = screens.info(kind)
    assert isinstance(info["width"], int) and info["width"] > 0 and isinstance(info["height"], int) \
        and info["height"] > 0, "%s: width and height must be whole pixels > 0" % kind
    assert info["palette"] in display.PALETTES, "%s: palette %r has no colours in node/display.py" % (
        kind, info["palette"])
    assert info["refresh"] in (screens.FULL_ONLY, screens.PARTIAL, screens.LIVE), "%s: no refresh policy" % kind
    assert info["driver"] in screens.DRIVERS, "%s: driver %r is not in core/screens.py DRIVERS" % (
        kind, info["driver"])
    assert info["driver"] in display.DRIVERS, "%s: no driver %r in node/display.py DRIVERS" % (
        kind, info["driver"])
    assert info["bus"] in boards.SCREEN_FIELDS, "%s: bus %r is not one a board file can wire" % (kind, info["bus"])
    assert info["driver"] != "luma" or info["chip"], "%s: luma needs the chip's name" % kind


@pytest.mark.parametrize("kind", sorted(screens.SCREENS))
def test_every_kind_has_golden_images(kind):
    """tests/test_display.py draws every kind (now/next and the overview of an imported
    schedule) against these; a new kind's are made with PANDASCREEN_REGEN_GOLDEN=1."""
    for view in ("now_next", "overview"):
        path = os.path.join(GOLDEN, "%s_%s_imported_frab.png" % (kind, view))
        assert os.path.exists(path), "%s has no golden image %s" % (kind, os.path.basename(path))


def test_every_driver_has_an_opener_and_an_extra_entry():
    assert set(screens.DRIVERS) == set(display.DRIVERS)
    for driver, (extra, busy) in screens.DRIVERS.items():
        assert isinstance(extra, str) and isinstance(busy, bool), driver


def test_everyone_names_the_same_kinds():
    assert set(config.DISPLAYS) == set(display.SCREENS) == set(boards.SCREEN_KINDS) == set(screens.SCREENS)
    assert screens.info("crt_80x25") is None and screens.info(None) is None


def test_a_new_entry_is_all_a_kind_needs(monkeypatch):
    """One entry (named like no existing kind) and config takes it, refresh knows its policy, the
    display draws it, a board file may name it and the bundle carries its driver."""
    monkeypatch.setitem(screens.SCREENS, "epd_7in5_bw", (640, 384, "tricolor", screens.FULL_ONLY, "inky", "", "spi"))
    # node/display.py derives its dicts from the table when it is imported, as after an edit
    monkeypatch.setitem(display.SCREENS, "epd_7in5_bw", dict(screens.info("epd_7in5_bw"), mode="P"))
    cfg = config.validate({"festival_id": "f", "trust_anyone": True, "display": "epd_7in5_bw"})
    assert cfg["display"] == "epd_7in5_bw"
    assert refresh.panel_for("epd_7in5_bw") == refresh.FULL_ONLY
    assert display.new_image("epd_7in5_bw").size == (640, 384)
    board = boards.load_board("pi-4-inky-what")
    board["screen"]["kind"] = "epd_7in5_bw"
    boards.validate(board)  # wired like the wHAT: SPI with a busy line
    del board["pins"]["spi_busy"]
    with pytest.raises(boards.BoardError, match="spi_busy: missing"):
        boards.validate(board)
    assert bundle.extras_for_board({"screen": {"kind": "epd_7in5_bw"}, "pins": {}}) == ["inky"]


def test_a_kind_not_in_the_table_is_refused_everywhere():
    with pytest.raises(ConfigError, match="unknown display 'inky_mono'"):
        config.validate({"festival_id": "f", "trust_anyone": True, "display": "inky_mono"})
    with pytest.raises(ConfigError, match="unknown display"):
        config.validate({"festival_id": "f", "trust_anyone": True, "display": ["hdmi"]})
    board = boards.load_board("pi-4-inky-what")
    board["screen"]["kind"] = "inky_mono"
    with pytest.raises(boards.BoardError, match="unknown screen 'inky_mono'"):
        boards.validate(board)
    assert bundle.extras_for_board({"screen": {"kind": "inky_mono"}, "pins": {}}) == []
    assert refresh.panel_for("inky_mono") == refresh.LIVE


def test_luma_takes_the_bus_from_the_table(monkeypatch):
    """A new SPI OLED (another luma chip) is wired as its entry says, not as its name suggests."""
    import luma.core.interface.serial as serial
    import luma.oled.device as device

    monkeypatch.setattr(serial, "i2c", lambda port, address: ("i2c", port, address))
    monkeypatch.setattr(serial, "spi", lambda **kw: ("spi", kw["port"]))
    monkeypatch.setattr(device, "ssd1351", lambda bus, **kw: bus, raising=False)
    monkeypatch.setitem(display.SCREENS, "ssd1351_128x128", {"chip": "ssd1351", "bus": "spi"})
    assert display.open_luma("ssd1351") == ("spi", 0)
