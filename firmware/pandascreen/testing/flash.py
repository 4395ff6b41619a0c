"""A board's files on flash as a test holds them, in memory: what the satellite saves and reads
again at boot (board/saved_feed.py ``FeedFile`` and ``FeedState``, core/clock.py ``TimeFile``).
Plain Python: runs on MicroPython too."""


class Saved:
    """One file: the saved feed (``load_into``) or the last time (``load``); ``data`` is what was
    saved, None when there is none."""

    def __init__(self, data=None):
        self.data = data

    def load(self):
        return self.data

    def load_into(self, buf):
        if self.data is None:
            return None
        buf[:len(self.data)] = self.data
        return len(self.data)

    def save(self, data):
        self.data = data if isinstance(data, int) else bytes(data)

    def remove(self):
        self.data = None


class State:
    """/feed_state: (the newest issued-at the board took, what it recorded of its saved feed)."""

    def __init__(self, newest=None, recorded=None):
        self.data = (newest, recorded)

    def load(self):
        return self.data

    def save(self, newest, recorded):
        self.data = (newest, recorded)
