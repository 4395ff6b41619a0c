"""The reconnect loop sleeps until the earliest redial is due (or a wake), not on a fixed tick,
and a heal restarts a dial begun inside the cut (node/iroh_peers.py, node/liveness.py)."""
import asyncio
import random
import types

from pandascreen.node import iroh_peers, liveness
from pandascreen.node.iroh_link import LinkBook


class Peer:
    def __init__(self, node_id):
        self.node_ids = [node_id]


class Keeper(iroh_peers.PeerKeeper, LinkBook):
    """A ``PeerKeeper`` with only the attributes its schedule reads: no endpoint, no iroh."""

    def __init__(self, now):
        self.links = []
        self._wanted = {}
        self._dialling = set()
        self._stopping = False
        self._redial_wake = None
        self.spawned = []
        self.sub = object()
        self.now = now

    def want(self, name, due, linked=False):
        peer = Peer(name.encode())
        entry = self._wanted[name] = {"spec": name, "peer": peer, "sub": self.sub,
                                      "redial": liveness.Redial(self.now, random.Random(1))}
        entry["redial"].due = due
        if linked:
            self.links.append(types.SimpleNamespace(ended=False, sub=self.sub, remote_id=peer.node_ids[0], live=None))
        return entry

    def _spawn(self, coro):
        coro.close()
        self.spawned.append(coro)


def test_the_loop_sleeps_until_the_earliest_due_redial_of_a_peer_that_is_away(monkeypatch):
    now = 1000.0
    monkeypatch.setattr(iroh_peers.time, "monotonic", lambda: now)
    k = Keeper(now)
    k.want("linked", now - 50, linked=True)  # live: due long ago, but nothing to do
    k.want("dialling", float("inf"))
    k.want("away", now + 3.0)
    k.want("later", now + 7.0)
    naps = []

    async def spy_wait_for(awaitable, timeout):
        awaitable.close()
        naps.append(timeout)
        k._stopping = True
        raise asyncio.TimeoutError

    monkeypatch.setattr(iroh_peers, "asyncio", types.SimpleNamespace(
        Event=asyncio.Event, TimeoutError=asyncio.TimeoutError, wait_for=spy_wait_for,
        CancelledError=asyncio.CancelledError, current_task=asyncio.current_task))
    asyncio.run(k._reconnect_loop())
    assert naps == [3.0]
    assert k.spawned == []  # nothing was due yet


def test_with_nothing_to_redial_the_loop_naps_long():
    k = Keeper(5.0)
    k.want("linked", 0.0, linked=True)
    assert k._redial_wait(5.0) == iroh_peers.REDIAL_NAP


def test_a_due_redial_is_marked_as_dialling_and_keeps_its_task(monkeypatch):
    now = 50.0
    monkeypatch.setattr(iroh_peers.time, "monotonic", lambda: now)
    k = Keeper(now)
    entry = k.want("away", now - 1)
    k._spawn = lambda coro: (coro.close(), "the task")[1]

    async def one_round():
        k._redial_wake = asyncio.Event()
        k._redial_wake.set()  # a wake: the loop looks at once
        real_wait_for = asyncio.wait_for

        async def then_stop(aw, timeout):
            k._stopping = True
            return await real_wait_for(aw, timeout)
        monkeypatch.setattr(iroh_peers, "asyncio", types.SimpleNamespace(
            Event=lambda: k._redial_wake, TimeoutError=asyncio.TimeoutError, wait_for=then_stop))
        await k._reconnect_loop()
    asyncio.run(one_round())
    assert entry["redial"].dialling_since == now and entry["redial"].due == float("inf")
    assert entry["task"] == "the task" and "away" in k._dialling


def _heal_coming(monkeypatch, now):
    """A keeper at ``now`` whose peer "back" answers again, and whose peer "stale" is being
    dialled since before the heal (begun inside the cut): (keeper, the stale one's entry)."""
    monkeypatch.setattr(iroh_peers.time, "monotonic", lambda: now)
    k = Keeper(now)
    back = k.want("back", now, linked=True)
    back["last_error"] = "no iroh answer"
    stale = k.want("stale", float("inf"))
    stale["redial"].dialling(now - liveness.STALE_DIAL - 1)
    return k, stale


