"""pandascreen.node.display: PIL canvas, golden screen images, luma (dummy) and Inky (fake) screens.

Golden images live in tests/golden/; after an intended layout or font change regenerate them
with ``PANDASCREEN_REGEN_GOLDEN=1 pytest tests/test_display.py`` and look at the result.
"""
import os
import subprocess
import sys

import pytest
from PIL import Image

import goldens
from pandascreen.testing.festival import GOLDEN_DAY as DAY, event, golden_schedule, schedule, venue
from pandascreen.testing.micropython import FIRMWARE
from pandascreen.node import display
from pandascreen.core import frame_parts, layout, screens
from pandascreen.testing.screen import RecordingScreen


T = DAY + 25 * 60  # 14:25 local

GOLDEN_CASES = {
    # name: (schedule factory, venue index, now, screen, status)
    "ssd1306_now_next": (golden_schedule, 0, T, "ssd1306_128x64", "synced 14:20"),
    "ssd1306_long_non_ascii": (golden_schedule, 2, T, "ssd1306_128x64", ""),
    "ssd1306_break": (golden_schedule, 0, DAY + 3600 + 60, "ssd1306_128x64", "offline"),
    "ssd1306_no_more_events": (golden_schedule, 0, DAY + 10 * 3600, "ssd1306_128x64", "offline"),
    "ssd1306_empty_schedule": (schedule, 0, DAY, "ssd1306_128x64", "offline"),
    "inky_phat_tricolor": (golden_schedule, 2, T, "inky_phat_212x104", "synced 14:20"),
    "inky_phat_empty_schedule": (schedule, 0, DAY, "inky_phat_212x104", "offline"),
    "inky_what_tricolor": (golden_schedule, 0, T, "inky_what_400x300", "synced 14:20"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_images(name):
    factory, venue, now, screen, status = GOLDEN_CASES[name]
    img = display.render_schedule_image(factory(), venue, now, screen, status=status)
    info = display.SCREENS[screen]
    assert img.size == (info["width"], info["height"])
    goldens.check(img, name)


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
    img = display.render_schedule_image(golden_schedule(), 0, T, "inky_phat_212x104")
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
    view = layout.build_view(golden_schedule(), 1, T, "x")
    a = display.render_view_image(view, "ssd1306_128x64")
    b = display.render_schedule_image(golden_schedule(), 1, T, "ssd1306_128x64", status="x")
    assert a.tobytes() == b.tobytes()


def test_luma_dummy_device():
    from luma.core.device import dummy

    dev = dummy(width=128, height=64, mode="1")
    screen = display.LumaScreen(dev)
    img = display.render_schedule_image(golden_schedule(), 0, T, "ssd1306_128x64")
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
    a = display.render_schedule_image(golden_schedule(), 0, T, "inky_phat_212x104")
    b = display.render_schedule_image(golden_schedule(), 1, T, "inky_phat_212x104")
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
    img = display.render_schedule_image(golden_schedule(), 0, T, "inky_phat_212x104")
    with pytest.raises(ValueError, match="212x104 but the Inky is 400x300"):
        screen.show(img)
    what = display.render_schedule_image(golden_schedule(), 0, T, "inky_what_400x300")
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
    venues = [venue("v%d" % i, "Stage %d with a very long sponsor name attached" % i, i) for i in range(15)]
    events = [event("e%d" % i, "v%d" % i, "Talk %d " % i + "ü" * 60, DAY, DAY + 600, ["Ñ" * 40])
              for i in range(15)]
    s = schedule({"name": "F" * 80, "utc_offset": -600}, venues, events)
    for kind in display.SCREENS:
        for i in (0, 14, 15):
            img = display.render_schedule_image(s, i, DAY + 60, kind, status="synced 02:01")
            assert img.size == (display.SCREENS[kind]["width"], display.SCREENS[kind]["height"])


# -- sizes from the device, new screens, imported schedules -------------------------------------------

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def imported_schedule(name):
    """The real ``core.schedule.Schedule`` built from a made-up fixture the way preview builds it."""
    from pandascreen_host import importers, preview

    return preview.schedule_from_neutral(importers.load(os.path.join(FIXTURES, name)))


# Made-up frab XML (tests/fixtures/frab_multisource_merged.xml, five venues), 27 Dec 2031 17:05 UTC:
# Snack Dome (venue 2) has "Dumpling Folding, part one" ending at 17:10 and part two next at 17:15;
# Workshop Tent has a workshop on, Bamboo Hall's next talk is late in the evening, bamboohut is done
# for the day and Maker Corner starts tomorrow: every kind of row the overview draws.
FRAB = "frab_multisource_merged.xml"
FRAB_NOW = 1956158100 - 600
# Made-up iCal (tests/fixtures/ics_tzid_no_vtimezone_crlf.ics), 17 May 2031, ten minutes into the first
# event: venue 0 is "Accueil Bambouseraie", a name too long for one header line on the 212x104 pHAT.
ICAL = "ics_tzid_no_vtimezone_crlf.ics"
ICAL_NOW = 1936774800 + 600
IMPORTED_CASES = {}
for _kind in sorted(screens.SCREENS):  # every kind in the table: a new one fails until its goldens exist
    IMPORTED_CASES["%s_now_next_imported_frab" % _kind] = (FRAB, 2, FRAB_NOW, _kind, "now_next")
    IMPORTED_CASES["%s_overview_imported_frab" % _kind] = (FRAB, 0, FRAB_NOW, _kind, "overview")
# the long venue name an issue saw cut as "Accueil Pa..." on the pHAT header: two smaller lines now
IMPORTED_CASES["inky_phat_212x104_long_venue_header_imported_ical"] = (ICAL, 0, ICAL_NOW,
                                                                       "inky_phat_212x104", "now_next")


@pytest.fixture(scope="module")
def schedules():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = imported_schedule(name)
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(IMPORTED_CASES))
def test_imported_schedule_golden_images(name, schedules):
    fixture, venue, now, kind, view = IMPORTED_CASES[name]
    img = display.render_schedule_image(schedules(fixture), venue, now, kind, status="synced 17:00", view=view)
    info = display.SCREENS[kind]
    assert img.size == (info["width"], info["height"]) and img.mode == info["mode"]
    goldens.check(img, name)


def test_one_table_of_screen_kinds():
    from pandascreen.core import config
    from pandascreen_host import boards

    assert set(config.DISPLAYS) == set(display.SCREENS) == set(boards.SCREEN_KINDS)
    for kind, info in display.SCREENS.items():
        img = display.new_image(kind)
        assert img.size == (info["width"], info["height"]) and img.mode == info["mode"], kind


def test_inky_phat_250x122_draws_at_its_own_size(monkeypatch, schedules):
    """The SSD1608 pHAT behind a board file that says 212x104: no ValueError, no restart loop."""
    inky = FakeInky(250, 122)
    inky.colour = "red"
    monkeypatch.setattr(display, "open_inky", lambda: inky)
    said = []
    screen = display.open_screen("inky_phat_212x104", {}, log=said.append)
    assert screen.size == (250, 122) and "250x122" in said[0]
    img = screen.render(layout.build_view(schedules(ICAL), 0, ICAL_NOW))
    assert img.size == (250, 122)
    assert screen.show(img) and inky.images[0].size == (250, 122)


def test_app_device_renders_at_the_screen_size(tmp_path):
    from pandascreen.testing import festival as demofest
    from pandascreen.core import config, operation
    from pandascreen.core.store import MemoryStore
    from pandascreen.node import app

    store = MemoryStore()
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    demofest.publish(store, b"\x05" * 32, log)
    panel = RecordingScreen("inky_phat_212x104", (250, 122))
    shots = panel.shown
    for layout_name in ("now_next", "overview"):
        cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "display": "inky_phat_212x104",
                               "trust_anyone": True, "layout": layout_name})
        dev = app.Device(cfg, store, panel, clock=lambda: demofest.DAY_START + 3600)
        assert dev.render().size == (250, 122)
    board = display.render_schedule_image(dev.controller.schedule, 0, demofest.DAY_START + 3600,
                                          "inky_phat_212x104", status=dev.status, size=(250, 122),
                                          view="overview")
    assert shots[-1].tobytes() == board.tobytes()


