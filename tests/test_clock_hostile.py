"""A screen never lies about the time, and no signed timestamp blanks its program (core/clock.py's
clock rule): writers of a self-organised festival with far-future and far-past clocks, on CPython
and on MicroPython."""
import contextlib
import io

import pytest

from pandascreen.testing.micropython import run_micropython
from pandascreen.testing import festival as demofest
from pandascreen.core import auth, clock, operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.util import hexlify

LOG = operation.log_id_for_festival(demofest.FESTIVAL_ID)
ORG, WRITER, PAST = b"\x51" * 32, b"\x52" * 32, b"\x53" * 32
NOW = demofest.DAY_START + 75 * 60  # 15:15 festival time: "Mesh networks at festivals" runs on the main stage
FAR_FUTURE = 4070908800  # 2099-01-01
US = 1000000


class Writer:
    def __init__(self, seed):
        self.seed, self.key, self.ops = seed, public_key(seed), []

    def publish(self, body, ts):
        prev = self.ops[-1] if self.ops else None
        op = operation.create(self.seed, body, len(self.ops), prev.hash if prev else None,
                              operation.Extensions(LOG, ts * US, False))
        self.ops.append(op)
        return op

    def talk(self, title, ts, start):
        eid = "main/%s/%s" % (hexlify(self.key), title.lower().replace(" ", "-"))
        return self.publish(schema.make_body("event", "create", eid, {
            "venue": "main", "title": title, "start": start, "end": start + 1800}), ts)


def hexops(ops):
    return [(hexlify(o.header_bytes), hexlify(o.body)) for o in ops]


@pytest.fixture(scope="module")
def ops():
    """The demo festival by its organiser, a writer and a second writer invited into the
    self-organised festival; then a far-future, a far-past and a slightly-ahead operation."""
    org, writer, past = Writer(ORG), Writer(WRITER), Writer(PAST)
    base = [org.publish(b, demofest.DAY_START - 86400 + i) for i, b in enumerate(demofest.bodies())]
    base.append(org.publish(auth.group_body(org.key, auth.add(writer.key, auth.WRITE), []), demofest.DAY_START - 60))
    base.append(org.publish(auth.group_body(org.key, auth.add(past.key, auth.WRITE), [base[-1].hash]),
                            demofest.DAY_START - 50))
    return {"base": hexops(base),
            "future": hexops([writer.talk("Talk from 2099", FAR_FUTURE, NOW + 3600)]),
            "past": hexops([past.talk("Talk from 1970", 1, NOW + 5400)]),
            "ahead": hexops([org.publish(schema.make_body("venue", "update", "lab", {"name": "Hack Lab"}),
                                         NOW + 3 * 3600)])}


SCENARIO = r"""
from pandascreen.core import operation
from pandascreen.core.controller import Controller
from pandascreen.core.store import MemoryStore
from pandascreen.core.util import unhexlify

OPS = %(ops)r
NOW = %(now)d
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "festival_mode": "self-organised"}
store = MemoryStore()
saved = []
ctl = Controller(cfg, store, clock=lambda: NOW, load_time=lambda: None, save_time=saved.append)

def add(name):
    for h, b in OPS[name]:
        store.ingest(unhexlify(h), unhexlify(b))

def show(tag, t=NOW):
    ctl.refresh()
    v = ctl.view(t)
    titles = [e.title for e in ctl.schedule.events("main")]
    print(tag, ctl.clock_trusted(t), v["clock"], v["status"], (v["now"] or {}).get("title"), v["message"],
          "Talk from 2099" in titles, "Talk from 1970" in titles)

add("base")
show("base")
add("future")
show("future")
add("past")
show("past")
ctl.step()
print("saved", [s - NOW for s in saved])
add("ahead")
show("ahead")
fresh = Controller(cfg, store, clock=lambda: 1000)
v = fresh.view(1000)
print("no-clock", fresh.clock_trusted(1000), v["clock"], v["status"], (v["now"] or {}).get("title"), v["message"])
"""

EXPECTED = [
    "base True 15:15 starting Mesh networks at festivals  False False",
    # a writer's operation from 2099: its talk is applied, its time moves nothing
    "future True 15:15 starting Mesh networks at festivals  True False",
    "past True 15:15 starting Mesh networks at festivals  True True",
    "saved [0]",
    # the organiser's clock 3 h ahead (within CLOCK_SKEW): the program at its time, the clock not claimed
    "ahead False --:-- clock not set None Break until 18:20 True True",
    # no clock at all: the writers' lower median (the organiser's time) is the reference, 2099 is
    # past it by more than CLOCK_SKEW; the program stays on screen
    "no-clock False --:-- clock not set None Break until 18:20",
]


