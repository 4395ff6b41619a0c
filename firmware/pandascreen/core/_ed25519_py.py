"""Pure-Python Ed25519 (RFC 8032) with strict verification, for boards without PyNaCl.

Hand-written because MicroPython has no Ed25519 (and its hashlib no SHA-512); written from
RFC 8032, FIPS 180-4 and the Edwards-curve formulas of Hisil-Wong-Carter-Dawson 2008.

Verification follows ed25519-dalek's ``verify_strict``: S must be reduced (S < L), the public
key must be a canonical encoding, neither A nor R may be of small order, and the recomputed
R must equal the signature's R bytes.  R is never decoded: a canonical encoding of the
computed point can only equal R's bytes if R is a canonical curve point, so comparing bytes
and rejecting the 8 small-order encodings gives the same answers with one square root less.

Sized for a Pico W (~180 KB heap, 31-bit small ints, 16-bit bignum digits):
- no tables at import: every constant is a literal, so importing does no bignum work and
  leaves the heap unfragmented; the 8 odd multiples of B that one verification needs are
  built per call (~1.5 KB, freed afterwards) instead of keeping a table of B, and those of
  the last key are kept (~1.5 KB), since the operations of a log share one key;
- [s]B - [k]A is one Straus double-scalar multiplication with width-5 NAFs on extended
  twisted Edwards coordinates: ~253 doublings and ~85 additions shared by both scalars;
- inversions and square roots use the 2^255-21 addition chain (~265 field products),
  which under MicroPython is faster than the builtin three-argument ``pow``;
- SHA-512 reads the message block by block (no padded copy of the whole message).
"""

import struct
from array import array

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


try:
    from hashlib import sha512 as _hashlib_sha512
except ImportError:  # MicroPython's hashlib has sha256 only
    _hashlib_sha512 = None

# ------------------------------------------------------------------------------------ SHA-512
M64 = const(0xFFFFFFFFFFFFFFFF)

# FIPS 180-4 4.2.3 (cube roots of the first 80 primes) and 5.3.5 (square roots of the first 8)
_K = (
    0x428A2F98D728AE22, 0x7137449123EF65CD, 0xB5C0FBCFEC4D3B2F, 0xE9B5DBA58189DBBC,
    0x3956C25BF348B538, 0x59F111F1B605D019, 0x923F82A4AF194F9B, 0xAB1C5ED5DA6D8118,
    0xD807AA98A3030242, 0x12835B0145706FBE, 0x243185BE4EE4B28C, 0x550C7DC3D5FFB4E2,
    0x72BE5D74F27B896F, 0x80DEB1FE3B1696B1, 0x9BDC06A725C71235, 0xC19BF174CF692694,
    0xE49B69C19EF14AD2, 0xEFBE4786384F25E3, 0x0FC19DC68B8CD5B5, 0x240CA1CC77AC9C65,
    0x2DE92C6F592B0275, 0x4A7484AA6EA6E483, 0x5CB0A9DCBD41FBD4, 0x76F988DA831153B5,
    0x983E5152EE66DFAB, 0xA831C66D2DB43210, 0xB00327C898FB213F, 0xBF597FC7BEEF0EE4,
    0xC6E00BF33DA88FC2, 0xD5A79147930AA725, 0x06CA6351E003826F, 0x142929670A0E6E70,
    0x27B70A8546D22FFC, 0x2E1B21385C26C926, 0x4D2C6DFC5AC42AED, 0x53380D139D95B3DF,
    0x650A73548BAF63DE, 0x766A0ABB3C77B2A8, 0x81C2C92E47EDAEE6, 0x92722C851482353B,
    0xA2BFE8A14CF10364, 0xA81A664BBC423001, 0xC24B8B70D0F89791, 0xC76C51A30654BE30,
    0xD192E819D6EF5218, 0xD69906245565A910, 0xF40E35855771202A, 0x106AA07032BBD1B8,
    0x19A4C116B8D2D0C8, 0x1E376C085141AB53, 0x2748774CDF8EEB99, 0x34B0BCB5E19B48A8,
    0x391C0CB3C5C95A63, 0x4ED8AA4AE3418ACB, 0x5B9CCA4F7763E373, 0x682E6FF3D6B2B8A3,
    0x748F82EE5DEFB2FC, 0x78A5636F43172F60, 0x84C87814A1F0AB72, 0x8CC702081A6439EC,
    0x90BEFFFA23631E28, 0xA4506CEBDE82BDE9, 0xBEF9A3F7B2C67915, 0xC67178F2E372532B,
    0xCA273ECEEA26619C, 0xD186B8C721C0C207, 0xEADA7DD6CDE0EB1E, 0xF57D4F7FEE6ED178,
    0x06F067AA72176FBA, 0x0A637DC5A2C898A6, 0x113F9804BEF90DAE, 0x1B710B35131C471B,
    0x28DB77F523047D84, 0x32CAAB7B40C72493, 0x3C9EBE0A15C9BEBC, 0x431D67C49C100D4C,
    0x4CC5D4BECB3E42B6, 0x597F299CFC657E2A, 0x5FCB6FAB3AD6FAEC, 0x6C44198C4A475817,
)
_H0 = (0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
       0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179)


