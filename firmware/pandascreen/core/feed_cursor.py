"""A pull parser over a signed feed's bytes (core/feed.py): one CBOR item at a time, in place.

WHY in place: a board keeps the feed's bytes and nothing decoded from them; it reads a venue when
it draws it, so its heap does not grow with the festival.  A module of its own so core/feed.py
holds the feed's rules and this the wire's.
"""

from pandascreen.core.errors import DecodeError


class FeedError(DecodeError):
    """A feed that is malformed, too big, not for this festival or not signed by a trusted key."""


class Cursor:
    """Reads one CBOR item at a time from ``buf[pos:end]`` without decoding the document:
    what the board keeps is the feed's bytes, and it reads a venue when it draws it."""

    def __init__(self, buf, pos=0, end=None):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def head(self):
        """(major type, argument) of the next item; strings are left to ``text``/``raw``."""
        b = self.buf
        p = self.pos
        if p >= self.end:
            raise FeedError("feed ends early")
        ib = b[p]
        major, info = ib >> 5, ib & 31
        p += 1
        if info < 24:
            n = info
        elif info <= 27:
            size = 1 << (info - 24)
            if p + size > self.end:
                raise FeedError("feed ends early")
            n = 0
            for i in range(size):
                n = (n << 8) | b[p + i]
            p += size
        else:
            raise FeedError("indefinite or reserved CBOR in the feed")
        self.pos = p
        return major, n

    def _expect(self, major):
        m, n = self.head()
        if m != major:
            raise FeedError("feed item of CBOR type %d where %d belongs" % (m, major))
        return n

    def uint(self):
        return self._expect(0)

    def int(self):
        m, n = self.head()
        if m == 0:
            return n
        if m == 1:
            return -1 - n
        raise FeedError("feed item is not a number")

    def array(self, limit=1 << 16):
        n = self._expect(4)
        if n > limit:
            raise FeedError("feed array of %d items, at most %d" % (n, limit))
        return n

    def raw(self, limit=1 << 16):
        """A byte string as a memoryview into the buffer (no copy)."""
        n = self._expect(2)
        return self._slice(n, limit)

    def _slice(self, n, limit):
        if n > limit or self.pos + n > self.end:
            raise FeedError("feed string too long or past the end")
        mv = memoryview(self.buf)[self.pos:self.pos + n]
        self.pos += n
        return mv

    def text(self, limit=1 << 16):
        n = self._expect(3)
        b = bytes(self._slice(n, limit))
        try:
            return b.decode("utf-8")
        except UnicodeError:
            raise FeedError("feed text is not UTF-8")

    def label(self):
        """Text of a checked feed for the screen: invalid UTF-8 (``check`` only bounds strings,
        decoding each would litter a board's heap) reads as "?" instead of raising."""
        n = self._expect(3)
        try:
            return bytes(self._slice(n, 1 << 16)).decode("utf-8")
        except UnicodeError:
            return "?"

    def skip_text(self, limit):
        self._slice(self._expect(3), limit)

    def null(self):
        """True (and consumed) if the next item is null."""
        if self.pos < self.end and self.buf[self.pos] == 0xF6:
            self.pos += 1
            return True
        return False

    def skip(self, depth=0):
        if depth > 8:
            raise FeedError("feed nested too deeply")
        m, n = self.head()
        if m == 2 or m == 3:
            self._slice(n, 1 << 16)
        elif m == 4:
            for _ in range(n):
                self.skip(depth + 1)
        elif m == 7:
            if n not in (20, 21, 22):
                raise FeedError("feed holds a float or an unknown simple value")
        elif m not in (0, 1):
            raise FeedError("feed holds a map or a tag")
