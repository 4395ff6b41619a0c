"""Small helpers that behave the same on CPython and MicroPython."""

_HEX = b"0123456789abcdef"


def hexlify(data):
    """Lowercase hex string of ``data`` (bytes-like).

    Built as bytes: on MicroPython a character taken out of a str by index is interned for good,
    and a satellite writes its saved feed's digest in hex (board/saved_feed.py)."""
    data = bytes(data)
    out = bytearray(2 * len(data))
    for i in range(len(data)):
        out[2 * i] = _HEX[data[i] >> 4]
        out[2 * i + 1] = _HEX[data[i] & 15]
    return out.decode()


def unhexlify(text):
    """Bytes from a hex string; raises ValueError with a clear message on bad input."""
    if not isinstance(text, str):
        raise ValueError("expected a hex string, got %s" % type(text).__name__)
    text = text.strip()
    if len(text) % 2:
        raise ValueError("hex string has an odd number of digits (%d)" % len(text))
    try:
        return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))
    except ValueError:
        raise ValueError("not a hex string: %r" % (text[:20],))


def read_file(path):
    """The text of the small file at ``path`` (the last known time, the satellite's feed state);
    OSError when it cannot be read."""
    fh = open(path)
    try:
        return fh.read()
    finally:
        fh.close()


def replace_file(path, data, mode="w"):
    """Write ``data`` to ``path`` through ``path``.tmp and a rename: a power cut leaves the old
    file whole (the satellite's flash files and the last known time; CPython and MicroPython)."""
    import os
    tmp = path + ".tmp"
    try:
        fh = open(tmp, mode)
        try:
            fh.write(data)
        finally:
            fh.close()
        getattr(os, "replace", os.rename)(tmp, path)
    except OSError:
        remove_quietly(tmp)  # a full disk: the part written would hold space the store needs
        raise


def remove_quietly(path):
    """Remove ``path`` if it can be removed (a half-written file after a failed write)."""
    import os
    try:
        os.remove(path)
    except OSError:
        pass