def _script(ops):
    return SCENARIO % {"ops": ops, "now": NOW, "fid": demofest.FESTIVAL_ID, "org": hexlify(public_key(ORG))}


def test_far_future_and_far_past_writers_on_cpython(ops):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_script(ops), "scenario", "exec"), {})
    assert out.getvalue().splitlines() == EXPECTED


def test_far_future_and_far_past_writers_under_micropython(ops):
    out = run_micropython(_script(ops))
    assert out.splitlines() == EXPECTED, out


# -- the satellite: a full peer whose clock runs a year ahead ------------------------------------

SATELLITE = r"""
from pandascreen.board.board import Satellite
from pandascreen.core.util import unhexlify

FEEDS = dict((k, unhexlify(v)) for k, v in %(feeds)r.items())
NOW = %(now)d
t = [NOW]
log = []

from pandascreen.testing.canvas import NullCanvas as Canvas
from pandascreen.testing.flash import Saved
from pandascreen.testing.sockets import BytesConn, http_ok

def Conn(name):
    return BytesConn(http_ok(FEEDS[name]))

def board(peers, saved=None, last_time=NOW - 300, synced=None):
    cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": peers}
    return Satellite(cfg, Canvas(), lambda: None, 128, 64, clock=lambda: t[0], connect=lambda h, p: Conn(h),
                     log=log.append, time_file=Saved(last_time), feed_file=Saved(saved),
                     synced=None if synced is None else (lambda: synced))

def show(tag, s):
    v = s.view(t[0])
    print(tag, s.feed_count, s.rejected, s.clock_trusted(t[0]), v["clock"], v["status"], (v["now"] or {}).get("title"))

s = board([("ahead", 1), ("good", 2)])
s.step()
show("first", s)
t[0] += 60
s.step()
show("again", s)
s = board([("ahead", 1)], saved=FEEDS["good"])
t[0] += 60
s.step()
show("ahead-refused", s)
s = board([("good", 2)], saved=FEEDS["ahead"])
show("boot-ahead", s)
s.step()
show("boot-good", s)
s = board([("ahead", 1), ("good", 2)], synced=True, last_time=None)
s.step()
show("ntp", s)
print("log", len(log))
s = board([("stale", 1), ("good", 2)], synced=True, last_time=None)
s.step()
print("a-stale-feed-first", s.view_source.info.issued_at - NOW, s._best[0])
"""

SATELLITE_EXPECTED = [
    # nothing on screen: the feed from the future is taken by content, the next peer's correct one replaces it
    "first 2 0 True 15:15 synced 15:15 Mesh networks at festivals",
    "again 2 0 True 15:16 synced 15:16 Mesh networks at festivals",
    # a correct feed on screen (here: from flash): the one from the future is refused
    "ahead-refused 1 1 True 15:17 old feed 15:15 Mesh networks at festivals",
    # a feed from the future saved on flash: shown by content, the clock stays the board's own
    "boot-ahead 1 0 True 15:17 old feed None",
    # and the next correct feed replaces it (no "replay")
    "boot-good 2 0 True 15:17 synced 15:17 Mesh networks at festivals",
    "ntp 2 0 True 15:17 synced 15:17 Mesh networks at festivals",
    "log 1",
    # a peer that answers first with a feed signed 35 minutes ago (a stranger's replay, a screen
    # that lost its own peers): the next peer is asked too, its current feed shown, and it is
    # asked first next time (the board had kept the old program, and asked the stale peer first)
    "a-stale-feed-first 0 good",
]


@pytest.fixture(scope="module")
def feeds():
    from test_feed import demo_feed, demo_store
    store = demo_store()
    return {"good": hexlify(demo_feed(store, issued=NOW)), "ahead": hexlify(demo_feed(store, issued=NOW + 365 * 86400)),
            "stale": hexlify(demo_feed(store, issued=NOW - 35 * 60))}


def _satellite(feeds):
    from test_feed import ORGANISER
    return SATELLITE % {"feeds": feeds, "now": NOW, "fid": demofest.FESTIVAL_ID, "org": hexlify(public_key(ORGANISER))}


