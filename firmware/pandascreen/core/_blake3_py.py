"""[core] Pure-Python BLAKE3-256 (hash mode only), for boards without the blake3 wheel.

Written from the BLAKE3 specification: 1 KiB chunks of 64-byte blocks, a 7-round
compression function, and a binary tree of chaining values merged on a stack.
"""

import struct

_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_PERM = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
CHUNK_START = 1
CHUNK_END = 2
PARENT = 4
ROOT = 8
CHUNK_LEN = 1024
BLOCK_LEN = 64
M32 = 0xFFFFFFFF


def _schedules():
    # message word order for each of the 7 rounds (the permutation applied r times)
    order = list(range(16))
    out = []
    for _ in range(7):
        out.append(tuple(order))
        order = [order[_PERM[i]] for i in range(16)]
    return tuple(out)


_SCHED = _schedules()
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


def _words(block):
    if len(block) < BLOCK_LEN:
        block = bytes(block) + bytes(BLOCK_LEN - len(block))
    return struct.unpack("<16I", block)


def _chunk(data, start, end, counter, root):
    """Chaining value of one chunk; with ``root`` the chunk is the whole input."""
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
        cv = _compress(cv, _words(data[pos:blk_end]), counter, blk_end - pos, flags)
        if last:
            return cv
        pos = blk_end
        flags = 0


def _parent(left, right, root=False):
    return _compress(_IV, list(left) + list(right), 0, BLOCK_LEN, PARENT | (ROOT if root else 0))


def blake3(data):
    """32-byte BLAKE3 hash of ``data``."""
    data = bytes(data)
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
