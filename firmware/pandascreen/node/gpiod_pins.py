"""[CPython, Pi] A gpiozero pin factory for the venue buttons that sleeps while no button is
pressed: inputs on the kernel's GPIO character device through gpiod (libgpiod's own Python
binding), one thread that waits for edges in ``poll`` with no timeout.

Why not lgpio, gpiozero's choice on Raspberry Pi OS: while an edge callback is set, lgpio's alert
thread polls its lines with a 0.5 ms timeout, in a loop (lgpio 0.2.2, ``src/lgPthAlerts.c``), and
its Python thread reads a notification FIFO some 50 times a second.  With a screen's two buttons
that is about 100,000 wake-ups a minute and 4 % of a core of this machine, where an idle screen's
whole budget is 0.2 % (``make bench``, section idle, "screen, 38c3, as on a Pi, buttons through
lgpio"); a Pi Zero 2 W's core is about ten times slower.  gpiozero's other factories poll too (``native``: every
10 ms) or do not run on a Pi 5 (``rpigpio``).

Inputs only, which is what the buttons use: pull, debounce (the kernel's ``debounce_period``,
done in software where the GPIO chip has none) and edges.  A pin asked to be an output raises
``PinInvalidFunction``; gpiozero's default factories serve other uses.  The chip is the one
lgpio's factory picks: ``/dev/gpiochip4`` on a Pi 5 whose kernel numbers RP1's chip so, else
``/dev/gpiochip0``.  Edge timestamps are the kernel's CLOCK_MONOTONIC, as gpiozero's local ticks.
"""

import datetime
import logging
import os
import select
import threading

from gpiozero.exc import (PinFixedPull, PinInvalidBounce, PinInvalidEdges, PinInvalidFunction, PinInvalidPull,
                          PinSetInput)
from gpiozero.pins.local import LocalPiFactory, LocalPiPin

CONSUMER = "pandascreen"  # how the lines read in `gpioinfo` while the screen holds them
_PI5 = 0x17  # the board type field of a Pi 5's revision code
_log = logging.getLogger(__name__)


