"""A clock stepped back (a time source that was wrong, set right; a clock set by hand) never makes a
screen wait out the step: what waits for an interval on the wall clock -- a sync, an e-paper
refresh, the way home after a visitor flipped, a periodic redraw, a fleet heartbeat, a status
let through a rate limit, "alone since" -- counts a time after ``now`` as long ago, not as
"just now" for as long as the step (core/clock.py ``elapsed``)."""

from pandascreen.core import clock, fleet
from pandascreen.core.controller import Controller
from pandascreen.core.refresh import FULL, FULL_ONLY, PARTIAL, RefreshPolicy
from pandascreen.core.store import MemoryStore
from pandascreen.testing import festival as demofest
from pandascreen.testing.clock import Clock
from pandascreen.testing.festival import GOLDEN_DAY, golden_schedule
from pandascreen.testing.peers import FakePeers
from test_fleet import SCREEN, group_with_screen, status_op

NOW = demofest.DAY_START + 75 * 60
STEP = 2 * 3600  # the clock goes back two hours


def test_elapsed_is_the_time_since_and_a_time_after_now_counts_as_long_ago():
    assert clock.elapsed(1000, 400) == 600
    assert clock.elapsed(1000, 1000) == 0
    assert clock.elapsed(1000, 1000 + clock.STEP_BACK + 1) >= 10 ** 9
    assert clock.elapsed(1000, 1000 + STEP) >= 10 ** 9


def test_an_e_paper_panel_draws_an_edit_after_the_clock_steps_back_not_two_hours_later():
    p = RefreshPolicy(FULL_ONLY)
    t = 1_780_000_000
    assert p.due(t, "program") == FULL
    assert p.due(t + 600, "edited") == FULL
    assert p.due(t + 600 - STEP + 60, "cancelled") == FULL  # was None until the clock caught up
    assert p.due(t + 600 - STEP + 100, "again") is None  # and from then on its gap counts as before


def test_a_partial_panel_keeps_its_full_refresh_after_the_clock_steps_back():
    p = RefreshPolicy(PARTIAL)
    t = 1_780_000_000
    assert p.due(t, "program") == FULL
    assert p.due(t - STEP, "program", tick=1) == FULL  # a full refresh, not partials for two hours


def _tcp_screen():
    """A screen with one plain-TCP peer, a sync a minute, its first step taken: (controller, clock, peers)."""
    peers = FakePeers(configured=[("10.0.0.2", 2026)])
    t = Clock(NOW)
    ctl = Controller({"festival_id": demofest.FESTIVAL_ID, "peer_addrs": list(peers.configured), "sync_interval": 60},
                     MemoryStore(), transport=peers.transport, clock=t, found=peers.found)
    ctl.step(t())
    return ctl, t, peers


def test_a_screen_syncs_at_once_after_its_clock_steps_back():
    ctl, t, _ = _tcp_screen()
    t.t -= STEP
    t.sleep(10)
    assert ctl.sync_due(t())  # was not due for two hours: a TCP screen heard no change meanwhile
    ctl.step(t())
    t.sleep(10)
    assert not ctl.sync_due(t())  # synced at the new time: due again a sync interval later
    t.sleep(60)
    assert ctl.sync_due(t())


def test_a_screen_that_cannot_reach_anyone_says_so_after_its_clock_steps_back():
    ctl, t, peers = _tcp_screen()
    peers.cut()
    for _ in range(3):
        t.sleep(20)
        ctl.step(t())
    t.t -= STEP
    for _ in range(int(clock.ALONE_AFTER // 10) + 1):
        t.sleep(10)
        ctl.step(t())
    assert ctl.status().startswith(clock.ALONE), ctl.status()


def test_a_flipped_screen_goes_home_and_a_periodic_redraw_comes_after_the_clock_steps_back():
    t = [GOLDEN_DAY]
    ctl = Controller({"festival_id": "f", "home_venue": "lab", "home_after": 30, "render_interval": 60},
                     MemoryStore(), clock=lambda: t[0])
    ctl.schedule = golden_schedule()
    ctl.redraw(t[0], catch_up=False)
    ctl.flip(1)
    t[0] -= STEP
    assert ctl.redraw(t[0] + 40, catch_up=False)  # a redraw, though nothing changed: the step is long ago
    assert ctl.venue_index == 1  # home, not on the visitor's venue for two hours


def test_a_screen_sends_its_heartbeat_after_its_clock_steps_back():
    store = MemoryStore()
    r = fleet.Reporter()
    t = 10_000_000
    fields = dict(shows="Main Stage: Opening 10:00", heights={"ab" * 8: 4}, clock=True, uptime=100,
                  version="1.0", venue="main", last_sync=t, temp_mc=48000)
    assert r.publish(store, b"\x02" * 32, fleet.fleet_log_id("fest"), t, **fields) is not None
    later = t - STEP + 60  # nothing new: published as the heartbeat, once it is due
    assert r.publish(store, b"\x02" * 32, fleet.fleet_log_id("fest"), later, **fields) is not None


def test_a_console_takes_a_screens_status_after_its_own_clock_steps_back():
    c = Clock(10000)
    store = MemoryStore()
    store.authorizer = fleet.FleetGuard(group_with_screen(), clock=c)
    assert store.ingest_op(status_op(SCREEN, 0))[1] is True
    c.t -= STEP
    c.sleep(fleet.RATE_INTERVAL)
    assert store.ingest_op(status_op(SCREEN, 1))[1] is True, store.last_refused  # was refused for two hours


def test_a_visitors_press_is_not_undone_by_the_redraw_of_the_same_second():
    """A Pi's clock reads fractions of a second; the loop draws at whole seconds.  The redraw
    just after a press sees the press a fraction "after" now: that is not a clock stepped back."""
    t = [GOLDEN_DAY + 0.6]
    ctl = Controller({"festival_id": "f", "home_venue": "lab", "home_after": 30}, MemoryStore(), clock=lambda: t[0])
    ctl.schedule = golden_schedule()
    ctl.redraw(int(t[0]), catch_up=False)
    ctl.flip(1)
    ctl.redraw(int(t[0]), catch_up=False)
    assert ctl.venue_index == 2  # the visitor's venue, not home again at once
    ctl.show_overview()
    ctl.redraw(int(t[0]), catch_up=False)
    assert ctl.overview
    assert clock.elapsed(1000, 1000 + clock.STEP_BACK) == 0  # a time a moment ahead is now
