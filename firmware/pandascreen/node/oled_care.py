"""OLED care: pixel shift, header looks, contrast by time of day, off while closed.

WHY: an OLED showing the same header bar for four days burns it in.  Four cheap remedies: shift
the picture by a pixel every few minutes, draw the header (the layout's inverted bar: its pixels
are lit every minute the screen is on) plain with a rule under it every other period, dim the panel
in the small hours, turn it off while nothing is on anywhere for a while.  All of it happens to
the rendered image and the panel, so core/layout.py (flashed to boards, golden PNGs) is the same
for every screen.  ``Care.show`` is what node/app.py's ``Device`` calls for an OLED;
bench/field.py measures the result through that same path.  Kept out of core so the flashed Pico
tree does not carry it.
"""

from PIL import Image, ImageChops, ImageDraw

from pandascreen.core import layout

SHIFT_EVERY = 300  # s between pixel shifts
SHIFTS = ((0, 0), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
OPEN_BEFORE = 1800  # s a screen wakes before the first event of a stretch
OPEN_AFTER = 900  # s it stays on after the last one ends
CLOSED_GAP = 2 * 3600  # a pause at least this long between events everywhere closes the festival
HEADER_EVERY = 67 * 60  # s between the header's two looks (inverted bar / plain with a rule): a prime
# number of minutes, so the look drifts against the clock's digits and the daily opening hours (an
# hourly swap put the same hour digits in the same look: their pixels were lit in both)
BLACK = 0  # an OLED's background in both its palettes ("mono", "grey": display.PALETTES)


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


def header_inverted(now):
    """True in the periods the header keeps the layout's inverted bar, False in those it is drawn
    plain (light text on dark): each header pixel is then lit about half the time the screen is on."""
    return (int(now) // HEADER_EVERY) % 2 == 0


def frame(image, now, header_h):
    """``image`` (a rendered OLED frame, mode "1" or "L") as the panel shows it at ``now``.

    In the plain-header periods the top ``header_h`` rows are inverted and a 1 px rule is drawn
    in the row below them (the layout's gap row, blank in every OLED layout) so the header still
    stands apart from the programme; then the whole picture moves by ``pixel_shift(now)``, the
    edge it leaves black (no wrap-around: the header must not reappear at the bottom).  Only
    the header bar and the dotted rule reach the top row and the left column, nothing reaches
    the right one, so a shift there loses no text; the bottom row holds the last line's
    descenders, so while it is lit the picture does not move down."""
    w, h = image.size
    if not header_inverted(now):
        image = image.copy()
        image.paste(ImageChops.invert(image.crop((0, 0, w, header_h))), (0, 0))
        ImageDraw.Draw(image).line((0, header_h, w - 1, header_h), fill=255)
    dx, dy = pixel_shift(now)
    if dy > 0 and image.crop((0, h - 1, w, h)).getbbox():
        dy = 0  # the last line's descenders sit in the bottom row: moving down would cut them off
    if (dx, dy) == (0, 0):
        return image
    out = Image.new(image.mode, image.size, BLACK)
    out.paste(image, (dx, dy))
    return out


def for_screen(kind, cfg, say=None):
    """A ``Care`` for an OLED screen kind (display.SCREENS driver "luma"), None for e-paper and
    HDMI, or when the config says ``"oled_care": false``; ``say`` takes its lines."""
    from pandascreen.node import display
    if cfg.get("oled_care") is False or display.screen_info(kind)["driver"] != "luma":
        return None
    return Care(say)


class Care:
    """One OLED's care across frames: the schedule's opening spans (computed again only when the
    schedule changes) and the panel switches.

    The screen's ``set_contrast(level)`` / ``set_power(on)`` (display.Screen, over luma's
    ``contrast``/``hide``/``show``) send a command only when the value changes, and return False
    when there is no panel to switch (an emulated PNG, a test's fake): a closed screen then shows
    a black frame, which is what the panel would look like.
    """

    def __init__(self, say=None):
        self._spans_of = (None, None)
        self._spans = []
        # a dark panel (or a black PNG) looks like a fault: when it goes dark and lights again is said
        self._say = say or (lambda line: None)
        self._dark = False

    def spans(self, schedule):
        key = (schedule, getattr(schedule, "version", None))
        if key[0] is not self._spans_of[0] or key[1] != self._spans_of[1]:
            self._spans = opening_spans(schedule.all_events()) if schedule is not None else []
            self._spans_of = key
        return self._spans

    def show(self, screen, image, now, schedule, clock_trusted=True, must_be_seen=False):
        """Put ``image`` on ``screen`` as the OLED should show it at ``now``; returns the picture
        now on the panel (None while the panel is off).  An untrusted clock (no RTC, no sync yet)
        keeps the screen on: "Clock not set" must be seen, and ``now`` says nothing about hours;
        so does ``must_be_seen`` (the status line says something is wrong)."""
        power = getattr(screen, "set_power", None)
        if clock_trusted and not must_be_seen and not is_open(now, self.spans(schedule)):
            if not self._dark:
                self._dark = True
                self._say('OLED care: the panel is dark while nothing is on (the festival is closed); '
                          '"oled_care": false in the config keeps it lit')
            if power is not None and power(False):
                return None
            image = Image.new(image.mode, image.size, BLACK)
            screen.show(image)
            return image
        if self._dark:
            self._dark = False
            self._say("OLED care: the panel is lit again")
        dim = getattr(screen, "set_contrast", None)
        if dim is not None:
            dim(contrast(now, layout.offset_at(schedule.zone(), now) if schedule is not None else 0))
        image = frame(image, now, layout.Metrics(image.width, image.height).header_h)
        screen.show(image)  # the new picture first, then light the panel: no stale frame flashes
        if power is not None:
            power(True)
        return image
