"""A small text progress bar on stderr.

On a terminal it redraws one line per item (``\\r``)::

    schedule.mpy   [##########··········]   3.1 KiB / 6.2 KiB   50%

When stderr is not a terminal (CI logs, pipes) it prints one plain line per finished item
instead, so logs stay readable.
"""

import sys
import time


def human_bytes(n):
    n = int(n)
    if n < 1024:
        return "%d B" % n
    if n < 1024 * 1024:
        return "%.1f KiB" % (n / 1024.0)
    return "%.1f MiB" % (n / (1024.0 * 1024.0))


class Progress:
    """Progress of one item (a file, a batch of frames).

    ``unit`` is "bytes" (shown as B/KiB/MiB) or any other word, e.g. "frames".
    Use as a context manager or call :meth:`update` and :meth:`done` yourself.
    """

    WIDTH = 24

    def __init__(self, label, total, unit="bytes", stream=None, tty=None, min_interval=0.05):
        self.label = label
        self.total = max(0, int(total))
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.current = 0
        self.min_interval = min_interval
        self._last_draw = 0.0
        self._finished = False
        self._width = 0

    def _amount(self, n):
        if self.unit == "bytes":
            return human_bytes(n)
        return "%d %s" % (n, self.unit)

    def _percent(self):
        if self.total <= 0:
            return 100
        return min(100, int(self.current * 100 // self.total))

    def line(self, note=None):
        pct = self._percent()
        if self.unit == "bytes":
            amount = "%s / %s" % (human_bytes(self.current), human_bytes(self.total))
        else:
            amount = "%d / %d %s" % (self.current, self.total, self.unit)
        filled = pct * self.WIDTH // 100
        bar = "#" * filled + "." * (self.WIDTH - filled)
        text = "%-22s [%s] %s %3d%%" % (self.label, bar, amount, pct)
        if note:
            text += "  " + note
        return text

    def update(self, current, total=None):
        if total is not None:
            self.total = max(0, int(total))
        self.current = max(0, int(current))
        if not self.tty:
            return
        now = time.monotonic()
        if now - self._last_draw < self.min_interval and self.current < self.total:
            return
        self._last_draw = now
        self._draw(self.line())

    def _draw(self, text):
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self._width = len(text)
        self.stream.flush()

    def done(self, note=None):
        """Mark the item finished (100%) and end its line."""
        if self._finished:
            return
        self._finished = True
        if self.current < self.total:
            self.current = self.total
        if self.tty:
            self._draw(self.line(note))
            self.stream.write("\n")
        else:
            text = "%s  %s  %d%%" % (self.label, self._amount(self.total), self._percent())
            if note:
                text += "  " + note
            self.stream.write(text + "\n")
        self.stream.flush()

    def fail(self, note="failed"):
        """End the line without claiming 100%."""
        if self._finished:
            return
        self._finished = True
        if self.tty:
            self._draw(self.line(note))
            self.stream.write("\n")
        else:
            self.stream.write("%s  %s of %s  %s\n" % (
                self.label, self._amount(self.current), self._amount(self.total), note))
        self.stream.flush()

    # callback signature used by mpremote: progress(done_bytes, total_bytes)
    def __call__(self, current, total=None):
        self.update(current, total)

    def __enter__(self):
        if self.tty:
            self._draw(self.line())
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.done()
        else:
            self.fail()
        return False
