"""preview: a board's screen at a moment, from a store or a schedule file, to PNG/GIF."""

import os
import sys
import types

import pytest
from PIL import Image, ImageChops

import pandascreen_host
from pandascreen.testing import festival as demofest
from pandascreen.core import operation
from pandascreen.node.display import render_schedule_image
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
    return render_schedule_image(demofest.demo_schedule(), venue, now, kind).convert("RGB")


def same(a, b):
    return a.size == b.size and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


def test_png_from_store_matches_the_device_renderer(store, tmp_path, capsys):
    out = str(tmp_path / "now.png")
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", store,
                 "--at", "2026-07-18T15:20", "--venue", "1", "--scale", "1", "-o", out]) == 0
    assert "venue 1 (Bamboo Tent)" in capsys.readouterr().out
    img = Image.open(out)
    assert img.size == (128, 64)
    assert same(img, reference("ssd1306_128x64", 1, AT))
    # naive time is festival time: the same moment written in UTC gives the same picture
    out2 = str(tmp_path / "utc.png")
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", store,
                 "--at", "2026-07-18T13:20Z", "--venue", "tent", "--scale", "1", "-o", out2]) == 0
    assert same(Image.open(out2), img)


def test_default_scale_enlarges_small_screens(store, tmp_path, capsys):
    out = str(tmp_path / "big.png")
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", store,
                 "--at", "2026-07-18T15:20", "-o", out]) == 0
    assert "(4x)" in capsys.readouterr().out
    img = Image.open(out)
    assert img.size == (512, 256)
    assert same(img.resize((128, 64), Image.NEAREST), reference("ssd1306_128x64", 0, AT))
    assert preview.default_scale(212) == 2 and preview.default_scale(400) == 1 and preview.default_scale(1280) == 1


@pytest.mark.parametrize("flag", ["--each-venue", "--all-venues"])
def test_each_venue_is_a_grid(store, tmp_path, flag):
    """``--each-venue`` (``--all-venues``, its name in older READMEs, still works) lays every
    venue's own screen out side by side."""
    out = str(tmp_path / "all.png")
    assert main(["preview", "--board", "pi-4-inky-phat", "--store", store, "--at", "2026-07-18T15:20+02:00",
                 flag, "--scale", "2", "-o", out]) == 0
    img = Image.open(out)
    # 3 venues of 212x104: two columns, two rows (near 4:3), not a 212x316 strip
    assert img.size == ((212 * 2 + 2) * 2, (104 * 2 + 2) * 2)
    for i, (x, y) in enumerate(((0, 0), (214, 0), (0, 106))):
        cell = img.crop((x * 2, y * 2, (x + 212) * 2, (y + 104) * 2)).resize((212, 104), Image.NEAREST)
        assert same(cell, reference("inky_phat_212x104", i, AT)), i
    # 72 venues (38c3): 7 columns of 11 rows, 1484x1144 px before scaling, not a 212x7630 strip
    assert preview.grid_columns(72, 212, 104) == 7 and preview.grid_columns(1, 212, 104) == 1


@pytest.mark.parametrize("name", ["overview", "all_venues"])
def test_overview_layout(store, tmp_path, capsys, name):
    """``--layout overview`` (``all_venues``, its name in older READMEs and configs, is the same)."""
    out = str(tmp_path / "board.png")
    assert main(["preview", "--board", "pi-4-inky-phat", "--store", store, "--at", "2026-07-18T15:20+02:00",
                 "--layout", name, "--scale", "1", "-o", out]) == 0
    assert "the overview" in capsys.readouterr().out
    assert same(Image.open(out), render_schedule_image(demofest.demo_schedule(), 0, AT, "inky_phat_212x104",
                                                       view="overview"))


def test_gif(store, tmp_path, capsys):
    out = str(tmp_path / "day.gif")
    assert main(["preview", "--board", "pico-w-ssd1306", "--store", store, "--at", "2026-07-18T14:00",
                 "--gif", "--step", "30m", "--until", "2026-07-18T18:00", "-o", out]) == 0
    captured = capsys.readouterr()
    assert "9 frames" in captured.out and "every 30m" in captured.out and "rendering" in captured.err
    img = Image.open(out)
    assert img.n_frames == 9 and img.size == (512, 256)