def test_inky_impression_uses_its_seven_colour_indices(monkeypatch, schedules):
    inky = FakeInky(800, 480)
    inky.colour = "multi"
    monkeypatch.setattr(display, "open_inky", lambda: inky)
    screen = display.open_screen("inky_impression_800x480")
    assert screen.kind == "inky_impression_800x480" and screen.size == (800, 480)
    img = screen.render(layout.build_view(schedules(FRAB), 2, FRAB_NOW))
    # inky's order: BLACK=0 WHITE=1 ... RED=4; a "P" image's indices go to the panel as they are
    assert set(img.tobytes()) == {0, 1, 4}
    assert img.convert("RGB").getpixel((799, 240)) == (255, 255, 255)
    # an Impression found behind a tricolour board file is drawn in its own colours
    assert display.open_screen("inky_what_400x300").kind == "inky_impression_800x480"


def test_luma_sh1106_and_ssd1322_through_open_screen(monkeypatch, schedules):
    from luma.core.device import dummy

    made = {}

    def fake_open_luma(chip, **kw):
        made[chip] = kw
        return dummy(width=256, height=64, mode="RGB") if chip == "ssd1322" else dummy(width=128, height=64, mode="1")

    monkeypatch.setattr(display, "open_luma", fake_open_luma)
    s = schedules(FRAB)
    grey = display.open_screen("ssd1322_256x64", {"spi_port": 0, "dc": 24, "reset": 25})
    assert made["ssd1322"] == {"spi_port": 0, "gpio_dc": 24, "gpio_reset": 25}
    img = grey.render(layout.build_view(s, 2, FRAB_NOW, "synced 17:00"))
    assert grey.size == (256, 64) and img.mode == "L" and {0, 150, 255} <= set(img.tobytes())
    grey.show(img)
    assert grey.output.device.image.getpixel((0, 0)) == (255, 255, 255)
    mono = display.open_screen("sh1106_128x64", {"i2c_port": 1, "address": 0x3C})
    assert made["sh1106"] == {"port": 1, "address": 0x3C, "width": 128, "height": 64}
    shown = mono.render(layout.build_view(s, 2, FRAB_NOW))
    mono.show(shown)
    assert mono.output.device.image.tobytes() == shown.tobytes()