def test_a_satellite_is_not_bricked_by_a_peer_a_year_ahead(feeds):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_satellite(feeds), "satellite", "exec"), {})
    assert out.getvalue().splitlines() == SATELLITE_EXPECTED


def test_a_satellite_is_not_bricked_under_micropython(feeds):
    out = run_micropython(_satellite(feeds))
    assert out.splitlines() == SATELLITE_EXPECTED, out


def test_an_ntp_synchronised_clock_is_moved_by_no_signed_timestamp():
    assert clock.screen_time(NOW, [NOW + 3600], NOW - 60, synced=True) == (NOW, True)
    assert clock.screen_time(NOW, [NOW + 3600], NOW - 60) == (NOW + 3600, False)  # not known: within the skew
    assert clock.screen_time(NOW, [NOW + clock.CLOCK_SKEW + 1], NOW - 60) == (NOW, True)  # from the future
    # a board that found no time server: its clock is not its own; the saved time and the feed are
    assert clock.screen_time(1609459200, [NOW], NOW - 3600, synced=False) == (NOW, False)
    assert clock.screen_time(1609459200, [FAR_FUTURE], NOW - 3600, synced=False) == (NOW - 3600, False)
    # no time at all: the writers' lower median is the reference; one writer alone cannot move it far
    assert clock.screen_time(0, [NOW, FAR_FUTURE]) == (NOW, False)
    assert clock.screen_time(0, []) == (clock.MIN_VALID_TIME, False)


def test_the_pi_asks_the_kernel_whether_ntp_keeps_its_clock():
    from pandascreen.core.store import MemoryStore
    from pandascreen.node import app, ntp_state
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [public_key(ORG)], "display": "ssd1306_128x64"}
    assert ntp_state.kernel_synced() in (True, None)
    assert app.Device(cfg, MemoryStore(), None).controller._synced is ntp_state.kernel_synced
    assert app.Device(cfg, MemoryStore(), None, clock=lambda: NOW).controller._synced is None


# -- a Pico W with no internet gets the time from its Pi screens' signed feeds -------------------

PICO = SATELLITE.split("s = board(")[0] + r"""
RTC_2021 = 1609459200
def set_rtc(v):
    t[0] = v

def pico(peers, last_time, feeds_of=None):
    t[0] = RTC_2021  # the RTC restarted after a power cut; NTP found no server
    cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": peers}
    return Satellite(cfg, Canvas(), lambda: None, 128, 64, clock=lambda: t[0], connect=lambda h, p: Conn(h),
                     log=log.append, time_file=Saved(last_time), feed_file=Saved(None),
                     synced=lambda: False, set_time=set_rtc)

def show(tag, s):
    v = s.view(t[0])
    print(tag, t[0] - NOW, s.clock_trusted(t[0]), v["clock"], v["status"], (v["now"] or {}).get("title"))

s = pico([("good", 2)], NOW - 3600)
s.step()
show("after-an-hour", s)
s = pico([("good", 2)], NOW - 2 * 86400)
s.step()
show("after-two-days-one-signer", s)
s = pico([("good", 2), ("organiser", 3)], NOW - 2 * 86400)
s.step()
t[0] += 60
s.step()
show("after-two-days-two-signers", s)
s = pico([("ahead", 1)], NOW - 3600)
s.step()
show("a-peer-a-year-ahead", s)
s = pico([("good", 2)], None)
s.step()
show("first-boot", s)
s = pico([("good", 2), ("organiser", 3)], NOW - 3600)
s.step()
print("asked-first-next-time", s._best[0])
s = pico([("old", 2)], NOW - 4 * 3600)
s.step()
show("an-old-feed-first", s)
s.cfg["peer_addrs"] = [("good", 2)]
t[0] += 60
s.step()
show("then-a-later-one", s)
s = pico([("old13", 2)], None)
s.step()
show("no-saved-time-a-replay-first", s)
s.cfg["peer_addrs"] = [("good", 2), ("organiser", 3)]
t[0] += 60
s.step()
show("then-two-signers-agree", s)
s = pico([("old", 2), ("good", 3)], NOW - 4 * 3600)
s.step()
print("an-old-feed-then-a-current-one-in-one-round", t[0] - NOW, s._best[0])
s = pico([("good", 2)], NOW - 3600)
s.step()
moved = [t[0] - NOW]
for name in ("p11", "p22"):
    s.cfg["peer_addrs"] = [(name, 2)]
    t[0] += 60
    s.step()
    moved.append(t[0] - NOW)
print("one-signer-walks-the-clock", moved)
t[0] = RTC_2021
s = Satellite({"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)],
               "peer_addrs": [("good", 2), ("organiser", 3)]}, Canvas(), lambda: None, 128, 64,
              clock=lambda: t[0], connect=lambda h, p: Conn(h), log=log.append, time_file=Saved(NOW - 2 * 86400),
              feed_file=Saved(FEEDS["old48"]), synced=lambda: False, set_time=set_rtc)
s.step()
show("after-two-days-a-saved-feed-two-signers", s)
"""

