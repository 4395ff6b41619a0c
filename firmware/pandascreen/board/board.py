"""The screen loop for MicroPython boards (Pico W & co.): glue between the hardware and the core.

Everything a screen decides (schedule, venues, sync status, when to redraw, whether the clock
can be trusted) lives in ``pandascreen.core.controller``; this file only wires it to a frame
buffer, a socket factory and the button handlers.  All hardware is injected, so the same loop
runs under the MicroPython test harness with fakes and on a real board through ``main.py``::

    b = Board(cfg, store, fb, fb.show, 128, 64, connect=tcp_connect, clock=time.time,
              time_file=TimeFile("/last_time"))
    while True:
        b.step()            # syncs when due, redraws when something changed or a minute passed
        ...                 # call b.press(+1 / -1 / 0) from the button handlers
"""

from pandascreen.core import layout
from pandascreen.core.controller import Controller
from pandascreen.core.sync import SyncSession, INITIATOR


class Board:
    def __init__(self, cfg, store, canvas, show, width, height, palette="mono", clock=None, connect=None,
                 log=None, time_file=None):
        self.store = store
        self.canvas = canvas
        self.show = show
        self.width = width
        self.height = height
        self.palette = palette
        self.connect = connect
        self.controller = Controller(
            cfg, store, transport=None if connect is None else self._sync_with, render=self._draw,
            clock=clock, log=log,
            load_time=None if time_file is None else time_file.load,
            save_time=None if time_file is None else time_file.save)

    @property
    def status(self):
        return self.controller.status()

    @property
    def venue_index(self):
        return self.controller.venue_index

    def _sync_with(self, peer):
        host, port = peer
        ctl = self.controller
        SyncSession(self.store, ctl.log_id, INITIATOR, topic=ctl.topic).run(self.connect(host, port))

    def _draw(self, view):
        layout.draw_view(self.canvas, self.width, self.height, view, self.palette)
        self.show()

    def press(self, delta):
        """Button handler: +1 next venue, -1 previous, 0 back to the first; drawn at the next step."""
        self.controller.flip(delta)

    def step(self):
        """Sync when due, redraw when the picture changed; True if a frame was drawn."""
        return self.controller.step()
