"""Progress of long work on the laptop (compiling and copying to a board, GIF frames, signing).

On a terminal rich draws the bar (label, bar, amount, percent); when the stream is not a
terminal (CI logs, pipes) one plain line per finished item is written instead, so logs stay
readable.  rich is a dependency of the host tools; this module only chooses between the two.
"""

import sys

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, TaskProgressColumn, TextColumn
from rich.progress import Progress as _RichProgress


def human_bytes(n):
    """Sizes as boards and flash reports count them: B, KiB, MiB."""
    n = int(n)
    if n < 1024:
        return "%d B" % n
    if n < 1024 * 1024:
        return "%.1f KiB" % (n / 1024.0)
    return "%.1f MiB" % (n / (1024.0 * 1024.0))


class Progress:
    """Progress of one item (a file, a batch of frames).

    ``unit`` is "bytes" (shown as B/KiB/MiB) or any other word, e.g. "frames".  Use as a
    context manager or call :meth:`update` and :meth:`done` (or :meth:`fail`) yourself; calling
    the object is ``update`` (mpremote's ``progress(done, total)`` callback).
    """

    def __init__(self, label, total, unit="bytes", stream=None, tty=None):
        self.label = label
        self.total = max(0, int(total))
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.current = 0
        self._finished = False
        self._bar = None
        if tty:
            amount = DownloadColumn(binary_units=True) if unit == "bytes" else MofNCompleteColumn()
            self._bar = _RichProgress(TextColumn("%-22s" % label), BarColumn(bar_width=24), amount,
                                      TaskProgressColumn(), console=Console(file=self.stream, force_terminal=True),
                                      auto_refresh=False)
            self._task = self._bar.add_task(label, total=self.total)
            self._bar.start()

    def _amount(self, n):
        return human_bytes(n) if self.unit == "bytes" else "%d %s" % (n, self.unit)

    def _percent(self):
        return 100 if self.total <= 0 else min(100, int(self.current * 100 // self.total))

    def update(self, current, total=None):
        if total is not None:
            self.total = max(0, int(total))
        self.current = max(0, int(current))
        if self._bar is not None:
            self._bar.update(self._task, completed=self.current, total=self.total, refresh=True)

    def _end(self, plain_line, note):
        if self._finished:
            return
        self._finished = True
        if self._bar is not None:
            self._bar.update(self._task, completed=self.current, total=self.total, refresh=True)
            self._bar.stop()
            if note:
                self.stream.write("%s  %s\n" % (self.label, note))
        else:
            self.stream.write(plain_line + (("  " + note) if note else "") + "\n")
        self.stream.flush()

    def done(self, note=None):
        """Mark the item finished (100%) and end its line."""
        self.current = max(self.current, self.total)
        self._end("%s  %s  %d%%" % (self.label, self._amount(self.total), self._percent()), note)

    def fail(self, note="failed"):
        """End the line without claiming 100%."""
        self._end("%s  %s of %s" % (self.label, self._amount(self.current), self._amount(self.total)), note)

    def __call__(self, current, total=None):
        self.update(current, total)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.done()
        else:
            self.fail()
        return False