PICO_EXPECTED = [
    "after-an-hour 0 True 15:15 synced 15:15 Mesh networks at festivals",
    # off for two days: one signer's word does not move the clock that far; the program at the
    # saved time, the clock not claimed
    "after-two-days-one-signer -174921300 False --:-- clock not set None",
    "after-two-days-two-signers 60 True 15:16 synced 15:16 Mesh networks at festivals",
    "a-peer-a-year-ahead -174921300 False --:-- clock not set None",
    "first-boot 0 True 15:15 synced 15:15 Mesh networks at festivals",
    # a feed that just set the clock is current by that clock alone: the next peer is asked in the
    # same round, and the one whose feed was current by the time set is asked first next time
    "asked-first-next-time organiser",
    # a stranger answers first with a feed signed three hours ago (within reach of the saved
    # time): the clock is set from it; a later feed, within CLOCK_SKEW, says it is behind and
    # sets it again (it had stayed three hours behind, trusted, showing the wrong now and next)
    "an-old-feed-first -10800 True 12:15 synced 12:15 None",
    "then-a-later-one 0 True 15:15 synced 15:15 Mesh networks at festivals",
    # no saved time (a fresh board): a feed signed 13 hours ago sets the clock; current feeds are
    # further ahead than one signer may move it, and two signers that agree move it (they had
    # been refused as from the future for good)
    "no-saved-time-a-replay-first -46800 True 02:15 synced 02:15 None",
    "then-two-signers-agree 0 True 15:15 synced 15:15 Mesh networks at festivals",
    # a feed that set the clock ends no round: the next peer's current one sets it right at once
    "an-old-feed-then-a-current-one-in-one-round 0 good",
    # one signer moves a clock set from a feed forward once (within CLOCK_SKEW), never step by step
    "one-signer-walks-the-clock [0, 39600, 39660]",
    # off two days with its feed saved: two signers that agree set the clock, and the saved feed
    # no longer makes every current one look from the future
    "after-two-days-a-saved-feed-two-signers 0 True 15:15 synced 15:15 Mesh networks at festivals",
]


@pytest.fixture(scope="module")
def pico_feeds(feeds):
    from test_feed import ORGANISER, demo_feed, demo_store
    out = dict(feeds)
    out["organiser"] = hexlify(demo_feed(demo_store(), key=ORGANISER, grant=False, issued=NOW))
    out["old"] = hexlify(demo_feed(demo_store(), issued=NOW - 3 * 3600))
    out["old13"] = hexlify(demo_feed(demo_store(), issued=NOW - 13 * 3600))
    out["old48"] = hexlify(demo_feed(demo_store(), issued=NOW - 48 * 3600))
    out["p11"] = hexlify(demo_feed(demo_store(), issued=NOW + 11 * 3600))
    out["p22"] = hexlify(demo_feed(demo_store(), issued=NOW + 22 * 3600))
    return out


def _pico(feeds):
    from test_feed import ORGANISER
    return PICO % {"feeds": feeds, "now": NOW, "fid": demofest.FESTIVAL_ID, "org": hexlify(public_key(ORGANISER))}


def test_a_pico_gets_the_time_from_its_pi_screens(pico_feeds):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_pico(pico_feeds), "pico", "exec"), {})
    assert out.getvalue().splitlines() == PICO_EXPECTED


def test_a_pico_gets_the_time_from_its_pi_screens_under_micropython(pico_feeds):
    out = run_micropython(_pico(pico_feeds))
    assert out.splitlines() == PICO_EXPECTED, out