def test_open_luma_picks_the_chip_and_bus(monkeypatch):
    import luma.core.interface.serial as serial
    import luma.oled.device as device

    seen = []
    monkeypatch.setattr(serial, "i2c", lambda port, address: ("i2c", port, address))
    monkeypatch.setattr(serial, "spi", lambda **kw: ("spi", kw["port"], kw["gpio_DC"], kw["gpio_RST"]))
    monkeypatch.setattr(device, "sh1106", lambda bus, **kw: seen.append(("sh1106", bus, kw)) or "a")
    monkeypatch.setattr(device, "ssd1322", lambda bus, **kw: seen.append(("ssd1322", bus, kw)) or "b")
    assert display.open_luma("sh1106", port=1, address=0x3C, width=128, height=64) == "a"
    assert display.open_luma("ssd1322", gpio_dc=24, gpio_reset=25) == "b"
    assert seen == [("sh1106", ("i2c", 1, 0x3C), {"width": 128, "height": 64}),
                    ("ssd1322", ("spi", 0, 24, 25), {})]


@pytest.mark.parametrize("bpp", [16, 32])
def test_hdmi_framebuffer_from_sysfs(tmp_path, bpp, schedules):
    sysfs = tmp_path / "sys"
    (sysfs / "fb0").mkdir(parents=True)
    (sysfs / "fb0" / "virtual_size").write_text("1920,1080\n")
    (sysfs / "fb0" / "bits_per_pixel").write_text("%d\n" % bpp)
    fb = tmp_path / "fb0"
    out = display.open_framebuffer(str(fb), str(sysfs))
    screen = display.Screen("hdmi", out)
    assert screen.size == (1920, 1080)
    img = screen.render(layout.build_view(schedules(FRAB), 2, FRAB_NOW))
    assert img.size == (1920, 1080) and img.mode == "RGB"
    assert screen.show(img) is True and screen.show(img) is False   # unchanged: not rewritten
    data = fb.read_bytes()
    assert len(data) == 1920 * 1080 * bpp // 8
    px = bpp // 8
    white = data[:px]                              # header bar: foreground
    black = data[(1000 * 1920 + 1919) * px:(1000 * 1920 + 1920) * px]   # background
    assert white == b"\xff" * px if bpp == 16 else white == b"\xff\xff\xff\x00"
    assert black == b"\x00" * px
    with pytest.raises(ValueError, match="24 bits"):
        display.framebuffer_bytes(img, 24)


