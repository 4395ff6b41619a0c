"""Whether the kernel's clock is synchronised by NTP (systemd-timesyncd, chrony, ntpd), for the
clock rule (core/clock.py): a synchronised clock is the time, and no signed timestamp moves it.

WHY the kernel and not a daemon's file: every NTP client clears the kernel's "unsynchronised"
flag once it disciplines the clock, and ``adjtimex`` with no mode bits only reads it (no
privileges needed).  Its return value is the clock state; TIME_ERROR means unsynchronised.
"""

import ctypes

TIME_ERROR = 5
_TIMEX_BYTES = 512  # struct timex is 208 bytes on 64-bit Linux; modes = 0 (the first field): read only


_libc = []  # loaded once


def _load_libc():
    """The C library the interpreter runs on: its symbols are in the process already
    (``dlopen(NULL)``); ``ctypes.util.find_library`` would run ``ldconfig -p``, a process."""
    if not _libc:
        _libc.append(ctypes.CDLL(None, use_errno=True))
    return _libc[0]


def kernel_synced():
    """True if NTP keeps the kernel's clock, else None (not known): an unsynchronised kernel clock
    may still be right (a Pi 5's RTC, a clock set by hand), so the clock rule then checks it
    against the screen's floor and the signed timestamps as for any clock.  Called for every
    frame: after the first call it is one system call, no process."""
    try:
        state = _load_libc().adjtimex(ctypes.create_string_buffer(_TIMEX_BYTES))
    except (OSError, AttributeError):
        return None
    if state < 0 or state == TIME_ERROR:
        return None
    return True
