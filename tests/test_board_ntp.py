"""board/main.py's NTP while no time server answers, on MicroPython 1.27 with fake hardware (``machine``,
``time`` on a fake millisecond clock, ``network``, ``socket``, ``ntptime`` and the display): the whole
of main.py runs, as flashed to /main.py, with the feed saved on flash and its peer down.

- Requests back off: one host per request, the next host each time, the wait after a request that
  got no answer doubling from NTP_FIRST_RETRY up to NTP_MAX_RETRY; none once a server answered.
- No request is made inside a fetch: fetches keep their pace (RETRY_OFFLINE while no peer answers).
- A button pressed as a request starts (and every 3.7 s) is drawn within one socket call's time
  (SOCKET_TIMEOUT, as between the socket calls of a fetch), never after a whole round of hosts.
"""
import re

from board_main_fakes import DEVICES, INSTALL, MAIN, flash_main
from pandascreen.testing.micropython import run_micropython
from test_feed import FID, NOW, ORGANISER
from pandascreen.core.crypto import public_key
from pandascreen.core.util import hexlify
RUN_S = 300  # fake seconds of each run
NTP_HOSTS = ["10.42.0.1", "10.42.0.2"]

HARNESS = r"""
import sys, json
import time as _time
import framebuf

T = [%(now)d * 1000]  # the fake clock, in ms
START = T[0]
ANSWER_AT = %(answer_at)d  # the request (1, 2, ...) a time server answers; 0: none ever does
REQUESTS = []  # (ms since start, host)
PRESSES = []  # ms since start of each button press
FRAMES = []  # ms since start of each frame shown
FETCHES = []  # ms since start of each connection to the feed peer

class End(KeyboardInterrupt):
    pass

def press(at):
    # the next button, unless one was pressed within 500 ms (main.py debounces 150 ms)
    if HANDLERS and (not PRESSES or at - PRESSES[-1] > 500):
        PRESSES.append(at)
        HANDLERS[0](None)

def advance(ms):
    # time passes; a button is pressed every 3.7 s (and as each NTP request starts, below)
    before = T[0]
    T[0] += ms
    for k in range((before - START) // 3700 + 1, (T[0] - START) // 3700 + 1):
        press(k * 3700)
    if T[0] - START > %(run_s)d * 1000:
        raise End()

class WDT:
    def __init__(self, timeout):
        pass
    def feed(self):
        pass

def reset():
    pass

def shown():
    FRAMES.append(T[0] - START)

class Sock:
    # the feed peer is down: its connection is refused at once
    def settimeout(self, s):
        pass
    def connect(self, addr):
        FETCHES.append(T[0] - START)
        advance(20)
        raise OSError(111)
    def close(self):
        pass
""" + DEVICES + r"""
ftime = Module()
ftime.time = lambda: T[0] // 1000
PERIOD = 1 << 30  # MicroPython's ticks_ms wraps at TICKS_MAX + 1 (2**30 on a Pico)
ftime.ticks_ms = lambda: (T[0] - START + %(uptime_ms)d) %% PERIOD
ftime.ticks_diff = lambda a, b: ((a - b + PERIOD // 2) %% PERIOD) - PERIOD // 2
ftime.sleep_ms = advance
ftime.gmtime = _time.gmtime

def settime():
    # one UDP request: no answer within ntptime.timeout, or the answer of request ANSWER_AT
    REQUESTS.append((T[0] - START, ntptime.host))
    press(T[0] - START)
    if len(REQUESTS) == ANSWER_AT:
        advance(30)
        return
    advance(int(ntptime.timeout * 1000))
    raise OSError(110)

ntptime = Module()
ntptime.host = None
ntptime.timeout = 1
ntptime.settime = settime

CONFIG = {"festival_id": %(fid)r, "organisers": [%(org)r], "feed_peers": ["pi:8026"], "ntp": %(ntp)r,
          "wifi": {"ssid": "festival", "psk": "secret"}, "buttons": {"next": 14}, "sync_interval": 60}
""" + INSTALL + r"""
with open("/last_feed", "wb") as fh:
    fh.write(bytes.fromhex(%(feed)r))
for f in ("/last_time", "/feed_state"):
    try:
        import os
        os.remove(f)
    except OSError:
        pass

from pandascreen.board import board as satellite_module
TAKEN = []  # presses the board took (Satellite.press), beside PRESSES made
_press = satellite_module.Satellite.press
def counted_press(self, d):
    TAKEN.append(T[0] - START)
    return _press(self, d)
satellite_module.Satellite.press = counted_press

try:
    exec(open(%(main)r).read(), {"__name__": "__main__"})
except End:
    pass
late = []
for p in PRESSES:
    drawn = [f for f in FRAMES if f >= p]
    late.append(drawn[0] - p if drawn else None)
print("requests", REQUESTS)
print("fetches", len(FETCHES), "presses", len(PRESSES), "latest-frame", max(late) if None not in late else None)
print("taken", len(TAKEN))
"""


