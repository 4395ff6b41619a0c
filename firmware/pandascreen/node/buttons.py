"""Venue buttons: GPIO push buttons flip the screen between venues.

Uses gpiozero.  On Raspberry Pi OS Bookworm gpiozero picks the lgpio backend, which works on
every Pi including the Pi 5; RPi.GPIO does not (the Pi 5 moved GPIO to the RP1 chip and
RPi.GPIO fails there with "Cannot determine SOC peripheral base address"), so do not swap
it in.  Wire each button between its GPIO pin (BCM numbering) and GND; the internal pull-up
is enabled.

* next button, short press  -> ``on_change(+1)`` (on release, so a hold is not also a press)
* next button, held ``hold_time`` seconds -> back to the first venue: ``on_home()`` if given,
  else ``on_change(HOME)`` (``HOME`` is 0: "no step, go home", as ``app.Device.flip`` expects)
* prev button, press -> ``on_change(-1)``; with ``on_overview`` given: on release, and held
  ``hold_time`` seconds -> ``on_overview()`` (an entrance shows every venue at once)

Callbacks run in gpiozero's background threads: keep them short and thread-safe.
"""

HOME = 0


class VenueButtons:
    def __init__(self, next_pin, prev_pin=None, on_change=None, pin_factory=None, bounce_time=0.05,
                 hold_time=1.0, on_home=None, on_overview=None):
        from gpiozero import Button

        self.on_change = on_change
        self.on_home = on_home
        self.on_overview = on_overview
        self._held = False
        self._prev_held_down = False
        self.next_button = None
        self.prev_button = None
        try:
            if next_pin is not None:
                self.next_button = Button(next_pin, pull_up=True, bounce_time=bounce_time,
                                          hold_time=hold_time, pin_factory=pin_factory)
                self.next_button.when_pressed = self._next_pressed
                self.next_button.when_held = self._next_held
                self.next_button.when_released = self._next_released
            if prev_pin is not None:
                self.prev_button = Button(prev_pin, pull_up=True, bounce_time=bounce_time,
                                          hold_time=hold_time, pin_factory=pin_factory)
                if on_overview is None:
                    self.prev_button.when_pressed = self._prev_pressed
                else:
                    self.prev_button.when_pressed = self._prev_down
                    self.prev_button.when_held = self._prev_held
                    self.prev_button.when_released = self._prev_released
        except Exception:
            self.close()
            raise

    def _emit(self, delta):
        if self.on_change is not None:
            self.on_change(delta)

    def _next_pressed(self):
        self._held = False

    def _next_held(self):
        self._held = True
        if self.on_home is not None:
            self.on_home()
        else:
            self._emit(HOME)

    def _next_released(self):
        if self._held:
            self._held = False
            return
        self._emit(1)

    def _prev_pressed(self):
        self._emit(-1)

    def _prev_down(self):
        self._prev_held_down = False

    def _prev_held(self):
        self._prev_held_down = True
        self.on_overview()

    def _prev_released(self):
        if self._prev_held_down:
            self._prev_held_down = False
            return
        self._emit(-1)

    def close(self):
        for b in (self.next_button, self.prev_button):
            if b is not None:
                b.close()
        self.next_button = None
        self.prev_button = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
