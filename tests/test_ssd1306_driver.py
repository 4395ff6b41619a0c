"""micropython-lib's SSD1306 driver as flashed (compiled by mpy-cross from board/third_party) under real
MicroPython with a fake I2C bus: the exact command and data bytes on the wire (in the style of
luma.oled's tests/test_ssd1306.py), and frames that match the CPython twin canvas and luma.oled's
own SSD1306 bytes pixel for pixel, so a Pico W and a Pi show the same screen.

The expected init bytes are written out from the SSD1306 datasheet (section 9 command table), not
copied from the driver, so a changed driver fails here.
"""
import io
import os
import shutil

import pytest

from fakesched import DAY, FakeSchedule, demo_schedule
from mpy import HERE, run_micropython
from test_layout import VLSBCanvas
from pandascreen.core import layout
from pandascreen_host import flash

ADDR = 0x3C
CO_CMD = 0x80   # control byte: Co=1, D/C#=0 -> one command byte follows
CO_DATA = 0x40  # control byte: Co=0, D/C#=1 -> display RAM data follows


def init_commands(width, height, external_vcc=False):
    """The driver's power-on sequence for a panel of this size (datasheet values)."""
    return [
        0xAE,                                   # display off
        0x20, 0x00,                             # memory addressing: horizontal
        0x40,                                   # display start line 0
        0xA1,                                   # segment remap: column 127 -> SEG0
        0xA8, height - 1,                       # multiplex ratio
        0xC8,                                   # COM scan direction: COM[N-1] -> COM0
        0xD3, 0x00,                             # display offset 0
        0xDA, 0x02 if width > 2 * height else 0x12,  # COM pins: sequential for 128x32, alternative else
        0xD5, 0x80,                             # clock divide ratio / oscillator frequency
        0xD9, 0x22 if external_vcc else 0xF1,   # pre-charge period
        0xDB, 0x30,                             # VCOMH deselect level 0.83 x Vcc
        0x81, 0xFF,                             # contrast
        0xA4,                                   # output follows RAM
        0xA6,                                   # normal (not inverted)
        0xAD, 0x30,                             # internal IREF on (SSD1306B and compatibles)
        0x8D, 0x10 if external_vcc else 0x14,   # charge pump off with external Vcc, on otherwise
        0xAF,                                   # display on
    ]


