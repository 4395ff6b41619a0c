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

Code run once given back.  Importing the stack, binding iroh's endpoint and reading the store at
start run code, in iroh's library, Python's, SQLite's, Pillow's and zeroconf's, that an idle
screen does not run again; the pages read for it stay mapped, in the process's RSS (about 15 of
the 24 MB of files a 38c3 screen maps, ``make bench``, section idle).  ``give_back_code`` unmaps
them (``MADV_DONTNEED`` over each read-only private mapping of a file): a page the screen runs
again is mapped again from the page cache on first use, or read from its file when the kernel
has dropped it meanwhile, as the kernel may drop any unchanged page of a file at any time when
memory runs short.  Unmapped, they stay in the page cache, which the kernel empties first: the
Pi's free memory grows when it needs it, not at once.  A mapping with pages the process changed
(a library's relocated pointers, made read-only afterwards) is left: those pages are its own.
Unlike ``MADV_PAGEOUT`` this needs no right to write the file: the screen's user runs code from
root's venv and libraries.  The screen asks once, when start-up is over: after every change it
would fault its sync and drawing code in again.
"""

import sys


def without_tls(modules=sys.modules):
    """Keep ``ssl`` out of this process unless it is loaded already."""
    if "ssl" not in modules:
        modules["ssl"] = None


def _libc():
    import ctypes  # loaded already by iroh's binding on a screen
    return ctypes.CDLL(None)


_MADV_DONTNEED = 4  # the same on every Linux architecture but Alpha (uapi/asm-generic/mman-common.h)


def give_back():
    """Return the free pages of malloc's heaps to the system; True when the C library could."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    trim(0)
    return True


def _unmap_pages(start, length):
    """madvise(2) with MADV_DONTNEED over one mapping: 0 when the kernel took the advice."""
    import ctypes
    madvise = _libc().madvise
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return madvise(start, length, _MADV_DONTNEED)


def _file_held_mappings(smaps):
    """(start, length) of each private read-only mapping of a file, in /proc/self/smaps' text,
    none of whose pages the process has changed: code and constants, which the file holds as
    they are."""
    held = None
    for line in smaps.splitlines():
        fields = line.split(None, 5)
        if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's first line
            held = None
            if len(fields) == 6 and fields[1] in ("r-xp", "r--p") and fields[5].startswith("/"):
                start, end = (int(address, 16) for address in fields[0].split("-"))
                held = (start, end - start)
        elif fields[:1] == ["Anonymous:"] and held is not None:
            if fields[1] == "0":
                yield held
            held = None


def give_back_code(smaps=None):
    """Unmap the pages of this process's read-only file mappings that the files hold as they are;
    True when the kernel took the advice for at least one of them."""
    if smaps is None:
        try:
            with open("/proc/self/smaps") as f:
                smaps = f.read()
        except OSError:
            return False
    took = False
    for start, length in _file_held_mappings(smaps):
        if _unmap_pages(start, length) == 0:
            took = True
    return took
