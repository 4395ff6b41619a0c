"""[core] The screen loop for MicroPython boards (Pico W & co.), hardware passed in.

``Board`` ties a store, the festival schedule, a frame buffer and a sync transport together.
All hardware is injected, so the same loop runs under the MicroPython test harness with
fakes and on a real board through ``firmware/micropython/main.py``::

    b = Board(cfg, store, fb, fb.show, 128, 64, connect=tcp_connect, clock=time.time)
    while True:
        b.step()            # syncs when due, redraws when something changed or a minute passed
        ...                 # call b.press(+1 / -1) from the button handlers
"""

import time

from pandascreen.core import layout, operation
from pandascreen.core.schedule import Schedule

MIN_VALID_TIME = 1577836800  # 2020-01-01: before this the board's clock was never set


class Board:
    def __init__(self, cfg, store, canvas, show, width, height, palette="mono", clock=None, connect=None,
                 log=None):
        self.cfg = cfg
        self.store = store
        self.canvas = canvas
        self.show = show
        self.width = width
        self.height = height
        self.palette = palette
        self.clock = clock or time.time
        self.connect = connect
        self.log = log or (lambda msg: None)
        self.topic = operation.festival_topic(cfg["festival_id"])
        self.log_id = operation.log_id_for_topic(self.topic)
        self.venue_index = 0
        self.status = "starting"
        self._schedule = None
        self._seen = -1
        self._last_sync = None
        self._last_frame_key = None
        self._dirty = True

    def schedule(self):
        n = self.store.count()
        if self._schedule is None or n != self._seen:
            authors = self.cfg.get("organiser_keys") or None
            self._schedule = Schedule.from_store(self.store, self.log_id, authors=authors)
            self._seen = n
            self._dirty = True
        return self._schedule

    def press(self, delta):
        """Button handler: +1 next venue, -1 previous, 0 back to the first."""
        n = len(self.schedule().venues()) or 1
        self.venue_index = 0 if delta == 0 else (self.venue_index + delta) % n
        self._dirty = True

    def sync_once(self):
        from pandascreen.core.sync import SyncSession, INITIATOR, SyncError
        if self.connect is None:
            return 0
        ok = 0
        for host, port in self.cfg.get("peer_addrs", ()):
            try:
                conn = self.connect(host, port)
                SyncSession(self.store, self.log_id, INITIATOR, topic=self.topic).run(conn)
                ok += 1
            except (OSError, SyncError) as e:
                self.log("sync %s:%d failed: %s" % (host, port, e))
        if ok:
            self.status = "synced"
        elif self.cfg.get("peer_addrs"):
            self.status = "offline"
        else:
            self.status = "no peers"
        return ok

    def render(self, now):
        if now < MIN_VALID_TIME:
            view = layout.build_view(None, 0, MIN_VALID_TIME, "clock not set")
        else:
            view = layout.build_view(self.schedule(), self.venue_index, now, self.status)
        layout.draw_view(self.canvas, self.width, self.height, view, self.palette)
        self.show()

    def step(self):
        now = int(self.clock())
        interval = self.cfg.get("sync_interval", 60)
        if self.connect is not None and (self._last_sync is None or now - self._last_sync >= interval):
            self._last_sync = now
            self.sync_once()
            self._dirty = True
        self.schedule()
        key = (now // 60, self.venue_index, self.status, self._seen)
        if self._dirty or key != self._last_frame_key:
            self.render(now)
            self._last_frame_key = key
            self._dirty = False
            return True
        return False
