"""pandascreen.node.display: PIL canvas, golden screen images, luma (dummy) and Inky (fake) screens.

Golden images live in tests/golden/; after an intended layout or font change regenerate them
with ``PANDASCREEN_REGEN_GOLDEN=1 pytest tests/test_display.py`` and look at the result.
"""
import os
import subprocess
import sys

import pytest
from PIL import Image

from fakesched import DAY, FakeEvent, FakeSchedule, FakeVenue, demo_schedule
from mpy import FIRMWARE
from pandascreen.node import display
from pandascreen.core import layout

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
REGEN = os.environ.get("PANDASCREEN_REGEN_GOLDEN") == "1"

T = DAY + 25 * 60  # 14:25 local

GOLDEN_CASES = {
    # name: (schedule factory, venue index, now, screen, status)
    "ssd1306_now_next": (demo_schedule, 0, T, "ssd1306_128x64", "synced 14:20"),
    "ssd1306_long_non_ascii": (demo_schedule, 2, T, "ssd1306_128x64", ""),
    "ssd1306_break": (demo_schedule, 0, DAY + 3600 + 60, "ssd1306_128x64", "offline"),
    "ssd1306_no_more_events": (demo_schedule, 0, DAY + 10 * 3600, "ssd1306_128x64", "offline"),
    "ssd1306_empty_schedule": (FakeSchedule, 0, DAY, "ssd1306_128x64", "offline"),
    "inky_phat_tricolor": (demo_schedule, 2, T, "inky_phat_212x104", "synced 14:20"),
    "inky_phat_empty_schedule": (FakeSchedule, 0, DAY, "inky_phat_212x104", "offline"),
    "inky_what_tricolor": (demo_schedule, 0, T, "inky_what_400x300", "synced 14:20"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_images(name):
    factory, venue, now, screen, status = GOLDEN_CASES[name]
    img = display.render_schedule_image(factory(), venue, now, screen, status=status)
    info = display.SCREENS[screen]
    assert img.size == (info["width"], info["height"])
    path = os.path.join(GOLDEN, name + ".png")
    if REGEN:
        os.makedirs(GOLDEN, exist_ok=True)
        img.save(path)
    assert os.path.exists(path), "missing golden %s: run with PANDASCREEN_REGEN_GOLDEN=1" % path
    with Image.open(path) as ref:
        ref.load()
        assert ref.mode == img.mode and ref.size == img.size
        if ref.tobytes() != img.tobytes():
            diff = sum(a != b for a, b in zip(ref.tobytes(), img.tobytes()))
            pytest.fail("%s differs from the golden image (%d bytes); if intended, regenerate with "
                        "PANDASCREEN_REGEN_GOLDEN=1 and look at the PNG" % (name, diff))


def test_screens_and_images():
    assert set(display.SCREENS) >= {"ssd1306_128x64", "inky_phat_212x104", "inky_what_400x300"}
    from pandascreen.core import config

    assert set(config.DISPLAYS) <= set(display.SCREENS)
    mono = display.new_image("ssd1306_128x64")
    assert (mono.mode, mono.size) == ("1", (128, 64))
    phat = display.new_image("inky_phat_212x104")
    assert (phat.mode, phat.size) == ("P", (212, 104))
    assert phat.getpalette()[:9] == [255, 255, 255, 0, 0, 0, 255, 0, 0]
    with pytest.raises(ValueError, match="unknown screen"):
        display.new_image("crt_80x25")


def test_tricolor_image_uses_white_black_red():
    img = display.render_schedule_image(demo_schedule(), 0, T, "inky_phat_212x104")
    assert set(img.tobytes()) == {0, 1, 2}
    rgb = img.convert("RGB")
    assert rgb.getpixel((0, 0)) == (0, 0, 0)           # header bar
    assert rgb.getpixel((211, 60)) == (255, 255, 255)  # background


def test_pil_canvas_clips_and_maps_colors():
    img = Image.new("1", (10, 5), 0)
    c = display.PILCanvas(img)
    c.fill_rect(-3, -3, 5, 5, 1)
    c.fill_rect(8, 3, 10, 10, 2)
    c.pixel(-1, 0, 1)
    c.pixel(10, 0, 1)
    c.pixel(5, 2, 1)
    c.hline(0, 4, 3, 1)
    c.fill_rect(0, 0, 0, 3, 1)
    lit = {(x, y) for y in range(5) for x in range(10) if img.getpixel((x, y))}
    assert lit == {(0, 0), (1, 0), (0, 1), (1, 1), (8, 3), (9, 3), (8, 4), (9, 4), (5, 2),
                   (0, 4), (1, 4), (2, 4)}
    p = display.new_image("inky_phat_212x104")
    c = display.PILCanvas(p)
    c.pixel(0, 0, 2)
    c.fill_rect(1, 0, 2, 1, 1)
    assert [p.getpixel((x, 0)) for x in range(4)] == [2, 1, 1, 0]


def test_render_view_image_matches_schedule_render():
    view = layout.build_view(demo_schedule(), 1, T, "x")
    a = display.render_view_image(view, "ssd1306_128x64")
    b = display.render_schedule_image(demo_schedule(), 1, T, "ssd1306_128x64", status="x")
    assert a.tobytes() == b.tobytes()


def test_luma_dummy_device():
    from luma.core.device import dummy

    dev = dummy(width=128, height=64, mode="1")
    screen = display.LumaScreen(dev)
    img = display.render_schedule_image(demo_schedule(), 0, T, "ssd1306_128x64")
    assert screen.show(img)
    assert dev.image.tobytes() == img.tobytes()
    # an RGB dummy gets a converted copy
    rgb = dummy(width=128, height=64, mode="RGB")
    display.LumaScreen(rgb).show(img)
    assert rgb.image.mode == "RGB" and rgb.image.getpixel((0, 0)) == (255, 255, 255)


class FakeInky:
    WHITE, BLACK, RED = 0, 1, 2

    def __init__(self, width=212, height=104):
        self.width = width
        self.height = height
        self.border = None
        self.images = []
        self.shows = 0

    def set_border(self, colour):
        self.border = colour

    def set_image(self, image):
        self.images.append(image.copy())

    def show(self):
        self.shows += 1


def test_inky_skips_unchanged_images_and_rate_limits():
    clock = [1000.0]
    inky = FakeInky()
    screen = display.InkyScreen(inky, min_interval=30, clock=lambda: clock[0])
    assert inky.border == FakeInky.WHITE
    a = display.render_schedule_image(demo_schedule(), 0, T, "inky_phat_212x104")
    b = display.render_schedule_image(demo_schedule(), 1, T, "inky_phat_212x104")
    assert screen.show(a) is True
    assert inky.shows == 1 and inky.images[0].tobytes() == a.tobytes()
    clock[0] += 100
    assert screen.show(a.copy()) is False               # same pixels: no slow refresh
    assert inky.shows == 1
    assert screen.show(b) is True
    clock[0] += 5
    assert screen.show(a) is False                      # changed, but too soon
    assert screen.show(a, force=True) is True           # e.g. a button press
    clock[0] += 31
    assert screen.show(b) is True
    assert inky.shows == screen.refreshes == 4


def test_inky_size_mismatch_is_a_clear_error():
    screen = display.InkyScreen(FakeInky(400, 300))
    img = display.render_schedule_image(demo_schedule(), 0, T, "inky_phat_212x104")
    with pytest.raises(ValueError, match="212x104 but the Inky is 400x300"):
        screen.show(img)
    what = display.render_schedule_image(demo_schedule(), 0, T, "inky_what_400x300")
    assert screen.show(what)


def test_hardware_libraries_are_imported_lazily():
    code = (
        "import sys\n"
        "sys.path.insert(0, %r)\n"
        "sys.modules['inky'] = None\n"
        "from pandascreen.node import display\n"
        "assert 'luma.oled' not in sys.modules and 'luma.oled.device' not in sys.modules\n"
        "try:\n"
        "    display.open_inky()\n"
        "except ImportError:\n"
        "    print('no inky')\n"
        "img = display.render_schedule_image(None, 0, 0, 'ssd1306_128x64')\n"
        "print(img.size)\n" % FIRMWARE
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split("\n")[:2] == ["no inky", "(128, 64)"], out.stderr


def test_open_luma_ssd1306_uses_i2c(monkeypatch):
    import luma.core.interface.serial as serial
    import luma.oled.device as device

    seen = {}

    def fake_i2c(port, address):
        seen["i2c"] = (port, address)
        return "bus"

    def fake_ssd1306(bus, width, height):
        seen["dev"] = (bus, width, height)
        return "oled"

    monkeypatch.setattr(serial, "i2c", fake_i2c)
    monkeypatch.setattr(device, "ssd1306", fake_ssd1306)
    assert display.open_luma_ssd1306(port=3, address=0x3D) == "oled"
    assert seen == {"i2c": (3, 0x3D), "dev": ("bus", 128, 64)}


def test_many_venues_and_long_names_render_on_every_screen():
    venues = [FakeVenue("v%d" % i, "Stage %d with a very long sponsor name attached" % i, i) for i in range(15)]
    events = [FakeEvent("e%d" % i, "v%d" % i, "Talk %d " % i + "ü" * 60, DAY, DAY + 600, ["Ñ" * 40])
              for i in range(15)]
    s = FakeSchedule({"name": "F" * 80, "utc_offset": -600}, venues, events)
    for kind in display.SCREENS:
        for i in (0, 14, 15):
            img = display.render_schedule_image(s, i, DAY + 60, kind, status="synced 02:01")
            assert img.size == (display.SCREENS[kind]["width"], display.SCREENS[kind]["height"])
