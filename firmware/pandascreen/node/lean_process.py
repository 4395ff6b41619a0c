"""[CPython] What a screen's process keeps out of memory and gives back, so that an idle screen
stays small on a Pi Zero 2 W (512 MB for the system, the display and the screen).

No TLS in Python.  A screen speaks QUIC through iroh, whose TLS is Rust's, inside iroh's own
library, and plain HTTP on the LAN (the program page, the satellite feed).  asyncio, which iroh's
binding loads, imports ``ssl`` only in case (``try: import ssl``), and with it OpenSSL's libssl
and libcrypto: about 4 MB of a screen's RSS (``make bench``, section idle).  ``without_tls``
puts None in ``sys.modules["ssl"]`` before anything imports asyncio, which is how Python lets a
program keep a module out (an import of it raises ImportError, and asyncio then runs without
TLS).  A module already loaded is left as it is.

Freed memory given back.  Reading the store, a sync's batches and writing the schedule snapshot
free most of what they allocate, but glibc's malloc keeps freed pages inside its heaps for the
next allocation: they stay resident, in the process's RSS, for good (1-1.5 MB after start-up
with 38c3).  ``give_back`` asks glibc's ``malloc_trim`` to return them; the screen's loop calls
it once the store is quiet and the snapshot written (node/app.py).
Where the C library has no ``malloc_trim`` (musl) it does nothing.
"""

import sys


def without_tls(modules=sys.modules):
    """Keep ``ssl`` out of this process unless it is loaded already."""
    if "ssl" not in modules:
        modules["ssl"] = None


def _libc():
    import ctypes  # loaded already by iroh's binding on a screen
    return ctypes.CDLL(None)


def give_back():
    """Return the free pages of malloc's heaps to the system; True when the C library could."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    trim(0)
    return True
