"""The MicroPython board loop (board.py + ssd1306.py) under real MicroPython, against CPython and the Pi app."""
import hashlib

import pytest

from mpy import run_micropython
from test_layout import VLSBCanvas
from pandascreen import demofest
from pandascreen.core import controller, layout, operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import hexlify

SEED = bytes(range(100, 132))
LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)
NOW = demofest.DAY_START + 75 * 60


@pytest.fixture(scope="module")
def organiser_ops():
    s = MemoryStore()
    for i, body in enumerate(demofest.bodies()):
        s.publish(SEED, body, LOG, demofest.DAY_START * 1000000 + i)
    return list(s.all_operations(LOG))


def expected_frames(ops):
    from pandascreen.core.schedule import Schedule
    sch = Schedule(authors=[public_key(SEED)])
    for op in ops:
        sch.apply(op)
    out = []
    for venue in (0, 1):
        c = VLSBCanvas(128, 64)
        status = "synced " + layout.hhmm(NOW, demofest.UTC_OFFSET)  # festival time, not UTC
        layout.draw_view(c, 128, 64, layout.build_view(sch, venue, NOW, status), "mono")
        out.append(hashlib.sha256(bytes(c.buf)).hexdigest()[:16])
    return out


SCRIPT = r"""
import hashlib
import framebuf
from pandascreen.core import operation
from pandascreen.board.board import Board
from pandascreen.board.ssd1306 import SSD1306
from pandascreen.core.store import MemoryStore
from pandascreen.core.sync import SyncSession, ACCEPTOR
from pandascreen.core.util import unhexlify, hexlify

OPS = %(ops)r
LOG = operation.log_id_for_festival(%(fid)r)
organiser = MemoryStore()
for hb, body in OPS:
    organiser.ingest(unhexlify(hb), unhexlify(body) if body else None)

class FakeI2C:
    def __init__(self):
        self.writes = []
    def writeto(self, addr, buf):
        self.writes.append((addr, bytes(buf)))
    def writevto(self, addr, bufs):
        self.writes.append((addr, b"".join(bytes(b) for b in bufs)))

class LoopConn:
    # the organiser's acceptor session, wired back-to-back with the board's initiator
    def __init__(self, store):
        self.peer = SyncSession(store, LOG, ACCEPTOR, topic=operation.festival_topic(%(fid)r))
        self.peer.start()
    def send(self, data):
        self.peer.feed(bytes(data))
    def recv(self, n):
        return self.peer.outgoing() or b""
    def close(self):
        pass

i2c = FakeI2C()
oled = SSD1306(i2c, 128, 64, 0x3C)
init = i2c.writes[:]
print("init-cmds", len([w for w in init if w[1][0] == 0x80]), "frame-bytes", len(init[-1][1]))
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(pk)r)], "peer_addrs": [("organiser", 2026)],
       "sync_interval": 60}
t = [%(now)d]
board = Board(cfg, MemoryStore(), oled, oled.show, 128, 64, clock=lambda: t[0],
              connect=lambda h, p: LoopConn(organiser), log=print)
print("drew", board.step(), "ops", board.store.count(), "status", board.status)
print("frame0", hexlify(hashlib.sha256(bytes(oled.buffer)).digest())[:16])
print("sent", len(i2c.writes[-1][1]))
print("again", board.step())
board.press(1)
print("drew", board.step())
print("frame1", hexlify(hashlib.sha256(bytes(oled.buffer)).digest())[:16])
t[0] = 1000
print("unset-clock", board.step(), board.status, board.controller.clock_trusted(t[0]))

# a board that never got the time nor a peer: the frame the Pi must draw the same way
lonely = SSD1306(FakeI2C(), 128, 64, 0x3C)
b2 = Board({"festival_id": %(fid)r, "peer_addrs": []}, MemoryStore(), lonely, lonely.show, 128, 64,
           clock=lambda: 1000)
print("lonely", b2.step(), b2.status)
print("lonely-frame", hexlify(hashlib.sha256(bytes(lonely.buffer)).digest())[:16])
"""


