"""Board descriptions (``pandascreen_host/board_files/*.toml``): one file per board + screen combination.

The board files are package data, so they travel inside the wheel and ``pip install pandascreen``
finds them without a checkout; ``$PANDASCREEN_BOARDS`` points at another folder (your own boards).

A board file looks like this (all fields are checked by :func:`validate`)::

    name = "pi-zero-2w-ssd1306"            # must match the file name
    description = "Raspberry Pi Zero 2 W with a 0.96in SSD1306 OLED"
    platform = "raspberry-pi-os"           # or "micropython"
    enclosure = "pi-zero-2w-ssd1306.scad"  # file in enclosures/

    [screen]
    kind = "ssd1306_128x64"                # a key of pandascreen/core/screens.py SCREENS
    bus = "i2c"                            # the kind's bus in that table: i2c, spi or hdmi
    i2c_port = 1
    address = 0x3C

    [pins]                                 # BCM GPIO numbers (Pi) or GP numbers (Pico)
    button_next = 17
    button_prev = 27
    i2c_sda = 2
    i2c_scl = 3

    [outline]                              # millimetres, origin = PCB lower-left corner
    pcb = [65.0, 30.0]
    pcb_thickness = 1.4
    holes = [[3.5, 3.5], [61.5, 3.5], [3.5, 26.5], [61.5, 26.5]]
    hole_diameter = 2.75
    screen_module = [27.0, 27.0]
    screen_active = [22.0, 11.0]

    [raspberry_pi]                         # only for platform = "raspberry-pi-os"
    config_txt = ["dtparam=i2c_arm=on"]    # lines provision makes sure are in config.txt
"""

import os
import re

try:
    import tomllib
except ImportError:  # Python < 3.11
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

from pandascreen.core import screens
from pandascreen_host.errors import UserError

PLATFORMS = ("raspberry-pi-os", "micropython")
# the kinds, their buses and whether their driver's panels have a busy line: core/screens.py
SCREEN_KINDS = tuple(screens.kinds())

TOP_FIELDS = ("name", "description", "platform", "enclosure", "screen", "pins", "outline", "raspberry_pi")
REQUIRED_TOP = ("name", "description", "platform", "enclosure", "screen", "pins", "outline")
SCREEN_FIELDS = {"i2c": ("kind", "bus", "i2c_port", "address"), "spi": ("kind", "bus", "spi_port"),
                 "hdmi": ("kind", "bus", "framebuffer")}
BUTTON_PINS = ("button_next", "button_prev")
BUS_PINS = {"i2c": ("i2c_sda", "i2c_scl"), "spi": ("spi_cs", "spi_dc", "spi_reset", "spi_busy"), "hdmi": ()}
OUTLINE_FIELDS = ("pcb", "pcb_thickness", "holes", "hole_diameter", "screen_module", "screen_active")

# Raspberry Pi 40-pin header: BCM GPIO 0-27. I2C1 is fixed to GPIO2/3; SPI0 uses 9/10/11.
PI_GPIO = tuple(range(0, 28))
PI_I2C = {1: (2, 3)}
PI_SPI_FIXED = {0: {9: "SPI0 MISO", 10: "SPI0 MOSI", 11: "SPI0 SCLK"}}
# Pico W: GP23/24/25/29 are wired to the wireless chip, not to the header.
PICO_GP = tuple(range(0, 23)) + (26, 27, 28)
PICO_I2C_SDA = {0: (0, 4, 8, 12, 16, 20), 1: (2, 6, 10, 14, 18, 26)}
PICO_I2C_SCL = {0: (1, 5, 9, 13, 17, 21), 1: (3, 7, 11, 15, 19, 27)}

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class BoardError(UserError):
    def __init__(self, where, problems):
        self.where = where
        self.problems = list(problems)
        text = "; ".join(self.problems)
        super().__init__("%s: %s" % (where, text) if where else text)


BOARD_FILES = "board_files"  # folder beside this module, shipped as package data


