"""Pure-Python BLAKE3-256 (hash mode only), for boards without the blake3 wheel.

Hand-written because MicroPython has no BLAKE3; written from the BLAKE3 specification: 1 KiB
chunks of 64-byte blocks, a 7-round compression function, and a binary tree of chaining
values merged on a stack.

Sized for a Pico W:
- every 32-bit word is held as two 16-bit halves (lo, hi).  MicroPython's small ints have 31
  bits, so a 32-bit word would be a heap-allocated bignum and every add, xor and rotation an
  allocation; on halves all arithmetic stays in small ints (about 3x faster on the 32-bit port)
  and a rotation by 16 is a swap;
- the constants are literals (nothing is computed at import); full blocks are read in place
  with ``struct.unpack_from`` (only a short last block is copied into a 64-byte buffer), and
  the chaining-value stack holds at most log2(chunks) entries, so hashing needs a few hundred
  bytes beside the input whatever its length.
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# IV (= SHA-256's) as 16-bit halves
_IV_LO = (0xE667, 0xAE85, 0xF372, 0xF53A, 0x527F, 0x688C, 0xD9AB, 0xCD19)
_IV_HI = (0x6A09, 0xBB67, 0x3C6E, 0xA54F, 0x510E, 0x9B05, 0x1F83, 0x5BE0)
CHUNK_START = const(1)
CHUNK_END = const(2)
PARENT = const(4)
ROOT = const(8)
CHUNK_LEN = const(1024)
BLOCK_LEN = const(64)
M16 = const(0xFFFF)

# Message word order of each of the 7 rounds: the permutation (2, 6, 3, 10, 7, 0, 4, 13, 1,
# 11, 12, 5, 9, 14, 15, 8) applied 0..6 times.
_SCHED = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8),
    (3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1),
    (10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6),
    (12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4),
    (9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7),
    (11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13),
)
# (a, b, c, d) state indices of the 8 G calls in a round: 4 columns, then 4 diagonals
_GS = ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
       (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))


def _compress(cvl, cvh, ml, mh, counter, block_len, flags):
    """First 8 words of the compression output (all that the 32-byte hash needs), as halves.

    ``cvl``/``cvh`` and ``ml``/``mh`` are the low/high 16-bit halves of the chaining value's
    8 words and of the block's 16 words.  The G function below is the specification's
    (a += b + mx; d = (d ^ a) >>> 16; c += d; b = (b ^ c) >>> 12; a += b + my;
    d = (d ^ a) >>> 8; c += d; b = (b ^ c) >>> 7) on halves: an add carries lo >> 16 into hi,
    and a rotation right by n < 16 is lo' = lo >> n | hi << (16 - n) (and hi' likewise).
    """
    vl = [cvl[0], cvl[1], cvl[2], cvl[3], cvl[4], cvl[5], cvl[6], cvl[7],
          0xE667, 0xAE85, 0xF372, 0xF53A, counter & M16, (counter >> 32) & M16, block_len, flags]
    vh = [cvh[0], cvh[1], cvh[2], cvh[3], cvh[4], cvh[5], cvh[6], cvh[7],
          0x6A09, 0xBB67, 0x3C6E, 0xA54F, (counter >> 16) & M16, (counter >> 48) & M16, 0, 0]
    for sched in _SCHED:
        j = 0
        for a, b, c, d in _GS:
            x = sched[j]
            y = sched[j + 1]
            j += 2
            lo = vl[a] + vl[b] + ml[x]  # a += b + mx
            hi = vh[a] + vh[b] + mh[x] + (lo >> 16)
            al = lo & M16
            ah = hi & M16
            dl = vh[d] ^ ah  # d = (d ^ a) >>> 16: swap the halves
            dh = vl[d] ^ al
            lo = vl[c] + dl  # c += d
            hi = vh[c] + dh + (lo >> 16)
            cl = lo & M16
            ch = hi & M16
            xl = vl[b] ^ cl  # b = (b ^ c) >>> 12
            xh = vh[b] ^ ch
            bl = ((xl >> 12) | (xh << 4)) & M16
            bh = ((xh >> 12) | (xl << 4)) & M16
            lo = al + bl + ml[y]  # a += b + my
            hi = ah + bh + mh[y] + (lo >> 16)
            al = lo & M16
            ah = hi & M16
            xl = dl ^ al  # d = (d ^ a) >>> 8
            xh = dh ^ ah
            dl = ((xl >> 8) | (xh << 8)) & M16
            dh = ((xh >> 8) | (xl << 8)) & M16
            lo = cl + dl  # c += d
            hi = ch + dh + (lo >> 16)
            cl = lo & M16
            ch = hi & M16
            xl = bl ^ cl  # b = (b ^ c) >>> 7
            xh = bh ^ ch
            vl[b] = ((xl >> 7) | (xh << 9)) & M16
            vh[b] = ((xh >> 7) | (xl << 9)) & M16
            vl[a] = al
            vh[a] = ah
            vl[c] = cl
            vh[c] = ch
            vl[d] = dl
            vh[d] = dh
    return [vl[i] ^ vl[i + 8] for i in range(8)], [vh[i] ^ vh[i + 8] for i in range(8)]


def _halves(block):
    """The 16 little-endian words of a 64-byte block as (low halves, high halves)."""
    return [block[i] for i in range(0, 32, 2)], [block[i] for i in range(1, 32, 2)]


def _chunk(data, start, end, counter, root):
    """Chaining value of ``data[start:end]`` (one chunk); with ``root`` it is the whole input."""
    cvl, cvh = _IV_LO, _IV_HI
    pos = start
    flags = CHUNK_START
    while True:
        blk_end = pos + BLOCK_LEN
        last = blk_end >= end
        if last:
            blk_end = end
            flags |= CHUNK_END
            if root:
                flags |= ROOT
        n = blk_end - pos
        if n == BLOCK_LEN:
            ml, mh = _halves(struct.unpack_from("<32H", data, pos))
        else:  # the short last block, zero-padded
            block = bytearray(BLOCK_LEN)
            block[:n] = data[pos:blk_end]
            ml, mh = _halves(struct.unpack("<32H", block))
        cvl, cvh = _compress(cvl, cvh, ml, mh, counter, n, flags)
        if last:
            return cvl, cvh
        pos = blk_end
        flags = 0


def _parent(left, right, root=False):
    return _compress(_IV_LO, _IV_HI, left[0] + right[0], left[1] + right[1], 0, BLOCK_LEN,
                     PARENT | (ROOT if root else 0))


def _digest(cv):
    lo, hi = cv
    return struct.pack("<16H", lo[0], hi[0], lo[1], hi[1], lo[2], hi[2], lo[3], hi[3],
                       lo[4], hi[4], lo[5], hi[5], lo[6], hi[6], lo[7], hi[7])


def blake3(data):
    """32-byte BLAKE3 hash of ``data`` (any buffer; read in place, not copied)."""
    data = memoryview(data)
    n = len(data)
    if n <= CHUNK_LEN:
        return _digest(_chunk(data, 0, n, 0, True))
    nchunks = (n + CHUNK_LEN - 1) // CHUNK_LEN
    stack = []
    for i in range(nchunks - 1):
        cv = _chunk(data, i * CHUNK_LEN, (i + 1) * CHUNK_LEN, i, False)
        total = i + 1
        while total & 1 == 0:
            cv = _parent(stack.pop(), cv)
            total >>= 1
        stack.append(cv)
    cv = _chunk(data, (nchunks - 1) * CHUNK_LEN, n, nchunks - 1, False)
    while len(stack) > 1:
        cv = _parent(stack.pop(), cv)
    return _digest(_parent(stack.pop(), cv, True))
