"""[CPython, Pi] A gpiozero pin factory for the venue buttons that sleeps while no button is
pressed: inputs on the kernel's GPIO character device through gpiod (libgpiod's own Python
binding), one thread that waits for edges in ``poll`` with no timeout.

Why not lgpio, gpiozero's choice on Raspberry Pi OS: while an edge callback is set, lgpio's alert
thread polls its lines with a 0.5 ms timeout, in a loop (lgpio 0.2.2, ``src/lgPthAlerts.c``), and
its Python thread reads a notification FIFO some 50 times a second.  With a screen's two buttons
that is about 100,000 wake-ups a minute and 4 % of a core of this machine, where an idle screen's
whole budget is 0.2 % (``make bench``, section idle, ``screen, 38c3 as on a Pi, lgpio``); a Pi
Zero 2 W's core is about ten times slower.  gpiozero's other factories poll too (``native``: every
10 ms) or do not run on a Pi 5 (``rpigpio``).

Inputs only, which is what the buttons use: pull, debounce (the kernel's ``debounce_period``,
done in software where the GPIO chip has none) and edges.  A pin asked to be an output raises
``PinInvalidFunction``; gpiozero's default factories serve other uses.  The chip is the one
lgpio's factory picks: ``/dev/gpiochip4`` on a Pi 5 whose kernel numbers RP1's chip so, else
``/dev/gpiochip0``.  Edge timestamps are the kernel's CLOCK_MONOTONIC, as gpiozero's local ticks.
"""

import datetime
import os
import select
import threading

from gpiozero.exc import (PinFixedPull, PinInvalidBounce, PinInvalidEdges, PinInvalidFunction, PinInvalidPull,
                          PinSetInput)
from gpiozero.pins.local import LocalPiFactory, LocalPiPin

CONSUMER = "pandascreen"  # how the lines read in `gpioinfo` while the screen holds them
_PI5 = 0x17  # the board type field of a Pi 5's revision code


