"""A screen's clock, shared by the full peer (core/controller.py) and the satellite board
(board/board.py): the clock rule (which time a screen shows its program at, and whether it may
claim it), the last-known-time file and its throttled saving, and the status words a screen says
about its time and sync.

WHY a module of its own: a Pico W satellite needs the clock rule but none of the controller's
store, schedule and group machinery (~25 KB of its heap).
"""

from pandascreen.core.util import read_file, replace_file

MIN_VALID_TIME = 1577836800  # 2020-01-01: a clock of unknown state before this was never set
CLOCK_TOLERANCE = 600  # seconds a clock may lag a signed timestamp (organiser laptop a little ahead)
CLOCK_SKEW = 12 * 3600  # the most a signed timestamp may move a screen's time past its own (a night off)
FAR_AHEAD = 180 * 86400  # a clock this far past everything signed and the program is not claimed (rule 5)
SAVE_TIME_EVERY = 300  # seconds between writes of the last known time (SD card / flash wear)
CLOCK_NOT_SET = "clock not set"  # the status while the screen shows its program at a time it cannot vouch for
NO_CLOCK = "--:--"

STARTING = "starting"
SYNCED = "synced"
OFFLINE = "offline"
NO_PEERS = "no peers"
STALE = "stale"  # nothing heard from any peer for STALE_AFTER: "stale HH:MM" (when the newest data came)
STALE_AFTER = 15 * 60  # s
DISK_FULL = "disk full"  # the store cannot write what peers send: the disk (SD card) is full
CANNOT_STORE = "cannot store"  # ... for another reason (an I/O error)
FORKED = "program forked"  # an organiser's log came with another history: changes made on it do not arrive
STORE_RESET = "store reset: resync"  # the store was rebuilt from its snapshot (node/snapshot.py): until a sync
BUTTONS_OFF = "buttons off"  # the buttons cannot be read (node/buttons.py): the program is shown without them
ALONE = "alone since"  # no peer reachable for ALONE_AFTER: "alone since HH:MM" (when one was last heard)
# 60 s: longer than a session's death (node/liveness.py DEAD_AFTER 15 s, QUIC's 30 s idle timeout)
# plus a redial round (REDIAL_MAX 8 s and a 10 s dial), so a link that drops and is redialled never
# flickers the footer; short enough that the crew at the gate sees it within two minutes (the loop
# draws the footer at the next minute at the latest)
ALONE_AFTER = 60  # s, counted from the first look that found no peer
LONG_AGO = 1 << 62  # s: what ``elapsed`` says of a time further ahead than STEP_BACK
STEP_BACK = 60  # s: a time at most this far ahead of now is now (fractions, another thread's now)


def elapsed(now, since):
    """Seconds from ``since`` to ``now`` on the wall clock, where a time more than STEP_BACK ahead
    of ``now`` counts as LONG_AGO.  A clock stepped back (a time source that was wrong and is set
    right, a clock set by hand) leaves times ahead of ``now``: counted as just now, everything that
    waits for an interval (a sync, an e-paper refresh, the way home, a heartbeat, "alone since")
    would wait out the whole step.  Counted as long ago, it runs once and counts from the new
    time.  A time a moment ahead is no step: a button press at 12:00:00.6 seen by the redraw of
    12:00:00, a peer heard on another thread after this ``now`` was read."""
    age = now - since
    if age >= 0:
        return age
    return 0 if age >= -STEP_BACK else LONG_AGO


# -- the clock rule -------------------------------------------------------------------------
#
# A screen shows its program at ``screen_time(...)``: (a time, whether the screen may claim it).
#  1. A clock known to be synchronised (NTP; a board whose clock was set from a signed feed) is
#     the time, trusted, in any year (a festival from 2019): no signed timestamp moves it.
#  2. Otherwise the screen's own time is its clock when that is not before its own floor (the last
#     time it saved, else 2020), else that floor (a Pi without RTC, a Pico W that restarted in 2021).
#     2020 bounds only a clock whose state is not known, never the program: a time saved while the
#     clock was trusted and a signed timestamp may be older.
#  3. A signed timestamp (the newest of each writer whose clock may witness, core/controller.py:
#     in a self-organised festival the organisers, not participants' phones; a feed's issued-at)
#     later than the own time by more than CLOCK_TOLERANCE says the clock is behind: the program is
#     shown at that timestamp and the clock is not claimed ("--:--", status "clock not set").  One
#     later than the own time by more than CLOCK_SKEW is from the future: its content is applied,
#     its time is ignored.
#  4. With no time of its own at all (no synchronised clock, a clock before 2020 or known unset, no
#     saved time) the reference is the lower median of the signed timestamps (one per writer, so one
#     writer's clock alone cannot set it): the screen takes the newest signed timestamp not over
#     CLOCK_SKEW past it (2020 if there is no signed timestamp) and claims nothing.
#  5. A clock not known to be synchronised that is more than FAR_AHEAD past both the newest signed
#     timestamp (of those rule 3 does not count as from the future) and the end of the program (its
#     last event: a program is often signed months before its festival) is shown but not claimed,
#     and so never saved as the last known time: a clock set a year ahead once would otherwise say
#     the festival is over, and stay a floor after it is set right.  A saved time that far past
#     both (saved while a time server that was wrong made the clock synchronised, rule 1) is no
#     floor for a clock that can be the time (not known unset, from 2020 on) when a signed
#     timestamp not from its future is there to measure against (``saved_floor``).
# The program is never blanked because of a timestamp: the view is built at the chosen time.

