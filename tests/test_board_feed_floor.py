"""A freshly flashed satellite (no saved feed, no feed state) refuses a feed older than the newest
program the organiser's laptop knew when it provisioned the board: the config's ``feed_floor``
(written by ``pandascreen-host provision --store``) is where the board's newest accepted issued-at
starts (board/board.py, board/saved_feed.py ``FeedState``), on MicroPython 1.27 as flashed.

A stranger on the festival Wi-Fi who kept an older, validly signed feed answers first: refused.
The current feed is taken, and the floor is kept in the feed state across a reboot, also when a
later config carries none.  A board flashed with no floor takes the first good feed, as before.
"""
import json

import pytest

from pandascreen.testing.micropython import run_micropython
from test_feed import FID, NOW, ORGANISER, demo_feed, demo_store
from pandascreen.core import config as configmod
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import ConfigError
from pandascreen.core.util import hexlify


@pytest.fixture(scope="module")
def feeds():
    store = demo_store()
    # the stranger's copy was signed an hour before the program the laptop knew at provisioning
    return {"old": hexlify(demo_feed(store, issued=NOW - 3600)), "current": hexlify(demo_feed(store, issued=NOW))}


SCRIPT = r"""
import json
import framebuf
from pandascreen.board.board import Satellite
from pandascreen.core import config as configmod
from pandascreen.core.util import unhexlify
from pandascreen.testing.flash import Saved as FeedFile, State
from pandascreen.testing.sockets import BytesConn, http_ok

FEEDS = dict((k, unhexlify(v)) for k, v in %(feeds)r.items())
t = [%(now)d]
served = ["old"]
log = []

def boot(extra, state):
    # main.py's start: the provisioned /config.json through core/config.py, no saved feed
    raw = {"festival_id": %(fid)r, "organisers": [%(org)r], "feed_peers": ["pi:8026"]}
    raw.update(extra)
    cfg = configmod.validate(json.loads(json.dumps(raw)))
    fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
    return Satellite(cfg, fb, lambda: None, 128, 64, clock=lambda: t[0], log=log.append, state_file=state, feed_file=FeedFile(),
                     connect=lambda h, p: BytesConn(http_ok(FEEDS[served[0]])), peers=lambda: [("pi", 8026)],
                     synced=lambda: False)

def show(tag, s):
    info = s.view_source.info
    print(tag, s.feed_count, s.rejected, None if info is None else info.issued_at - %(now)d, s.newest)

state = State()
s = boot({"feed_floor": %(floor)d}, state)
s.step()
show("stranger-first", s)
print("said", [x for x in log if "replay" in x][:1])
t[0] += 60
served[0] = "current"
s.step()
show("current", s)
print("state", state.data[0])

# a reboot that lost the saved feed, with a config that names no floor: the state keeps it
served[0] = "old"
s = boot({}, state)
t[0] += 60
s.step()
show("rebooted", s)

# flashed with no feed known: no floor, the first good feed is taken
s = boot({}, State())
s.step()
show("no-floor", s)
"""


def test_a_fresh_board_refuses_a_feed_older_than_its_provisioned_floor(flashed, feeds):
    floor = NOW - 60  # the laptop's newest program: a minute before the current feed was signed
    out = run_micropython(SCRIPT % {"feeds": feeds, "now": NOW, "fid": FID, "org": public_key(ORGANISER).hex(),
                                    "floor": floor}, libs=[flashed])
    assert "stranger-first 0 1 None %d" % floor in out, out
    assert "replay" in out.split("said ", 1)[1].split("\n", 1)[0], out
    assert "current 1 1 0 %d" % NOW in out, out
    assert "state %d" % NOW in out, out
    assert "rebooted 0 1 None %d" % NOW in out, out
    assert "no-floor 1 0 -3600 %d" % (NOW - 3600) in out, out


def test_the_config_checks_the_floor():
    base = {"festival_id": FID, "organisers": [public_key(ORGANISER).hex()]}
    assert configmod.validate(dict(base, feed_floor=NOW))["feed_floor"] == NOW
    assert "feed_floor" not in configmod.validate(json.loads(json.dumps(base)))
    for bad in (-1, "1700000000", True, 1.5):
        with pytest.raises(ConfigError, match="feed_floor"):
            configmod.validate(dict(base, feed_floor=bad))
