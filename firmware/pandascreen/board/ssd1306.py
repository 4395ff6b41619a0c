"""SSD1306 monochrome OLED on I2C, written from Solomon Systech's SSD1306 datasheet (rev 1.1).

Why our own: the board needs four things of the panel (start it, send a frame, set the
contrast, switch it off and on), in as few bytes of heap as possible.  The panel's RAM is 128
columns by 8 pages; each byte is one column of 8 pixels of a page, lowest bit on top (datasheet
section 8.7), which is framebuf's MONO_VLSB layout, so the frame buffer is sent as it is.

I2C (datasheet 8.1.5): every transfer starts with the address, then a control byte.  Control
0x00 (Co=0, D/C#=0) says "only command bytes follow", so a whole command sequence is one
transfer; control 0x40 (Co=0, D/C#=1) says "only display RAM data follows".

The bytes are built by ``init_commands`` and ``window_commands`` without framebuf, so tests check
them on CPython as well as on MicroPython.
"""

import framebuf

try:
    from micropython import const
except ImportError:  # CPython, for the tests
    def const(x):
        return x

# command bytes (datasheet section 10); a leading underscore keeps const() names out of the module's
# dictionary on MicroPython, so they cost no heap
# fundamental commands (10.1)
_CONTRAST = const(0x81)          # + level 0..255
_ENTIRE_ON_FOLLOW_RAM = const(0xA4)
_NORMAL = const(0xA6)            # 0xA7 would invert
_DISPLAY_OFF = const(0xAE)       # sleep mode
_DISPLAY_ON = const(0xAF)
# addressing (10.1.3, 10.1.4, 10.1.5)
_MEMORY_MODE = const(0x20)       # + 0x00: horizontal, the page pointer wraps after the last column
_COLUMN_ADDRESS = const(0x21)    # + first, last column
_PAGE_ADDRESS = const(0x22)      # + first, last page
# hardware configuration (10.1.6 .. 10.1.18)
_START_LINE = const(0x40)        # | line 0..63
_SEGMENT_REMAP = const(0xA1)     # column 127 drives SEG0: with the COM scan below, the picture is upright
_MULTIPLEX = const(0xA8)         # + rows - 1
_COM_SCAN_REMAPPED = const(0xC8)  # scan from COM[N-1] to COM0
_DISPLAY_OFFSET = const(0xD3)    # + vertical shift
_COM_PINS = const(0xDA)          # + 0x02 sequential (32 rows or fewer), 0x12 alternative (taller panels)
# timing and driving (10.1.16, 10.1.17, 10.1.18) and the charge pump (application note, 2.1)
_CLOCK_DIV = const(0xD5)         # + 0x80: divide ratio 1, oscillator at its reset value
_PRECHARGE = const(0xD9)         # + 0xF1: phase 1 = 1 clock, phase 2 = 15 clocks, for the internal pump
_VCOM_DETECT = const(0xDB)       # + 0x30: about 0.83 x Vcc
_CHARGE_PUMP = const(0x8D)       # + 0x14: on (the module has no external Vcc)

_RAM_COLUMNS = const(128)


def init_commands(width, height, contrast=0x7F):
    """The power-on sequence of the datasheet's software configuration flow chart, with the
    addressing this driver uses (horizontal) and the display left off until the first frame."""
    return bytes((
        _DISPLAY_OFF,
        _MULTIPLEX, height - 1,
        _DISPLAY_OFFSET, 0,
        _START_LINE | 0,
        _SEGMENT_REMAP,
        _COM_SCAN_REMAPPED,
        _COM_PINS, 0x02 if height <= 32 else 0x12,
        _CONTRAST, contrast,
        _ENTIRE_ON_FOLLOW_RAM,
        _NORMAL,
        _CLOCK_DIV, 0x80,
        _PRECHARGE, 0xF1,
        _VCOM_DETECT, 0x30,
        _MEMORY_MODE, 0x00,
        _CHARGE_PUMP, 0x14,
    ))


def window_commands(width, height):
    """Column and page range of one frame.  A panel narrower than the RAM is wired to its middle
    columns (a 64x48 module shows columns 32..95)."""
    first = (_RAM_COLUMNS - width) // 2
    return bytes((_COLUMN_ADDRESS, first, first + width - 1, _PAGE_ADDRESS, 0, height // 8 - 1))


class SSD1306(framebuf.FrameBuffer):
    """A framebuf canvas whose ``show()`` puts it on the panel at ``addr`` of ``i2c``.

    ``i2c`` needs ``writeto(addr, buf)`` and ``writevto(addr, bufs)`` (machine.I2C has both;
    writevto sends the control byte and the 1 KB frame in one transfer without copying it).
    """

    def __init__(self, width, height, i2c, addr=0x3C, contrast=0x7F):
        self.width = width
        self.height = height
        self.i2c = i2c
        self.addr = addr
        self.buffer = bytearray(width * height // 8)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self._command(init_commands(width, height, contrast))
        self._window = b"\x00" + window_commands(width, height)
        self.show()
        self.power(True)

    def _command(self, cmds):
        self.i2c.writeto(self.addr, b"\x00" + cmds)

    def show(self):
        self.i2c.writeto(self.addr, self._window)
        self.i2c.writevto(self.addr, (b"\x40", self.buffer))

    def contrast(self, level):
        """0..255; the panel's current through each lit pixel (datasheet 10.1.7)."""
        self._command(bytes((_CONTRAST, level & 0xFF)))

    def power(self, on):
        """Panel on, or off into sleep mode (RAM kept: ``power(True)`` shows the same frame)."""
        self._command(bytes((_DISPLAY_ON if on else _DISPLAY_OFF,)))