def show_commands(width, height):
    x0 = (128 - width) // 2  # narrow panels sit in the middle of the 128-column RAM
    return [0x21, x0, x0 + width - 1, 0x22, 0, height // 8 - 1]


FAKE_I2C = r"""
import ubinascii
from ssd1306 import SSD1306_I2C

class FakeI2C:
    # records every transfer like the bus would see it: (address, bytes)
    def __init__(self):
        self.writes = []
    def writeto(self, addr, buf):
        self.writes.append((addr, bytes(buf)))
    def writevto(self, addr, bufs):
        self.writes.append((addr, b"".join(bytes(b) for b in bufs)))
    def dump(self, tag):
        for addr, data in self.writes:
            print(tag, addr, ubinascii.hexlify(data).decode())
        self.writes = []
"""


@pytest.fixture(scope="module")
def board_lib(tmp_path_factory):
    """/lib as flashed (the compiled tree) plus the test's fake schedule."""
    build = str(tmp_path_factory.mktemp("build"))
    flash.compile_board(build, stream=io.StringIO())
    extra = tmp_path_factory.mktemp("extra")
    shutil.copy(os.path.join(HERE, "fakesched.py"), str(extra / "fakesched.py"))
    return [os.path.join(build, "lib"), str(extra)]


def transfers(out, tag):
    return [(int(line.split()[1]), bytes.fromhex(line.split()[2]))
            for line in out.splitlines() if line.startswith(tag + " ")]


def commands_of(writes):
    """Command bytes of single-command transfers; fails on anything else."""
    cmds = []
    for addr, data in writes:
        assert addr == ADDR
        assert len(data) == 2 and data[0] == CO_CMD, data.hex()
        cmds.append(data[1])
    return cmds


@pytest.mark.parametrize("width, height, external_vcc", [(128, 64, False), (128, 32, False), (64, 48, False),
                                                         (128, 64, True)])
def test_init_and_first_show_bytes(board_lib, width, height, external_vcc):
    out = run_micropython(FAKE_I2C + """
i2c = FakeI2C()
oled = SSD1306_I2C(%d, %d, i2c, addr=0x3C, external_vcc=%r)
i2c.dump("w")
""" % (width, height, external_vcc), libs=board_lib)
    writes = transfers(out, "w")
    n_init = len(init_commands(width, height, external_vcc))
    assert commands_of(writes[:n_init]) == init_commands(width, height, external_vcc)
    assert commands_of(writes[n_init:-1]) == show_commands(width, height)
    assert writes[-1] == (ADDR, bytes([CO_DATA]) + bytes(width * height // 8))  # cleared RAM, one transfer
    assert len(writes) == n_init + 6 + 1


def test_show_sends_the_frame_buffer_in_page_order(board_lib):
    out = run_micropython(FAKE_I2C + """
i2c = FakeI2C()
oled = SSD1306_I2C(128, 64, i2c)
i2c.writes = []
oled.pixel(0, 0, 1)      # page 0, column 0, bit 0
oled.pixel(127, 63, 1)   # page 7, column 127, bit 7
oled.pixel(5, 10, 1)     # page 1, column 5, bit 2
oled.show()
i2c.dump("show")
oled.poweroff()
oled.poweron()
oled.contrast(0x10)
oled.invert(1)
oled.invert(0)
oled.rotate(0)
oled.rotate(1)
i2c.dump("cmd")
""", libs=board_lib)
    writes = transfers(out, "show")
    assert commands_of(writes[:-1]) == [0x21, 0, 127, 0x22, 0, 7]
    expected = bytearray(1024)
    expected[0] = 0x01
    expected[1023] = 0x80
    expected[128 + 5] = 0x04
    assert writes[-1] == (ADDR, bytes([CO_DATA]) + bytes(expected))
    assert commands_of(transfers(out, "cmd")) == [0xAE, 0xAF, 0x81, 0x10, 0xA7, 0xA6, 0xC0, 0xA0, 0xC8, 0xA1]


CASES = [(0, 25 * 60, "synced 14:20"), (1, 25 * 60, ""), (0, 3600 + 60, "offline"), (-1, 2 * 3600, "")]


class LumaWire:
    """A luma.core serial interface that records what luma.oled would put on the I2C bus."""

    def __init__(self):
        self.commands = []
        self.data_bytes = []

    def command(self, *cmd):
        self.commands.append(list(cmd))

    def data(self, data):
        self.data_bytes.append(bytes(data))

    def cleanup(self):
        pass


def luma_frame(view):
    """The bytes the Pi's path (Pillow image -> luma.oled ssd1306) sends for ``view``."""
    from luma.oled.device import ssd1306
    from pandascreen.node import display

    wire = LumaWire()
    dev = ssd1306(wire, width=128, height=64)
    wire.commands, wire.data_bytes = [], []
    display.LumaScreen(dev).show(display.render_view_image(view, "ssd1306_128x64"))
    assert wire.commands == [[0x21, 0, 127, 0x22, 0, 7]]
    return wire.data_bytes[-1]


def test_frames_match_cpython_and_luma_pixel_for_pixel(board_lib):
    out = run_micropython(FAKE_I2C + """
from pandascreen.core import layout
from fakesched import demo_schedule, FakeSchedule, DAY
s = demo_schedule()
frames = [(s, vi, DAY + dt, st) for vi, dt, st in %r] + [(FakeSchedule(), 0, DAY, "offline")]
i2c = FakeI2C()
oled = SSD1306_I2C(128, 64, i2c)
for sch, vi, now, st in frames:
    i2c.writes = []
    oled.fill(0)
    layout.draw_view(oled, 128, 64, layout.build_view(sch, vi, now, st))
    oled.show()
    i2c.dump("frame")
""" % (CASES,), libs=board_lib)
    got = [data for addr, data in transfers(out, "frame") if data[0] == CO_DATA]
    s = demo_schedule()
    frames = [(s, vi, DAY + dt, st) for vi, dt, st in CASES] + [(FakeSchedule(), 0, DAY, "offline")]
    assert len(got) == len(frames)
    for (sch, vi, now, st), wire in zip(frames, got):
        view = layout.build_view(sch, vi, now, st)
        twin = VLSBCanvas(128, 64)
        layout.draw_view(twin, 128, 64, view)
        assert any(twin.buf)
        assert wire[1:] == bytes(twin.buf), (vi, now, st)       # MicroPython == CPython twin canvas
        assert wire[1:] == luma_frame(view), (vi, now, st)      # == what the Pi sends the same panel
