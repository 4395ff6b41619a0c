import os

from PIL import Image

from pandascreen import demo


def test_demo_runs_end_to_end(tmp_path):
    files = demo.run(str(tmp_path), quiet=True)
    names = sorted(os.path.basename(f) for f in files)
    assert names == ["01-main-stage.png", "02-next-venue.png", "03-next-venue.png", "04-after-update.png",
                     "05-inky-phat.png", "timelapse.gif"]
    first = Image.open(str(tmp_path / "01-main-stage.png"))
    assert first.size == (512, 256)
    # flipping venues changes the screen; the update after re-sync shows up
    a = Image.open(str(tmp_path / "02-next-venue.png")).tobytes()
    b = Image.open(str(tmp_path / "03-next-venue.png")).tobytes()
    assert a != b != first.tobytes()
    gif = Image.open(str(tmp_path / "timelapse.gif"))
    assert gif.n_frames > 10
