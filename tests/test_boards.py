"""Board files (pandascreen_host/board_files/*.toml), how they are found, and their validation."""

import copy
import os

import pytest

from pandascreen_host import boards
from pandascreen_host.cli import main
from pandascreen_host.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED = ["pi-4-inky-phat", "pi-zero-2w-ssd1306", "pico-w-ssd1306"]
BUNDLED = os.path.join(ROOT, "host_tools", "pandascreen_host", "board_files")


def test_list_boards():
    assert set(EXPECTED) <= set(boards.list_boards())


def test_board_files_ship_inside_the_package(monkeypatch):
    monkeypatch.delenv("PANDASCREEN_BOARDS", raising=False)
    assert boards.boards_dir() == BUNDLED
    assert boards.list_boards() == sorted(n[:-5] for n in os.listdir(BUNDLED) if n.endswith(".toml"))
    assert not os.path.exists(os.path.join(ROOT, "boards")), "board files live in one place: " + BUNDLED


def test_pandascreen_boards_env_points_elsewhere(monkeypatch, tmp_path, capsys):
    src = open(os.path.join(BUNDLED, "pico-w-ssd1306.toml")).read()
    (tmp_path / "my-pico.toml").write_text(src.replace('name = "pico-w-ssd1306"', 'name = "my-pico"'))
    monkeypatch.setenv("PANDASCREEN_BOARDS", str(tmp_path))
    assert boards.list_boards() == ["my-pico"]
    assert boards.load_board("my-pico")["platform"] == "micropython"
    assert main(["boards"]) == 0
    assert "my-pico" in capsys.readouterr().out
    monkeypatch.setenv("PANDASCREEN_BOARDS", str(tmp_path / "missing"))
    assert main(["boards"]) == 2
    assert "no board files found in %s" % (tmp_path / "missing") in capsys.readouterr().err


@pytest.mark.parametrize("name", EXPECTED)
def test_every_board_file_is_valid(name):
    b = boards.load_board(name)
    assert b["name"] == name
    assert b["screen"]["kind"] in boards.SCREEN_KINDS
    assert os.path.isfile(os.path.join(ROOT, "enclosures", b["enclosure"])), b["enclosure"]
    assert boards.validate(copy.deepcopy(b)) == b
    # what provision puts into the device config
    sc = boards.screen_config(b)
    assert boards.button_config(b) == {"next": b["pins"]["button_next"], "prev": b["pins"]["button_prev"]}
    if b["screen"]["bus"] == "i2c":
        assert sc["address"] == 0x3C


def test_load_board_by_path():
    b = boards.load_board(os.path.join(BUNDLED, "pico-w-ssd1306.toml"))
    assert b["platform"] == "micropython"


def good():
    return copy.deepcopy(boards.load_board("pi-zero-2w-ssd1306"))


def problems(board):
    with pytest.raises(boards.BoardError) as ei:
        boards.validate(board)
    return ei.value.problems


def test_missing_field():
    b = good()
    del b["platform"]
    assert "missing field 'platform'" in problems(b)
    b = good()
    del b["pins"]["button_prev"]
    assert "pins.button_prev: missing field" in problems(b)
    b = good()
    del b["outline"]["holes"]
    assert "outline.holes: missing field" in problems(b)


def test_unknown_screen_lists_known_ones():
    b = good()
    b["screen"]["kind"] = "ili9341_320x240"
    p = problems(b)
    assert any("unknown screen 'ili9341_320x240'" in x and "inky_phat_212x104" in x for x in p), p


def test_wrong_bus_for_screen():
    b = good()
    b["screen"]["bus"] = "spi"
    assert any("connected over i2c, not spi" in x for x in problems(b))


def test_pin_used_twice():
    b = good()
    b["pins"]["button_prev"] = 17
    p = problems(b)
    assert "pin GPIO17 is used twice: pins.button_next and pins.button_prev" in p, p


def test_button_on_a_spi_pin_of_the_screen():
    b = copy.deepcopy(boards.load_board("pi-4-inky-phat"))
    b["pins"]["button_next"] = 10
    assert any("GPIO10 is used twice: the screen's SPI0 MOSI and pins.button_next" in x for x in problems(b))


def test_pin_out_of_range_per_platform():
    b = good()
    b["pins"]["button_next"] = 28
    assert any("button_next = 28 is out of range" in x and "BCM GPIO 0-27" in x for x in problems(b))
    p = copy.deepcopy(boards.load_board("pico-w-ssd1306"))
    p["pins"]["button_next"] = 23  # WL_ON on a Pico W
    assert any("button_next = 23 is out of range" in x and "wireless chip" in x for x in problems(p))
    p["pins"]["button_next"] = True
    assert any("must be a whole GPIO number" in x for x in problems(p))


