"""When the network comes back, a dial that began before, inside the cut, is restarted rather
than waited for until its timeout (node/liveness.py ``Redial.healed``)."""
import random

from pandascreen.node import liveness


def test_a_stale_dial_under_way_at_the_heal_is_named_for_restart_and_redialled_soon():
    r = liveness.Redial(0.0, random.Random(3))
    r.failed(0.0)
    r.dialling(10.0)  # its packets go into the cut
    assert r.healed(10.0 + liveness.STALE_DIAL) is True
    r.cancelled(12.5)
    assert r.dialling_since is None and 12.5 <= r.due <= 12.5 + liveness.REDIAL_AFTER_HEAL
    assert r.backoff == liveness.REDIAL_MIN


def test_a_fresh_dial_is_left_to_finish_and_a_waiting_peer_is_due_soon():
    r = liveness.Redial(0.0, random.Random(4))
    r.dialling(20.0)
    assert r.healed(20.5) is False  # begun after the network came back, most likely: let it finish
    assert r.dialling_since == 20.0
    waiting = liveness.Redial(0.0, random.Random(5))
    for _ in range(5):
        waiting.failed(0.0)  # backed off to REDIAL_MAX
    assert waiting.healed(30.0) is False and waiting.due <= 30.0 + liveness.REDIAL_AFTER_HEAL


def test_a_dial_that_ends_clears_its_start():
    r = liveness.Redial(0.0, random.Random(6))
    r.dialling(1.0)
    r.succeeded()
    assert r.dialling_since is None and r.healed(9.0) is False
    r.dialling(2.0)
    r.failed(3.0)
    assert r.dialling_since is None


def test_a_dial_begun_after_the_heal_is_not_cancelled_when_more_peers_answer_again():
    # under load a handshake takes seconds; each peer that answers again is a heal signal, and
    # a dial begun after the first one is not stale: restarting it only repeats its handshake
    r = liveness.Redial(0.0, random.Random(7))
    r.failed(0.0)
    r.dialling(10.0)
    assert r.healed(12.0) is True  # begun inside the cut
    r.cancelled(12.0)
    r.dialling(12.5)
    assert r.healed(15.0) is False and r.healed(20.0) is False
    assert r.dialling_since == 12.5
    waiting = liveness.Redial(0.0, random.Random(8))
    waiting.failed(11.9)  # due again after the heal
    assert waiting.healed(12.0) is False and waiting.due > 12.0
    waiting.dialling(waiting.due)
    assert waiting.healed(waiting.due + 5.0) is False


def test_the_next_cut_makes_a_dial_stale_again():
    r = liveness.Redial(0.0, random.Random(9))
    r.failed(0.0)
    r.dialling(10.0)
    assert r.healed(12.0) is True
    r.cancelled(12.0)
    r.dialling(12.5)
    r.failed(22.5)  # the network went away again: the heal is over
    r.dialling(30.0)
    assert r.healed(33.0) is True
    r.cancelled(33.0)
    r.dialling(33.5)
    r.succeeded()
    r.dialling(100.0)  # a later cut: this dial's packets go into it
    assert r.healed(103.0) is True


def test_a_session_that_ends_leaves_the_last_heal_behind():
    # the peer came back by dialling us, so no dial of ours succeeded or failed; its session
    # lived an hour and ended in the next cut: the dial into that cut is stale at its heal
    r = liveness.Redial(0.0, random.Random(10))
    r.failed(0.0)
    assert r.healed(12.0) is False
    r.ended(3612.0, lasted=3600.0)
    assert r.due > 3612.0
    r.dialling(r.due)
    assert r.healed(r.due + liveness.STALE_DIAL + 1.0) is True


def test_a_session_that_ends_soon_after_it_began_backs_off_further():
    r = liveness.Redial(0.0, random.Random(11))
    r.ended(100.0, lasted=3.0)
    first = r.due - 100.0
    r.ended(200.0, lasted=3.0)
    assert r.due - 200.0 > first and r.backoff > liveness.REDIAL_MIN


def test_a_peer_that_takes_each_dial_and_ends_it_soon_is_redialled_ever_later():
    """As the node runs it: each redial reaches its sync (``succeeded``), then the session ends
    within seconds (a peer that evicts us, cannot store what we send).  The first is redialled as
    soon as after a failed dial, the next ones in a row ever later, up to REDIAL_MAX; a session
    that lasts starts the count over."""
    r = liveness.Redial(0.0, random.Random(12))
    now, waits = 0.0, []
    for _ in range(8):
        r.dialling(now)
        r.succeeded()
        now += 3.0
        r.ended(now, lasted=3.0)
        waits.append(r.due - now)
        now = r.due
    assert waits[0] <= liveness.REDIAL_MIN
    assert min(waits[-3:]) >= liveness.REDIAL_MAX / 2, waits  # not one dial a second for ever
    r.dialling(now)
    r.succeeded()
    now += 600.0
    r.ended(now, lasted=600.0)
    r.succeeded()
    r.ended(now + 3.0, lasted=3.0)
    assert r.due - (now + 3.0) <= liveness.REDIAL_MIN


def test_a_session_cut_short_right_after_a_heal_is_redialled_at_once():
    """Dials failed all through a cut (the backoff at REDIAL_MAX); the heal's first dial gets in,
    and under load its session ends within seconds: redialled within REDIAL_MIN, not after the
    cut's backoff (heals with both cores loaded took 4.7-5.7 s at the tail so)."""
    r = liveness.Redial(0.0, random.Random(13))
    for t in range(5):
        r.failed(float(t))
    assert r.backoff == liveness.REDIAL_MAX
    r.dialling(100.0)
    r.succeeded()
    r.ended(104.0, lasted=4.0)
    assert r.due - 104.0 <= liveness.REDIAL_MIN


def test_sessions_cut_short_before_a_cut_do_not_slow_the_redial_after_its_heal():
    """The bench cuts and heals the network again and again: sessions linked at one heal end in
    the next cut within seconds, so they counted as sessions cut short in a row.  A dial that
    failed in the cut breaks that row (the network ended them, not the peer), and so does a heal:
    the heal's session cut short under load is redialled within REDIAL_MIN, not after 4-8 s."""
    for ends_before in range(1, 6):
        r = liveness.Redial(0.0, random.Random(14))
        now = 0.0
        for _ in range(ends_before):  # linked at a heal, ended by the next cut soon after
            r.dialling(now)
            r.succeeded()
            now += 20.0
            r.ended(now, lasted=20.0)
            now = r.due
        for _ in range(3):  # the cut: dials fail
            r.dialling(now)
            r.failed(now + 10.0)
            now = r.due
        r.healed(now)  # another peer answered again
        r.dialling(now)
        r.succeeded()
        r.ended(now + 2.0, lasted=2.0)  # under load, this session too ends within seconds
        assert r.due - (now + 2.0) <= liveness.REDIAL_MIN, ends_before
