"""board/main.py's watchdog and resets, on MicroPython 1.27 with fake hardware injected (``machine``
with WDT and reset recorders, ``time`` on a fake millisecond clock, ``network``, ``socket``,
``ntptime`` and the display): the whole of main.py runs, as flashed to /main.py.

- The loop feeds the watchdog (``machine.WDT(timeout=WATCHDOG_MS)``) often enough through a normal
  fetch and a peer that trickles one byte a second for the whole FETCH_DEADLINE: no reset.
- A socket call that never returns (a hang of any kind) feeds it no more: the watchdog resets the
  board within WATCHDOG_MS (8 s) of its last feed; nothing else feeds it behind the loop's back.
- A display that fails every frame (MemoryError): after FAULTS_BEFORE_RESET steps the board saves
  the time to /last_time and calls machine.reset().
"""
from board_main_fakes import DEVICES, INSTALL, flash_main
from pandascreen.testing.micropython import run_micropython
from test_feed import FID, NOW, ORGANISER
from pandascreen.core.crypto import public_key
from pandascreen.core.util import hexlify

HARNESS = r"""
import sys, json
import time as _time
import framebuf

FEED = bytes.fromhex(%(feed)r)
MODE = %(mode)r
T = [%(now)d * 1000]  # the fake clock, in ms
WDTS = []
EVENTS = []

class Reset(KeyboardInterrupt):
    # the board restarts: nothing in the loop may catch it (step() catches Exception only)
    pass

def advance(ms):
    # time passes; the hardware watchdog bites when it was not fed within its timeout
    T[0] += ms
    for w in WDTS:
        if T[0] - w.fed > w.timeout:
            EVENTS.append(("watchdog", T[0] - w.fed))
            raise Reset("watchdog")

class WDT:
    def __init__(self, timeout):
        self.timeout = timeout
        self.fed = T[0]
        self.feeds = 0
        WDTS.append(self)
    def feed(self):
        self.fed = T[0]
        self.feeds += 1

def reset():
    try:
        saved = open("/last_time").read().strip()
    except OSError:
        saved = None
    EVENTS.append(("reset", saved))
    raise Reset("machine.reset")

def shown():
    if MODE == "memory":
        raise MemoryError("memory allocation failed")
    EVENTS.append(("frame", T[0] // 1000))

FETCHES = [0]

class Sock:
    def __init__(self):
        FETCHES[0] += 1
        self.data = b"HTTP/1.0 200 OK\r\nContent-Length: %%d\r\n\r\n" %% len(FEED) + FEED
        self.at = 0
        self.hang = MODE == "hang" and FETCHES[0] > 1
        self.slow = MODE == "slow" and FETCHES[0] > 1
    def settimeout(self, s):
        pass
    def connect(self, addr):
        advance(20)
        while self.hang:  # never returns: only the watchdog ends this
            advance(100)
    def send(self, b):
        advance(5)
        return len(b)
    def readinto(self, mv):
        if self.slow:
            advance(1000)  # one byte a second: the socket timeout (1 s) passes between bytes
            n = 1 if self.at < len(self.data) else 0
        else:
            advance(10)
            n = min(len(mv), len(self.data) - self.at)
        mv[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n
    def close(self):
        pass
""" + DEVICES + r"""
ftime = Module()
ftime.time = lambda: T[0] // 1000
ftime.ticks_ms = lambda: T[0]
ftime.ticks_diff = lambda a, b: a - b
ftime.sleep_ms = advance
ftime.gmtime = _time.gmtime

def settime():
    advance(1000)
    raise OSError("no time server")

ntptime = Module()
ntptime.host = None
ntptime.settime = settime

CONFIG = {"festival_id": %(fid)r, "organisers": [%(org)r], "feed_peers": ["pi:8026"],
          "wifi": {"ssid": "festival", "psk": "secret"}, "sync_interval": 60}
""" + INSTALL + r"""
for f in ("/last_time", "/last_feed", "/feed_state"):
    try:
        import os
        os.remove(f)
    except OSError:
        pass

START = T[0]
try:
    exec(open(%(main)r).read(), {"__name__": "__main__"})
except Reset:
    pass
w = WDTS[0]
frames = [e for e in EVENTS if e[0] == "frame"]
print("wdt", w.timeout, "fetches", FETCHES[0], "frames", len(frames))
print("end", [e for e in EVENTS if e[0] in ("watchdog", "reset")])
print("ran", (T[0] - START) // 1000)
"""


def run(mode, feed_hex, tmp_path, budget_s):
    """main.py under ``mode`` until the board resets (or ``budget_s`` of fake time: then the
    harness's own reset ends the run)."""
    code = HARNESS % {"feed": feed_hex, "mode": mode, "now": NOW, "fid": FID, "org": hexlify(public_key(ORGANISER)),
                      "main": flash_main(tmp_path)}
    # a run that no reset ends stops when the fake clock passes its budget
    code = code.replace("    T[0] += ms\n", "    T[0] += ms\n    if T[0] - START > %d * 1000:\n"
                        "        EVENTS.append(('budget', 0))\n        raise Reset('budget')\n" % budget_s, 1)
    code = code.replace("START = T[0]\ntry:", "try:").replace("T = [%d * 1000]" % NOW,
                                                             "T = [%d * 1000]\nSTART = T[0]" % NOW)
    return run_micropython(code, dirs=[str(tmp_path)])


def test_a_slow_peer_never_starves_the_watchdog(feed_hex, tmp_path):
    """Three minutes of fake time with a peer that sends a byte a second after the first fetch:
    the loop feeds the watchdog between socket calls, so only the harness's time budget ends it."""
    out = run("slow", feed_hex, tmp_path, 180)
    assert "wdt 8000 " in out, out
    assert "end []" in out, out  # no watchdog bite, no reset
    fetches = int(out.split("fetches ")[1].split()[0])
    assert fetches >= 3, out  # the slow fetches ended by their deadline and the loop went on


def test_a_hang_ends_in_a_watchdog_reset_within_its_timeout(feed_hex, tmp_path):
    out = run("hang", feed_hex, tmp_path, 600)
    end = out.split("end ", 1)[1].split("\n", 1)[0]
    assert end.startswith("[('watchdog', ") and "reset" not in end, out
    bite = int(end.split(", ")[1].rstrip(")]"))
    assert 8000 < bite <= 8100, out  # within WATCHDOG_MS (8 s) of the last feed, as the RP2040's
    assert int(out.split("frames ")[1].split()[0]) >= 1, out  # the first feed was on screen before


def test_failing_frames_save_the_time_then_reset(feed_hex, tmp_path):
    out = run("memory", feed_hex, tmp_path, 600)
    end = out.split("end ", 1)[1].split("\n", 1)[0]
    assert end.startswith("[('reset', '") and "watchdog" not in end, out
    saved = int(end.split("'")[3])
    assert abs(saved - NOW) < 120, out  # the time set from the signed feed, saved just before the reset