def clock_floor(newest_op_us=None, last_known=None):
    """The earliest the screen's own time can be, in Unix seconds: the last time saved before a
    reboot (else 2020), and a signed timestamp ``newest_op_us`` (µs) if one is given."""
    floor = int(last_known) if last_known else MIN_VALID_TIME
    if newest_op_us:
        floor = max(floor, int(newest_op_us) // 1000000)
    return floor


def own_time(now, last_known=None, synced=None):
    """The screen's own time (rules 1-2) and whether it is its clock: ``(t, trusted)``, or
    ``(None, False)`` when it has none (rule 4).  ``synced``: True (NTP), False (known unset,
    a board that found no time server), None (not known: a clock from 2020 on counts)."""
    now = int(now)
    if synced:
        return now, True
    floor = clock_floor(None, last_known)
    if synced is None and now >= max(floor, MIN_VALID_TIME) - CLOCK_TOLERANCE:
        return now, True
    if last_known:
        return floor, False
    return None, False


def saved_floor(now, last_known=None, signed=(), synced=None, program_end=None):
    """``last_known``, or None where rule 5 makes it no floor: a clock that can be the time
    (``synced`` not False, ``now`` from 2020 on, a signed timestamp not from the future for it)
    behind a saved time more than FAR_AHEAD past both the program's end and the newest such
    signed timestamp."""
    if not last_known or synced is False or int(now) < MIN_VALID_TIME or int(last_known) <= int(now):
        return last_known
    near = [int(s) for s in signed if int(s) <= int(now) + CLOCK_SKEW]
    if not near:
        return last_known  # nothing signed near this clock says it is the right one
    if int(last_known) > max(near + [int(program_end or 0)]) + FAR_AHEAD:
        return None
    return last_known


def screen_time(now, signed=(), last_known=None, synced=None, program_end=None):
    """``(t, trusted)``: the time the program is shown at and whether the screen may claim it
    (the rule above); ``signed``: signed timestamps in Unix seconds; ``program_end``: when the
    program's last event ends (rule 5), if known."""
    signed = sorted(int(s) for s in signed)
    t, trusted = own_time(now, saved_floor(now, last_known, signed, synced, program_end), synced)
    if synced and trusted:
        return t, True
    ref = t
    if ref is None and signed:
        ref = signed[(len(signed) - 1) // 2]
    best = 0
    for s in signed:
        if ref is not None and s <= ref + CLOCK_SKEW:
            best = s
    if t is None:
        return best or MIN_VALID_TIME, False
    if best > t + CLOCK_TOLERANCE:
        return best, False
    if best and t > max(best, int(program_end or 0)) + FAR_AHEAD:
        return t, False
    return t, trusted


def from_the_future(ts, now, last_known=None, synced=None):
    """True if signed timestamp ``ts`` (s) is later than the screen's own time by over CLOCK_SKEW."""
    t = own_time(now, last_known, synced)[0]
    return t is not None and int(ts) > t + CLOCK_SKEW


def clock_trusted(now, newest_op_us=None, last_known=None, synced=None):
    """True when the screen may claim ``now`` (Unix seconds) as the time (``screen_time``)."""
    signed = (int(newest_op_us) // 1000000,) if newest_op_us else ()
    return screen_time(now, signed, last_known, synced)[1]


class TimeFile:
    """``load``/``save`` of the last known good time in a small text file (CPython and MicroPython).

    Written to a temporary file first and renamed over the old one, so a power cut leaves the old
    value; a missing or damaged file reads as None (the floor then rests on 2020 and the store).
    """

    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            return int(read_file(self.path).strip())
        except (OSError, ValueError):
            return None

    def save(self, t):
        replace_file(self.path, "%d\n" % int(t))


class LastKnownTime:
    """The last time a screen knew to be good (``value``, Unix seconds or None) and its saving,
    at most every SAVE_TIME_EVERY s (SD card and flash wear): the controller's and the satellite's.

    ``load() -> t or None`` and ``save(t)`` are a ``TimeFile``'s (or None: nothing kept); ``log``
    takes the one line when a save fails (the time is then kept in memory only)."""

    def __init__(self, load=None, save=None, log=None):
        self.value = load() if load is not None else None
        self._saved_at = self.value
        self._save = save
        self._log = log

    def remember(self, now, trusted, force=False):
        """Save ``now`` if ``trusted()`` says the screen may claim it, unless one was saved less
        than SAVE_TIME_EVERY s ago (``force``: save anyway); True if it was saved."""
        if self._save is None:
            return False
        if not force and self._saved_at is not None and elapsed(now, self._saved_at) < SAVE_TIME_EVERY:
            return False
        if not trusted():
            return False
        try:
            self._save(now)
        except OSError as e:
            if self._log is not None:
                self._log("cannot save the last known time: %s" % e)
        self._saved_at = now
        if self.value is None or now > self.value:
            self.value = now
        return True


# -- helpers --------------------------------------------------------------------------------

def peer_name(peer):
    """"host:port" for (host, port) pairs, str() of anything else (a node id, a name)."""
    if isinstance(peer, tuple) and len(peer) == 2:
        return "%s:%s" % peer
    return str(peer)