def _sha512_block(h, w):
    """Fold one 128-byte block (``w``: 80 slots, the block's 16 words first, the rest filled
    here) into state ``h``.  The caller's one list of 80 is reused block after block: extending
    a list of 16 to 80 reallocated it three times per block, the last time as one 512-byte
    piece, which a satellite's fragmented heap at boot did not always have.

    A rotation is a shift of the word doubled to 128 bits (x | x << 64), masked once for all
    three rotations of a sigma: on MicroPython every bignum operation allocates, and this
    form needs the fewest (a function call per rotation would cost more than the shifts).
    """
    m = M64
    k = _K
    for t in range(16, 80):
        x = w[t - 15]
        y = w[t - 2]
        xx = x | (x << 64)
        yy = y | (y << 64)
        w[t] = (w[t - 16] + ((((xx >> 1) ^ (xx >> 8)) & m) ^ (x >> 7)) + w[t - 7]
                + ((((yy >> 19) ^ (yy >> 61)) & m) ^ (y >> 6))) & m
    a, b, c, d, e, f, g, hh = h
    for t in range(80):
        ee = e | (e << 64)
        aa = a | (a << 64)
        t1 = hh + (((ee >> 14) ^ (ee >> 18) ^ (ee >> 41)) & m) + (g ^ (e & (f ^ g))) + k[t] + w[t]
        t2 = (((aa >> 28) ^ (aa >> 34) ^ (aa >> 39)) & m) + ((a & b) | (c & (a | b)))
        hh = g
        g = f
        f = e
        e = (d + t1) & m
        d = c
        c = b
        b = a
        a = (t1 + t2) & m
    return ((h[0] + a) & m, (h[1] + b) & m, (h[2] + c) & m, (h[3] + d) & m,
            (h[4] + e) & m, (h[5] + f) & m, (h[6] + g) & m, (h[7] + hh) & m)


def _sha512_py(*parts):
    """SHA-512 of the concatenated ``parts`` (buffers), without concatenating them: whole blocks
    are read in place, and at most one block (plus the padded tail) is ever copied."""
    h = _H0
    w = [0] * 80  # the message schedule, refilled for every block
    pending = b""  # < 128 bytes carried to the next part
    n = 0
    for part in parts:
        part = memoryview(part)
        n += len(part)
        off = 0
        if pending:
            off = min(128 - len(pending), len(part))
            pending += bytes(part[:off])
            if len(pending) < 128:
                continue
            w[0:16] = struct.unpack(">16Q", pending)
            h = _sha512_block(h, w)
        end = off + (len(part) - off) // 128 * 128
        for o in range(off, end, 128):
            w[0:16] = struct.unpack_from(">16Q", part, o)
            h = _sha512_block(h, w)
        pending = bytes(part[end:])
    tail = pending + b"\x80" + bytes((111 - n) % 128) + struct.pack(">QQ", n >> 61, (n << 3) & M64)
    for off in range(0, len(tail), 128):
        w[0:16] = struct.unpack_from(">16Q", tail, off)
        h = _sha512_block(h, w)
    return struct.pack(">8Q", *h)


