"""serve's one line per fork of the organiser's own log (host_tools/pandascreen_host/own_forks.py)."""
from pandascreen.core.store import MemoryStore
from pandascreen_host.own_forks import OwnForks

KEY, OTHER = bytes([1] * 32), bytes([2] * 32)


def _store(*forks):
    s = MemoryStore()
    s.forks = [(a, b"log", seq, bytes([seq]) * 32, bytes([seq + 1]) * 32) for a, seq in forks]
    return s


def test_each_new_fork_of_the_own_log_is_said_once_and_another_authors_not_at_all():
    said = []
    store = _store()
    forks = OwnForks(store, KEY, said.append)
    assert said == []
    store.forks = [(OTHER, b"log", 3, b"k" * 32, b"o" * 32), (KEY, b"log", 7, b"k" * 32, b"o" * 32)]
    forks.check()
    forks.check()
    assert len(said) == 1 and "at seq_num 7" in said[0] and "another history" in said[0]


def test_forks_recorded_before_the_start_are_said_once_as_such():
    said = []
    forks = OwnForks(_store((KEY, 4), (KEY, 9), (OTHER, 2)), KEY, said.append)
    forks.check()
    assert len(said) == 1 and "recorded 2 fork(s)" in said[0] and "before" in said[0]