def bundled_boards_dir():
    """The board files installed with this package (a wheel unpacks them as plain files)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), BOARD_FILES)


def boards_dir():
    """Folder with the board files: $PANDASCREEN_BOARDS, else the ones shipped with the package."""
    return os.environ.get("PANDASCREEN_BOARDS") or bundled_boards_dir()


def list_boards(directory=None):
    """Sorted names of the known boards (file names without ``.toml``)."""
    directory = directory or boards_dir()
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(n[:-5] for n in names if n.endswith(".toml") and not n.startswith("."))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _pin_label(platform, n):
    return ("GP%d" % n) if platform == "micropython" else ("GPIO%d" % n)


def _pair(value):
    return isinstance(value, list) and len(value) == 2 and all(_is_num(x) for x in value)


def _check_outline(outline, problems):
    if not isinstance(outline, dict):
        problems.append("outline must be a table")
        return
    for key in outline:
        if key not in OUTLINE_FIELDS:
            problems.append("outline.%s: unknown field (known: %s)" % (key, ", ".join(OUTLINE_FIELDS)))
    for key in OUTLINE_FIELDS:
        if key not in outline:
            problems.append("outline.%s: missing field" % key)
    for key in ("pcb", "screen_module", "screen_active"):
        if key in outline:
            v = outline[key]
            if not _pair(v) or v[0] <= 0 or v[1] <= 0:
                problems.append("outline.%s must be [width, height] in mm, both > 0" % key)
    for key in ("pcb_thickness", "hole_diameter"):
        if key in outline and (not _is_num(outline[key]) or outline[key] <= 0):
            problems.append("outline.%s must be a number of mm > 0" % key)
    pcb = outline.get("pcb")
    holes = outline.get("holes")
    if "holes" in outline:
        if not isinstance(holes, list) or not all(_pair(h) for h in holes):
            problems.append("outline.holes must be a list of [x, y] positions in mm")
        elif _pair(pcb):
            for i, (x, y) in enumerate(holes):
                if not (0 < x < pcb[0] and 0 < y < pcb[1]):
                    problems.append("outline.holes[%d] = [%g, %g] lies outside the %gx%g mm PCB"
                                    % (i, x, y, pcb[0], pcb[1]))
    mod, act = outline.get("screen_module"), outline.get("screen_active")
    if _pair(mod) and _pair(act) and (act[0] > mod[0] or act[1] > mod[1]):
        problems.append("outline.screen_active (%gx%g) is larger than outline.screen_module (%gx%g)"
                        % (act[0], act[1], mod[0], mod[1]))


def validate(board):
    """Check a board dict (as read from TOML); raises BoardError listing every problem found.

    Returns the board unchanged when it is fine.
    """
    problems = []
    if not isinstance(board, dict):
        raise BoardError("", ["a board must be a TOML table"])
    platform = _check_top(board, problems)
    screen = board.get("screen")
    bus = None
    if "screen" in board and not isinstance(screen, dict):
        problems.append("screen must be a table")
        screen = None
    if isinstance(screen, dict):
        bus = _check_screen(screen, platform, problems)
    pins = board.get("pins")
    if "pins" in board and not isinstance(pins, dict):
        problems.append("pins must be a table")
        pins = None
    if isinstance(pins, dict):
        _check_pins(pins, screen, bus, platform, problems)
    if "outline" in board:
        _check_outline(board["outline"], problems)
    if "raspberry_pi" in board:
        _check_raspberry_pi(board["raspberry_pi"], platform, problems)
    if problems:
        raise BoardError("", problems)
    return board


def _check_top(board, problems):
    """The top-level fields; returns the platform (None when unknown)."""
    for key in board:
        if key not in TOP_FIELDS:
            problems.append("unknown field %r (known: %s)" % (key, ", ".join(TOP_FIELDS)))
    for key in REQUIRED_TOP:
        if key not in board:
            problems.append("missing field %r" % key)
    name = board.get("name")
    if "name" in board and (not isinstance(name, str) or not _NAME_RE.match(name)):
        problems.append("name must be lowercase letters, digits and dashes, e.g. \"pi-zero-2w-ssd1306\"")
    if "description" in board and (not isinstance(board["description"], str) or not board["description"].strip()):
        problems.append("description must be a non-empty string")
    platform = board.get("platform")
    if "platform" in board and platform not in PLATFORMS:
        problems.append("unknown platform %r (known: %s)" % (platform, ", ".join(PLATFORMS)))
        platform = None
    enclosure = board.get("enclosure")
    if "enclosure" in board and (not isinstance(enclosure, str) or not enclosure.endswith(".scad")
                                 or "/" in enclosure or "\\" in enclosure):
        problems.append("enclosure must be a file name in enclosures/ ending in .scad")
    return platform


def _check_screen(screen, platform, problems):
    """The [screen] table; returns its bus (None when missing, unknown or wrong for the kind)."""
    kind = screen.get("kind")
    if "kind" not in screen:
        problems.append("screen.kind: missing field (one of %s)" % ", ".join(screens.kinds()))
    elif screens.info(kind) is None:
        problems.append("screen.kind: unknown screen %r (known: %s)" % (kind, ", ".join(screens.kinds())))
    bus = screen.get("bus")
    want = (screens.info(kind) or {}).get("bus")
    if "bus" not in screen:
        problems.append("screen.bus: missing field (\"i2c\", \"spi\" or \"hdmi\")")
        bus = None
    elif bus not in SCREEN_FIELDS:
        problems.append("screen.bus: unknown bus %r (known: i2c, spi, hdmi)" % (bus,))
        bus = None
    elif want and bus != want:
        problems.append("screen.bus: a %s screen is connected over %s, not %s" % (kind, want, bus))
        bus = None
    if bus:
        known = SCREEN_FIELDS[bus]
        for key in screen:
            if key not in known:
                problems.append("screen.%s: unknown field for an %s screen (known: %s)"
                                % (key, bus, ", ".join(known)))
        for key in known:
            if key not in screen:
                problems.append("screen.%s: missing field" % key)
    if bus == "i2c":
        _check_i2c_screen(screen, kind, platform, problems)
    if bus == "spi" and "spi_port" in screen:
        port = screen.get("spi_port")
        if platform == "raspberry-pi-os" and port != 0:
            problems.append("screen.spi_port must be 0 on raspberry-pi-os (SPI0 on the header)")
        elif not _is_int(port) or port not in (0, 1):
            problems.append("screen.spi_port must be 0 or 1")
    return bus


def _check_i2c_screen(screen, kind, platform, problems):
    port, addr = screen.get("i2c_port"), screen.get("address")
    if "i2c_port" in screen:
        ports = (1,) if platform == "raspberry-pi-os" else (0, 1)
        if not _is_int(port) or port not in ports:
            problems.append("screen.i2c_port must be %s on %s" % (
                " or ".join(str(p) for p in ports), platform or "this platform"))
    if "address" in screen:
        if not _is_int(addr) or not 0x08 <= addr <= 0x77:
            problems.append("screen.address must be a 7-bit I2C address 0x08..0x77, e.g. 0x3C")
        elif (screens.info(kind) or {}).get("chip") == "ssd1306" and addr not in (0x3C, 0x3D):
            problems.append("screen.address: an SSD1306 answers on 0x3C or 0x3D, not 0x%02X" % addr)


def _check_pins(pins, screen, bus, platform, problems):
    """The [pins] table: the pins the screen's bus needs, each a header pin, none used twice."""
    needed = BUTTON_PINS + (BUS_PINS[bus] if bus else ())
    if isinstance(screen, dict) and not (screens.info(screen.get("kind")) or {"busy": True})["busy"]:
        needed = tuple(p for p in needed if p != "spi_busy")
    known = BUTTON_PINS + BUS_PINS["i2c"] + BUS_PINS["spi"]
    for key in pins:
        if key not in known:
            problems.append("pins.%s: unknown pin (known: %s)" % (key, ", ".join(known)))
        elif bus and key not in needed:
            problems.append("pins.%s: not used by an %s screen" % (key, bus))
    for key in needed:
        if key not in pins:
            problems.append("pins.%s: missing field" % key)
    used = {}
    if platform == "raspberry-pi-os" and bus == "spi" and isinstance(screen, dict):
        for n, what in PI_SPI_FIXED.get(screen.get("spi_port"), {}).items():
            used[n] = "the screen's %s" % what
    for key in sorted(pins, key=lambda k: known.index(k) if k in known else 99):
        _check_pin_number(key, pins[key], platform, used, problems)
    if bus == "i2c" and isinstance(screen, dict) and platform:
        _check_i2c_pins(pins, screen.get("i2c_port"), platform, problems)