def test_a_heal_cancels_a_stale_dial_and_makes_it_due_at_once(monkeypatch):
    now = 100.0
    k, stale = _heal_coming(monkeypatch, now)
    cancelled = []
    stale["task"] = types.SimpleNamespace(done=lambda: False, cancel=lambda: cancelled.append(True))
    fresh = k.want("fresh", float("inf"))
    fresh["redial"].dialling(now - 0.5)  # begun after the heal: left to finish
    fresh["task"] = types.SimpleNamespace(done=lambda: False, cancel=lambda: cancelled.append("fresh"))

    async def heal():
        k._redial_wake = asyncio.Event()
        k._back(k.links[0], alone=False)
        return k._redial_wake.is_set()
    assert asyncio.run(heal()) is True  # the loop looks again now
    assert cancelled == [True]
    assert stale["redial"].dialling_since is None and now <= stale["redial"].due <= now + liveness.REDIAL_AFTER_HEAL
    assert fresh["redial"].due == float("inf") and fresh["redial"].dialling_since == now - 0.5


def test_a_stale_dial_cancelled_before_its_task_ran_is_redialled(monkeypatch):
    """The reconnect loop marks a redial as dialling before its task runs; a heal that cancels
    the task first (the loop blocked meanwhile) runs none of its code: the mark must go with it,
    or the peer is never redialled."""
    now = 100.0
    k, stale = _heal_coming(monkeypatch, now)
    k._dialling.add("stale")  # as the loop left it, its task not run yet
    stale["task"] = types.SimpleNamespace(done=lambda: False, cancel=lambda: None)

    async def heal():
        k._redial_wake = asyncio.Event()
        k._back(k.links[0], alone=False)
    asyncio.run(heal())
    assert "stale" not in k._dialling
    assert k._redial_wait(now) <= liveness.REDIAL_AFTER_HEAL  # the loop dials it again soon


class Organiser(iroh_peers.PeerKeeper, LinkBook):
    """An organiser's places (``_init_places``) with no endpoint: ``_refill``'s dials are recorded,
    a later look is a timer recorded, not run; ``links`` are its sessions that run."""

    def __init__(self, max_linked):
        self._stopping = False
        self.links = []
        self.subs = [object(), object()]  # the festival's topic, the fleet's
        self.dialled = []
        self.timers = []
        self._loop = types.SimpleNamespace(call_later=lambda delay, fn: self.timers.append(delay) or
                                           types.SimpleNamespace(cancel=lambda: None))
        self._init_places(max_linked)

    def session(self, node_id, live=None, topic=0):
        """A session with ``node_id`` of ``subs[topic]`` runs: live (``live`` None) or one plain
        round (False)."""
        link = types.SimpleNamespace(ended=False, evicted=False, remote_id=node_id, live=live, sub=self.subs[topic])
        self.links.append(link)
        return link

    def _spawn(self, coro):
        self.dialled.append(coro.cr_frame.f_locals["spec"].split("@")[0])
        coro.close()
        self._refilling -= 1  # as _refill_one's end: the dial is over


def _organiser(monkeypatch, max_linked):
    """An ``Organiser`` and its monotonic clock (a one-item list the test moves on)."""
    now = [1000.0]
    monkeypatch.setattr(iroh_peers.time, "monotonic", lambda: now[0])
    return Organiser(max_linked), now


def test_an_organiser_dials_back_a_screen_that_ends_each_session_at_once_ever_later(monkeypatch):
    """A screen that cannot store what the organiser sends (its disk is full) ends each session
    within seconds: the organiser with a free place dials it back after a growing wait, never in a
    loop of dials (thousands a minute, found on a full SD card)."""
    org, now = _organiser(monkeypatch, max_linked=2)
    screen = b"\x07" * 32
    dials = []
    for _ in range(8):
        org.timers.clear()
        org._spare_add(screen, "10.0.0.7:2026", lasted=2.0)  # its session ended after 2 s
        org._refill()
        waited = 0.0
        while not org.dialled and waited < 60:  # the loop's timer fires when it said
            assert org.timers, "a waiting spare with a free place must be looked at again"
            step = org.timers.pop()
            now[0] += step
            waited += step
            org._refill()
        assert org.dialled == [screen.hex()]
        org.dialled.clear()
        dials.append(waited)
        # while it is dialled (off the list, not linked yet) another screen is told "full"
        org._spare_add(b"\x0a" * 32, "10.0.0.10:2026", told=True)
        org._spare.pop(b"\x0a" * 32)
        now[0] += 2.0
    assert dials[0] <= liveness.REDIAL_MIN and min(dials[-3:]) >= liveness.REDIAL_MAX / 2, dials


