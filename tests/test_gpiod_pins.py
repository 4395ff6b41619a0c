"""node/gpiod_pins.py: the venue buttons through gpiod, on a Pi's GPIO chip as the kernel's
character device answers (pandascreen/testing/gpiochip_shim.c, preloaded into a child process:
this machine has no GPIO chip)."""
import json
import os
import subprocess
import sys

import pytest

from pandascreen.testing import gpiochip

FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")

# The screen's own path to its buttons (node/buttons.for_screen), then a short press of "next", a
# long one of "prev", written to the lines as the kernel queues edges; what the device was told,
# what was logged, the threads, and where the buttons' thread waits while no one presses.
RUNNER = r"""
import json, os, sys, threading, time, types
from pandascreen.node import buttons
from pandascreen.testing import gpiochip
NOTES = os.environ["PANDASCREEN_GPIO_SHIM_LINES"]
told, said = [], []
device = types.SimpleNamespace(flip=told.append, show_overview=lambda: told.append("overview"),
                               controller=types.SimpleNamespace(trouble=None))
b = buttons.for_screen({"next": 17, "prev": 27}, device, say=said.append)
writer = {n["offset"]: n["writer"] for n in gpiochip.notes(NOTES) if n["kind"] == "request"}

def until(check, seconds=5.0):
    end = time.monotonic() + seconds
    while not check() and time.monotonic() < end:
        time.sleep(0.01)

def waiting(thread):  # the syscall the thread is in: number, then its arguments in hex
    with open("/proc/self/task/%d/syscall" % thread.native_id) as fh:
        return fh.read().split()

watch = [t for t in threading.enumerate() if t.name == "pandascreen-buttons"]
waits = None
if watch:
    until(lambda: waiting(watch[0])[0] != "running")
    waits = waiting(watch[0])
os.write(writer[17], gpiochip.edge(17, rising=False) + gpiochip.edge(17, rising=True, seqno=2))
until(lambda: told)
os.write(writer[27], gpiochip.edge(27, rising=False))
until(lambda: len(told) > 1, 5.0)
os.write(writer[27], gpiochip.edge(27, rising=True, seqno=2))
threads = sorted(t.name for t in threading.enumerate())
factory = b.next_button.pin_factory
b.close()
print(json.dumps({"told": told, "said": said, "trouble": device.controller.trouble, "threads": threads,
                  "factory": type(factory).__name__, "waits": waits, "closed": factory._chip is None,
                  "after": sorted(t.name for t in threading.enumerate()), "notes": gpiochip.notes(NOTES)}))
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    return gpiochip.build(str(tmp_path_factory.mktemp("gpiochip")))


def _run(shim, tmp_path, code, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in ("GPIOZERO_PIN_FACTORY", "LD_PRELOAD")}
    env.update(gpiochip.environment(shim, str(tmp_path / "notes")))
    env["PYTHONPATH"] = FIRMWARE
    env.update(extra_env or {})
    p = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_presses_reach_the_screen_through_gpiod_and_the_buttons_sleep_between_them(shim, tmp_path):
    got = _run(shim, tmp_path, RUNNER)
    assert got["factory"] == "GpiodFactory" and got["said"] == [] and got["trouble"] is None
    assert got["told"] == [1, "overview"]  # next: a short press steps on; prev: held 1 s, the overview
    # one thread for both buttons, asleep in poll (x86-64: 7) with no timeout (-1), or in ppoll
    # (271) with no timespec, as a Pi's button waits until it is pressed
    assert got["waits"] is not None, got["threads"]
    nr, args = int(got["waits"][0]), got["waits"][1:]
    assert (nr == 7 and int(args[2], 16) & 0xFFFFFFFF == 0xFFFFFFFF) or (nr == 271 and int(args[2], 16) == 0), got["waits"]
    assert got["closed"] and "pandascreen-buttons" not in got["after"]


def test_each_line_is_asked_for_as_a_button_with_a_pull_up_both_edges_and_the_kernels_debounce(shim, tmp_path):
    got = _run(shim, tmp_path, RUNNER)
    for offset in (17, 27):
        fd = [n["fd"] for n in got["notes"] if n["kind"] == "request" and n["offset"] == offset]
        assert len(fd) == 1
        last = [n for n in got["notes"] if n["kind"] == "config" and n["fd"] == fd[0]][-1]
        assert last["flags"] == gpiochip.INPUT | gpiochip.BIAS_PULL_UP | gpiochip.EDGE_RISING | gpiochip.EDGE_FALLING
        assert last["debounce_us"] == 50000  # node/buttons.VenueButtons' bounce_time


def test_a_pin_asked_to_drive_an_output_is_refused(shim, tmp_path):
    code = r"""
import json
from gpiozero import LED
from gpiozero.exc import PinInvalidFunction
from pandascreen.node.gpiod_pins import GpiodFactory
f = GpiodFactory()
try:
    LED(22, pin_factory=f)
    print(json.dumps("made"))
except PinInvalidFunction as e:
    print(json.dumps(str(e)))
finally:
    f.close()
"""
    assert "reads buttons only" in _run(shim, tmp_path, code)


def test_without_gpiod_the_buttons_fall_back_to_gpiozeros_factories_and_say_why(shim, tmp_path):
    code = r"""
import json, sys, types
sys.modules["gpiod"] = None  # as where gpiod is not installed
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
Device._default_pin_factory = staticmethod(MockFactory)
from pandascreen.node import buttons
said = []
device = types.SimpleNamespace(flip=None, show_overview=None, controller=types.SimpleNamespace(trouble=None))
b = buttons.for_screen({"next": 17}, device, say=said.append)
print(json.dumps({"said": said, "factory": type(b.next_button.pin_factory).__name__}))
b.close()
"""
    got = _run(shim, tmp_path, code)
    assert got["factory"] == "MockFactory"
    assert got["said"] == ["buttons: GPIO 17 read through MockFactory; passed over gpiod: ModuleNotFoundError: "
                           "import of gpiod halted; None in sys.modules"]
