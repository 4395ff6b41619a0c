"""Minimal CBOR (RFC 8949) encoder/decoder producing the same canonical bytes as ciborium.

Supported: unsigned/negative ints (up to 64 bit), byte strings, text strings, arrays
(list/tuple), maps (dict, insertion order kept), booleans, null.  Integers always use the
shortest head, lengths are definite — exactly what p2panda-core's ciborium emits.
Floats, tags, indefinite lengths and undefined are rejected with ``CBORError``.
"""

import struct
from pandascreen.core.errors import CBORError


MAX_DEPTH = 32


def _head(major, n, out):
    if n < 24:
        out.append((major << 5) | n)
    elif n < 0x100:
        out.append((major << 5) | 24)
        out.append(n)
    elif n < 0x10000:
        out.append((major << 5) | 25)
        out.extend(struct.pack(">H", n))
    elif n < 0x100000000:
        out.append((major << 5) | 26)
        out.extend(struct.pack(">I", n))
    elif n < 0x10000000000000000:
        out.append((major << 5) | 27)
        out.extend(struct.pack(">Q", n))
    else:
        raise CBORError("integer too large for CBOR: %d" % n)


def _enc(obj, out, depth):
    if depth > MAX_DEPTH:
        raise CBORError("structure nested too deeply")
    if obj is True:
        out.append(0xF5)
    elif obj is False:
        out.append(0xF4)
    elif obj is None:
        out.append(0xF6)
    elif isinstance(obj, int):
        if obj >= 0:
            _head(0, obj, out)
        else:
            _head(1, -1 - obj, out)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        b = bytes(obj)
        _head(2, len(b), out)
        out.extend(b)
    elif isinstance(obj, str):
        b = obj.encode("utf-8")
        _head(3, len(b), out)
        out.extend(b)
    elif isinstance(obj, (list, tuple)):
        _head(4, len(obj), out)
        for item in obj:
            _enc(item, out, depth + 1)
    elif isinstance(obj, dict):
        _head(5, len(obj), out)
        for k in obj:
            _enc(k, out, depth + 1)
            _enc(obj[k], out, depth + 1)
    else:
        raise CBORError("cannot encode %s as CBOR" % type(obj).__name__)


def dumps(obj):
    out = bytearray()
    _enc(obj, out, 0)
    return bytes(out)


def _read_n(data, pos, info):
    if info < 24:
        return info, pos
    if info == 24:
        size = 1
    elif info == 25:
        size = 2
    elif info == 26:
        size = 4
    elif info == 27:
        size = 8
    else:
        raise CBORError("unsupported CBOR additional info %d at byte %d" % (info, pos - 1))
    if pos + size > len(data):
        raise CBORError("unexpected end of CBOR data at byte %d" % pos)
    n = int.from_bytes(data[pos:pos + size], "big")
    return n, pos + size


def _dec(data, pos, depth):
    if depth > MAX_DEPTH:
        raise CBORError("CBOR nested too deeply")
    if pos >= len(data):
        raise CBORError("unexpected end of CBOR data at byte %d" % pos)
    ib = data[pos]
    major = ib >> 5
    info = ib & 31
    pos += 1
    if major == 7:
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info == 22:
            return None, pos
        raise CBORError("unsupported CBOR simple/float value 0x%02x at byte %d" % (ib, pos - 1))
    n, pos = _read_n(data, pos, info)
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major == 2 or major == 3:
        end = pos + n
        if end > len(data):
            raise CBORError("CBOR string runs past end of data (needs %d bytes)" % n)
        raw = bytes(data[pos:end])
        if major == 2:
            return raw, end
        try:
            return raw.decode("utf-8"), end
        except UnicodeError:
            raise CBORError("CBOR text string is not valid UTF-8")
    if major == 4:
        if n > len(data) - pos:
            raise CBORError("CBOR array length %d exceeds data" % n)
        items = []
        for _ in range(n):
            item, pos = _dec(data, pos, depth + 1)
            items.append(item)
        return items, pos
    if major == 5:
        if n > len(data) - pos:
            raise CBORError("CBOR map length %d exceeds data" % n)
        d = {}
        for _ in range(n):
            k, pos = _dec(data, pos, depth + 1)
            if isinstance(k, (list, dict)):  # unhashable: TypeError on both runtimes otherwise
                raise CBORError("CBOR map key must be a number, text or bytes, not a %s"
                                % ("map" if isinstance(k, dict) else "array"))
            if k in d:  # two readings of one map would let a body mean two things
                raise CBORError("CBOR map has the key %r twice" % (k,))
            v, pos = _dec(data, pos, depth + 1)
            d[k] = v
        return d, pos
    raise CBORError("unsupported CBOR major type %d (tags are not accepted)" % major)


def _need_bytes(data):
    # a str or list would fail deep inside with TypeError; callers only ever catch CBORError
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CBORError("CBOR input must be bytes, not %s" % type(data).__name__)


def loads(data):
    """Decode exactly one CBOR item; trailing bytes are an error.

    Any malformed input raises ``CBORError`` and nothing else (no TypeError for a map or
    array used as a map key, no IndexError), on CPython and MicroPython alike.
    """
    _need_bytes(data)
    item, pos = _dec(data, 0, 0)
    if pos != len(data):
        raise CBORError("%d trailing byte(s) after CBOR item" % (len(data) - pos))
    return item
