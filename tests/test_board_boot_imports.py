"""A satellite's boot imports only what its first frame needs: the pure-Python Ed25519 and BLAKE3
(the largest modules it loads) come with the first signature it verifies, so a board that boots
from the feed saved on flash, Wi-Fi down, draws sooner (bench/feed.py: first frame from flash)."""
from pandascreen.core import crypto
from pandascreen.testing.micropython import run_micropython

BOOT = """
import sys
from pandascreen.core import config, feed
from pandascreen.core.clock import TimeFile
from pandascreen.board.board import Satellite
from pandascreen.board.saved_feed import FeedFile, FeedState
from pandascreen.board.ssd1306 import SSD1306
print("booted", "pandascreen.core._ed25519_py" in sys.modules, "pandascreen.core._blake3_py" in sys.modules)
from pandascreen.core import crypto
from pandascreen.core.util import unhexlify
print("verify", crypto.verify(unhexlify(%(pk)r), b"pandas", unhexlify(%(sig)r)),
      crypto.verify(unhexlify(%(pk)r), b"pandaz", unhexlify(%(sig)r)))
print("then", "pandascreen.core._ed25519_py" in sys.modules, crypto.public_key(bytes(32)) == unhexlify(%(pk0)r))
print("blake3", crypto.blake3(b"abc") == unhexlify(%(b3)r))
"""


def test_the_boot_of_a_satellite_leaves_ed25519_and_blake3_for_their_first_use():
    seed = bytes(range(32))
    out = run_micropython(BOOT % {"pk": crypto.public_key(seed).hex(), "sig": crypto.sign(seed, b"pandas").hex(),
                                  "pk0": crypto.public_key(bytes(32)).hex(), "b3": crypto.blake3(b"abc").hex()})
    assert "booted False False" in out, out
    assert "verify True False" in out and "then True True" in out and "blake3 True" in out, out
