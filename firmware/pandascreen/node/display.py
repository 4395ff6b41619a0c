"""[CPython] Screens on Raspberry Pi OS: PIL canvas for the layout, luma.oled SSD1306, Inky e-paper.

The layout (``pandascreen.core.layout``) draws on any canvas with ``pixel``/``fill_rect``;
``PILCanvas`` adapts a PIL image to that.  Images are then handed to a screen:

* ``LumaScreen(device)`` - any luma.core device (``luma.core.device.dummy`` in tests,
  ``open_luma_ssd1306()`` on a Pi with an I2C SSD1306 at 0x3C).
* ``InkyScreen(inky)`` - Pimoroni Inky pHAT/wHAT (``open_inky()`` auto-detects it).  E-paper
  refreshes take seconds and wear the panel, so unchanged images are skipped and refreshes
  are rate-limited.

luma.oled and inky are imported only inside the factories, so this module (and the
emulated screen) works without them.
"""

import time

from PIL import Image, ImageDraw

from pandascreen.core import layout

# palette index -> RGB for e-paper images (Inky's WHITE=0, BLACK=1, RED/YELLOW=2)
TRICOLOR_RGB = ((255, 255, 255), (0, 0, 0), (255, 0, 0))

SCREENS = {
    "ssd1306_128x64": {"width": 128, "height": 64, "palette": "mono", "mode": "1"},
    "inky_phat_212x104": {"width": 212, "height": 104, "palette": "tricolor", "mode": "P"},
    "inky_what_400x300": {"width": 400, "height": 300, "palette": "tricolor", "mode": "P"},
}


def screen_info(screen_kind):
    try:
        return SCREENS[screen_kind]
    except KeyError:
        raise ValueError("unknown screen %r (known: %s)" % (screen_kind, ", ".join(sorted(SCREENS))))


def new_image(screen_kind):
    """A blank image for ``screen_kind``: mode "1" (mono OLED) or "P" white/black/red (Inky)."""
    info = screen_info(screen_kind)
    size = (info["width"], info["height"])
    if info["mode"] == "1":
        return Image.new("1", size, 0)
    img = Image.new("P", size, 0)
    pal = []
    for rgb in TRICOLOR_RGB:
        pal.extend(rgb)
    img.putpalette(pal + [0] * (768 - len(pal)))
    return img


class PILCanvas:
    """Layout canvas on a PIL image (``pixel``, ``fill_rect``, ``hline``; clipped to the image).

    Mode "1": color 0 is off (background), 1 and 2 are lit.  Mode "P": colors are palette
    indices (0 white, 1 black, 2 red/yellow).
    """

    def __init__(self, image):
        self.image = image
        self.width, self.height = image.size
        self._mono = image.mode == "1"
        # ImageDraw: a frame is ~1000 small rectangles, and Image.paste's per-call checks
        # made drawing 4x slower (14 ms -> 3.8 ms for both screens, same pixels)
        self._draw = ImageDraw.Draw(image)

    def _value(self, c):
        if self._mono:
            return 255 if c else 0
        return int(c)

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


def render_view_image(view, screen_kind):
    """Draw a ``layout.build_view`` dict for ``screen_kind`` (a key of ``SCREENS``)."""
    info = screen_info(screen_kind)
    img = new_image(screen_kind)
    layout.draw_view(PILCanvas(img), info["width"], info["height"], view, info["palette"])
    return img


def render_schedule_image(schedule, venue_index, now, screen_kind, status=""):
    """Now/next of venue ``venue_index`` at Unix time ``now`` as a PIL image for ``screen_kind``."""
    view = layout.build_view(schedule, venue_index, now, status)
    return render_view_image(view, screen_kind)


class LumaScreen:
    """Shows images on a luma.core device (ssd1306, sh1106, dummy, ...)."""

    def __init__(self, device):
        self.device = device

    def show(self, image):
        mode = getattr(self.device, "mode", None)
        if mode and image.mode != mode:
            image = image.convert(mode)
        self.device.display(image)
        return True


def open_luma_ssd1306(port=1, address=0x3C, width=128, height=64):
    """The SSD1306 on I2C bus ``port`` (needs luma.oled and I2C enabled: raspi-config)."""
    from luma.core.interface.serial import i2c
    from luma.oled.device import ssd1306

    return ssd1306(i2c(port=port, address=address), width=width, height=height)


class InkyScreen:
    """Shows images on a Pimoroni Inky (``set_image`` + ``show``).

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
        if hasattr(inky, "set_border") and hasattr(inky, "WHITE"):
            inky.set_border(inky.WHITE)

    def show(self, image, force=False):
        size = (getattr(self.inky, "width", image.width), getattr(self.inky, "height", image.height))
        if image.size != size:
            raise ValueError("image is %dx%d but the Inky is %dx%d: pick the matching display kind"
                             % (image.width, image.height, size[0], size[1]))
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
