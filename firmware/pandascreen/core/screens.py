# The one table of screen kinds: what every part of pandascreen knows about a panel.
#
# WHY one table: config (which kinds a device may name), refresh (how often a panel may
# redraw), the Pi's display (size, colours, which driver opens it), board files and their
# validation (how a kind is wired), preview and the offline bundle (which pyproject extra
# installs the driver) all read this, so a new panel is one entry here plus its driver in
# node/display.py and its golden images.  Nothing anywhere matches kind names by prefix.
#
# Core, because config and refresh run on boards too: tuples, no classes, no work at import
# (a Pico's heap holds it; comments rather than docstrings for the same reason).

# how a panel may redraw (core/refresh.py says what each means)
FULL_ONLY = "full_only"  # colour e-paper: whole-panel refreshes only, >= 180 s apart
PARTIAL = "partial"      # mono e-paper with partial refresh
LIVE = "live"            # OLED, LCD, TV: whenever the picture changes

# kind: (width, height, palette, refresh, driver, chip, bus)
#   width, height  nominal pixels (previews, golden images; a real panel may report its own)
#   palette        node/display.py PALETTES: "mono", "grey", "tricolor", "7colour", "rgb"
#   refresh        FULL_ONLY, PARTIAL or LIVE
#   driver         a key of DRIVERS (node/display.py opens it)
#   chip           what the driver calls the controller chip ("" where it finds out itself)
#   bus            how a board file wires it: "i2c", "spi" or "hdmi"
SCREENS = {
    "ssd1306_128x64": (128, 64, "mono", LIVE, "luma", "ssd1306", "i2c"),
    "sh1106_128x64": (128, 64, "mono", LIVE, "luma", "sh1106", "i2c"),
    "ssd1322_256x64": (256, 64, "grey", LIVE, "luma", "ssd1322", "spi"),
    "inky_phat_212x104": (212, 104, "tricolor", FULL_ONLY, "inky", "", "spi"),
    "inky_phat_250x122": (250, 122, "tricolor", FULL_ONLY, "inky", "", "spi"),
    "inky_what_400x300": (400, 300, "tricolor", FULL_ONLY, "inky", "", "spi"),
    "inky_impression_800x480": (800, 480, "7colour", FULL_ONLY, "inky", "", "spi"),
    "hdmi": (1280, 720, "rgb", LIVE, "framebuffer", "", "hdmi"),
}
COLUMNS = ("width", "height", "palette", "refresh", "driver", "chip", "bus")
REFRESH = 3

# driver: (the pyproject extra that installs it on a Pi, "" for none; whether its panels have a
# busy line a board file must wire)
DRIVERS = {
    "luma": ("oled", False),
    "inky": ("inky", True),
    "framebuffer": ("", False),
}


def kinds():
    # sorted: MicroPython's dict keeps no order, and error messages list the kinds
    return sorted(SCREENS)


def info(kind):
    # the entry of ``kind`` as a dict (plus "kind", "extra", "busy"); None when unknown
    row = SCREENS.get(kind) if isinstance(kind, str) else None
    if row is None:
        return None
    out = {"kind": kind}
    for i in range(len(COLUMNS)):
        out[COLUMNS[i]] = row[i]
    driver = DRIVERS.get(out["driver"]) or ("", False)
    out["extra"] = driver[0]
    out["busy"] = driver[1]
    return out


def refresh_for(kind):
    # the refresh policy of ``kind``; an unknown kind redraws live (as an OLED)
    row = SCREENS.get(kind) if isinstance(kind, str) else None
    return row[REFRESH] if row is not None else LIVE
