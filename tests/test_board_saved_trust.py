"""A satellite shows its saved feed at boot without verifying its signature again when its bytes
still hash to the digest it recorded (board/board.py, core/feed.py ``check``'s ``known``).  That
digest stands for "checked against these organiser keys": a board provisioned again with other
keys (an old key compromised, a demo board that trusted anyone) must check its saved feed
against the new ones, not show a program signed by a key it no longer trusts.  On MicroPython
1.27 as flashed, and on CPython."""
import contextlib
import io

import pytest

from pandascreen.core.crypto import public_key
from pandascreen.core.util import hexlify
from pandascreen.testing.micropython import run_micropython
from test_feed import FID, NOW, ORGANISER, demo_feed

OTHER = bytes(range(220, 252))

SCRIPT = r"""
from pandascreen.board.board import Satellite
from pandascreen.testing.canvas import NullCanvas
from pandascreen.testing.flash import Saved as FeedFile, State
from pandascreen.core.util import unhexlify
from pandascreen.testing.sockets import BytesConn, http_ok

FEED = unhexlify(%(feed)r)
t = [%(now)d]
log = []
up = [True]

def connect(h, p):
    if not up[0]:
        raise OSError("Wi-Fi down")
    return BytesConn(http_ok(FEED))

def boot(organiser, state, saved):
    cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(organiser)], "peer_addrs": [("pi", 8026)]}
    return Satellite(cfg, NullCanvas(), lambda: None, 128, 64, clock=lambda: t[0], log=log.append, state_file=state,
                     feed_file=saved, connect=connect, synced=lambda: True)

state, saved = State(), FeedFile()
s = boot(%(org)r, state, saved)
s.step()
print("fetched", s.feed_count, saved.data is not None, state.data[1] is not None)
up[0] = False
s = boot(%(org)r, state, saved)
print("same-keys", s.feed_count, s.from_flash)
s = boot(%(other)r, state, saved)
print("other-keys", s.feed_count, any("saved feed ignored" in line for line in log))
"""

EXPECTED = ["fetched 1 True True", "same-keys 1 True", "other-keys 0 True"]


@pytest.fixture(scope="module")
def script():
    return SCRIPT % {"feed": hexlify(demo_feed(key=ORGANISER, grant=False)), "now": NOW, "fid": FID,
                     "org": hexlify(public_key(ORGANISER)), "other": hexlify(public_key(OTHER))}


def test_a_saved_feed_is_checked_again_against_new_organiser_keys(script):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(script, "saved", "exec"), {})
    assert out.getvalue().splitlines() == EXPECTED


def test_the_same_under_micropython(script):
    assert run_micropython(script).splitlines() == EXPECTED
