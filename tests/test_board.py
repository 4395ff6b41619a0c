"""The MicroPython satellite board (board/board.py) on the 32-bit unix port with a Pico W's heap,
as flashed (.mpy from mpy-cross through ``flash.compile_board``): first feed, update, forged /
corrupt / oversize / unauthorized feeds refused while the last good one stays on screen, Wi-Fi
loss, clock not set, a stale feed; and a 38c3-sized festival within a 120 KB heap."""
import hashlib
import io
import os

import pytest

from mpy import run_unix32
from test_feed import FID, NOW, ORGANISER, STRANGER, demo_feed, demo_store
from test_layout import VLSBCanvas
from pandascreen.bench import feed as feed_bench
from pandascreen.core import cbor, feed, layout
from pandascreen.node import feed_sign
from pandascreen.core.crypto import SigningKey, public_key


@pytest.fixture(scope="module")
def flashed(tmp_path_factory):
    """The board's modules as `pandascreen-host flash` builds them; their /lib folder."""
    from pandascreen_host.flash import compile_board

    d = tmp_path_factory.mktemp("flash")
    compile_board(str(d), stream=io.StringIO())
    return str(d / "lib")


def write(folder, name, data):
    return feed_bench.write_feed(str(folder), data, name)


SCRIPT = r"""
import gc, hashlib
import framebuf
from pandascreen.board.board import Satellite
from pandascreen.core.util import unhexlify, hexlify

class Conn:
    # a TCP connection whose peer answers with the HTTP response in a file
    def __init__(self, path):
        if path is None:
            raise OSError("Wi-Fi down")
        self.f = open(path + ".http", "rb")
        self.sent = b""
    def send(self, b):
        self.sent += b
    def readinto(self, mv):
        return self.f.readinto(mv)
    def close(self):
        self.f.close()

served = [%(first)r]
fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": [("screen-1", 8026)],
       "sync_interval": 60}
t = [%(now)d]
lines = []
s = Satellite(cfg, fb, lambda: None, 128, 64, clock=lambda: t[0], connect=lambda h, p: Conn(served[0]),
              log=lines.append)

def frame():
    return hexlify(hashlib.sha256(bytes(fb)).digest())[:16]

def show(tag):
    v = s.view(t[0])
    print(tag, s.feed_count, s.rejected, s.status(t[0]), v["venue"], (v["now"] or {}).get("title"), frame())

print("drew", s.step())
show("first")
t[0] += 60
served[0] = %(update)r
s.step()
show("update")
for name in %(bad)r:
    t[0] += 60
    served[0] = name
    s.step()
    show("bad")
print("refusals", len(lines), lines[-1] if lines else "")
t[0] += 60
served[0] = None
s.step()
show("wifi-lost")
s.press(1)
s.step()
show("flip")
t[0] = %(stale)d
s.step()
show("stale")
t[0] = 1000
s.step()
v = s.view(t[0])
print("unset-clock", s.clock_trusted(t[0]), v["clock"], v["message"] == %(not_set)r)
t[0] = %(issued)d - 3600
print("behind-feed", s.clock_trusted(t[0]))
gc.collect()
print("free", gc.mem_free())
"""


def expected_frame(data, venue, now, status):
    info = feed.Checker(FID, [public_key(ORGANISER)]).check(bytearray(data), len(data))
    c = VLSBCanvas(128, 64)
    layout.draw_view(c, 128, 64, layout.build_view(feed.FeedView(bytearray(data), info, 1), venue, now, status),
                     "mono")
    return hashlib.sha256(bytes(c.buf)).hexdigest()[:16]


def test_satellite_loop_in_a_pico_sized_heap(flashed, tmp_path):
    store = demo_store()
    first = demo_feed(store)
    update = demo_feed(store, issued=NOW + 60)
    items = cbor.loads(update)[:-1]
    forged = bytearray(update)
    forged[forged.index(b"Mesh networks")] ^= 1
    stranger = list(items)
    stranger[6] = public_key(STRANGER)
    older = demo_feed(store, issued=NOW - 600)
    bad = {
        "forged": bytes(forged),
        "corrupt": update[:len(update) // 2],
        "unauthorized": feed_sign.sign_payload(stranger, SigningKey(STRANGER)),
        "replayed": older,
    }
    names = [write(tmp_path, k, v) for k, v in sorted(bad.items())]
    oversize = str(tmp_path / "oversize")
    with open(oversize + ".http", "wb") as fh:  # claims a body far over the buffer
        fh.write(b"HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"\x8c" * 4096)
    nolength = str(tmp_path / "nolength")
    with open(nolength + ".http", "wb") as fh:  # no length, and more bytes than the buffer holds
        fh.write(b"HTTP/1.0 200 OK\r\n\r\n" + update + bytes(feed.MAX_FEED_BYTES))
    names += [oversize, nolength]
    info = feed.Checker(FID, [public_key(ORGANISER)]).check(bytearray(update), len(update))
    out = run_unix32(SCRIPT % {
        "first": write(tmp_path, "first", first), "update": write(tmp_path, "update", update), "bad": names,
        "fid": FID, "org": public_key(ORGANISER).hex(), "now": NOW, "issued": NOW,
        "stale": info.valid_until + 60, "not_set": "Clock not set \u2014 waiting for the time"},
        heapsize="180K", libs=[flashed])
    synced = "synced " + layout.hhmm(NOW, 120)
    assert "drew True" in out, out
    assert "first 1 0 %s Main Stage Mesh networks at festivals %s" % (
        synced, expected_frame(first, 0, NOW, synced)) in out, out
    t = NOW + 60
    up = "synced " + layout.hhmm(t, 120)
    assert "update 2 0 %s Main Stage Mesh networks at festivals %s" % (up, expected_frame(update, 0, t, up)) in out
    # every bad feed refused, the update still on screen, no MemoryError
    for i, line in enumerate(ln for ln in out.splitlines() if ln.startswith("bad ")):
        assert line.startswith("bad 2 %d " % min(i + 1, 4)) and "Main Stage Mesh networks at festivals" in line, out
    assert "refusals 6 " in out, out
    assert "wifi-lost 2 4 offline Main Stage Mesh networks" in out, out
    assert "flip 2 4 offline Bamboo Tent Kids' lab: Build a bamboo radio" in out, out
    assert "stale 2 4 old feed %s" % layout.hhmm(NOW + 60, 120) in out, out
    assert "unset-clock False --:-- True" in out, out
    assert "behind-feed False" in out, out


def test_38c3_satellite_fits_120_kb(flashed, tmp_path):
    """A 72-venue, 1007-event festival: imports, first feed (grant + 1 verify), an update and
    frames on two venues run in a 120 KB heap (the goal of issue 9; a Pico W has ~180 KB)."""
    data, org, fid, log_id, issued, counts, (update,) = feed_bench.signed_feed()
    assert counts["venues"] == 72 and counts["events"] >= 1000
    code = feed_bench._FITS % {"path": write(tmp_path, "feed", data), "path2": write(tmp_path, "update", update),
                               "fid": fid, "org": org.hex(), "now": issued + 300}
    out = run_unix32(code, heapsize="120K", libs=[flashed])
    assert out.strip().endswith("ok"), out


def test_feed_bench_section_runs():
    """`make bench` section "feed" runs and reports each figure beside its floor (no speed asserted)."""
    from pandascreen import bench

    assert "feed" in bench.SECTIONS
    r = feed_bench.run(quick=True)
    text = feed_bench.report(r)
    assert "floor: one raw Ed25519 verify" in text and "floor: feed update check on CPython" in text
    assert r["peak_heap_kb"] is not None and "RP2040" in text
