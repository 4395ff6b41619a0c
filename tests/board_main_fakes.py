"""Fake hardware for running board/main.py whole, as flashed to /main.py, on MicroPython
(test_board_ntp.py, test_board_watchdog.py): what their harnesses give main.py alike.

``DEVICES`` is MicroPython source that a harness puts in after it defines ``T`` (its fake clock,
in ms), ``WDT``, ``reset()``, ``shown()`` (called for each frame the display shows) and ``Sock``
(a socket to the feed peer).  It defines ``Module``, ``machine``, ``network``, ``socket``, the
display module ``ssd`` and ``HANDLERS`` (the buttons' interrupt handlers, in order).
``INSTALL`` goes after the harness's own ``ftime``, ``ntptime`` and ``CONFIG``: it puts every
fake in ``sys.modules`` and writes ``CONFIG`` to /config.json.  Neither holds a ``%``: each
harness is a %-template they are pasted into."""
import os

MAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "firmware", "pandascreen", "board", "main.py")

DEVICES = r"""
HANDLERS = []

class Module:
    pass

class RTC:
    def datetime(self, tm):
        T[0] = _time.mktime((tm[0], tm[1], tm[2], tm[4], tm[5], tm[6], 0, 0)) * 1000

class Pin:
    IN = 0
    PULL_UP = 1
    IRQ_FALLING = 2
    def __init__(self, *a, **k):
        pass
    def irq(self, trigger=None, handler=None):
        HANDLERS.append(handler)

machine = Module()
machine.WDT = WDT
machine.reset = reset
machine.RTC = RTC
machine.Pin = Pin
machine.I2C = lambda *a, **k: None

class WLAN:
    def __init__(self, kind):
        pass
    def active(self, on):
        pass
    def connect(self, ssid, psk):
        pass
    def isconnected(self):
        return True
    def status(self):
        return 3

network = Module()
network.STA_IF = 0
network.WLAN = WLAN

socket = Module()
socket.getaddrinfo = lambda host, port: [(0, 0, 0, "", (host, port))]
socket.socket = Sock

class Display(framebuf.FrameBuffer):
    def __init__(self, w, h, i2c, addr):
        self.buf = bytearray(w * h // 8)
        super().__init__(self.buf, w, h, framebuf.MONO_VLSB)
    def show(self):
        shown()

ssd = Module()
ssd.SSD1306 = Display
"""

INSTALL = r"""
for name, mod in (("machine", machine), ("time", ftime), ("network", network), ("ntptime", ntptime),
                  ("socket", socket), ("pandascreen.board.ssd1306", ssd)):
    sys.modules[name] = mod
with open("/config.json", "w") as fh:
    json.dump(CONFIG, fh)
"""


def flash_main(tmp_path):
    """main.py copied to ``tmp_path`` (the harness runs it from there, as from /main.py)."""
    main = tmp_path / "main.py"
    main.write_text(open(MAIN).read())
    return str(main)

