"""A program arriving in batches is drawn a few times a second, not at every batch (each frame
renders, and on an OLED goes over I2C); a lone change after a quiet spell is drawn at once
(node/app.py ``Device._pace``)."""

import threading
import time

from pandascreen.core import config, operation
from pandascreen.core.crypto import public_key
from pandascreen.core.store import MemoryStore
from pandascreen.node import app
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.testing import festival as demofest
from pandascreen.testing.screen import RecordingScreen

SEED = bytes(range(100, 132))


def _device(tmp_path):
    org = MemoryStore()
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    demofest.publish(org, SEED, log)
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "display": "ssd1306_128x64",
                           "organisers": [public_key(SEED).hex()]})
    store = SqliteStore(str(tmp_path / "screen.db"))
    screen = RecordingScreen()
    dev = app.Device(cfg, store, screen, clock=lambda: demofest.DAY_START + 3600)
    return dev, store, screen, list(org.all_operations(log))


def test_a_program_arriving_in_batches_is_drawn_a_few_times_not_at_every_batch(tmp_path):
    dev, store, screen, ops = _device(tmp_path)
    stop = threading.Event()
    loop = threading.Thread(target=dev.run, args=(stop,), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while not screen.shown and time.monotonic() < deadline:  # the first frame: "no schedule yet"
            time.sleep(0.01)
        first = len(screen.shown)
        started = time.monotonic()
        for op in ops:  # one operation a batch, as fast as a sync hands them over
            store.ingest_many([op])
            dev.wake.set()
            time.sleep(0.02)
        took = time.monotonic() - started
        time.sleep(app.FRAME_GAP * 3)  # the last batch is drawn after at most one gap
        drawn = len(screen.shown) - first
    finally:
        stop.set()
        dev.wake.set()
        loop.join(10)
    assert len(ops) > 10
    assert 1 <= drawn <= took / app.FRAME_GAP + 2, (drawn, len(ops), took)
    assert dev.controller.schedule.venues()  # the last frame came from the whole program


class Stop:
    def __init__(self):
        self.waited = []

    def wait(self, seconds):
        self.waited.append(seconds)
        return False


def test_a_lone_change_after_a_quiet_spell_is_not_held_back(tmp_path, monkeypatch):
    dev, _, _, _ = _device(tmp_path)
    now = [500.0]
    monkeypatch.setattr(app.time, "monotonic", lambda: now[0])
    stop = Stop()
    dev._stepped_at = now[0] - 60.0
    dev._pace(stop)
    assert stop.waited == []
    dev._stepped_at = now[0] - 0.05  # a batch right after the last step: taken in with the next
    dev._pace(stop)
    assert len(stop.waited) == 1 and abs(stop.waited[0] - (app.FRAME_GAP - 0.05)) < 1e-9
