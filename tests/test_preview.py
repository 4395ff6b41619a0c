"""preview: a board's screen at a moment, from a store or a schedule file, to PNG/GIF."""

import os
import sys
import types

import pytest
from PIL import Image, ImageChops

import pandascreen_host
from pandascreen import demofest
from pandascreen.core import operation
from pandascreen.node.display import render_schedule_image
from pandascreen.core.schedule import Schedule
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host import preview
from pandascreen_host.cli import main

AT = demofest.DAY_START + 80 * 60  # 13:20 UTC = 15:20 festival time (UTC+2)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("store") / "festival.db")
    s = SqliteStore(path)
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    for i, body in enumerate(demofest.bodies()):
        s.publish(b"\x07" * 32, body, log, 1784370000000000 + i)
    s.close()
    return path


def reference(kind, venue, now):
    s = Schedule()
    for i, body in enumerate(demofest.bodies()):
        from pandascreen.core import schema
        s.apply(schema.parse_body(body), i, bytes([i]))
    return render_schedule_image(s, venue, now, kind).convert("RGB")


def same(a, b):
    return a.size == b.size and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


def test_png_from_store_matches_the_device_renderer(store, tmp_path, capsys):
    out = str(tmp_path / "now.png")
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", store,
                 "--at", "2026-07-18T15:20", "--venue", "1", "-o", out]) == 0
    assert "venue 1 (Bamboo Tent)" in capsys.readouterr().out
    img = Image.open(out)
    assert img.size == (128, 64)
    assert same(img, reference("ssd1306_128x64", 1, AT))
    # naive time is festival time: the same moment written in UTC gives the same picture
    out2 = str(tmp_path / "utc.png")
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", store,
                 "--at", "2026-07-18T13:20Z", "--venue", "tent", "-o", out2]) == 0
    assert same(Image.open(out2), img)


def test_all_venues_scaled(store, tmp_path):
    out = str(tmp_path / "all.png")
    assert main(["preview", "--board", "pi-4-inky-phat", "--store", store, "--at", "2026-07-18T15:20+02:00",
                 "--all-venues", "--scale", "2", "-o", out]) == 0
    img = Image.open(out)
    assert img.size == (212 * 2, (104 * 3 + 2 * 2) * 2)
    top = img.crop((0, 0, 424, 208)).resize((212, 104), Image.NEAREST)
    assert same(top, reference("inky_phat_212x104", 0, AT))


def test_gif(store, tmp_path, capsys):
    out = str(tmp_path / "day.gif")
    assert main(["preview", "--board", "pico-w-ssd1306", "--store", store, "--at", "2026-07-18T14:00",
                 "--gif", "--step", "30m", "--until", "2026-07-18T18:00", "-o", out]) == 0
    captured = capsys.readouterr()
    assert "9 frames" in captured.out and "rendering" in captured.err
    img = Image.open(out)
    assert img.n_frames == 9 and img.size == (128, 64)


def test_schedule_file_goes_through_importers(tmp_path, monkeypatch, capsys):
    neutral = {
        "festival": {"id": "tiny", "name": "Tiny Fest", "timezone": "UTC", "utc_offset": 0},
        "venues": [{"id": "v1", "name": "Barn", "order": 1}, {"id": "v2", "name": "Field", "order": 2}],
        "events": [{"id": "e1", "venue": "v2", "title": "Tractor talk", "start": 1000, "end": 4600,
                    "speakers": ["Old MacDonald"], "track": None, "lang": "en"}],
        "warnings": ["event x has no room, skipped"],
    }
    seen = []
    fake = types.ModuleType("pandascreen_host.importers")
    fake.load = lambda path: seen.append(path) or neutral
    monkeypatch.setitem(sys.modules, "pandascreen_host.importers", fake)
    # `from pandascreen_host import importers` takes the package attribute once the real module
    # was imported by another test, so patch that too (sys.modules alone leaks the real one in)
    monkeypatch.setattr(pandascreen_host, "importers", fake, raising=False)
    src = tmp_path / "tiny.xml"
    src.write_text("<schedule/>")
    out = str(tmp_path / "field.png")
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--schedule", str(src), "--at", "@2000",
                 "--venue", "Field", "-o", out]) == 0
    captured = capsys.readouterr()
    assert seen == [str(src)] and "warning: event x has no room" in captured.err
    s = preview.schedule_from_neutral(neutral)
    assert [v.name for v in s.venues()] == ["Barn", "Field"]
    assert s.now_next("v2", 2000)[0].title == "Tractor talk"
    assert same(Image.open(out), render_schedule_image(s, 1, 2000, "ssd1306_128x64"))


def test_bad_input(store, tmp_path, capsys):
    base = ["preview", "--board", "pi-zero-2w-ssd1306", "--store", store]
    cases = [
        (base + ["--at", "2026-07-18T15:20", "--venue", "9", "-o", str(tmp_path / "a.png")],
         "--venue 9 is out of range; the schedule has 3 venues: 0=Main Stage"),
        (base + ["--at", "2026-07-18T15:20", "--venue", "Mainstage", "-o", str(tmp_path / "a.png")], "no venue"),
        (base + ["--at", "tomorrow", "-o", str(tmp_path / "a.png")], "not an ISO 8601 time"),
        (base + ["--at", "2026-07-18T15:20", "-o", str(tmp_path / "a.jpg")], "must end in .png or .gif"),
        (base + ["--at", "2026-07-18T15:20", "-o", str(tmp_path / "a.gif")], "needs --until"),
        (base + ["--at", "2026-07-18T15:20", "--gif", "-o", str(tmp_path / "a.png")], "*.gif"),
        (base + ["--at", "2026-07-18T15:20", "--until", "2026-07-18T16:00", "-o", str(tmp_path / "a.png")],
         "--until only makes sense"),
        (base + ["--at", "2026-07-18T15:20", "--until", "2026-07-30T16:00", "--step", "1m",
                 "-o", str(tmp_path / "a.gif")], "larger --step"),
        (base + ["--at", "2026-07-18T15:20", "--until", "2026-07-18T16:00", "--step", "soon",
                 "-o", str(tmp_path / "a.gif")], "--step"),
        (["preview", "--board", "pi-zero-2w-ssd1306", "--store", str(tmp_path / "none.db"), "--at",
          "2026-07-18T15:20", "-o", str(tmp_path / "a.png")], "does not exist"),
        (base + ["--at", "2026-07-18T15:20", "-o", str(tmp_path / "no" / "a.png")], "output folder"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err and "Traceback" not in err, (argv, err)
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")]
