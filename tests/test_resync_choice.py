"""Which live peer the resync beside live mode asks (node/liveness.py ``resync_peer``): each in
turn, the one asked longest ago first, so what any live peer holds arrives within one round per
live peer -- a random pick could ask the same peer again and again and never the one holding it."""
import random

from pandascreen.node import liveness


def test_each_live_peer_is_asked_in_turn_before_any_is_asked_again():
    last = {}
    peers = [bytes([i] * 32) for i in range(5)]
    asked = [liveness.resync_peer(peers, last, now=t, rng=random.Random(t)) for t in range(10)]
    assert sorted(asked[:5]) == sorted(peers) and asked[5:] == asked[:5]


def test_a_peer_that_went_away_is_forgotten_and_a_new_one_is_asked_next():
    peers = [bytes([1] * 32), bytes([2] * 32)]
    last = {}
    for t in range(2):
        liveness.resync_peer(peers, last, now=t)
    new = bytes([3] * 32)
    assert liveness.resync_peer([peers[1], new], last, now=5) == new
    assert set(last) == {peers[1], new}
