"""[core] Pure-Python BLAKE3-256 (hash mode only), for boards without the blake3 wheel.

Hand-written because MicroPython has no BLAKE3; written from the BLAKE3 specification: 1 KiB
chunks of 64-byte blocks, a 7-round compression function, and a binary tree of chaining
values merged on a stack.

Sized for a Pico W: the constants are literals (nothing is computed at import), full blocks
are read in place with ``struct.unpack_from`` (only a short last block is copied into a
64-byte buffer), and the chaining-value stack holds at most log2(chunks) entries, so hashing
needs a few hundred bytes beside the input whatever its length.
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
CHUNK_START = const(1)
CHUNK_END = const(2)
PARENT = const(4)
ROOT = const(8)
CHUNK_LEN = const(1024)
BLOCK_LEN = const(64)
M32 = const(0xFFFFFFFF)

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


def _compress(cv, m, counter, block_len, flags):
    """First 8 words of the compression output (all that the 32-byte hash needs)."""
    s = [cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
         _IV[0], _IV[1], _IV[2], _IV[3],
         counter & M32, (counter >> 32) & M32, block_len, flags]
    for sched in _SCHED:
        j = 0
        for a, b, c, d in _GS:
            mx = m[sched[j]]
            my = m[sched[j + 1]]
            j += 2
            va = (s[a] + s[b] + mx) & M32
            vd = s[d] ^ va
            vd = ((vd >> 16) | (vd << 16)) & M32
            vc = (s[c] + vd) & M32
            vb = s[b] ^ vc
            vb = ((vb >> 12) | (vb << 20)) & M32
            va = (va + vb + my) & M32
            vd = vd ^ va
            vd = ((vd >> 8) | (vd << 24)) & M32
            vc = (vc + vd) & M32
            vb = vb ^ vc
            vb = ((vb >> 7) | (vb << 25)) & M32
            s[a] = va
            s[b] = vb
            s[c] = vc
            s[d] = vd
    return [s[i] ^ s[i + 8] for i in range(8)]


def _chunk(data, start, end, counter, root):
    """Chaining value of ``data[start:end]`` (one chunk); with ``root`` it is the whole input."""
    cv = _IV
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
            m = struct.unpack_from("<16I", data, pos)
        else:  # the short last block, zero-padded
            block = bytearray(BLOCK_LEN)
            block[:n] = data[pos:blk_end]
            m = struct.unpack("<16I", block)
        cv = _compress(cv, m, counter, n, flags)
        if last:
            return cv
        pos = blk_end
        flags = 0


def _parent(left, right, root=False):
    return _compress(_IV, left + right, 0, BLOCK_LEN, PARENT | (ROOT if root else 0))


def blake3(data):
    """32-byte BLAKE3 hash of ``data`` (any buffer; read in place, not copied)."""
    data = memoryview(data)
    n = len(data)
    if n <= CHUNK_LEN:
        return struct.pack("<8I", *_chunk(data, 0, n, 0, True))
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
    return struct.pack("<8I", *_parent(stack.pop(), cv, True))
