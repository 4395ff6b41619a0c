"""A festival from before 2020 on a satellite: 36c3 (December 2019, its real schedule from
../shared).  2020 is the floor of a clock that was never set, not of the program: a board whose
clock comes from the feed's signed issued-at claims that time (2019), and after a reboot without
Wi-Fi it shows the program at the time it saved, not at 2020-01-01."""
import io
import contextlib

import pytest

from pandascreen.testing.micropython import run_micropython
from pandascreen.bench import feed as feed_bench
from pandascreen.core import clock
from pandascreen.core.util import hexlify

SCHEDULE = feed_bench.FIXTURE.replace("eventfahrplan_schedule-38c3-20251206.xml", "giggity_36c3_merged.xml")


@pytest.fixture(scope="module")
def old_feed():
    data, org, fid, _log, issued, counts, _ = feed_bench.signed_feed(SCHEDULE, later=())
    assert issued < clock.MIN_VALID_TIME and counts["venues"] > 80
    return data, org, fid, issued


SCRIPT = r"""
from pandascreen.board.board import Satellite
from pandascreen.core.util import unhexlify
from pandascreen.testing.flash import Saved

FEED = unhexlify(%(feed)r)
ISSUED = %(issued)d
RTC_2021 = 1609459200  # a Pico W's RTC after a power cut
t = [RTC_2021]

class Canvas:
    def fill_rect(self, *a):
        pass
    def fill(self, *a):
        pass
    def pixel(self, *a):
        pass
    def hline(self, *a):
        pass
    def vline(self, *a):
        pass
    def rect(self, *a):
        pass

class Conn:
    def __init__(self, up):
        if not up:
            raise OSError("Wi-Fi down")
        self.data = b"HTTP/1.0 200 OK\r\nContent-Length: %%d\r\n\r\n" %% len(FEED) + FEED
        self.at = 0
    def send(self, b):
        return len(b)
    def readinto(self, mv):
        n = min(len(mv), len(self.data) - self.at)
        mv[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n
    def close(self):
        pass

def set_rtc(v):
    t[0] = v

def board(up, time_file, feed_file):
    t[0] = RTC_2021
    cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": [("pi", 80)]}
    return Satellite(cfg, Canvas(), lambda: None, 128, 64, clock=lambda: t[0], connect=lambda h, p: Conn(up),
                     time_file=time_file, feed_file=feed_file, synced=lambda: False, set_time=set_rtc)

def show(tag, s):
    v = s.view(t[0])
    print(tag, t[0] - ISSUED, s.screen_time(t[0])[0] - ISSUED, s.clock_trusted(t[0]), v["clock"], v["status"],
          bool(v["now"]))

times, feeds = Saved(None), Saved(None)
s = board(True, times, feeds)
s.step()
show("first-boot", s)
t[0] += 300
s.step()
show("five-minutes", s)
s = board(False, times, feeds)  # a reboot where Wi-Fi is gone: the saved feed and the saved time
s.step()
show("reboot-offline", s)
"""

EXPECTED = [
    "first-boot 0 0 True 16:30 synced 16:30 True",  # Leipzig, UTC+1
    "five-minutes 300 300 True 16:35 synced 16:35 True",
    # the clock is not the board's own after the reboot: the program at the time it saved
    "reboot-offline %d 300 False --:-- clock not set True",
]


def _script(old_feed):
    data, org, fid, issued = old_feed
    return SCRIPT % {"feed": hexlify(data), "issued": issued, "fid": fid, "org": hexlify(org)}


def _expected(old_feed):
    rtc = 1609459200 - old_feed[3]
    return [line % rtc if "%d" in line else line for line in EXPECTED]


def test_a_2019_festival_runs_on_a_satellite_whose_clock_comes_from_the_feed(old_feed):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_script(old_feed), "old festival", "exec"), {})
    assert out.getvalue().splitlines() == _expected(old_feed)


def test_a_2019_festival_runs_on_a_satellite_under_micropython(old_feed):
    out = run_micropython(_script(old_feed))
    assert out.splitlines() == _expected(old_feed), out


def test_the_2020_floor_holds_for_a_clock_that_was_never_set():
    assert clock.screen_time(0, []) == (clock.MIN_VALID_TIME, False)
    assert clock.own_time(clock.MIN_VALID_TIME - 86400) == (None, False)
    # a clock known synchronised is the time in any year; a saved time is the floor below 2020 too
    assert clock.own_time(clock.MIN_VALID_TIME - 86400, synced=True) == (clock.MIN_VALID_TIME - 86400, True)
    assert clock.own_time(0, clock.MIN_VALID_TIME - 3600, synced=False) == (clock.MIN_VALID_TIME - 3600, False)
    # no time at all: a signed timestamp from 2019 is the reference, not 2020
    assert clock.screen_time(0, [clock.MIN_VALID_TIME - 7200]) == (clock.MIN_VALID_TIME - 7200, False)