def test_pi_i2c_must_use_gpio2_3():
    b = good()
    b["pins"]["i2c_sda"], b["pins"]["i2c_scl"] = 4, 5
    assert any("GPIO2/GPIO3" in x for x in problems(b))


def test_pico_i2c_pins_must_belong_to_the_port():
    b = copy.deepcopy(boards.load_board("pico-w-ssd1306"))
    b["pins"]["i2c_sda"] = 6  # SDA of I2C1, not I2C0
    assert any("GP6 cannot be SDA of I2C0" in x for x in problems(b))


def test_unknown_and_misplaced_fields():
    b = good()
    b["colour"] = "red"
    b["pins"]["button_middle"] = 22
    b["pins"]["spi_cs"] = 8
    p = problems(b)
    assert any(x.startswith("unknown field 'colour'") for x in p)
    assert any(x.startswith("pins.button_middle: unknown pin") for x in p)
    assert "pins.spi_cs: not used by an i2c screen" in p
    pico = copy.deepcopy(boards.load_board("pico-w-ssd1306"))
    pico["raspberry_pi"] = {"config_txt": ["dtparam=i2c_arm=on"]}
    assert any("only allowed for platform" in x for x in problems(pico))


def test_bad_address_and_outline():
    b = good()
    b["screen"]["address"] = 0x50
    b["outline"]["holes"].append([70.0, 3.5])
    b["outline"]["screen_active"] = [30.0, 11.0]
    p = problems(b)
    assert any("SSD1306 answers on 0x3C or 0x3D" in x for x in p)
    assert any("holes[4] = [70, 3.5] lies outside the 65x30 mm PCB" in x for x in p)
    assert any("screen_active (30x11) is larger" in x for x in p)


def test_all_problems_reported_at_once():
    b = good()
    b["platform"] = "arduino"
    b["screen"]["kind"] = "lcd"
    err = problems(b)
    assert len(err) >= 2


def test_unknown_board_lists_known_ones():
    with pytest.raises(UserError) as ei:
        boards.load_board("pi-5-oled")
    msg = str(ei.value)
    assert "unknown board 'pi-5-oled'" in msg
    for n in EXPECTED:
        assert n in msg


def test_broken_toml_and_name_mismatch(tmp_path):
    (tmp_path / "x.toml").write_text("name = \n")
    with pytest.raises(boards.BoardError) as ei:
        boards.load_board("x", directory=str(tmp_path))
    assert "not valid TOML" in str(ei.value)
    src = open(os.path.join(BUNDLED, "pico-w-ssd1306.toml")).read()
    (tmp_path / "my-pico.toml").write_text(src)
    with pytest.raises(boards.BoardError) as ei:
        boards.load_board("my-pico", directory=str(tmp_path))
    assert "does not match the file name" in str(ei.value)


def test_cli_boards(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for n in EXPECTED:
        assert n in out
    assert main(["boards", "pi-4-inky-phat"]) == 0
    out = capsys.readouterr().out
    assert "inky_phat_212x104 on SPI0" in out and "button_next=GPIO5" in out
    assert main(["boards", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown board 'nope'") and "Traceback" not in err


def test_cli_import_hands_its_arguments_to_import_cmd(monkeypatch, capsys):
    import importlib.machinery
    import sys
    import types

    import pandascreen_host

    from pandascreen_host import import_cmd as real

    calls = []
    fake = types.ModuleType("pandascreen_host.import_cmd")
    fake.__spec__ = importlib.machinery.ModuleSpec("pandascreen_host.import_cmd", None)
    fake.run = lambda args: calls.append(args) or 0
    fake.add_span_arguments, fake.add_identity_arguments = real.add_span_arguments, real.add_identity_arguments
    fake.add_parser = real.add_parser
    monkeypatch.setitem(sys.modules, "pandascreen_host.import_cmd", fake)
    monkeypatch.setattr(pandascreen_host, "import_cmd", fake, raising=False)
    assert main(["import", "fahrplan.xml", "--key", "org.key", "--festival-id", "f", "--timezone",
                 "Europe/Berlin", "--dry-run"]) == 0
    a = calls[0]
    assert (a.schedule, a.store, a.key, a.festival_id, a.timezone, a.dry_run) == \
        ("fahrplan.xml", "festival.db", "org.key", "f", "Europe/Berlin", True)

    from pandascreen.core.errors import ScheduleImportError

    def bad(args):
        raise ScheduleImportError("line 3: event has no start time")
    fake.run = bad
    assert main(["import", "x.csv"]) == 2
    assert capsys.readouterr().err == "error: line 3: event has no start time\n"

    def bug(args):  # not one of ours: a bug, so it keeps its traceback instead of a vague one-liner
        raise ValueError("oops")
    fake.run = bug
    with pytest.raises(ValueError, match="oops"):
        main(["import", "x.csv"])


def test_cli_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["provision"]) == 2
    assert "--board" in capsys.readouterr().err
    assert main(["--help"]) == 0
