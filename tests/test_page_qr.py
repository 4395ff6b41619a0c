"""Where phones find the program page: the QR code beside a large screen's layout
(node/page_qr.py through node/display.render), and the config keys that place the page."""

import pytest

import goldens
from pandascreen.testing.festival import GOLDEN_DAY as DAY, golden_schedule
from pandascreen.core import config as configmod
from pandascreen.core import layout, overview
from pandascreen.core.errors import ConfigError
from pandascreen.node import display, page_qr, program_page
from pandascreen.testing.screen import RecordingScreen

URL = "http://pandascreen-4f2a.local:8027/"
T = DAY + 25 * 60


def _board():
    return overview.build_overview(golden_schedule(), T, "synced 14:20", 0, False)


def _view():
    return layout.build_view(golden_schedule(), 0, T, "synced 14:20")


@pytest.mark.parametrize("kind", ["hdmi", "inky_what_400x300", "inky_impression_800x480"])
def test_a_large_screen_draws_the_code_module_for_module_dark_on_light(kind):
    img = display.render(_board(), kind, page_url=URL).convert("RGB")
    w, h = img.size
    module, size, strip, top, _font = page_qr.place(URL, w, h, display.face_for(w, h))
    modules = page_qr.matrix(URL)
    assert size == module * (len(modules) + 2 * page_qr.QUIET) and module >= page_qr.MIN_MODULE_PX
    left = w - strip + page_qr.PAD
    for r in range(-page_qr.QUIET, len(modules) + page_qr.QUIET):
        for c in range(-page_qr.QUIET, len(modules) + page_qr.QUIET):
            on = 0 <= r < len(modules) and 0 <= c < len(modules) and modules[r][c]
            px = left + (page_qr.QUIET + c) * module + module // 2
            py = top + (page_qr.QUIET + r) * module + module // 2
            assert (sum(img.getpixel((px, py))) < 150) == bool(on), (kind, r, c)
    # the layout is drawn narrower, not under the code
    narrow = display.render_overview_image(_board(), kind, (w - strip, h)).convert("RGB")
    assert img.crop((0, 0, w - strip, h)).tobytes() == narrow.tobytes()


@pytest.mark.parametrize("kind", ["ssd1306_128x64", "ssd1322_256x64", "inky_phat_250x122"])
def test_a_small_screen_shows_no_code(kind):
    for data in (_board(), _view()):
        assert display.render(data, kind, page_url=URL).tobytes() == display.render(data, kind).tobytes()


def test_the_address_is_written_under_the_code_where_it_fits():
    assert page_qr.address_text(URL) == "pandascreen-4f2a.local:8027"
    with_url = display.render(_view(), "hdmi", page_url=URL)
    other = display.render(_view(), "hdmi", page_url="http://pandascreen-4f2b.local:8027/")
    w, h = with_url.size
    _module, size, strip = page_qr.geometry(URL, w, h)
    below = (w - strip, (h + size) // 2, w, h)
    assert with_url.crop(below).tobytes() != other.crop(below).tobytes()


@pytest.mark.parametrize("name,kind,data", [("hdmi_all_venues_page_qr", "hdmi", _board),
                                             ("inky_what_400x300_now_next_page_qr", "inky_what_400x300", _view)])
def test_golden_images_with_the_page_code(name, kind, data):
    goldens.check(display.render(data(), kind, page_url=URL), name)


def _cfg(**extra):
    cfg = {"festival_id": "f", "trust_anyone": True}
    cfg.update(extra)
    return cfg


def test_the_page_port_and_address_come_from_the_config(tmp_path):
    import json
    path = tmp_path / "config.json"
    for bad, words in (({"program_page_port": "8027"}, "program_page_port"),
                       ({"program_page_port": 70000}, "program_page_port"),
                       ({"program_page_url": "screen.local"}, "program_page_url")):
        path.write_text(json.dumps(_cfg(**bad)))
        with pytest.raises(ConfigError, match=words):
            configmod.load(str(path))
    assert program_page.address_for_screen({"program_page_url": "http://10.0.0.5:8027/"}, 8027) == \
        "http://10.0.0.5:8027/"
    assert program_page.address_for_screen({}, 9000).endswith(".local:9000/")


def test_a_screen_serves_its_page_from_its_own_schedule_and_shows_the_code():
    import socket
    import urllib.request
    from test_app import SEED, organiser
    from pandascreen.testing import festival as demofest
    from pandascreen.core.crypto import public_key
    from pandascreen.node import app
    store, _log = organiser()
    cfg = configmod.validate({"festival_id": demofest.FESTIVAL_ID, "display": "hdmi",
                              "organisers": [public_key(SEED).hex()]})
    dev = app.Device(cfg, store, RecordingScreen("hdmi"), clock=lambda: demofest.DAY_START + 3600)
    plain = dev.render()
    assert program_page.start_for_screen(dict(cfg, program_page_port=0), dev, print) is None  # 0: off
    for _attempt in range(5):  # a free port; another thread of this process may take it first: try again
        with socket.socket() as s:  # (the screen binds every address, as on the Wi-Fi)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        said = []
        page = program_page.start_for_screen(dict(cfg, program_page_port=port), dev, said.append)
        if page is not None:
            break
    try:
        assert said == ["listening: program page for phones on port %d" % port]
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as r:
            assert "<h1>Pandafest 2026</h1>" in r.read().decode("utf-8")
    finally:
        page.stop()
    dev.page_url = program_page.address_for_screen(cfg, port)
    coded = dev.render()
    w, h = coded.size
    strip = page_qr.geometry(dev.page_url, w, h)[2]
    assert coded.tobytes() != plain.tobytes()
    assert coded.crop((0, 0, w - strip, h)).tobytes() == \
        display.render(dev.controller.view(demofest.DAY_START + 3600), "hdmi", (w - strip, h)).tobytes()
