"""`make demo` as a user runs it: a real process (which puts its iroh part in a loopback-only
namespace by itself), bounded in time; the printed lines prove each step, the files are there."""
import os
import re
import subprocess
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNGS = ["01-oled-main-stage.png", "02-inky-what-overview.png", "03-oled-next-venue.png",
        "04-oled-live-change.png", "05-inky-what-live-change.png", "06-satellite-feed.png"]


def _run_demo(out, *extra):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "firmware"))
    p = subprocess.run([sys.executable, "-m", "pandascreen.demo", "--out", str(out)] + list(extra),
                       capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def _check(out, text, transport):
    lines = text.splitlines()

    def line(prefix):
        found = [l for l in lines if l.startswith(prefix)]
        assert found, "no line %r in:\n%s" % (prefix, text)
        return found[0]

    synced = line("2. synced: both screens hold all ")
    assert "over %s" % transport in synced and "organiser Manage, screens Read/Read" in synced, synced
    if transport == "iroh":
        assert "both in live mode with the organiser" in synced
    assert "flipped the OLED to venue 1" in line("3. button:")
    live = line("4. live change:")
    assert re.search(r"change-to-pixel: OLED \d+ ms", live), live
    assert "both ignored it and still show 'Mesh networks: live demo!'" in line("5. refused: stranger")
    assert re.search(r"\(([1-9]\d*) operation\(s\) sent\)", line("5. refused")), "the stranger sent nothing"
    assert "now showing 'Mesh networks: live demo!'" in line("6. feed: satellite fetched http://127.0.0.1:")
    assert ("the same satellite under the 32-bit unix MicroPython" in text
            or "no 32-bit unix MicroPython here" in text)
    assert line("done in ")
    for name in PNGS:
        assert "picture %s" % os.path.join(str(out), name) in text
    assert sorted(os.listdir(str(out))) == sorted(PNGS + ["timelapse.gif"])
    before = Image.open(str(out / "01-oled-main-stage.png"))
    assert before.size == (512, 256)
    flipped = Image.open(str(out / "03-oled-next-venue.png"))
    after = Image.open(str(out / "04-oled-live-change.png"))
    assert len({before.tobytes(), flipped.tobytes(), after.tobytes()}) == 3
    board = Image.open(str(out / "02-inky-what-overview.png"))
    assert board.size == (800, 600)
    assert board.tobytes() != Image.open(str(out / "05-inky-what-live-change.png")).tobytes()
    gif = Image.open(str(out / "timelapse.gif"))
    assert gif.n_frames == len(PNGS)


def test_demo_over_iroh_in_a_private_namespace(tmp_path):
    """iroh when a loopback-only namespace can be had here (always under `make test`), else the
    one-line TCP note; either way every step is proven."""
    text = _run_demo(tmp_path)
    if "this run uses plain TCP" in text:
        _check(tmp_path, text, "TCP")
    else:
        _check(tmp_path, text, "iroh")


def test_demo_over_plain_tcp(tmp_path):
    _check(tmp_path, _run_demo(tmp_path, "--tcp"), "TCP")