def sha512(*parts):
    """SHA-512 of the concatenated ``parts``."""
    if _hashlib_sha512 is None:
        return _sha512_py(*parts)
    h = _hashlib_sha512()
    for part in parts:
        h.update(part)
    return h.digest()


# ------------------------------------------------------------------------------ curve25519
P = const(57896044618658097711785492504343953926634992332820282019728792003956564819949)  # 2^255 - 19
L = const(7237005577332262213973186563042994240857116359379907606001950938285454250989)  # 2^252 + ...
D = const(37095705934669439343138083508754565189542113879843219016388785533085940283555)  # -121665/121666
D2 = const(16295367250680780974490674513165176452449235426866156013048779062215315747161)  # 2 * D
SQRT_M1 = const(19681161376707505956807079304988542015446066515923890162744021073123829784752)
BX = const(15112221349535400772501151409588531511454012693041857206046113283949847762202)
BY = const(46316835694926478169428394003475163141307993866256225615783033603165251855960)  # 4/5
_MASK255 = const(57896044618658097711785492504343953926634992332820282019728792003956564819967)

# Encodings of the 8 points of order dividing 8 (all canonical ones; a non-canonical encoding
# is rejected anyway, for A when it is decoded and for R by the final byte comparison).
SMALL_ORDER = (
    b"\x01" + bytes(31),  # identity
    b"\xec" + b"\xff" * 30 + b"\x7f",  # (0, -1), order 2
    bytes(32),  # (sqrt(-1), 0), order 4
    bytes(31) + b"\x80",  # (-sqrt(-1), 0), order 4
    b"\xc7\x17\x6a\x70\x3d\x4d\xd8\x4f\xba\x3c\x0b\x76\x0d\x10\x67\x0f"
        b"\x2a\x20\x53\xfa\x2c\x39\xcc\xc6\x4e\xc7\xfd\x77\x92\xac\x03\x7a",  # order 8
    b"\xc7\x17\x6a\x70\x3d\x4d\xd8\x4f\xba\x3c\x0b\x76\x0d\x10\x67\x0f"
        b"\x2a\x20\x53\xfa\x2c\x39\xcc\xc6\x4e\xc7\xfd\x77\x92\xac\x03\xfa",
    b"\x26\xe8\x95\x8f\xc2\xb2\x27\xb0\x45\xc3\xf4\x89\xf2\xef\x98\xf0"
        b"\xd5\xdf\xac\x05\xd3\xc6\x33\x39\xb1\x38\x02\x88\x6d\x53\xfc\x05",
    b"\x26\xe8\x95\x8f\xc2\xb2\x27\xb0\x45\xc3\xf4\x89\xf2\xef\x98\xf0"
        b"\xd5\xdf\xac\x05\xd3\xc6\x33\x39\xb1\x38\x02\x88\x6d\x53\xfc\x85",
)


def _sq(x, n):
    """x^(2^n) mod p."""
    p = P
    for _ in range(n):
        x = x * x % p
    return x


def _pow_2_250_1(z):
    """(z^(2^250 - 1), z^11) mod p: the shared start of the ref10 inversion and square-root chains."""
    p = P
    z2 = z * z % p
    z9 = _sq(z2, 2) * z % p
    z11 = z9 * z2 % p
    t = z11 * z11 % p * z9 % p  # 2^5 - 1
    t10 = _sq(t, 5) * t % p  # 2^10 - 1
    t20 = _sq(t10, 10) * t10 % p
    t = _sq(t20, 20) * t20 % p  # 2^40 - 1
    t50 = _sq(t, 10) * t10 % p
    t100 = _sq(t50, 50) * t50 % p
    t = _sq(t100, 100) * t100 % p  # 2^200 - 1
    return _sq(t, 50) * t50 % p, z11


