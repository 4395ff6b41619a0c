"""The satellite's clock rule: when a fetched feed's signed issued-at may set the board's clock
(machine.RTC), and the time the board shows its program at (core/clock.py ``screen_time``, the
feed's issued-at as the signed timestamp).  Its own module: the rule is the part of the board a
hostile peer on the Wi-Fi aims at, so it is read, and tested, alone.

A board whose clock NTP does not keep (``synced()`` not True: a Pico W's RTC restarts in 2021
after every power cut) sets it from a feed: at once when that is within CLOCK_SKEW of the time it
last saved, or when it has none; a larger jump (a board off for longer) only when feeds of two
different signers agree on it, so one full peer whose clock is wrong cannot move it.  From then
on the clock is the board's own (trusted), and only a later feed moves it again, forward: once
within CLOCK_SKEW on one signer's word (a clock set from an old feed a stranger answered with
first), then, and for anything further, when two signers agree, so that one signer cannot walk
it forward step by step.  A signed timestamp never moves it back: an old feed can be replayed by
anyone, so "earlier" proves nothing.
"""

from pandascreen.core.clock import CLOCK_SKEW, CLOCK_TOLERANCE, LastKnownTime, from_the_future, screen_time


class FeedClock:
    def __init__(self, time_file=None, synced=None, set_time=None, log=None):
        self.log = log or (lambda msg: None)
        self.saved_time = LastKnownTime(time_file and time_file.load, time_file and time_file.save, self.log)
        self._synced = synced  # () -> True once NTP set the clock, False when it could not (main.py)
        self._set_time = set_time  # t -> sets the board's clock (machine.RTC)
        self.from_feed = False  # the clock was set from a feed: it is the board's own now
        self._corrected = False  # ... and set forward once since on one signer's word
        self._leap = None  # (signer, issued_at - now) of a feed asking a leap, awaiting a second signer

    def synced(self):
        if self.from_feed:
            return True
        return self._synced() if self._synced is not None else None

    def ntp(self):
        return self._synced is not None and bool(self._synced())

    def take(self, info, now):
        """Set the clock from a fetched feed's issued-at when the rule above lets it; True if set."""
        if self._set_time is None or self.ntp():
            return False
        issued = info.issued_at
        if self.from_feed:
            if issued <= now + CLOCK_TOLERANCE:
                return False
            if (self._corrected or issued > now + CLOCK_SKEW) and not self._signers_agree(info, issued - now):
                return False
            self._corrected = True
        elif self.saved_time.value is not None:
            if issued < self.saved_time.value - CLOCK_TOLERANCE:
                return False  # before the time the board saved: an old feed, never a clock
            if issued > self.saved_time.value + CLOCK_SKEW and not self._signers_agree(info, issued - now):
                return False
        try:
            self._set_time(issued)
        except (OSError, ValueError) as e:
            self.log("cannot set the clock: %s" % e)
            return False
        self.from_feed = True
        self.log("clock set from a signed feed")
        return True

    def _signers_agree(self, info, leap):
        """True when the feed before this one that asked the clock to leap came from another
        signer and asked the same leap (within CLOCK_TOLERANCE).  This feed's leap is kept."""
        before = self._leap
        self._leap = (info.signer, leap)
        return before is not None and before[0] != info.signer and abs(before[1] - leap) <= CLOCK_TOLERANCE

    def from_the_future(self, ts, now):
        return from_the_future(ts, now, self.saved_time.value, self.synced())

    def screen_time(self, now, info):
        """``(time the program is shown at, trusted)`` with feed ``info`` on screen (or None)."""
        return screen_time(now, () if info is None else (info.issued_at,), self.saved_time.value, self.synced())
