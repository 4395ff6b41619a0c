"""Festival days on a satellite, on MicroPython (tests/test_board_endurance.py): the festivals, the
feeds a full peer signs for them hour by hour, and the scenario (pandascreen/testing/micropython.py ``run_scenario``) that
runs a board through the days with a fake clock.

Time-compressed (a few minutes on the WebAssembly port for all festivals): each of the four days
has ``FEEDS_PER_DAY`` feeds (every 12 hours of festival time instead of hourly; every 24 hours for
the synthetic festivals of many hundred venues), each a new signed feed with the program of that
hour; after each feed every venue of the feed
is pressed through and drawn, then ``FRAMES_PER_FEED`` frames follow 5 minutes apart; each day
starts with a boot (a fresh interpreter, as after a reset) that loads the saved feed and the saved
time from flash; the clock (an RTC that kept running) is set from the next feed.  The live heap is
checked after every boot, every feed and every venue pass.
"""
import os

from pandascreen.core import feed, schema
from pandascreen.core.crypto import SigningKey, public_key
from pandascreen.core.schedule import Schedule
from pandascreen.node import feed_sign

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "schedules")
SEED = bytes(range(50, 82))
DAYS = 4
FEEDS_PER_DAY = 2  # real festivals; the synthetic ones of 550 and 600 venues take 1 (a pass is 600 frames)
FRAMES_PER_FEED = 3
REAL = {  # name: (file in ../shared/schedules, time zone where the file names none)
    "38c3": ("eventfahrplan_schedule-38c3-20251206.xml", None),
    "36c3": ("giggity_36c3_merged.xml", None),
    "fosdem2021": ("giggity_fosdem_2021.xml", "Europe/Brussels"),
}


def _schedule(changes):
    s = Schedule()
    for n, (kind, action, doc_id, fields) in enumerate(changes):
        schema.make_body(kind, action, doc_id, fields)  # valid as a full peer would take it
        s.apply({"v": 1, "kind": kind, "action": action, "id": doc_id, "fields": fields}, 1, (n + 1).to_bytes(4, "big"))
    return s


def real(name):
    """(Schedule, festival id) of a real festival from ../shared/schedules."""
    from pandascreen_host import importers
    path, zone = REAL[name]
    neutral = importers.load(os.path.join(SHARED, path), timezone=zone)
    return _schedule(importers.diff(None, neutral)), neutral["festival"]["id"]


def synthetic(venues, t0=1784800800, days=DAYS):
    """(Schedule, festival id) of a festival of ``venues`` venues, each with an hour-long talk every
    ninety minutes from 10:00 to 22:00 on ``days`` days from ``t0``."""
    fid = "synth%d" % venues
    changes = [("festival", "create", fid, {"name": "Synthetic %d" % venues, "utc_offset": 120})]
    for v in range(venues):
        changes.append(("venue", "create", "v%03d" % v, {"name": "Stage %d" % v, "order": v}))
    for d in range(days):
        for k in range(8):
            start = t0 + d * 86400 + k * 5400
            for v in range(venues):
                changes.append(("event", "create", "e%d-%d-%d" % (d, k, v), {
                    "venue": "v%03d" % v, "title": "Talk %d on day %d at stage %d" % (k, d + 1, v),
                    "start": start, "end": start + 3600, "speakers": ["Speaker %d" % (v * 7 + k)]}))
    return _schedule(changes), fid


def first_start(schedule):
    return min(int(e.start) for e in schedule.all_events())


def feeds(schedule, fid, folder, t0, per_day=FEEDS_PER_DAY):
    """Sign the feeds of the days from ``t0`` into ``folder`` (feed_<n>.http, the HTTP response);
    [(issued_at, venues in the feed, venues it left out)]."""
    out = []
    key = SigningKey(SEED)
    step = 86400 // per_day
    for n in range(DAYS * per_day):
        issued = t0 + n * step
        items = feed_sign.payload(schedule, fid, issued, [], public_key(SEED), None, version=feed.VERSION)
        data = feed_sign.sign_payload(items, key)
        info = feed.Checker(fid, [public_key(SEED)]).check(bytearray(data), len(data))
        with open(os.path.join(folder, "feed_%d.http" % n), "wb") as fh:
            fh.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
        out.append((issued, info.venue_count, info.venues_left_out))
    return out


