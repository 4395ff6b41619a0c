"""Venue buttons: GPIO push buttons flip the screen between venues.

Uses gpiozero, its pins read through ``node/gpiod_pins.GpiodFactory``: the kernel's GPIO
character device through gpiod, whose thread sleeps until a button moves.  gpiozero's own choice
on Raspberry Pi OS, lgpio, works on every Pi including the Pi 5 but wakes some 100,000 times a
minute while a button's callback is set.  Where gpiod cannot start (not installed, no GPIO chip)
the buttons fall back to gpiozero's default factories, lgpio first, and the log says so; with
``GPIOZERO_PIN_FACTORY`` set, gpiozero's own rules choose, as its documentation says.  RPi.GPIO
fails on a Pi 5 ("Cannot determine SOC peripheral base address"): do not swap it in.  Wire each
button between its GPIO pin (BCM numbering) and GND; the internal pull-up is enabled.

* next button, short press  -> ``on_change(+1)`` (on release, so a hold is not also a press)
* next button, held ``hold_time`` seconds -> back to the first venue: ``on_home()`` if given,
  else ``on_change(HOME)`` (``HOME`` is 0: "no step, go home", as ``app.Device.flip`` expects)
* prev button, press -> ``on_change(-1)``; with ``on_overview`` given: on release, and held
  ``hold_time`` seconds -> ``on_overview()`` (an entrance shows every venue at once)

Callbacks run in gpiozero's background threads, a hold's in its timer's: keep them short and
thread-safe.

Each button is a gpiozero ``DigitalInputDevice``, not a ``Button``: a ``Button`` watches for a
hold from a thread of its own that wakes ten times a second for as long as the button exists
(gpiozero's ``HoldThread``), 20 wake-ups a second on an idle screen with two buttons.  Here a
press starts a timer for the hold and the release cancels it (``_Hold``): between presses no
thread of the buttons runs.
"""

import threading

from pandascreen.core import clock as clock_rule

HOME = 0


class _Hold:
    """One button's hold: ``down`` starts a timer that calls ``on_held`` once the button has been
    down ``hold_time`` seconds; ``up`` cancels it and says whether that press was a hold."""

    def __init__(self, hold_time, on_held):
        self.hold_time = hold_time
        self.on_held = on_held
        self._lock = threading.Lock()
        self._timer = None
        self._held = False
        self._closed = False

    def down(self):
        with self._lock:
            self._cancel()
            if self._closed:
                return
            self._held = False
            self._timer = threading.Timer(self.hold_time, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self):
        with self._lock:
            if self._timer is not threading.current_thread():  # released, or pressed again, meanwhile
                return
            self._timer = None
            self._held = True
        self.on_held()

    def up(self):
        """True when the press that ends was a hold (``on_held`` has run for it)."""
        with self._lock:
            self._cancel()
            held, self._held = self._held, False
            return held

    def _cancel(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self):
        """No hold from now on: a timer running is cancelled, a press after this starts none."""
        with self._lock:
            self._closed = True
            self._cancel()


class VenueButtons:
    def __init__(self, next_pin, prev_pin=None, on_change=None, pin_factory=None, bounce_time=0.05,
                 hold_time=1.0, on_home=None, on_overview=None, own_factory=False):
        """``own_factory``: ``pin_factory`` was made for these buttons and closes with them."""
        from gpiozero import DigitalInputDevice

        self.on_change = on_change
        self.on_home = on_home
        self.on_overview = on_overview
        self._next_hold = _Hold(hold_time, self._next_held)
        self._prev_hold = _Hold(hold_time, self._prev_held)
        self.next_button = None
        self.prev_button = None
        self._factory = pin_factory if own_factory else None
        try:
            if next_pin is not None:
                self.next_button = DigitalInputDevice(next_pin, pull_up=True, bounce_time=bounce_time,
                                                      pin_factory=pin_factory)
                self.next_button.when_activated = self._next_hold.down
                self.next_button.when_deactivated = self._next_released
            if prev_pin is not None:
                self.prev_button = DigitalInputDevice(prev_pin, pull_up=True, bounce_time=bounce_time,
                                                      pin_factory=pin_factory)
                if on_overview is None:
                    self.prev_button.when_activated = self._prev_pressed
                else:
                    self.prev_button.when_activated = self._prev_hold.down
                    self.prev_button.when_deactivated = self._prev_released
        except Exception:
            self.close()
            raise

    def _emit(self, delta):
        if self.on_change is not None:
            self.on_change(delta)

    def _next_held(self):
        if self.on_home is not None:
            self.on_home()
        else:
            self._emit(HOME)

    def _next_released(self):
        if not self._next_hold.up():
            self._emit(1)

    def _prev_pressed(self):
        self._emit(-1)

    def _prev_held(self):
        self.on_overview()

    def _prev_released(self):
        if not self._prev_hold.up():
            self._emit(-1)

    def close(self):
        for b in (self.next_button, self.prev_button):
            if b is not None:
                b.close()
        self.next_button = None
        self.prev_button = None
        self._next_hold.close()
        self._prev_hold.close()
        if self._factory is not None:
            self._factory.close()
            self._factory = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