def _check_pin_number(key, n, platform, used, problems):
    """One pin: a whole number on the platform's header, not taken yet (``used``: number -> by what)."""
    if not _is_int(n):
        problems.append("pins.%s must be a whole GPIO number, not %r" % (key, n))
        return
    if platform == "raspberry-pi-os" and n not in PI_GPIO:
        problems.append("pins.%s = %d is out of range: Raspberry Pi header pins are BCM GPIO 0-27"
                        % (key, n))
        return
    if platform == "micropython" and n not in PICO_GP:
        problems.append("pins.%s = %d is out of range: Pico W header pins are GP0-GP22 and GP26-GP28"
                        " (GP23-GP25 and GP29 belong to the wireless chip)" % (key, n))
        return
    if n in used:
        problems.append("pin %s is used twice: %s and pins.%s"
                        % (_pin_label(platform, n), used[n], key))
    else:
        used[n] = "pins.%s" % key


def _check_i2c_pins(pins, port, platform, problems):
    """SDA and SCL on pins that can carry the screen's I2C bus."""
    sda, scl = pins.get("i2c_sda"), pins.get("i2c_scl")
    if platform == "raspberry-pi-os" and port in PI_I2C and _is_int(sda) and _is_int(scl):
        if (sda, scl) != PI_I2C[port]:
            problems.append("pins.i2c_sda/i2c_scl must be GPIO2/GPIO3 for I2C bus 1 on a Raspberry Pi")
    if platform == "micropython" and port in (0, 1):
        if _is_int(sda) and sda in PICO_GP and sda not in PICO_I2C_SDA[port]:
            problems.append("pins.i2c_sda = GP%d cannot be SDA of I2C%d (use one of %s)" % (
                sda, port, ", ".join("GP%d" % p for p in PICO_I2C_SDA[port])))
        if _is_int(scl) and scl in PICO_GP and scl not in PICO_I2C_SCL[port]:
            problems.append("pins.i2c_scl = GP%d cannot be SCL of I2C%d (use one of %s)" % (
                scl, port, ", ".join("GP%d" % p for p in PICO_I2C_SCL[port])))


