"""Which characters the board's font draws wide: 8 columns (``WIDE_W``) and the letter gap, where
every other character takes the 5x7 font's 6-pixel cell (core/font.py).

WHY one table: the Pi renders a wide character's glyph for the feed at 8x8
(node/feed_glyphs.py), and the board draws and measures it 9 pixels wide (core/font.py); both ask
``is_wide``, so what the Pi sends and what the board lays out cannot disagree.

Wide: Unicode's East Asian Width "W" and "F" (CJK ideographs, kana, Hangul, fullwidth forms,
emoji), with the pictograph blocks (U+1F300-U+1F64F, U+1F680-U+1F6FF, U+1F900-U+1F9FF,
U+1FA70-U+1FAFF) taken whole: their few text-style pictographs (a thermometer, a dove) are no
narrower.  Ranges run on across unassigned code points, so a later Unicode's additions inside a
block are wide too.  tests/test_font_wide.py checks the table against Python's ``unicodedata``.
"""

WIDE_W = 8  # columns of a wide glyph: a feed entry's 8 rows of 8 bits, bit 7 leftmost

# first, last code point of each wide range, ascending: small ints, no objects on a board's heap
_RANGES = (
    0x1100, 0x115F, 0x231A, 0x231B, 0x2329, 0x232A, 0x23E9, 0x23EC, 0x23F0, 0x23F0, 0x23F3, 0x23F3,
    0x25FD, 0x25FE, 0x2614, 0x2615, 0x2648, 0x2653, 0x267F, 0x267F, 0x2693, 0x2693, 0x26A1, 0x26A1,
    0x26AA, 0x26AB, 0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26CE, 0x26CE, 0x26D4, 0x26D4, 0x26EA, 0x26EA,
    0x26F2, 0x26F3, 0x26F5, 0x26F5, 0x26FA, 0x26FA, 0x26FD, 0x26FD, 0x2705, 0x2705, 0x270A, 0x270B,
    0x2728, 0x2728, 0x274C, 0x274C, 0x274E, 0x274E, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797,
    0x27B0, 0x27B0, 0x27BF, 0x27BF, 0x2B1B, 0x2B1C, 0x2B50, 0x2B50, 0x2B55, 0x2B55, 0x2E80, 0x303E,
    0x3041, 0x3247, 0x3250, 0x4DBF, 0x4E00, 0xA4C6, 0xA960, 0xA97C, 0xAC00, 0xD7A3, 0xF900, 0xFAD9,
    0xFE10, 0xFE19, 0xFE30, 0xFE6B, 0xFF01, 0xFF60, 0xFFE0, 0xFFE6, 0x16FE0, 0x1B2FB,
    0x1F004, 0x1F004, 0x1F0CF, 0x1F0CF, 0x1F18E, 0x1F18E, 0x1F191, 0x1F19A, 0x1F200, 0x1F64F,
    0x1F680, 0x1F6FF, 0x1F7E0, 0x1F7F0, 0x1F900, 0x1F9FF, 0x1FA70, 0x1FAFF, 0x20000, 0x3FFFD,
)


def is_wide(o):
    """True if code point ``o`` is drawn ``WIDE_W`` columns wide (binary search of ``_RANGES``)."""
    if o < 0x1100:
        return False
    lo, hi = 0, len(_RANGES) // 2
    while lo < hi:
        mid = (lo + hi) // 2
        if o > _RANGES[2 * mid + 1]:
            lo = mid + 1
        elif o < _RANGES[2 * mid]:
            hi = mid
        else:
            return True
    return False


def ranges():
    """The wide ranges as (first, last) pairs (for tests and tools; the board uses ``is_wide``)."""
    return [(_RANGES[i], _RANGES[i + 1]) for i in range(0, len(_RANGES), 2)]
