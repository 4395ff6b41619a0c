"""Screens on Raspberry Pi OS: the one table of screen kinds, PIL canvases, and the
luma (OLED), Inky (e-paper) and framebuffer (HDMI TV) outputs.

Sizes come from ONE place, core/screens.py.  ``SCREENS`` names each kind with its nominal size (what previews,
golden images and a board file's ``[screen] kind`` mean); a real screen opened with
``open_screen`` reports the size the hardware says it has (luma ``device.width/height``, the
Inky that ``inky.auto()`` read from its EEPROM, the framebuffer's sysfs ``virtual_size``), and
``Screen.render`` draws at THAT size.  So a 250x122 SSD1608 Inky pHAT in a board file that
says 212x104 draws at 250x122 (one log line) instead of raising and restarting forever.

The layout (``pandascreen.core.layout``) draws on any canvas with ``pixel``/``fill_rect``;
``PILCanvas`` adapts a PIL image and also draws TrueType text (``node.ttf``), which large
screens (>= 300x200) use: bitmap glyphs scaled 5x look like bricks from three metres.

luma.oled and inky are imported only inside the factories, so this module (and the emulated
screen) works without them.
"""

import os
import threading
import time

from PIL import Image, ImageChops, ImageDraw

from pandascreen.core import config, font, layout, overview, refresh, screens

# palette -> (PIL mode, value of layout colors 0 background / 1 foreground / 2 accent,
#             RGB of each palette index for "P" images)
# Inky pHAT/wHAT: WHITE=0 BLACK=1 RED/YELLOW=2.  Inky Impression (7 colours, inky's
# ac073tc1a/uc8159 order): BLACK=0 WHITE=1 GREEN=2 BLUE=3 RED=4 YELLOW=5 ORANGE=6; a "P" image's
# indices are handed to the panel as they are.
TRICOLOR_RGB = ((255, 255, 255), (0, 0, 0), (255, 0, 0))
SEVEN_COLOUR_RGB = ((0, 0, 0), (255, 255, 255), (0, 255, 0), (0, 0, 255), (255, 0, 0),
                    (255, 255, 0), (255, 140, 0))
PALETTES = {
    "mono": ("1", (0, 255, 255), None),
    "grey": ("L", (0, 255, 150), None),          # SSD1322: 16 grey levels, accent dimmer
    "tricolor": ("P", (0, 1, 2), TRICOLOR_RGB),
    "7colour": ("P", (1, 0, 4), SEVEN_COLOUR_RGB),
    "rgb": ("RGB", ((0, 0, 0), (255, 255, 255), (255, 196, 0)), None),  # a TV: light on dark
}

# the kinds, their sizes, colours and drivers are core/screens.py's one table; here each as a
# dict, with the PIL mode its palette draws in
SCREENS = dict((_kind, screens.info(_kind)) for _kind in screens.SCREENS)
for _info in SCREENS.values():
    _info["mode"] = PALETTES[_info["palette"]][0]

# every layout on the screen: now/next of one venue, or the overview (the whole program at a glance)
LAYOUTS = config.LAYOUTS


def screen_info(screen_kind):
    try:
        return SCREENS[screen_kind]
    except KeyError:
        raise ValueError("unknown screen %r (known: %s)" % (screen_kind, ", ".join(sorted(SCREENS))))


def _size(screen_kind, size):
    info = screen_info(screen_kind)
    return tuple(size) if size else (info["width"], info["height"])


def new_image(screen_kind, size=None):
    """A blank image for ``screen_kind`` (at ``size`` when the device said another)."""
    mode, colors, rgb = PALETTES[screen_info(screen_kind)["palette"]]
    img = Image.new(mode, _size(screen_kind, size), colors[0])
    if rgb:
        pal = [v for c in rgb for v in c]
        img.putpalette(pal + [0] * (768 - len(pal)))
    return img


def face_for(width, height):
    """The text face for a screen: TrueType on large screens, else the core bitmap font."""
    if width >= 300 and height >= 200:
        from pandascreen.node.ttf import default_face
        return default_face()
    return None