def _check_raspberry_pi(rpi, platform, problems):
    if platform == "micropython":
        problems.append("raspberry_pi: only allowed for platform \"raspberry-pi-os\"")
    elif not isinstance(rpi, dict):
        problems.append("raspberry_pi must be a table")
    else:
        for key in rpi:
            if key != "config_txt":
                problems.append("raspberry_pi.%s: unknown field (known: config_txt)" % key)
        lines = rpi.get("config_txt", [])
        if not isinstance(lines, list) or not all(isinstance(x, str) and x.strip() and "\n" not in x
                                                  for x in lines):
            problems.append("raspberry_pi.config_txt must be a list of single-line strings")


def load_file(path):
    """Read and validate one board file; the file name must match its ``name``."""
    if tomllib is None:
        raise UserError("reading board files needs Python 3.11+ or the 'tomli' package (pip install tomli)")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UserError("board file %s does not exist" % path)
    except OSError as e:
        raise UserError("cannot read board file %s: %s" % (path, e.strerror or e))
    except tomllib.TOMLDecodeError as e:
        raise BoardError(path, ["not valid TOML: %s" % e])
    try:
        validate(data)
    except BoardError as e:
        raise BoardError(path, e.problems)
    stem = os.path.basename(path)[:-5] if path.endswith(".toml") else None
    if stem and data["name"] != stem:
        raise BoardError(path, ["name %r does not match the file name %s.toml" % (data["name"], stem)])
    return data


def load_board(name, directory=None):
    """Board dict by name (``pi-zero-2w-ssd1306``) or by path to a ``.toml`` file."""
    if not isinstance(name, str) or not name:
        raise UserError("no board given (known: %s)" % ", ".join(list_boards(directory)))
    if name.endswith(".toml") or os.sep in name or "/" in name:
        return load_file(name)
    directory = directory or boards_dir()
    known = list_boards(directory)
    if name not in known:
        hint = ""
        close = [k for k in known if name.lower() in k or k in name.lower()]
        if close:
            hint = " -- did you mean %s?" % " or ".join(close)
        raise UserError("unknown board %r (known: %s)%s" % (name, ", ".join(known) or "none", hint))
    return load_file(os.path.join(directory, name + ".toml"))


def screen_config(board):
    """The ``screen`` part of the device config (pandascreen.core.config) for this board."""
    s = board["screen"]
    if s["bus"] == "i2c":
        out = {"i2c_port": s["i2c_port"], "address": s["address"]}
        if board["platform"] == "micropython":
            out["sda"] = board["pins"]["i2c_sda"]
            out["scl"] = board["pins"]["i2c_scl"]
        return out
    if s["bus"] == "hdmi":
        return {"framebuffer": s["framebuffer"]}
    out = {"spi_port": s["spi_port"], "cs": board["pins"]["spi_cs"], "dc": board["pins"]["spi_dc"],
           "reset": board["pins"]["spi_reset"]}
    if "spi_busy" in board["pins"]:
        out["busy"] = board["pins"]["spi_busy"]
    return out


def button_config(board):
    return {"next": board["pins"]["button_next"], "prev": board["pins"]["button_prev"]}
