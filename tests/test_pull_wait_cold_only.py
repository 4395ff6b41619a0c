"""A session waits behind another session's pull (node/iroh_session.py ``_after_pulls``) only while
the screen holds nothing of the log yet, or that pull has more than BIG_PULL operations to come: a
screen that has the program and lacks a change (a heal, a resync, a live change relayed) says what
it holds at once."""
import asyncio
import time
from types import SimpleNamespace

from pandascreen.core import log_sync
from pandascreen.core.sync import LOG_SYNC
from pandascreen.node import iroh_session


def _waits(monkeypatch, heights, to_come=None):
    sleeps = []
    real_sleep = asyncio.sleep

    async def counted(seconds):
        sleeps.append(seconds)
        await real_sleep(0)
    monkeypatch.setattr(iroh_session.asyncio, "sleep", counted)
    monkeypatch.setattr(iroh_session, "PULL_WAIT", 0.2)
    sub = SimpleNamespace(store=SimpleNamespace(heights=lambda log_id: heights), log_id=b"L")
    busy = SimpleNamespace(ended=False, sub=sub, last_progress=time.monotonic() + 60,  # pulling all along
                           session=SimpleNamespace(state=LOG_SYNC, log_sync=SimpleNamespace(receiving=None),
                                                   remote_total_ops=to_come, ops_received=0))
    assert busy.session.log_sync.receiving != log_sync.RECEIVED_DONE
    new = SimpleNamespace(ended=False, sub=sub, last_progress=0.0)
    runner = SimpleNamespace(links=[busy, new], timeout=30.0)
    asyncio.run(iroh_session.SessionRunner._after_pulls(runner, new))
    return sleeps


def test_a_screen_holding_nothing_waits_behind_a_pull_under_way(monkeypatch):
    assert _waits(monkeypatch, {}) != []


def test_a_screen_holding_the_program_does_not_wait_behind_a_pull(monkeypatch):
    assert _waits(monkeypatch, {b"author": 1079}) == []


def test_a_screen_holding_part_of_the_log_waits_behind_a_big_pull(monkeypatch):
    """A session that began late, the first pull a third done: hundreds still to come."""
    assert _waits(monkeypatch, {b"author": 300}, to_come=iroh_session.BIG_PULL + 1) != []
    assert _waits(monkeypatch, {b"author": 300}, to_come=iroh_session.BIG_PULL) == []  # a change: at once