def test_board_loop_under_micropython(organiser_ops):
    ops = [(hexlify(o.header_bytes), hexlify(o.body) if o.body else "") for o in organiser_ops]
    out = run_micropython(SCRIPT % {"ops": ops, "fid": demofest.FESTIVAL_ID, "pk": hexlify(public_key(SEED)),
                                    "now": NOW})
    f0, f1 = expected_frames(organiser_ops)
    assert "init-cmds" in out and "frame-bytes 1025" in out, out
    assert "drew True ops %d status synced 15:15\n" % len(organiser_ops) in out, out
    assert "frame0 " + f0 in out, out
    assert "sent 1025" in out
    assert "again False" in out
    assert "frame1 " + f1 in out, out
    assert f0 != f1
    assert "unset-clock True synced 15:15 False" in out, out  # a wrong clock is never shown silently
    assert "lonely True no peers" in out, out
    assert "lonely-frame " + pi_clock_not_set_frame() in out, out


def pi_clock_not_set_frame():
    """The Pi app's frame for the same situation, packed like the SSD1306 frame buffer (MONO_VLSB)."""
    from pandascreen.node import app

    shots = []

    class Screen:
        def show(self, img):
            shots.append(img.copy())

    dev = app.Device({"festival_id": demofest.FESTIVAL_ID, "peer_addrs": [], "display": "ssd1306_128x64"},
                     MemoryStore(), Screen(), clock=lambda: 1000)
    dev.controller.step()
    img = shots[-1].convert("1")
    c = VLSBCanvas(128, 64)
    for y in range(64):
        for x in range(128):
            c.pixel(x, y, 1 if img.getpixel((x, y)) else 0)
    view = dev.controller.view(1000)
    assert view["message"] == controller.CLOCK_NOT_SET and view["clock"] == "--:--"
    return hashlib.sha256(bytes(c.buf)).hexdigest()[:16]


UNIX32_SCRIPT = r"""
import gc
import framebuf
from pandascreen.board.board import Board
from pandascreen.core.controller import TimeFile
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import unhexlify

OPS = %(ops)r
store = MemoryStore()
for hb, body in OPS:
    store.ingest(unhexlify(hb), unhexlify(body) if body else None)
fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(pk)r)], "peer_addrs": []}
t = [%(now)d]
board = Board(cfg, store, fb, lambda: None, 128, 64, clock=lambda: t[0], time_file=TimeFile("last_time"))
print("drew", board.step(), board.status, open("last_time").read().strip() == str(t[0]))
board.press(1)
t[0] += 400
print("flip", board.step(), board.venue_index, open("last_time").read().strip() == str(t[0]))
gc.collect()
print("free", gc.mem_free())
# a reboot whose clock came back an hour early (no RTC, no network yet): not trusted
t[0] -= 3600
again = Board(cfg, store, fb, lambda: None, 128, 64, clock=lambda: t[0], time_file=TimeFile("last_time"))
again.step()
print("rebooted", again.controller.clock_trusted(t[0]), again.controller.view(t[0])["clock"])
"""


def test_board_in_a_pico_sized_heap_with_a_time_file(organiser_ops):
    """32-bit MicroPython, 180 KB heap (a Pico W after Wi-Fi): loop, flip, last known time on a real file."""
    from mpy import run_unix32

    ops = [(hexlify(o.header_bytes), hexlify(o.body) if o.body else "") for o in organiser_ops]
    out = run_unix32(UNIX32_SCRIPT % {"ops": ops, "fid": demofest.FESTIVAL_ID, "pk": hexlify(public_key(SEED)),
                                      "now": NOW})
    assert "drew True no peers True" in out, out
    assert "flip True 1 True" in out, out
    assert "rebooted False --:--" in out, out
