"""When an idle screen's loop wakes: at the next minute boundary, or earlier when something of
its own is due sooner (a redraw every ``render_interval``, a sync with configured peers every
``sync_interval``, the return home after a visitor flipped venues, the end of an identify
request).  A change in the store wakes the loop at once through its event; nothing else does.

Why: on a Pi Zero every wake-up of a Python thread costs CPU and keeps the core out of its idle
state; a frame changes only with the minute (the clock, "25m left"), so a loop that polls every
few seconds does work no one sees.
"""

MARGIN = 0.05    # seconds after the boundary: the minute has surely turned when the loop looks
SHORTEST = 0.05  # never a busy loop, whatever a due time says
LONGEST = 60.0   # one wake a minute at least


def next_minute(now):
    """Seconds from ``now`` (a Unix time) until just after the next minute boundary."""
    return 60.0 - now % 60.0 + MARGIN


def seconds_until(now, dues=()):
    """Seconds to sleep from ``now``: until the next minute boundary or the earliest of ``dues``
    (Unix times; None: nothing due), between ``SHORTEST`` and ``LONGEST``.  A due time not after
    ``now`` is left out: the loop's turn that just ran has done what was due (a panel whose
    refresh policy declined to draw must not make the loop spin)."""
    wait = next_minute(now)
    for due in dues:
        if due is not None and due > now:
            wait = min(wait, due - now)
    return max(SHORTEST, min(LONGEST, wait))