SCRIPT = r"""
# live: start
import gc, framebuf
from pandascreen.board.board import Satellite
from pandascreen.board.saved_feed import FeedFile, FeedState
from pandascreen.core.clock import TimeFile
from pandascreen.core.util import unhexlify
# live: imports
D = %(dir)r
t = [%(t0)d]
served = [0]
resets = []
log = []

class Conn:
    def __init__(self):
        self.f = open(D + "/feed_%%d.http" %% served[0], "rb")
    def send(self, b):
        return len(b)
    def readinto(self, mv):
        return self.f.readinto(mv)
    def close(self):
        self.f.close()

def set_rtc(v):
    t[0] = int(v)

fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": [("pi", 8026)],
       "sync_interval": 3600}
shown = bytearray(1024)  # a flag per venue index drawn since the last pass began (also by a redraw during a fetch)

def show():
    shown[s.venue_index] = 1

s = None
s = Satellite(cfg, fb, show, 128, 64, clock=lambda: t[0], connect=lambda h, p: Conn(),
              log=log.append, time_file=TimeFile(D + "/last_time"), feed_file=FeedFile(D + "/last_feed"),
              state_file=FeedState(D + "/feed_state"), synced=lambda: False, set_time=set_rtc,
              reset=lambda: resets.append(t[0]))
print("boot", s.from_flash, s.view_source.info is not None)  # a feed of an earlier day, from flash
# live: boot

def feed_at(n, issued):
    served[0] = n
    t[0] = issued + 5
    s.step()
    if s.view_source.info is None or s.view_source.info.issued_at != issued:
        raise AssertionError("feed %%d not taken: %%r" %% (n, log[-3:]))

def venues():
    n = s.view_source.venue_pages()  # as a button press counts them
    for i in range(len(shown)):
        shown[i] = 0
    for i in range(n):
        s.press(1)
        s.step()
    return n, sum(shown)

def frames(k):
    drawn = 0
    for i in range(k):
        t[0] += 300
        drawn += s.step()
    return drawn
"""

STEP = r"""
feed_at(%(n)d, %(issued)d)
# live: feed_%(n)d
print("venues", %(n)d, venues(), frames(%(frames)d), s.faults, len(resets))
# live: venues_%(n)d
"""

END = r"""
t[0] = %(night)d  # the board ran on until the night (its time saved every 5 minutes), then the reboot
s.step()
print("day", s.feed_count, s.rejected, len(resets), s.faults)
"""


def scenarios(folder, fid, issued):
    per_day = len(issued) // DAYS
    """One scenario script per festival day (each a boot: a reboot is a fresh interpreter, as a
    reset is on a board), for feeds already written to ``folder`` (``feeds``)."""
    out = []
    for day in range(DAYS):
        at = issued[day * per_day][0]
        parts = [SCRIPT % {"dir": folder, "t0": at if day == 0 else at - 60, "fid": fid,
                           "org": public_key(SEED).hex()}]
        for n in range(day * per_day, (day + 1) * per_day):
            parts.append(STEP % {"n": n, "issued": issued[n][0], "frames": FRAMES_PER_FEED})
        nxt = issued[(day + 1) * per_day][0] if day + 1 < DAYS else issued[-1][0] + 3600
        parts.append(END % {"night": nxt - 600})
        out.append("".join(parts))
    return out


def expected(issued):
    """What each day's script prints when every step drew and nothing failed."""
    per_day = len(issued) // DAYS
    out = []
    for day in range(DAYS):
        lines = ["boot False False" if day == 0 else "boot True True"]
        for n in range(day * per_day, (day + 1) * per_day):
            count = issued[n][1] + (1 if issued[n][2] else 0)
            lines.append("venues %d (%d, %d) %d 0 0" % (n, count, count, FRAMES_PER_FEED))
        lines.append("day %d 0 0 0" % (per_day + (day > 0)))  # the saved feed counts at boot
        out.append(lines)
    return out
