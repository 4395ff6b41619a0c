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