def test_main_asks_the_provisioned_time_servers_then_its_pi_screens(monkeypatch):
    """board/main.py: NTP from the config's "ntp" hosts, then the feed servers' hosts (Pi screens,
    the laptop), then pool.ntp.org; the RTC takes a signed feed's time as (year, month, day,
    weekday, h, m, s, subseconds)."""
    import os
    import sys
    import types
    import pandascreen.board
    asked, rtc = [], []

    def settime():
        asked.append(ntptime.host)
        if ntptime.host != "pi-screen":
            raise OSError("timed out")

    ntptime = types.SimpleNamespace(host=None, settime=settime)
    machine = types.SimpleNamespace(RTC=lambda: types.SimpleNamespace(datetime=rtc.append))
    monkeypatch.setitem(sys.modules, "ntptime", ntptime)
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "pandascreen.board.ssd1306", types.SimpleNamespace(SSD1306=None))
    path = os.path.join(os.path.dirname(pandascreen.board.__file__), "main.py")
    source = open(path).read()
    assert source.rstrip().endswith("\nmain()")
    ns = {}
    exec(compile(source.rstrip()[:-len("main()")], path, "exec"), ns)
    cfg = {"ntp": ["10.42.0.1"], "feed_addrs": [("pi-screen", 8026), ("10.42.0.1", 8026)]}
    assert ns["ntp_hosts"](cfg) == ["10.42.0.1", "pi-screen", "pool.ntp.org"]
    import time
    ticks = [0]
    ns["time"] = types.SimpleNamespace(ticks_ms=lambda: ticks[0], ticks_diff=lambda a, b: a - b, gmtime=time.gmtime)
    ns["WLAN"][0] = types.SimpleNamespace(isconnected=lambda: True)
    for _ in range(4):  # one host per request, each after the last one's back-off (tests/test_board_ntp.py)
        ns["set_time_ntp"](cfg)
        ticks[0] += 3600 * 1000
    assert asked == ["10.42.0.1", "pi-screen"] and ns["NTP_SYNCED"] == [True]
    ns["set_rtc"](NOW)  # 2026-07-18 13:15:00 UTC, a Saturday (weekday 5)
    assert rtc == [(2026, 7, 18, 5, 13, 15, 0, 0)]


def test_a_clock_far_past_everything_signed_is_not_claimed_nor_saved():
    """A clock set a year ahead once (a wrong RTC, a hand's typo) made a screen claim that the
    festival was over, and saved that time: set right again, the screen kept showing the program
    a year on, as "clock not set", until NTP came.  A clock further past the newest signed
    timestamp than FAR_AHEAD is not claimed, so it is never saved either."""
    signed = [NOW - 3600, NOW - 7200]
    ahead = NOW + 365 * 86400
    assert clock.screen_time(ahead, signed) == (ahead, False)
    assert clock.screen_time(NOW + clock.FAR_AHEAD - 3600, signed) == (NOW + clock.FAR_AHEAD - 3600, True)
    assert clock.screen_time(ahead, signed, synced=True) == (ahead, True)  # NTP keeps it: any year
    # a program signed long before its festival: the clock is measured against its last event too
    assert clock.screen_time(ahead, signed, program_end=ahead - 86400) == (ahead, True)
    saved = []
    kept = clock.LastKnownTime(load=lambda: None, save=saved.append)
    assert not kept.remember(ahead, lambda: clock.screen_time(ahead, signed)[1])
    assert saved == [] and clock.screen_time(NOW, signed, kept.value) == (NOW, True)


def test_a_time_saved_far_past_everything_signed_is_no_floor_once_the_clock_is_right():
    """A time saved while the clock was a year ahead (a time server that was wrong: a synchronised
    clock is trusted in any year) had stayed the screen's floor after the clock was set right:
    the program was shown a year on, as "clock not set", until NTP came again.  A saved time
    further than FAR_AHEAD past the newest signed timestamp and the program's end is no floor
    for a clock that can be the time; a clock known unset (a Pi with no RTC at boot) keeps it."""
    signed = [NOW - 3600, NOW - 7200]
    ahead = NOW + 365 * 86400
    assert clock.screen_time(NOW, signed, last_known=ahead) == (NOW, True)
    assert clock.screen_time(NOW, signed, last_known=ahead, program_end=ahead - 86400) == (ahead, False)
    assert clock.screen_time(NOW, signed, last_known=NOW + 3600) == (NOW + 3600, False)  # a floor: near
    assert clock.screen_time(0, signed, last_known=ahead) == (ahead, False)  # no clock of its own: it stays
    assert clock.screen_time(NOW, signed, last_known=ahead, synced=False) == (ahead, False)
    assert clock.clock_trusted(NOW, (NOW - 3600) * 1000000, last_known=ahead)
    assert clock.screen_time(NOW, (), last_known=ahead) == (ahead, False)  # nothing signed to measure it against
    # a writer's timestamp from the future (past this clock by more than CLOCK_SKEW) does not make it one
    assert clock.screen_time(NOW, signed + [ahead - 60], last_known=ahead) == (NOW, True)
    # a clock far behind everything signed (a Pi with no RTC, long after its program ended) keeps
    # the floor: nothing signed is near enough to it to say the saved time is the wrong one
    end = ahead - 200 * 86400
    assert clock.screen_time(ahead - 400 * 86400, [end - 86400], ahead, None, end) == (ahead, False)