def test_schedule_file_goes_through_importers(tmp_path, monkeypatch, capsys):
    neutral = {
        "festival": {"id": "tiny", "name": "Tiny Fest", "timezone": "UTC", "utc_offset": 0},
        "venues": [{"id": "v1", "name": "Barn", "order": 1}, {"id": "v2", "name": "Field", "order": 2}],
        "events": [{"id": "e1", "venue": "v2", "title": "Tractor talk", "start": 1000, "end": 4600,
                    "speakers": ["Old MacDonald"], "track": "", "lang": "en"}],
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
                 "--venue", "Field", "--scale", "1", "-o", out]) == 0
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
        # 3.5 hours in 30 s steps was a silent 421-frame GIF; a bare number now has no meaning
        (base + ["--at", "2026-07-18T15:20", "--until", "2026-07-18T18:50", "--step", "30",
                 "-o", str(tmp_path / "a.gif")], "--step 30 has no unit: write 30m for minutes or 30s"),
        (base + ["--at", "2026-07-18T15:20", "--until", "2026-07-18T18:50", "--step", "30s",
                 "-o", str(tmp_path / "a.gif")], "is 421 frames; at most 300"),
        (base + ["--at", "2026-07-18T15:20", "--each-venue", "--layout", "overview",
                 "-o", str(tmp_path / "a.png")], "drop --each-venue"),
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


def test_several_festival_logs_are_listed(tmp_path, capsys):
    path = str(tmp_path / "two.db")
    s = SqliteStore(path)
    for fid, name in (("fest-a", "Fest A"), ("fest-b", "Fest B")):
        log = operation.log_id_for_festival(fid)
        from pandascreen.core import schema
        s.publish(b"\x07" * 32, schema.make_body("festival", "create", fid, {"name": name}), log, 1784370000000000)
    s.close()
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", path, "--at", "@0",
                 "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "holds 2 festival logs; pass --festival-id with one of: fest-a (Fest A), fest-b (Fest B)" in err


def test_help_names_the_overview_and_each_venue_once(capsys):
    """The help shows one name for each: ``--layout {now_next,overview}`` and ``--each-venue``;
    the old names are accepted but not offered."""
    assert main(["preview", "--help"]) == 0
    text = capsys.readouterr().out
    assert "{now_next,overview}" in text and "--each-venue" in text
    assert "all-venues" not in text and "all_venues" not in text


def test_a_schedule_file_is_previewed_as_the_screens_will_show_it_across_a_clock_change(tmp_path):
    """``preview --schedule`` built its festival from some fields only and left out the zone's
    offsets over the festival (``utc_offsets``): the morning after the clocks went back it drew
    the clock and the talk an hour late.  It applies what ``import`` would publish."""
    from pandascreen.core import layout
    from pandascreen_host import importers
    src = tmp_path / "dst.csv"
    src.write_text("Room,Date,Day,Start,Duration,Title,ID\n"
                   "Hall,2026-10-24,1,20:00,01:00,Saturday evening talk,1\n"
                   "Hall,2026-10-25,2,10:00,01:00,Sunday morning talk,2\n", encoding="utf-8")
    neutral = importers.load(str(src), timezone="Europe/Berlin")
    sunday = 1792920600  # 2026-10-25 10:30 CET (UTC+1)
    view = layout.build_view(preview.schedule_from_neutral(neutral), 0, sunday)
    assert (view["clock"], view["now"]["time"]) == ("10:30", "10:00\u201311:00"), view


def test_a_preview_in_the_screens_language_is_what_a_german_screen_shows(store, tmp_path, capsys):
    """The organiser could not see a French or German screen before the festival: every preview
    was in English, and "Ensuite 14:00 ... dans 2h 16m" overprinted itself on the OLED unseen."""
    out = str(tmp_path / "de.png")
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", store, "--at", "2026-07-18T15:20",
                 "--venue", "1", "--scale", "1", "--language", "de", "-o", out]) == 0
    german = render_schedule_image(demofest.demo_schedule(), 1, AT, "ssd1306_128x64", language="de")
    assert same(Image.open(out), german) and not same(german, reference("ssd1306_128x64", 1, AT))
    capsys.readouterr()
    assert main(["preview", "--board", "pi-zero-2w-ssd1306", "--store", store, "--at", "2026-07-18T15:20",
                 "--language", "tlh", "-o", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--language tlh: the screens speak" in err, err