BUTTONS_OFF = clock_rule.BUTTONS_OFF


def _gpiod_factory():
    """``(GpiodFactory, None)``, or ``(None, why it cannot start)``; ``(None, None)`` where
    ``GPIOZERO_PIN_FACTORY`` names gpiozero's choice."""
    import os
    if os.environ.get("GPIOZERO_PIN_FACTORY"):
        return None, None
    try:
        from pandascreen.node.gpiod_pins import GpiodFactory
        return GpiodFactory(), None
    except Exception as e:  # ImportError, gpiod 1, no GPIO chip or no access to it: gpiozero's own next
        return None, "gpiod: %s: %s" % (type(e).__name__, e)


def for_screen(pins, device, say):
    """The venue buttons on ``pins`` (config's ``buttons``) for an ``app.Device``, or None when
    they cannot be set up (no pin factory that loads, a pin another process holds, no access to
    the GPIO chip): the screen shows the program all the same, its status says "buttons off" to
    the crew after its sync state, and ``say`` gets one line that says why.

    The pins are read through gpiod (module docstring), else through gpiozero's default pin
    factories.  gpiozero says why it passed over each of its own in a warning, several lines
    apiece, and then only "Unable to load any default pin factory!": those reasons, and gpiod's,
    go into the one line (also when a later factory worked, as a line of their own).
    ``catch_warnings`` swaps the process's warning state while the buttons are set up, once, at
    start: a warning another thread gives meanwhile is given again after it."""
    import warnings

    def made_with(factory):  # None: gpiozero's default factories
        return VenueButtons(next_pin=pins.get("next"), prev_pin=pins.get("prev"), on_change=device.flip,
                            on_overview=device.show_overview, pin_factory=factory, own_factory=factory is not None)
    factory, gpiod_failed = _gpiod_factory()
    buttons, failed = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if factory is not None:
            try:
                buttons = made_with(factory)  # on failure VenueButtons closed the factory
            except Exception as e:  # a line another process holds, a board gpiozero does not know
                gpiod_failed = "gpiod: %s: %s" % (type(e).__name__, e)
        if buttons is None:
            try:
                buttons = made_with(None)
            except Exception as e:  # gpiozero's errors, lgpio's own, OSError: each leaves a screen without buttons
                failed = "%s: %s" % (type(e).__name__, e)
    passed_over = [gpiod_failed] if gpiod_failed else []
    for w in caught:
        if w.category.__name__ == "PinFactoryFallback":
            passed_over.append(str(w.message).replace("Falling back from ", ""))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    pin_list = ", ".join(str(pins[k]) for k in ("next", "prev") if pins.get(k) is not None)
    why = "; ".join(([failed] if failed else []) + passed_over)
    if buttons is None:
        say("%s: GPIO %s cannot be read (%s); the screen shows the program without them" % (BUTTONS_OFF, pin_list, why))
        device.controller.trouble = BUTTONS_OFF
    elif passed_over:
        read_by = buttons.next_button or buttons.prev_button
        say("buttons: GPIO %s read through %s; passed over %s"
            % (pin_list, type(read_by.pin_factory).__name__ if read_by is not None else "no pin", why))
    return buttons
