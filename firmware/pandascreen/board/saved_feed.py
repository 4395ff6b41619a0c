"""What a satellite keeps on flash beside its last known time (core/clock.py ``TimeFile``): the
last good feed (``FeedFile``) and the newest issued-at it ever accepted with the saved feed's digest
(``FeedState``), so a reboot without Wi-Fi still has a program and an old feed is still refused.

Both are written to a temporary file and renamed over the old one: a power cut leaves the old copy.
"""

import os

from pandascreen.core import feed
from pandascreen.core.util import hexlify, read_file, replace_file, unhexlify


class FeedFile:
    """The last good feed's bytes on flash, so a reboot without Wi-Fi still has a program.

    Written to a temporary file and renamed over the old one (a power cut leaves the old
    feed); read straight into a buffer the caller owns (no allocation of feed size), and
    only if it fits that buffer: a damaged file is rejected by the caller's check and removed.
    """

    def __init__(self, path):
        self.path = path

    def load_into(self, buf):
        """Bytes read into ``buf``, None if there is no saved feed; FeedError if it is bigger than ``buf``."""
        try:
            size = os.stat(self.path)[6]
        except OSError:
            return None
        if size > len(buf):
            raise feed.FeedError("saved feed of %d bytes is over the %d byte limit" % (size, len(buf)))
        fh = open(self.path, "rb")
        try:
            return fh.readinto(memoryview(buf)[:size]) or 0
        finally:
            fh.close()

    def save(self, data):
        replace_file(self.path, data, "wb")

    def remove(self):
        try:
            os.remove(self.path)
        except OSError:
            pass


class FeedState:
    """The newest issued-at this board ever accepted and the SHA-256 of the feed it saved, in a
    small text file beside the feed ("<issued_at> <digest hex>").

    WHY: a feed issued before one the board already took is a replay, also after a reboot that
    lost the RAM copy (a stranger on the Wi-Fi serving an old, validly signed feed first; a fresh
    board starts from its config's ``feed_floor``, board/board.py); and the
    digest lets the board show its own saved feed at boot without verifying its signature again.
    Written to a temporary file and renamed (a power cut leaves the old state); ``load``: (newest,
    digest bytes), None for what is missing or damaged."""

    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            parts = read_file(self.path).split()
            newest = int(parts[0])
        except (OSError, ValueError, IndexError):
            return None, None
        try:
            return newest, unhexlify(parts[1]) if len(parts) > 1 and len(parts[1]) == 64 else None
        except ValueError:
            return newest, None

    def save(self, newest, digest):
        replace_file(self.path, "%d %s\n" % (int(newest), hexlify(digest) if digest else "-"))
