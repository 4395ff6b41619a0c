"""One line a minute for an error a node meets again and again, with how many were left unsaid.

Why: a node says why each session ended or each connection was refused, per peer.  When the
reason is the node's own (its disk full: every peer's session ends on it) or one stranger's
(redialling every second), that is a line each time from every peer -- dozens a minute in the
journal of a screen on an SD card, hiding the lines that matter.  Lines are alike when they
differ only in node ids and addresses; a line unlike the others is said at once.
"""

import re
import threading
import time

# node ids (hex), IPv4 and [IPv6] addresses with or without a port: who, not what
_WHO = re.compile(r"\[[0-9a-fA-F:.%]+\](:\d+)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\b[0-9a-f]{8,}\b")
MOST_KINDS = 256  # kinds of line remembered; the oldest is forgotten first


def shape(line):
    """``line`` with its node ids and addresses left out: what it says, not to whom."""
    return _WHO.sub("#", line)


class Repeats:
    """``say`` that lets a line through when nothing like it was said within ``window`` seconds;
    the next one after the window says how many like it were left out meanwhile."""

    def __init__(self, say, window=60.0, clock=time.monotonic):
        self.say = say
        self.window = window
        self.clock = clock
        self._seen = {}  # shape -> [when said, left out since]
        self._lock = threading.Lock()

    def __call__(self, line):
        """Say ``line``, or count it when one like it was said within the window (any thread)."""
        key = shape(line)
        with self._lock:
            now = self.clock()
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.window:
                seen[1] += 1
                return
            if seen is not None and seen[1]:
                line = "%s (%d more like it in the last %d s)" % (line, seen[1], round(now - seen[0]))
            self._seen.pop(key, None)
            self._seen[key] = [now, 0]
            while len(self._seen) > MOST_KINDS:
                del self._seen[next(iter(self._seen))]
        self.say(line)