def _inv(z):
    """z^(p-2) = 1/z mod p."""
    t, z11 = _pow_2_250_1(z)
    return _sq(t, 5) * z11 % P


def _decode(b):
    """Affine (x, y) of a canonical point encoding, or None (RFC 8032 5.1.3)."""
    if len(b) != 32:
        return None
    p = P
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= _MASK255
    if y >= p:
        return None
    yy = y * y % p
    u = yy - 1
    v = (D * yy + 1) % p
    v3 = v * v % p * v % p
    uv7 = u * v3 % p * v3 % p * v % p
    t, _ = _pow_2_250_1(uv7)
    x = u * v3 % p * (_sq(t, 2) * uv7 % p) % p  # u v^3 (u v^7)^((p-5)/8)
    vxx = v * x % p * x % p
    if vxx != u % p:
        if vxx != (-u) % p:
            return None
        x = x * SQRT_M1 % p
    if x == 0 and sign:
        return None
    if (x & 1) != sign:
        x = p - x
    return x, y


def _encode(X, Y, Z):
    zi = _inv(Z)
    x = X * zi % P
    y = Y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


# Points are (X, Y, Z, E, H) in extended coordinates with T = E*H, so that a doubling whose
# result is only doubled again never pays for T.  Cached points, the addends of additions,
# are (Y+X, Y-X, 2Z, 2dT).


def _double(X, Y, Z):
    """2P for a = -1 (dbl-2008-hwcd); 4 squarings and 3 products."""
    p = P
    a = X * X % p
    b = Y * Y % p
    c = 2 * Z * Z % p
    h = a + b
    e = h - (X + Y) * (X + Y) % p
    g = a - b
    f = c + g
    return e * f % p, g * h % p, f * g % p, e, h


def _add(X, Y, Z, E, H, q, neg):
    """P + Q (or P - Q with ``neg``) for a cached Q (add-2008-hwcd-3); 8 products."""
    p = P
    ypx, ymx, z2, t2d = q
    if neg:
        ypx, ymx = ymx, ypx
    a = (Y - X) * ymx % p
    b = (Y + X) * ypx % p
    c = E * H % p * t2d % p
    if neg:
        c = -c
    d = Z * z2 % p
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return e * f % p, g * h % p, f * g % p, e, h


def _cached(X, Y, Z, E, H):
    return (Y + X, Y - X, 2 * Z, E * H % P * D2 % P)


def _odd_multiples(x, y):
    """[1, 3, 5, ..., 15] * (x, y) as cached points: the table for one width-5 NAF."""
    X, Y, Z, E, H = x, y, 1, x, y
    two = _cached(*_double(x, y, 1))
    out = [_cached(X, Y, Z, E, H)]
    for _ in range(7):
        X, Y, Z, E, H = _add(X, Y, Z, E, H, two, False)
        out.append(_cached(X, Y, Z, E, H))
    return out


def _wnaf(n):
    """Width-5 NAF of 0 <= n < 2^256, least significant first: each digit 0 or odd in [-15, 15],
    and any nonzero digit is followed by at least four zeros."""
    b = n.to_bytes(34, "little")  # two zero bytes past the top so every 5-bit window can be read
    out = array("b", bytes(260))  # signed digits: 260 bytes, not a 1 KB list per scalar
    carry = 0
    i = 0
    while i < 260:
        w = ((b[i >> 3] | (b[(i >> 3) + 1] << 8)) >> (i & 7)) & 31
        if (w & 1) == carry:  # bit + carry is even: digit 0, the carry moves up
            i += 1
            continue
        w += carry
        if w > 16:
            out[i] = w - 32
            carry = 1
        else:
            out[i] = w
            carry = 0
        i += 5
    return out