class _EdgeWatch:
    """One thread for every pin's edges: it waits in ``poll`` without a timeout on the line
    requests' fds and on a pipe that wakes it when the set of pins changes or it must stop."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pins = {}  # request fd -> pin
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._stopping = False
        self._thread = None

    def watch(self, fd, pin):
        with self._lock:
            self._pins[fd] = pin
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pandascreen-buttons", daemon=True)
                self._thread.start()
        self._poke()

    def unwatch(self, fd):
        with self._lock:
            self._pins.pop(fd, None)
        self._poke()

    def stop(self, timeout=2.0):
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._poke()
        if thread is not None:
            thread.join(timeout)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _poke(self):
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:  # a wake-up is pending already
            pass

    def _run(self):
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        registered = set()
        while True:
            with self._lock:
                if self._stopping:
                    return
                pins = dict(self._pins)
            for fd in registered - set(pins):
                poller.unregister(fd)
            for fd in set(pins) - registered:
                poller.register(fd, select.POLLIN | select.POLLPRI)
            registered = set(pins)
            for fd, _ in poller.poll():
                if fd == self._wake_r:
                    while _drained(self._wake_r):
                        pass
                elif fd in pins:
                    try:
                        pins[fd].read_edges(fd)
                    except Exception:  # a line closed meanwhile: the next look leaves it out
                        if pins[fd].open_fd() == fd:
                            raise


def _drained(fd):
    try:
        return bool(os.read(fd, 64))
    except BlockingIOError:
        return False


class GpiodFactory(LocalPiFactory):
    """gpiozero's factory for a Pi's own pins, through gpiod (module docstring)."""

    def __init__(self, chip=None):
        import gpiod  # here: a machine without it falls back to gpiozero's own factories
        super().__init__()
        if chip is None:
            chip = 4 if (self._get_revision() & 0xFF0) >> 4 == _PI5 and os.path.exists("/dev/gpiochip4") else 0
        self._chip = gpiod.Chip("/dev/gpiochip%d" % chip)
        self._watch = _EdgeWatch()
        self.pin_class = GpiodPin

    def close(self):
        super().close()
        if self._chip is not None:
            self._watch.stop()
            self._chip.close()
            self._chip = None


class GpiodPin(LocalPiPin):
    """One input line, requested from the chip while the pin is open."""

    PULLS = ("up", "down", "floating")
    EDGES = ("both", "rising", "falling")

    def __init__(self, factory, info):
        super().__init__(factory, info)
        self._pull = "floating"
        self._bounce = None
        self._edges = "both"
        self._detect = False
        self._request = None
        self._line()

    def _settings(self):
        import gpiod
        from gpiod.line import Bias, Direction, Edge
        bias = {"up": Bias.PULL_UP, "down": Bias.PULL_DOWN, "floating": Bias.DISABLED}[self._pull]
        edge = {"both": Edge.BOTH, "rising": Edge.RISING, "falling": Edge.FALLING}[self._edges]
        return gpiod.LineSettings(direction=Direction.INPUT, bias=bias, edge_detection=edge if self._detect else Edge.NONE,
                                  debounce_period=datetime.timedelta(seconds=self._bounce or 0))

    def _line(self):
        """The line's request, made on first use (again after ``close``)."""
        if self._request is None:
            self._request = self.factory._chip.request_lines({self._number: self._settings()}, consumer=CONSUMER)
        return self._request

    def _reconfigure(self):
        self._line().reconfigure_lines({self._number: self._settings()})

    def close(self):
        if self._request is not None:
            self.factory._watch.unwatch(self._request.fd)
            self._request.release()
            self._request = None
        self._detect = False

    def _get_function(self):
        return "input"

    def _set_function(self, value):
        if value != "input":
            raise PinInvalidFunction('invalid function "%s" for pin %r: this factory reads buttons only' % (value, self))

    def _get_state(self):
        from gpiod.line import Value
        return self._line().get_value(self._number) == Value.ACTIVE

    def _set_state(self, value):
        raise PinSetInput("cannot set state of pin %r" % self)

    def _get_pull(self):
        return self._pull

    def _set_pull(self, value):
        if value not in self.PULLS:
            raise PinInvalidPull('invalid pull "%s" for pin %r' % (value, self))
        if self.info.pull not in (value, ""):
            raise PinFixedPull("%r has a physical pull-%s resistor" % (self, self.info.pull))
        self._pull = value
        self._reconfigure()

    def _get_bounce(self):
        return self._bounce

    def _set_bounce(self, value):
        if value is not None and value < 0:
            raise PinInvalidBounce("bounce must be 0 or greater")
        self._bounce = value or None
        self._reconfigure()

    def _get_edges(self):
        return self._edges

    def _set_edges(self, value):
        if value not in self.EDGES:
            raise PinInvalidEdges('invalid edge specification "%s" for pin %r' % (value, self))
        self._edges = value
        self._reconfigure()

    def _enable_event_detect(self):
        self._detect = True
        self._reconfigure()
        self.factory._watch.watch(self._request.fd, self)

    def _disable_event_detect(self):
        if self._request is not None:
            self.factory._watch.unwatch(self._request.fd)
        self._detect = False
        self._reconfigure()

    def open_fd(self):
        """The fd of the line's request; None while the pin is closed."""
        request = self._request
        return None if request is None else request.fd

    def read_edges(self, fd):
        """The edges the kernel has queued on ``fd`` to ``when_changed`` (called by the watch)."""
        from gpiod import EdgeEvent
        request = self._request
        if request is None or request.fd != fd:  # closed or re-requested since the watch looked
            return
        for event in request.read_edge_events():
            rising = event.event_type == EdgeEvent.Type.RISING_EDGE
            self._call_when_changed(event.timestamp_ns / 1e9, 1 if rising else 0)
