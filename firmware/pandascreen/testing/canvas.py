"""Canvases with framebuf's drawing calls (``pixel``, ``fill_rect``) that keep what was drawn, so
a test can compare frames byte for byte or catch a stray pixel.  Plain Python: runs on
MicroPython too."""


class VLSBCanvas:
    """CPython twin of framebuf.FrameBuffer(MONO_VLSB): same byte layout, same clipping, so a frame
    drawn here equals the one a board draws."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.buf = bytearray(width * ((height + 7) // 8))

    def pixel(self, x, y, c):
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y >> 3) * self.width + x
            if c:
                self.buf[i] |= 1 << (y & 7)
            else:
                self.buf[i] &= ~(1 << (y & 7)) & 0xFF

    def fill_rect(self, x, y, w, h, c):
        for yy in range(max(0, y), min(self.height, y + h)):
            for xx in range(max(0, x), min(self.width, x + w)):
                self.pixel(xx, yy, c)

    def get(self, x, y):
        return (self.buf[(y >> 3) * self.width + x] >> (y & 7)) & 1


class StrictCanvas:
    """Fails on any drawing outside the screen or with a color the palette does not have."""

    def __init__(self, width, height, colors):
        self.width = width
        self.height = height
        self.colors = colors
        self.px = {}

    def pixel(self, x, y, c):
        assert 0 <= x < self.width and 0 <= y < self.height, (x, y)
        assert c in self.colors, c
        self.px[(x, y)] = c

    def fill_rect(self, x, y, w, h, c):
        assert w > 0 and h > 0, (x, y, w, h)
        assert 0 <= x and x + w <= self.width and 0 <= y and y + h <= self.height, (x, y, w, h)
        assert c in self.colors, c
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                self.px[(xx, yy)] = c


class NullCanvas:
    """Draws nothing: for a test about what a loop does, not what it shows."""

    def pixel(self, x, y, c):
        pass

    def fill_rect(self, x, y, w, h, c):
        pass