def _mul_sum(terms):
    """Sum of [n]Q over ``terms`` of (n, odd multiples of Q), as (X, Y, Z): Straus' method, so
    all the scalars share one chain of doublings.

    The loop body is ``_double`` and ``_add`` written out: under MicroPython the two calls per
    bit cost ~15% of a verification.  Keep the three in step (the tests compare all answers
    with libsodium).
    """
    p = P
    nafs = [_wnaf(n) for n, _ in terms]
    top = 259
    while top >= 0 and not any(naf[top] for naf in nafs):
        top -= 1
    X, Y, Z, e, h = 0, 1, 1, 0, 1
    pairs = [(naf, table) for naf, (_, table) in zip(nafs, terms)]
    for i in range(top, -1, -1):
        # _double(X, Y, Z)
        a = X * X % p
        b = Y * Y % p
        c = 2 * Z * Z % p
        h = a + b
        e = h - (X + Y) * (X + Y) % p
        g = a - b
        f = c + g
        X = e * f % p
        Y = g * h % p
        Z = f * g % p
        for naf, table in pairs:
            d = naf[i]
            if d:
                # _add(X, Y, Z, e, h, table[|d| >> 1], d < 0)
                if d > 0:
                    ypx, ymx, z2, t2d = table[d >> 1]
                    c = e * h % p * t2d % p
                else:
                    ymx, ypx, z2, t2d = table[(-d) >> 1]
                    c = -(e * h % p * t2d % p)
                a = (Y - X) * ymx % p
                b = (Y + X) * ypx % p
                d = Z * z2 % p
                e = b - a
                f = d - c
                g = d + c
                h = b + a
                X = e * f % p
                Y = g * h % p
                Z = f * g % p
    return X, Y, Z


def _mul(n, x, y):
    """[n](x, y) as (X, Y, Z)."""
    return _mul_sum(((n, _odd_multiples(x, y)),))


def _mul_base(s):
    return _encode(*_mul(s, BX, BY))


# The last verifying key, decoded and negated, with its odd multiples (~1.5 KB): the operations
# of one log share a key, and this saves a square root and a table per verification.
_last_key = [None, None]


def _neg_key_multiples(pk):
    """Odd multiples of -A for the canonical encoding ``pk`` of A, or None if it is not one."""
    if _last_key[0] != pk:
        a = _decode(pk)
        if a is None:
            return None
        _last_key[0] = None
        _last_key[1] = _odd_multiples(P - a[0], a[1])  # -A = (-x, y)
        _last_key[0] = pk
    return _last_key[1]


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
    return _mul_base(a)


def sign(seed, msg):
    seed = bytes(seed)
    msg = memoryview(msg)
    a, prefix = _expand(seed)
    pk = _mul_base(a)
    r = int.from_bytes(sha512(prefix, msg), "little") % L
    rb = _mul_base(r)
    k = int.from_bytes(sha512(rb, pk, msg), "little") % L
    s = (r + k * a) % L
    return rb + s.to_bytes(32, "little")


def verify(pk, msg, sig):
    """True iff ``sig`` is a valid strict Ed25519 signature of ``msg`` by ``pk``."""
    try:
        pk = bytes(pk)
        sig = bytes(sig)
        msg = memoryview(msg)  # a long message (a feed) is hashed in place, never copied
    except Exception:
        return False
    if len(pk) != 32 or len(sig) != 64:
        return False
    rb = sig[:32]
    if pk in SMALL_ORDER or rb in SMALL_ORDER:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    neg_a = _neg_key_multiples(pk)
    if neg_a is None:
        return False
    k = int.from_bytes(sha512(rb, pk, msg), "little") % L
    # [s]B - [k]A
    return _encode(*_mul_sum(((s, _odd_multiples(BX, BY)), (k, neg_a)))) == rb