def run(feed_hex, tmp_path, answer_at=0, uptime_ms=0):
    code = HARNESS % {"feed": feed_hex, "now": NOW, "fid": FID, "org": hexlify(public_key(ORGANISER)),
                      "main": flash_main(tmp_path), "run_s": RUN_S, "answer_at": answer_at, "ntp": NTP_HOSTS,
                      "uptime_ms": uptime_ms}
    out = run_micropython(code, dirs=[str(tmp_path)])
    requests = [(int(ms), host) for ms, host in re.findall(r"\((\d+), '([^']*)'\)", out.split("requests ", 1)[1]
                                                            .split("\n", 1)[0])]
    fetches, presses, latest = re.search(r"fetches (\d+) presses (\d+) latest-frame (\S+)", out).groups()
    return out, requests, int(fetches), int(presses), latest


def board_module():
    """main.py's constants, read from its source (importing it would start the board)."""
    src = open(MAIN).read()
    return dict((k, int(v)) for k, v in re.findall(r"^(NTP_FIRST_RETRY|NTP_MAX_RETRY|SOCKET_TIMEOUT) = (\d+)", src,
                                                   re.M))


def test_ntp_requests_back_off_and_never_hold_up_the_buttons(feed_hex, tmp_path):
    from pandascreen.board import board as B
    k = board_module()
    out, requests, fetches, presses, latest = run(feed_hex, tmp_path)
    # the hosts in turn: the config's, the feed server, then pool.ntp.org
    assert [h for _, h in requests[:4]] == NTP_HOSTS + ["pi", "pool.ntp.org"], out
    # each wait at least double the one before, from NTP_FIRST_RETRY to NTP_MAX_RETRY
    waits = [(b - a) / 1000.0 for (a, _), (b, _) in zip(requests, requests[1:])]
    want = k["NTP_FIRST_RETRY"]
    for w in waits:
        assert w >= want, (waits, out)
        want = min(2 * want, k["NTP_MAX_RETRY"])
    assert 6 <= len(requests) <= 9, out  # 2 s doubling in 300 s (no back-off: over 100)
    # fetches keep their pace: no NTP round inside one
    assert fetches >= RUN_S // B.RETRY_OFFLINE * 0.8, out
    # every press drawn within one socket call's time (the loop's 50 ms turn beside it), also the
    # ones made as a request started
    assert presses >= 70 + len(requests) - 1 and latest != "None", out
    assert int(latest) <= k["SOCKET_TIMEOUT"] * 1000 + 200, out


def test_no_request_once_a_time_server_answered(feed_hex, tmp_path):
    out, requests, fetches, presses, latest = run(feed_hex, tmp_path, answer_at=3)
    assert len(requests) == 3, out
    assert [h for _, h in requests] == NTP_HOSTS + ["pi"], out


def test_the_first_press_after_a_week_of_uptime_is_taken(feed_hex, tmp_path):
    # ticks_ms half way round its 2**30 ms (6.2 days up): the first press is drawn like any other
    out, requests, fetches, presses, latest = run(feed_hex, tmp_path, uptime_ms=(1 << 29) + 1000)
    taken = int(re.search(r"taken (\d+)", out).group(1))
    assert presses >= 60 and taken == presses, out
