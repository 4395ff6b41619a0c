"""[core] SSD1306 OLED driver for MicroPython boards (I2C), on top of ``framebuf``.

On Raspberry Pi OS pandascreen drives the same panel through luma.oled instead; this driver
is for boards without Linux (Pico W and friends).  The frame buffer is MONO_VLSB, the
panel's native page layout, so ``show()`` is one I2C write of the whole buffer.
"""

import framebuf

# fundamental commands (SSD1306 datasheet, section 9)
SET_CONTRAST = 0x81
SET_ENTIRE_ON = 0xA4
SET_NORM_INV = 0xA6
SET_DISP = 0xAE
SET_MEM_ADDR = 0x20
SET_COL_ADDR = 0x21
SET_PAGE_ADDR = 0x22
SET_DISP_START_LINE = 0x40
SET_SEG_REMAP = 0xA0
SET_MUX_RATIO = 0xA8
SET_COM_OUT_DIR = 0xC0
SET_DISP_OFFSET = 0xD3
SET_COM_PIN_CFG = 0xDA
SET_DISP_CLK_DIV = 0xD5
SET_PRECHARGE = 0xD9
SET_VCOM_DESEL = 0xDB
SET_CHARGE_PUMP = 0x8D


class SSD1306(framebuf.FrameBuffer):
    def __init__(self, i2c, width=128, height=64, addr=0x3C, external_vcc=False):
        self.i2c = i2c
        self.addr = addr
        self.width = width
        self.height = height
        self.pages = height // 8
        self.external_vcc = external_vcc
        self.buffer = bytearray(self.pages * width)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self._cmd_buf = bytearray(2)
        self.init_display()

    def init_display(self):
        for cmd in (
            SET_DISP | 0x00,               # off
            SET_MEM_ADDR, 0x00,            # horizontal addressing
            SET_DISP_START_LINE | 0x00,
            SET_SEG_REMAP | 0x01,          # column 127 mapped to SEG0
            SET_MUX_RATIO, self.height - 1,
            SET_COM_OUT_DIR | 0x08,        # scan from COM[N-1] to COM0
            SET_DISP_OFFSET, 0x00,
            SET_COM_PIN_CFG, 0x02 if self.width > 2 * self.height else 0x12,
            SET_DISP_CLK_DIV, 0x80,
            SET_PRECHARGE, 0x22 if self.external_vcc else 0xF1,
            SET_VCOM_DESEL, 0x30,
            SET_CONTRAST, 0xFF,
            SET_ENTIRE_ON,                 # follow RAM
            SET_NORM_INV,                  # not inverted
            SET_CHARGE_PUMP, 0x10 if self.external_vcc else 0x14,
            SET_DISP | 0x01,               # on
        ):
            self.write_cmd(cmd)
        self.fill(0)
        self.show()

    def write_cmd(self, cmd):
        self._cmd_buf[0] = 0x80  # Co=1, D/C#=0
        self._cmd_buf[1] = cmd
        self.i2c.writeto(self.addr, self._cmd_buf)

    def show(self):
        x0, x1 = 0, self.width - 1
        if self.width == 64:  # 64-column panels sit in the middle of the 128-column RAM
            x0 += 32
            x1 += 32
        for cmd in (SET_COL_ADDR, x0, x1, SET_PAGE_ADDR, 0, self.pages - 1):
            self.write_cmd(cmd)
        self.i2c.writevto(self.addr, (b"\x40", self.buffer))

    def poweroff(self):
        self.write_cmd(SET_DISP | 0x00)

    def poweron(self):
        self.write_cmd(SET_DISP | 0x01)

    def contrast(self, value):
        self.write_cmd(SET_CONTRAST)
        self.write_cmd(value & 0xFF)
