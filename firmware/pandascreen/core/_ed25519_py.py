"""[core] Pure-Python Ed25519 (RFC 8032) with strict verification, for boards without PyNaCl.

Written from RFC 8032 and FIPS 180-4.  Verification follows ed25519-dalek's
``verify_strict``: S must be reduced (S < L), points must be canonically encoded, A and R
must not be of small order, and the recomputed R must match the signature's R bytes.
Big-integer arithmetic works the same on CPython and MicroPython.
"""

import struct

try:
    from hashlib import sha512 as _hashlib_sha512
except ImportError:
    _hashlib_sha512 = None

# ------------------------------------------------------------------------------------ SHA-512
M64 = 0xFFFFFFFFFFFFFFFF


def _primes(n):
    out = []
    c = 2
    while len(out) < n:
        if all(c % p for p in out if p * p <= c):
            out.append(c)
        c += 1
    return out


def _iroot(x, k):
    """floor(x ** (1/k)) for big non-negative integers (Newton's method)."""
    if x < 2:
        return x
    bits = 4 * len("%x" % x)  # an upper bound of the bit length (MicroPython ints lack bit_length)
    r = 1 << ((bits + k - 1) // k)
    while True:
        s = ((k - 1) * r + x // r ** (k - 1)) // k
        if s >= r:
            break
        r = s
    while r ** k > x:
        r -= 1
    while (r + 1) ** k <= x:
        r += 1
    return r


# FIPS 180-4: fractional parts of square roots (H0) and cube roots (K) of the first primes
_P80 = _primes(80)
_H0 = tuple(_iroot(p << 128, 2) & M64 for p in _P80[:8])
_K = tuple(_iroot(p << 192, 3) & M64 for p in _P80)


def _rotr(x, n):
    return ((x >> n) | (x << (64 - n))) & M64


def _sha512_py(data):
    data = bytes(data)
    ml = len(data) * 8
    data += b"\x80" + bytes((111 - len(data)) % 128) + (ml >> 64).to_bytes(8, "big") + (ml & M64).to_bytes(8, "big")
    h = list(_H0)
    k = _K
    for off in range(0, len(data), 128):
        w = list(struct.unpack(">16Q", data[off:off + 128]))
        for t in range(16, 80):
            x = w[t - 15]
            y = w[t - 2]
            s0 = _rotr(x, 1) ^ _rotr(x, 8) ^ (x >> 7)
            s1 = _rotr(y, 19) ^ _rotr(y, 61) ^ (y >> 6)
            w.append((w[t - 16] + s0 + w[t - 7] + s1) & M64)
        a, b, c, d, e, f, g, hh = h
        for t in range(80):
            t1 = (hh + (_rotr(e, 14) ^ _rotr(e, 18) ^ _rotr(e, 41)) + ((e & f) ^ (~e & g)) + k[t] + w[t]) & M64
            t2 = ((_rotr(a, 28) ^ _rotr(a, 34) ^ _rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))) & M64
            hh = g
            g = f
            f = e
            e = (d + t1) & M64
            d = c
            c = b
            b = a
            a = (t1 + t2) & M64
        h = [(h[0] + a) & M64, (h[1] + b) & M64, (h[2] + c) & M64, (h[3] + d) & M64,
             (h[4] + e) & M64, (h[5] + f) & M64, (h[6] + g) & M64, (h[7] + hh) & M64]
    return struct.pack(">8Q", *h)


def sha512(data):
    if _hashlib_sha512 is not None:
        return _hashlib_sha512(bytes(data)).digest()
    return _sha512_py(data)


# ------------------------------------------------------------------------------ curve25519
P = (1 << 255) - 19
L = (1 << 252) + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
D2 = (2 * D) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x):
    return pow(x, P - 2, P)


def _add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * D2 * t2 % P
    d = z1 * 2 * z2 % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _double(p1):
    x1, y1, z1, _ = p1
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


IDENTITY = (0, 1, 1, 0)


def _mul(s, pt):
    q = IDENTITY
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _double(pt)
        s >>= 1
    return q


def _neg(pt):
    x, y, z, t = pt
    return ((-x) % P, y, z, (-t) % P)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decode(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def _encode(pt):
    x, y, z, _ = pt
    zi = _inv(z)
    x = x * zi % P
    y = y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _is_identity(pt):
    x, y, z, _ = pt
    return x % P == 0 and (y - z) % P == 0


_BY = 4 * _inv(5) % P
_BX = _recover_x(_BY, 0)
BASE = (_BX, _BY, 1, _BX * _BY % P)

# fixed-base table: BASE * 2^i for i < 256, so [s]B costs only additions
_BASE_POW2 = []
_q = BASE
for _i in range(256):
    _BASE_POW2.append(_q)
    _q = _double(_q)
del _q, _i


def _mul_base(s):
    q = IDENTITY
    i = 0
    while s > 0:
        if s & 1:
            q = _add(q, _BASE_POW2[i])
        s >>= 1
        i += 1
    return q


def _clamp(h32):
    a = int.from_bytes(h32, "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a


def _expand(seed):
    if len(seed) != 32:
        raise ValueError("Ed25519 seed must be 32 bytes, got %d" % len(seed))
    h = sha512(seed)
    return _clamp(h[:32]), h[32:]


def public_key(seed):
    a, _ = _expand(bytes(seed))
    return _encode(_mul_base(a))


def sign(seed, msg):
    seed = bytes(seed)
    msg = bytes(msg)
    a, prefix = _expand(seed)
    pk = _encode(_mul_base(a))
    r = int.from_bytes(sha512(prefix + msg), "little") % L
    rb = _encode(_mul_base(r))
    k = int.from_bytes(sha512(rb + pk + msg), "little") % L
    s = (r + k * a) % L
    return rb + s.to_bytes(32, "little")


def _small_order(pt):
    return _is_identity(_double(_double(_double(pt))))


def verify(pk, msg, sig):
    """True iff ``sig`` is a valid strict Ed25519 signature of ``msg`` by ``pk``."""
    try:
        pk = bytes(pk)
        sig = bytes(sig)
        msg = bytes(msg)
    except Exception:
        return False
    if len(pk) != 32 or len(sig) != 64:
        return False
    a = _decode(pk)
    if a is None or _small_order(a):
        return False
    rb = sig[:32]
    r = _decode(rb)
    if r is None or _small_order(r):
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(sha512(rb + pk + msg), "little") % L
    check = _add(_mul_base(s), _mul(k, _neg(a)))
    return _encode(check) == rb
