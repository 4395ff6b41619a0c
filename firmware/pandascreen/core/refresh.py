"""When a screen redraws, by panel kind: the ONE refresh policy (Pi app and board alike).

WHY: a red/yellow or 7-colour Inky can only refresh the whole panel (~15 s of flashing, longer on
7 colours) and its makers ask for refreshes at least 180 s apart and at least one a day.  A view
with a ticking clock and "25m left" changed every minute, so such a panel flashed ~1400 times a
day.  Three panel classes:

* ``FULL_ONLY`` (Inky red/yellow/7-colour): shows absolute times (``absolute_times``: "until
  17:00", "next 17:20", no clock), so the picture changes only at an event boundary or an edit;
  it redraws when the picture changes, never sooner than ``MIN_FULL_GAP`` after the last refresh
  (an edit waits, then shows) and at least every ``MAX_AGE`` (the daily refresh).
* ``PARTIAL`` (mono e-paper with partial refresh): minute ticks and small changes are partial
  refreshes; a full refresh when the content changes, after ``PARTIALS_PER_FULL`` partials (ghosting)
  and at least every ``MAX_AGE``.
* ``LIVE`` (OLED, LCD, HDMI): redraw whenever the frame key changes, as before.

On every panel the first frame with a program (after "No schedule yet") is a full refresh at once:
the limits are for the refreshes after it, not for the one a screen was waiting for.

Which class a panel is, is its entry in core/screens.py.  Plain classes and tuples only: this
runs unchanged under MicroPython.
"""

from pandascreen.core.clock import elapsed
from pandascreen.core.event_fields import event_fields
from pandascreen.core.screens import FULL_ONLY, LIVE, PARTIAL, refresh_for  # noqa: F401  (refresh.PARTIAL: the panel classes are this module's words too)

FULL = "full"
PARTIAL_REFRESH = "partial"

MIN_FULL_GAP = 180  # s between full refreshes of a full-refresh-only panel (panel makers)
MAX_AGE = 86400  # s: at least one refresh a day keeps the pigments from settling
PARTIALS_PER_FULL = 10  # partial refreshes before a full one clears the ghosting


def panel_for(display_kind):
    """The panel class of a display kind (its ``refresh`` in core/screens.py); unknown kinds are
    ``LIVE``."""
    return refresh_for(display_kind)


def shows_program(view):
    """True if ``view`` shows a festival's venues (not "No schedule yet")."""
    return bool(view.get("venue_count") or view.get("venues"))


KEY_FIELDS = event_fields("key")  # the event fields whose change redraws (core/event_fields.py)


def content_key(view):
    """What the picture shows, minus what ticks (clock, progress, countdowns): two views with the
    same key look the same on a panel showing absolute times.  An overview (core/overview.py,
    it has "venues") changes when any of its venues does."""
    venues = view.get("venues")
    if venues is not None:
        return (view.get("status"), view.get("page"), view.get("message")) + tuple(content_key(v) for v in venues)
    now = view.get("now") or {}
    nxt = view.get("next") or {}
    return ((view.get("festival"), view.get("venue"), view.get("position"), view.get("status"),
             view.get("message"), view.get("clock") if view.get("absolute") else None,
             now.get("time"), now.get("left") if view.get("absolute") else None,
             nxt.get("start"), nxt.get("in") if view.get("absolute") else None)
            + tuple(now.get(name) for name in KEY_FIELDS) + tuple(nxt.get(name) for name in KEY_FIELDS))


class RefreshPolicy:
    """Decides, frame by frame, whether to refresh and how (``FULL`` / ``PARTIAL_REFRESH``)."""

    def __init__(self, panel=LIVE, min_gap=MIN_FULL_GAP, max_age=MAX_AGE, partials_per_full=PARTIALS_PER_FULL):
        self.panel = panel
        # True: the view shows "until 17:00" / "next 17:20" and no clock (full-refresh panels)
        self.absolute_times = panel == FULL_ONLY
        self.min_gap = min_gap
        self.max_age = max_age
        self.partials_per_full = partials_per_full
        self.last_full = None  # when the last full refresh happened
        self.last_any = None
        self.partials = 0  # partial refreshes since the last full one
        self._content = None
        self._tick = None
        self._program = False  # the panel shows a program (``shows_program``)

    def decide(self, now, content, tick=None, force=False, program=True):
        """``FULL``, ``PARTIAL_REFRESH`` or None (keep the picture) for a frame at ``now`` whose
        content key is ``content``, whose ticking part (minute, countdown) is ``tick`` and which
        shows a program (``program``) or not."""
        if self.last_any is None or (program and not self._program):
            return FULL
        if self.panel == LIVE:
            if force or content != self._content or tick != self._tick:
                return FULL
            return None
        age = elapsed(now, self.last_full)
        if self.panel == FULL_ONLY:
            if age < self.min_gap and not force:
                return None  # an edit waits (a visitor's button press, ``force``, does not)
            if force or content != self._content or age >= self.max_age:
                return FULL
            return None
        # PARTIAL
        if age >= self.max_age or (content != self._content and self.partials >= self.partials_per_full):
            return FULL
        if force or content != self._content or tick != self._tick:
            return FULL if self.partials >= self.partials_per_full else PARTIAL_REFRESH
        return None

    def drawn(self, now, content, tick, mode, program=True):
        """Record that the frame was drawn with ``mode``."""
        self._program = program
        self._content = content
        self._tick = tick
        self.last_any = now
        if mode == FULL:
            self.last_full = now
            self.partials = 0
        else:
            self.partials += 1

    def due(self, now, content, tick=None, force=False, program=True):
        """``decide`` and, when it says to refresh, ``drawn``; returns the mode or None."""
        mode = self.decide(now, content, tick, force, program)
        if mode is not None:
            self.drawn(now, content, tick, mode, program)
        return mode