class PILCanvas:
    """Layout canvas on a PIL image (``pixel``, ``fill_rect``, ``hline``, ``text``; clipped).

    Layout colors 0/1/2 (background/foreground/accent) become the palette's values
    (``PALETTES``); "mono" is assumed for a mode "1" image, "tricolor" for "P".
    """

    def __init__(self, image, palette=None):
        self.image = image
        self.width, self.height = image.size
        if palette is None:
            palette = {"1": "mono", "P": "tricolor", "L": "grey", "RGB": "rgb"}[image.mode]
        self._colors = PALETTES[palette][1]
        # e-paper and 1-bit screens have no grey for anti-aliased edges
        self._smooth = image.mode in ("L", "RGB")
        # ImageDraw: a frame is ~1000 small rectangles, and Image.paste's per-call checks
        # made drawing 4x slower (14 ms -> 3.8 ms for both screens, same pixels)
        self._draw = ImageDraw.Draw(image)
        if not self._smooth:
            self._draw.fontmode = "1"

    def _value(self, c):
        return self._colors[c] if 0 <= c <= 2 else self._colors[1]

    def pixel(self, x, y, c):
        if 0 <= x < self.width and 0 <= y < self.height:
            self.image.putpixel((x, y), self._value(c))

    def fill_rect(self, x, y, w, h, c):
        # clipped with plain comparisons: called ~1000 times a frame, max/min cost 10% of it
        x1 = x + w
        y1 = y + h
        if x < 0:
            x = 0
        if y < 0:
            y = 0
        if x1 > self.width:
            x1 = self.width
        if y1 > self.height:
            y1 = self.height
        if x1 > x and y1 > y:
            self._draw.rectangle((x, y, x1 - 1, y1 - 1), fill=self._value(c))

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def text(self, x, y, s, c, font):
        """TrueType text with the top of its ascender at ``y`` (node.ttf's contract)."""
        self._draw.text((x, y), s, fill=self._value(c), font=font, anchor="la")


def _render_with(draw, data, screen_kind, size):
    info = screen_info(screen_kind)
    img = new_image(screen_kind, size)
    w, h = img.size
    face = face_for(w, h)
    # the bitmap font of a small panel draws what it lacks (Cyrillic, Greek, Hebrew, CJK, emoji)
    # from the glyphs a satellite's feed carries, made here for this frame (node/feed_glyphs.py)
    glyphs = None if face is not None else data.get("glyphs") or _own_glyphs(data)
    if glyphs and "venues" not in data:
        data = dict(data, glyphs=glyphs)  # draw_view takes the glyphs from the view
    with _GLYPHS_HELD:  # the table is the font's, for one frame: the console draws from many threads
        font.use_glyphs(glyphs)
        try:
            draw(PILCanvas(img, info["palette"]), w, h, data, info["palette"], face)
        finally:
            font.use_glyphs(None)
    return img


_GLYPHS_HELD = threading.Lock()


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _texts(v)


def _own_glyphs(data):
    """The glyph table (node/feed_glyphs.py) of the characters of ``data``'s texts the bitmap font
    has no glyph for; None when every text is ASCII or no TrueType face is at hand ("?" then)."""
    texts = [t for t in _texts(data) if not t.isascii()]
    if not texts:
        return None
    from pandascreen.node import feed_glyphs
    return feed_glyphs.table_here(texts) or None


def render_view_image(view, screen_kind, size=None):
    """Draw a ``layout.build_view`` dict for ``screen_kind`` (at the device's ``size``)."""
    return _render_with(layout.draw_view, view, screen_kind, size)


def render_overview_image(view, screen_kind, size=None):
    """Draw an ``overview.build_overview`` dict (every venue's now/next) for ``screen_kind``."""
    return _render_with(overview.draw_overview, view, screen_kind, size)


