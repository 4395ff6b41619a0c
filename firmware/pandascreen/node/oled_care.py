"""[CPython] OLED care: pixel shift, contrast by time of day, off while the festival is closed.

WHY: an OLED showing the same header bar for four days burns it in.  Three cheap remedies: shift
the picture by a pixel every few minutes, dim it in the small hours, turn it off while nothing is
on anywhere for a while.  Pure functions (bench/field.py measures them); kept out of core so the
flashed Pico tree does not carry them.
"""

SHIFT_EVERY = 300  # s between pixel shifts
SHIFTS = ((0, 0), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
OPEN_BEFORE = 1800  # s a screen wakes before the first event of a stretch
OPEN_AFTER = 900  # s it stays on after the last one ends
CLOSED_GAP = 2 * 3600  # a pause at least this long between events everywhere closes the festival


def pixel_shift(now):
    """(dx, dy) offset of the picture at ``now``: one of 9 positions, changing every SHIFT_EVERY s."""
    return SHIFTS[(int(now) // SHIFT_EVERY) % len(SHIFTS)]


def contrast(now, utc_offset_min=0):
    """OLED contrast (0-255) by local hour: full by day, lower in the evening, low at night."""
    hour = ((int(now) + int(utc_offset_min or 0) * 60) // 3600) % 24
    if 8 <= hour < 20:
        return 255
    if 20 <= hour or hour < 1:
        return 128
    return 48


def opening_spans(events):
    """Merged (from, to) spans in which the festival is open: each event widened by OPEN_BEFORE
    and OPEN_AFTER, merged across pauses shorter than CLOSED_GAP."""
    spans = sorted((int(e.start) - OPEN_BEFORE, int(e.end) + OPEN_AFTER) for e in events)
    out = []
    for a, b in spans:
        if out and a - out[-1][1] < CLOSED_GAP:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def is_open(now, spans):
    """True when ``now`` falls in one of ``opening_spans``; no spans (no schedule yet): open."""
    if not spans:
        return True
    for a, b in spans:
        if a <= now < b:
            return True
    return False