# -- fuzz: the clock rule's promises for any timestamps -----------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

STAMP = st.integers(min_value=0, max_value=1 << 40)


@settings(max_examples=400, deadline=None)
@given(now=STAMP, signed=st.lists(STAMP, max_size=6), last=st.one_of(st.none(), STAMP),
       synced=st.sampled_from([None, False, True]), rogue=STAMP)
def test_no_signed_timestamp_moves_a_screen_past_its_own_time_by_more_than_the_skew(now, signed, last, synced,
                                                                                      rogue):
    t, trusted = clock.screen_time(now, signed, last, synced)
    own, own_trusted = clock.own_time(now, clock.saved_floor(now, last, signed, synced), synced)
    # 2020 bounds a clock of unknown state only: not a trusted clock, a saved time or a signed timestamp
    assert t >= clock.MIN_VALID_TIME or (trusted and t == now) or t == last or t in signed
    if own is not None:
        assert own <= t <= own + clock.CLOCK_SKEW
        # a far-future timestamp added by any writer changes nothing
        far = own + clock.CLOCK_SKEW + 1 + rogue
        assert clock.screen_time(now, signed + [far], last, synced) == (t, trusted)
    if synced:
        assert (t, trusted) == (now, True)
    if trusted:
        assert t == now


@settings(max_examples=200, deadline=None)
@given(honest=st.integers(min_value=clock.MIN_VALID_TIME, max_value=1 << 33), n=st.integers(2, 5), rogue=STAMP)
def test_with_no_time_of_its_own_one_writer_cannot_move_a_screen_far(honest, n, rogue):
    # n honest writers within a minute of each other, one rogue writer with any clock
    signed = [honest + i * 10 for i in range(n)] + [rogue]
    t, trusted = clock.screen_time(0, signed)
    assert not trusted and honest - 1 <= t <= honest + n * 10 + clock.CLOCK_SKEW


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(-(1 << 63), 1 << 63), st.booleans(), st.none(), st.text(max_size=3)),
                max_size=20))
def test_any_zone_rule_is_refused_or_applied_never_crashes(rule):
    try:
        schema.make_body("festival", "create", "f", {"name": "F", "utc_offsets": rule})
    except schema.SchemaError:
        return
    for t in (rule[0] - 1, rule[0], rule[-2], rule[-2] + 1):
        assert -1440 < layout_offset(rule, t) < 1440


def layout_offset(rule, t):
    from pandascreen.core import layout
    return layout.offset_at(rule, t)


def test_a_time_the_screen_cannot_vouch_for_counts_nothing_down(ops):
    """"--:--" in the header, and no "25m left" / "in 1h" either: absolute times only, on the
    Pi's OLED (drawn without the countdown) and on the satellite."""
    from pandascreen.core.controller import Controller
    from pandascreen.core.store import MemoryStore
    from pandascreen.core.util import unhexlify
    from pandascreen.node import display
    store = MemoryStore()
    for h, b in ops["base"]:
        store.ingest(unhexlify(h), unhexlify(b))
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [public_key(ORG)], "display": "ssd1306_128x64"}
    unset = Controller(cfg, store, clock=lambda: 1000).view(1000)  # no time: the organiser's newest signed time
    assert unset["clock"] == "--:--" and unset["absolute"] and unset["next"]["in"] == ""
    assert unset["now"] is None or unset["now"]["left"].startswith("until ")
    assert display.render(unset, "ssd1306_128x64").size == (128, 64)
    trusted = Controller(cfg, store, clock=lambda: NOW).view(NOW)
    assert not trusted["absolute"] and trusted["now"]["left"].endswith(" left")