def render(view, screen_kind, size=None, page_url=None):
    """A ``build_view`` or ``build_overview`` dict (it has "venues") as an image.  With
    ``page_url`` a large screen also shows where phones find the program page (node/page_qr.py):
    the layout is drawn narrower and the QR code stands in a strip on its right."""
    draw = overview.draw_overview if "venues" in view else layout.draw_view
    if page_url:
        from pandascreen.node import page_qr
        w, h = _size(screen_kind, size)
        geo = page_qr.geometry(page_url, w, h) if face_for(w, h) is not None else None
        if geo is not None:
            img = new_image(screen_kind, (w, h))
            img.paste(_render_with(draw, view, screen_kind, (w - geo[2], h)), (0, 0))
            info = screen_info(screen_kind)
            page_qr.draw(img, page_url, w - geo[2], PALETTES[info["palette"]][1], face_for(w, h))
            return img
    return _render_with(draw, view, screen_kind, size)


DRAW_ERROR = "Cannot draw this screen"


def render_error_image(screen_kind, size=None):
    """A plain frame for a screen that could not draw its schedule: the bitmap font, fixed ASCII
    words, nothing from any writer, so it cannot fail the way the frame it stands in for did."""
    img = new_image(screen_kind, size)
    w, h = img.size
    scale = 2 if w >= 200 else 1
    canvas = PILCanvas(img, screen_info(screen_kind)["palette"])
    x = max(0, (w - font.text_width(DRAW_ERROR, scale)) // 2)
    font.draw_text(canvas, x, (h - font.CELL_H * scale) // 2, DRAW_ERROR, 1, scale)
    return img


def render_name_image(name, screen_kind, size=None):
    """The screen's name as large as the bitmap font draws it across the panel, for the crew
    looking for it ("identify" in the console, core/fleet.py)."""
    img = new_image(screen_kind, size)
    w, h = img.size
    scale = 1
    while scale < 16 and font.text_width(name, scale + 1) <= w - 4 and font.CELL_H * (scale + 1) <= h - 4:
        scale += 1
    canvas = PILCanvas(img, screen_info(screen_kind)["palette"])
    font.draw_text(canvas, max(0, (w - font.text_width(name, scale)) // 2), (h - font.CELL_H * scale) // 2,
                   name, 1, scale)
    return img


def render_schedule_image(schedule, venue_index, now, screen_kind, status="", size=None,
                          view="now_next", page=0, language=None):
    """What ``screen_kind`` shows at Unix time ``now``: now/next of venue ``venue_index``, or
    (``view="overview"``) page ``page`` of the overview, in ``language`` (None: English).  A
    full-refresh-only panel (core/refresh.py) shows absolute times, as the screen itself does (a
    preview must not promise a ticking countdown the Inky never draws)."""
    absolute = refresh.panel_for(screen_kind) == refresh.FULL_ONLY
    if view == config.OVERVIEW:
        built = overview.build_overview(schedule, now, status, page, absolute)
    else:
        built = layout.build_view(schedule, venue_index, now, status, absolute)
    if language:
        from pandascreen.node import i18n
        for each in [built] + (built.get("venues") or []):  # as the screen's controller does
            i18n.translate(each, language)
    draw = render_overview_image if view == config.OVERVIEW else render_view_image
    return draw(built, screen_kind, size)


# -- outputs -------------------------------------------------------------------------------------

class LumaScreen:
    """Shows images on a luma.core device (ssd1306, sh1106, ssd1322, dummy, ...).

    ``set_contrast``/``set_power`` (node/oled_care.py calls them for every frame) send luma's
    ``contrast``/``hide``/``show`` only when the value changes: no I2C traffic every minute."""

    def __init__(self, device):
        self.device = device
        self.size = (device.width, device.height)
        self._contrast = None  # unknown until set: the first call always sends
        self._on = None

    def set_contrast(self, level):
        if level != self._contrast:
            self.device.contrast(level)
            self._contrast = level
        return True

    def set_power(self, on):
        """Panel on (``show``) or off (``hide``: dark and low-power; its RAM keeps the picture)."""
        on = bool(on)
        if on != self._on:
            (self.device.show if on else self.device.hide)()
            self._on = on
        return True

    def show(self, image):
        mode = getattr(self.device, "mode", None)
        if mode and image.mode != mode:
            image = image.convert(mode)
        self.device.display(image)
        return True


def open_luma(chip="ssd1306", port=1, address=0x3C, width=None, height=None, spi_port=0, spi_device=0,
              gpio_dc=24, gpio_reset=25):
    """An OLED through luma.oled on I2C bus ``port`` or on SPI, as the chip's kind in
    core/screens.py is wired (ssd1306/sh1106: I2C, ssd1322: SPI).

    Size defaults to luma's own for the chip (its ``capabilities``); needs I2C/SPI enabled."""
    from luma.oled import device as oled

    make = getattr(oled, chip)
    kw = {}
    if width and height:
        kw = {"width": width, "height": height}
    if next((i["bus"] for i in SCREENS.values() if i.get("chip") == chip), "i2c") == "spi":
        from luma.core.interface.serial import spi
        return make(spi(port=spi_port, device=spi_device, gpio_DC=gpio_dc, gpio_RST=gpio_reset), **kw)
    from luma.core.interface.serial import i2c
    return make(i2c(port=port, address=address), **kw)


def open_luma_ssd1306(port=1, address=0x3C, width=128, height=64):
    """The SSD1306 on I2C bus ``port`` (needs luma.oled and I2C enabled: raspi-config)."""
    return open_luma("ssd1306", port=port, address=address, width=width, height=height)


def inky_palette(inky):
    """"7colour" for an Inky Impression, else "tricolor" (pHAT/wHAT red, yellow or black)."""
    if getattr(inky, "colour", None) == "multi" or hasattr(inky, "DESATURATED_PALETTE"):
        return "7colour"
    return "tricolor"


class InkyScreen:
    """Shows images on a Pimoroni Inky (``set_image`` + ``show``); ``size`` is the panel's own.

    ``show(image)`` skips the refresh when the image equals the last one shown, and when the
    previous refresh was less than ``min_interval`` seconds ago (unless ``force=True``); it
    returns True when the panel was refreshed.
    """

    def __init__(self, inky, min_interval=15.0, clock=time.monotonic):
        self.inky = inky
        self.min_interval = min_interval
        self.clock = clock
        self.refreshes = 0
        self._last = None
        self._last_time = None
        res = getattr(inky, "resolution", None)
        self.size = (getattr(inky, "width", None) or res[0], getattr(inky, "height", None) or res[1])
        self.palette = inky_palette(inky)
        if hasattr(inky, "set_border") and hasattr(inky, "WHITE"):
            inky.set_border(inky.WHITE)

    def show(self, image, force=False):
        if image.size != self.size:
            raise ValueError("image is %dx%d but the Inky is %dx%d: render at the screen's size"
                             % (image.width, image.height, self.size[0], self.size[1]))
        key = (image.mode, image.size, image.tobytes())
        if key == self._last:
            return False
        now = self.clock()
        if not force and self._last_time is not None and now - self._last_time < self.min_interval:
            return False
        self.inky.set_image(image)
        self.inky.show()
        self._last = key
        self._last_time = now
        self.refreshes += 1
        return True


def open_inky():
    """Auto-detect the Inky board from its EEPROM (needs the ``inky`` package and I2C/SPI)."""
    from inky.auto import auto

    return auto()


def framebuffer_geometry(fbdev="/dev/fb0", sysfs="/sys/class/graphics"):
    """(width, height, bits per pixel) of a Linux framebuffer, from sysfs."""
    name = os.path.basename(fbdev)
    with open(os.path.join(sysfs, name, "virtual_size")) as f:
        w, h = (int(v) for v in f.read().strip().split(","))
    with open(os.path.join(sysfs, name, "bits_per_pixel")) as f:
        bpp = int(f.read().strip())
    return w, h, bpp


def framebuffer_bytes(image, bpp):
    """An RGB image as the framebuffer wants it: 32 bpp BGRX, or 16 bpp RGB565 little-endian."""
    rgb = image.convert("RGB")
    if bpp == 32:
        return rgb.tobytes("raw", "BGRX")
    if bpp == 16:
        r, g, b = rgb.split()
        hi = ImageChops.add(r.point(lambda v: v & 0xF8), g.point(lambda v: v >> 5))
        lo = ImageChops.add(g.point(lambda v: (v << 3) & 0xE0), b.point(lambda v: v >> 3))
        return Image.merge("LA", (lo, hi)).tobytes()
    raise ValueError("framebuffer with %d bits per pixel: only 16 and 32 are supported" % bpp)


class FramebufferScreen:
    """An HDMI TV through the Linux framebuffer (``/dev/fb0``; Pi OS's KMS driver provides it).

    Each frame is written whole from offset 0; ``path`` may be any file (tests, or a capture).
    Unchanged frames are not rewritten."""

    def __init__(self, path, size, bpp=32):
        self.path = path
        self.size = tuple(size)
        self.bpp = bpp
        self._last = None

    def show(self, image):
        if image.size != self.size:
            image = image.resize(self.size)
        data = framebuffer_bytes(image, self.bpp)
        if data == self._last:
            return False
        with open(self.path, "r+b" if os.path.exists(self.path) else "wb") as f:
            f.write(data)
        self._last = data
        return True


def open_framebuffer(fbdev="/dev/fb0", sysfs="/sys/class/graphics"):
    w, h, bpp = framebuffer_geometry(fbdev, sysfs)
    return FramebufferScreen(fbdev, (w, h), bpp)


class Screen:
    """A screen kind bound to its output: ``render(view_or_board)`` draws at the output's size."""

    def __init__(self, kind, output, log=None):
        self.kind = kind
        self.output = output
        info = screen_info(kind)
        self.size = tuple(getattr(output, "size", None) or (info["width"], info["height"]))
        palette = getattr(output, "palette", None)
        if palette and palette != info["palette"]:
            # the EEPROM knows better than the board file: draw in the panel's own colours
            self.kind = next(k for k, i in SCREENS.items()
                             if i["driver"] == info["driver"] and i["palette"] == palette)
        if self.size != (info["width"], info["height"]) and log:
            log("the %s screen is %dx%d (not %dx%d): drawing at its own size"
                % (kind, self.size[0], self.size[1], info["width"], info["height"]))

    def render(self, view):
        return render(view, self.kind, self.size)

    def show(self, image):
        return self.output.show(image)

    def set_contrast(self, level):
        """Panel brightness 0-255 where the output has one (an OLED); False where it has none."""
        return self._switch("set_contrast", level)

    def set_power(self, on):
        """Panel on/off where the output can (an OLED); False where it cannot."""
        return self._switch("set_power", on)

    def _switch(self, name, value):
        f = getattr(self.output, name, None)
        return bool(f is not None and f(value))


def _open_luma_output(info, cfg):
    args = {"chip": info["chip"]}
    names = {"i2c_port": "port", "address": "address", "spi_port": "spi_port", "dc": "gpio_dc",
             "reset": "gpio_reset"}
    for k in names:
        if k in cfg:
            args[names[k]] = cfg[k]
    if info["bus"] == "i2c":  # an SPI OLED (ssd1322) takes luma's own size for its chip
        args.update(width=info["width"], height=info["height"])
    return LumaScreen(open_luma(**args))


# driver (core/screens.py) -> opens its output from the kind's entry and the config's "screen"
DRIVERS = {
    "luma": _open_luma_output,
    "inky": lambda info, cfg: InkyScreen(open_inky()),
    "framebuffer": lambda info, cfg: open_framebuffer(cfg.get("framebuffer", "/dev/fb0")),
}


def open_screen(kind, screen_cfg=None, log=None):
    """The hardware behind ``kind`` (a key of ``SCREENS``), sized by the hardware itself."""
    info = screen_info(kind)
    return Screen(kind, DRIVERS[info["driver"]](info, screen_cfg or {}), log)