def _cap_mm(kind, px_mm):
    """Height in mm of a capital in the event title on ``kind`` (pixels of ``px_mm`` mm)."""
    from pandascreen.node.ttf import default_face

    info = display.SCREENS[kind]
    face = display.face_for(info["width"], info["height"])
    assert face is default_face()
    m = frame_parts.Metrics(info["width"], info["height"], face)
    left, top, right, bottom = face.font(m.title_scale).getbbox("H")
    return (bottom - top) * px_mm


def test_large_screens_are_legible_from_three_metres():
    """A capital 5 mm high subtends 5.7 arc minutes at 3 m: above the 5' a 20/20 eye resolves."""
    from pandascreen_host import boards

    for name in ("pi-4-inky-what", "pi-4-inky-impression-7"):
        b = boards.load_board(name)
        kind = b["screen"]["kind"]
        px_mm = b["outline"]["screen_active"][0] / display.SCREENS[kind]["width"]
        assert _cap_mm(kind, px_mm) >= 5.0, name
    # a 32in TV (708 mm wide) at 1280x720
    assert _cap_mm("hdmi", 708.0 / 1280) >= 5.0
    # small screens keep the bitmap font
    assert display.face_for(250, 122) is None and display.face_for(256, 64) is None


def test_board_pages_when_venues_do_not_fit():
    venues = [venue("v%d" % i, "Stage %d" % i, i) for i in range(72)]
    events = [event("e%d" % i, "v%d" % i, "Talk %d" % i, DAY, DAY + 3600) for i in range(72)]
    s = schedule({"name": "Big", "utc_offset": 0}, venues, events)
    pages = []
    for page in range(12):
        img = display.render_schedule_image(s, 0, DAY + 60, "inky_what_400x300", view="overview", page=page)
        pages.append(img.tobytes())
    n = len(set(pages))
    assert n == 9 and pages[9] == pages[0]   # 8 venues a page, and the pages wrap round


@pytest.mark.parametrize("kind", ["ssd1306_128x64", "inky_phat_212x104"])
def test_a_small_panel_draws_the_scripts_its_bitmap_font_lacks(kind):
    """Cyrillic and Greek venue names and titles on a Pi's own small panel are drawn from its
    TrueType faces, as the satellites it feeds draw them (node/feed_glyphs.py): two halls whose
    names have as many letters are told apart, where both had read "????"."""
    def image(hall, title):
        s = schedule({"name": "Fest", "utc_offset": 0}, [venue("v", hall)], [event("e", "v", title, DAY, DAY + 3600)])
        return display.render(layout.build_view(s, 0, DAY + 600, ""), kind).tobytes()
    assert image("Зала", "Открытие") != image("Фойе", "Открытие")
    assert image("Stage", "Άνοιγμα") != image("Stage", "Σύνοψης")
    assert image("Stage", "Зала") != image("Stage", "????")
    from pandascreen.core import font
    assert font._feed is None  # the glyphs are the frame's, not left for whatever draws next


def test_small_panels_drawn_from_two_threads_at_once_each_get_their_own_glyphs():
    """The console draws screens' PNGs from a thread per request; a small panel's glyph table is the
    font's, for the frame being drawn: two frames at once took each other's, or none."""
    import threading
    from pandascreen.core import font

    def image(hall):
        s = schedule({"name": "Fest", "utc_offset": 0}, [venue("v", hall)], [event("e", "v", hall, DAY, DAY + 3600)])
        return display.render(layout.build_view(s, 0, DAY + 600, ""), "ssd1306_128x64").tobytes()

    halls = ("Большой зал", "Σκηνή Άλφα")
    alone = dict((h, image(h)) for h in halls)
    wrong, failed = [], []

    def draw(hall):
        for _ in range(60):
            try:
                if image(hall) != alone[hall]:
                    wrong.append(hall)
            except Exception as e:  # a table taken away while a glyph was read
                failed.append(repr(e))

    threads = [threading.Thread(target=draw, args=(h,)) for h in halls]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # the threads take turns often, as a busy console's do now and then
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(switch)
    assert not wrong and not failed, (len(wrong), failed[:2])
    assert font._feed is None
