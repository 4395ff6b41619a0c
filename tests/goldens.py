"""Pictures checked against their golden PNGs in tests/golden/, pixel for pixel.

After an intended change to what a screen shows, regenerate with
``PANDASCREEN_REGEN_GOLDEN=1 pytest tests/test_x.py`` and look at each PNG that changed before
committing it.
"""
import os

from PIL import Image

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
REGEN = os.environ.get("PANDASCREEN_REGEN_GOLDEN") == "1"


def check(img, name):
    """Fail unless ``img`` equals tests/golden/``name``.png (same mode, size and pixels); with
    $PANDASCREEN_REGEN_GOLDEN=1 it is written there first."""
    path = os.path.join(GOLDEN, name + ".png")
    if REGEN:
        img.save(path)
    assert os.path.exists(path), "missing golden %s: run with PANDASCREEN_REGEN_GOLDEN=1" % path
    with Image.open(path) as ref:
        ref.load()
        assert (ref.mode, ref.size) == (img.mode, img.size), (name, ref.mode, ref.size, img.mode, img.size)
        if ref.tobytes() != img.tobytes():
            diff = sum(a != b for a, b in zip(ref.tobytes(), img.tobytes()))
            raise AssertionError("%s differs from the golden image (%d bytes); if intended, regenerate with "
                                 "PANDASCREEN_REGEN_GOLDEN=1 and look at the PNG" % (name, diff))