class _EdgeWatch:
    """One thread for every pin's edges: it waits in ``poll`` without a timeout on the line
    requests' fds and on a pipe that wakes it when the set of pins changes or it must stop.  The
    thread closes the pipe as it ends, so a stop that waited too long for it leaves it nothing
    closed under it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pins = {}  # request fd -> (pin, request)
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._stopping = False
        self._thread = None

    def watch(self, pin, request):
        with self._lock:
            self._pins[request.fd] = (pin, request)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="pandascreen-buttons", daemon=True)
                self._thread.start()
            self._poke()

    def unwatch(self, request):
        """``request`` watched no more (asked while it is open: its fd names it)."""
        self._forget(request.fd, request)

    def _forget(self, fd, request):
        with self._lock:
            if self._pins.get(fd, (None, None))[1] is request:
                del self._pins[fd]
            self._poke()

    def stop(self, timeout=2.0):
        with self._lock:
            self._stopping = True
            thread = self._thread
            self._poke()
            if thread is None:
                self._close_pipe()
        if thread is not None and thread is not threading.current_thread():  # a callback may close the buttons
            thread.join(timeout)

    def _poke(self):
        """Wake the thread (under the lock: the pipe is open until the thread ends)."""
        if self._wake_w is None:
            return
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:  # a wake-up is pending already
            pass

    def _close_pipe(self):
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._wake_r = self._wake_w = None

    def _run(self):
        try:
            self._watch()
        except Exception as e:  # not expected: say so, as the buttons are off from now on
            _log.warning("the buttons' thread ended, the buttons are off: %s: %s", type(e).__name__, e)
        finally:
            with self._lock:
                self._stopping = True
                self._close_pipe()

    def _watch(self):
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
                    pin, request = pins[fd]
                    try:
                        pin.read_edges(request)
                    except Exception as e:  # the line's fd fails: that button is lost, the others go on
                        _log.warning("%r: its edges cannot be read, the button is off: %s: %s", pin, type(e).__name__, e)
                        self._forget(fd, request)


def _drained(fd):
    try:
        return bool(os.read(fd, 64))
    except BlockingIOError:
        return False


class GpiodFactory(LocalPiFactory):
    """gpiozero's factory for a Pi's own pins, through gpiod (module docstring)."""

    def __init__(self, chip=None):
        import gpiod  # here: a machine without it falls back to gpiozero's own factories
        if not hasattr(gpiod, "request_lines"):  # apt's python3-libgpiod on Bookworm is gpiod 1's
            raise ImportError("gpiod %s has not the API of gpiod 2" % getattr(gpiod, "__version__", "1.x"))
        import gpiod.line  # the settings every pin asks for: a gpiod without them fails here
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
        self._lock = threading.Lock()  # the request: released by close while the watch reads it
        self._defaults()
        self._request = None
        self._line()

    def _defaults(self):
        self._pull = "floating"
        self._bounce = None
        self._edges = "both"
        self._detect = False

    def _settings(self):
        import gpiod
        from gpiod.line import Bias, Direction, Edge
        bias = {"up": Bias.PULL_UP, "down": Bias.PULL_DOWN, "floating": Bias.DISABLED}[self._pull]
        edge = {"both": Edge.BOTH, "rising": Edge.RISING, "falling": Edge.FALLING}[self._edges]
        return gpiod.LineSettings(direction=Direction.INPUT, bias=bias, edge_detection=edge if self._detect else Edge.NONE,
                                  debounce_period=datetime.timedelta(seconds=self._bounce or 0))

    def _line(self):
        """The line's request, made on first use (again after ``close``)."""
        with self._lock:
            return self._requested(reconfigure=False)

    def _requested(self, reconfigure=True):
        """(under ``_lock``) The line requested with the pin's settings, or its settings applied."""
        if self._request is None:
            self._request = self.factory._chip.request_lines({self._number: self._settings()}, consumer=CONSUMER)
        elif reconfigure:
            self._request.reconfigure_lines({self._number: self._settings()})
        return self._request

    def _reconfigure(self):
        with self._lock:
            self._requested()

    def close(self):
        """The line back to the kernel, and the pin as new: gpiozero keeps a closed pin in its
        factory's ``pins`` and hands it to the next device on that pin."""
        with self._lock:
            request, self._request = self._request, None
            if request is not None:
                self.factory._watch.unwatch(request)
                request.release()
        self._defaults()
        self._when_changed = None

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
        with self._lock:
            self._detect = True
            self.factory._watch.watch(self, self._requested())

    def _disable_event_detect(self):
        with self._lock:
            self._detect = False
            if self._request is None:  # closed: nothing to ask of the line, nor to take again
                return
            self.factory._watch.unwatch(self._request)
            self._requested()

    def read_edges(self, request):
        """The edges the kernel has queued on ``request`` to the pin's ``when_changed`` (called by
        the watch; a request closed or made anew since the watch looked is left alone, and so are
        its edges not yet handed on).  A callback that raises is logged and the other edges and
        buttons go on."""
        from gpiod import EdgeEvent
        with self._lock:
            if self._request is not request:
                return
            events = request.read_edge_events()
        for event in events:
            with self._lock:
                handler = self._when_changed if self._request is request else None
            if handler is None:
                return
            method = handler()
            if method is None:  # its device is gone: gpiozero's own answer, no more edges
                self.when_changed = None
                return
            rising = event.event_type == EdgeEvent.Type.RISING_EDGE
            try:
                method(event.timestamp_ns / 1e9, 1 if rising else 0)
            except Exception as e:  # one line: the screen's log holds no traceback
                _log.warning("%r: the button's callback failed: %s: %s", self, type(e).__name__, e)
