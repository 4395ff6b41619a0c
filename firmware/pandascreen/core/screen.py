"""What every screen says about itself, shared by the full peer (core/controller.py) and the
satellite board (board/board.py): the clock rule, the last-known-time file, the status names.

WHY a module of its own: a Pico W satellite needs the clock rule but none of the controller's
store, schedule and group machinery (~25 KB of its heap).
"""

import os

MIN_VALID_TIME = 1577836800  # 2020-01-01: a clock before this was never set
CLOCK_TOLERANCE = 600  # seconds a clock may lag the floor (organiser laptop a little ahead)
SAVE_TIME_EVERY = 300  # seconds between writes of the last known time (SD card / flash wear)
CLOCK_NOT_SET = "Clock not set \u2014 waiting for the time"
NO_CLOCK = "--:--"

STARTING = "starting"
SYNCED = "synced"
OFFLINE = "offline"
NO_PEERS = "no peers"


# -- the clock rule -------------------------------------------------------------------------

def clock_floor(newest_op_us=None, last_known=None):
    """The earliest the time can be now, in Unix seconds: 2020, the newest signed operation seen,
    the last time saved before a reboot - whichever is latest."""
    floor = MIN_VALID_TIME
    if newest_op_us:
        floor = max(floor, int(newest_op_us) // 1000000)
    if last_known:
        floor = max(floor, int(last_known))
    return floor


def clock_trusted(now, newest_op_us=None, last_known=None, tolerance=CLOCK_TOLERANCE):
    """True when ``now`` (Unix seconds) can be shown: not before ``clock_floor`` minus ``tolerance``.

    A Raspberry Pi has no real-time clock and a Pico W starts in 2021 or 1970, so a screen that
    booted without network would otherwise show a wrong now/next without any warning.
    """
    return int(now) >= clock_floor(newest_op_us, last_known) - tolerance


class TimeFile:
    """``load``/``save`` of the last known good time in a small text file (CPython and MicroPython).

    Written to a temporary file first and renamed over the old one, so a power cut leaves the old
    value; a missing or damaged file reads as None (the floor then rests on 2020 and the store).
    """

    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            fh = open(self.path)
            try:
                return int(fh.read().strip())
            finally:
                fh.close()
        except (OSError, ValueError):
            return None

    def save(self, t):
        tmp = self.path + ".tmp"
        fh = open(tmp, "w")
        try:
            fh.write("%d\n" % int(t))
        finally:
            fh.close()
        getattr(os, "replace", os.rename)(tmp, self.path)


# -- helpers --------------------------------------------------------------------------------

def peer_name(peer):
    """"host:port" for (host, port) pairs, str() of anything else (a node id, a name)."""
    if isinstance(peer, tuple) and len(peer) == 2:
        return "%s:%s" % peer
    return str(peer)