def test_an_organiser_dials_back_at_once_a_screen_told_full_and_soon_one_whose_session_lasted(monkeypatch):
    org, now = _organiser(monkeypatch, max_linked=2)
    org._spare_add(b"\x08" * 32, "10.0.0.8:2026", told=True)
    org._refill()
    assert org.dialled == [(b"\x08" * 32).hex()]
    org._spare_add(b"\x09" * 32, "10.0.0.9:2026", lasted=3600.0)
    org._refill()
    assert len(org.dialled) == 1 and org.timers and org.timers[-1] <= liveness.REDIAL_MIN


def test_a_screen_waiting_to_be_dialled_back_is_dialled_after_a_plain_round_with_it(monkeypatch):
    """The organiser's announcement or resync round with a screen of its list (a plain sync, no
    live session) ran when that screen's redial came due: the screen was taken off the list as
    linked, and a plain round's end puts nothing back, so the organiser never dialled it again
    (found under load: a full SD card that had room again never got the program)."""
    org, now = _organiser(monkeypatch, max_linked=1)
    screen = b"\x07" * 32
    org._spare_add(screen, "10.0.0.7:2026", lasted=2.0)
    org._refill()
    round_ = org.session(screen, live=False)  # the round begins before the redial is due
    now[0] += org.timers.pop()
    org._refill()
    assert org.dialled == [] and org.timers == []  # no dial beside the round, and no spin of timers
    round_.ended = True  # the round ends: its session's end looks at the list again
    org._refill()
    assert org.dialled == [screen.hex()]


def test_a_screen_linked_live_leaves_the_list_and_its_end_puts_it_back(monkeypatch):
    org, now = _organiser(monkeypatch, max_linked=2)
    screen = b"\x07" * 32
    org._spare_add(screen, "10.0.0.7:2026", told=True)
    live = org.session(screen)  # it dialled in and got a place
    org._refill()
    assert screen not in org._spare and org.dialled == []
    live.ended = True
    org._spare_add(screen, "10.0.0.7:2026", lasted=3600.0)
    now[0] += liveness.REDIAL_MIN
    org._refill()
    assert org.dialled == [screen.hex()]


def test_a_screen_linked_only_in_the_fleet_topic_stays_on_the_list(monkeypatch):
    """Its festival session ended (a full card ends it at once) while its fleet session runs on:
    only a festival session's end puts a screen back on the list, so the fleet's must not take it
    off."""
    org, now = _organiser(monkeypatch, max_linked=2)
    screen = b"\x07" * 32
    fleet = org.session(screen, topic=1)
    org._spare_add(screen, "10.0.0.7:2026", lasted=2.0)
    org._refill()
    assert screen in org._spare and org.dialled == []
    fleet.ended = True
    now[0] += liveness.REDIAL_MIN
    org._refill()
    assert org.dialled == [screen.hex()]


def test_after_its_dials_an_organiser_sets_no_timer_for_the_screens_it_dialled(monkeypatch):
    org, now = _organiser(monkeypatch, max_linked=3)
    org._spare_add(b"\x08" * 32, "10.0.0.8:2026", told=True)
    org._refill()
    assert org.dialled == [(b"\x08" * 32).hex()] and org.timers == []  # nothing left to wait for
    org._spare_add(b"\x08" * 32, "10.0.0.8:2026", told=True)
    org._spare_add(b"\x09" * 32, "10.0.0.9:2026", lasted=3.0)
    org._refill()
    assert len(org.dialled) == 2 and len(org.timers) == 1 and 0 < org.timers[0] <= liveness.REDIAL_MIN


def test_a_peer_whose_session_ended_during_a_plain_round_with_it_is_redialled_when_due():
    """A resync or announcement round with a wanted peer runs when that peer's live session
    ends: the round is no link that stays, so the loop waits for the peer's redial, not its
    ten-second nap."""
    k = Keeper(5.0)
    entry = k.want("away", 6.0)
    k.links.append(types.SimpleNamespace(ended=False, sub=k.sub, remote_id=entry["peer"].node_ids[0], live=False))
    assert k._redial_wait(5.0) == 1.0


def test_a_screen_whose_fleet_session_the_organiser_took_stays_on_the_list(monkeypatch):
    """The screen's festival session ended at once (a full card) and its fleet redial came in
    first: taking that session must not take the screen off the list, whose fleet session's end
    puts nothing back; the organiser dials its festival topic when its wait is over."""
    org, now = _organiser(monkeypatch, max_linked=2)
    screen = b"\x07" * 32
    org._spare_add(screen, "10.0.0.7:2026", lasted=2.0)
    org._admitted(screen)
    fleet = org.session(screen, topic=1)
    org._refill()
    fleet.ended = True
    now[0] += liveness.REDIAL_MIN
    org._refill()
    assert org.dialled == [screen.hex()]
