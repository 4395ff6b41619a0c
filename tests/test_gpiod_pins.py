"""node/gpiod_pins.py: the venue buttons through gpiod, on a Pi's GPIO chip as the kernel's
character device answers (pandascreen/testing/gpiochip_shim.c, preloaded into a child process:
this machine has no GPIO chip)."""
import json
import os
import platform
import subprocess
import sys

import pytest

from pandascreen.testing import gpiochip

# the numbers of poll and ppoll (None: the architecture has no poll) in the kernel's syscall tables
POLL_SYSCALLS = {"x86_64": (7, 271), "aarch64": (None, 73), "armv7l": (168, 336)}

FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")

# The screen's own path to its buttons (node/buttons.for_screen), then a short press of "next", a
# long one of "prev", written to the lines as the kernel queues edges; what the device was told,
# what was logged, the threads, and where the buttons' thread waits while no one presses.
RUNNER = r"""
import json, os, sys, threading, types
from pandascreen.node import buttons
from pandascreen.testing import gpiochip
NOTES = os.environ["PANDASCREEN_GPIO_SHIM_LINES"]
told, said = [], []
device = types.SimpleNamespace(flip=told.append, show_overview=lambda: told.append("overview"),
                               controller=types.SimpleNamespace(trouble=None))
b = buttons.for_screen({"next": 17, "prev": 27}, device, say=said.append)
writer = gpiochip.writers(NOTES)
from pandascreen.node.poll import until

def waiting(thread):  # the syscall the thread is in: number, then its arguments in hex
    with open("/proc/self/task/%d/syscall" % thread.native_id) as fh:
        return fh.read().split()

watch = [t for t in threading.enumerate() if t.name == "pandascreen-buttons"]
waits = None
if watch:  # bounded: the thread may be on its way (a lock, the GIL) and not in poll yet
    until(lambda: waiting(watch[0])[0] in os.environ["POLL_SYSCALLS"].split(","))
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


def _process(shim, tmp_path, code, extra_env=None):
    """``code`` run in a child with the fake chip preloaded, its requests noted in tmp_path/notes."""
    env = {k: v for k, v in os.environ.items() if k not in ("GPIOZERO_PIN_FACTORY", "LD_PRELOAD")}
    env.update(gpiochip.environment(shim, str(tmp_path / "notes")))
    env["PYTHONPATH"] = FIRMWARE
    env.update(extra_env or {})
    p = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p


def _run(shim, tmp_path, code, extra_env=None):
    """What the child printed, as JSON."""
    return json.loads(_process(shim, tmp_path, code, extra_env).stdout)


def _run_the_screens_buttons(shim, tmp_path):
    numbers = [str(n) for n in POLL_SYSCALLS[platform.machine()] if n is not None]
    return _run(shim, tmp_path, RUNNER, {"POLL_SYSCALLS": ",".join(numbers)})


def test_presses_reach_the_screen_through_gpiod_and_the_buttons_sleep_between_them(shim, tmp_path):
    got = _run_the_screens_buttons(shim, tmp_path)
    assert got["factory"] == "GpiodFactory" and got["said"] == [] and got["trouble"] is None
    assert got["told"] == [1, "overview"]  # next: a short press steps on; prev: held 1 s, the overview
    # one thread for both buttons, asleep in poll with no timeout (-1), or in ppoll with no
    # timespec, as a Pi's button waits until it is pressed
    assert got["waits"] is not None, got["threads"]
    nr, args = int(got["waits"][0]), got["waits"][1:]
    poll, ppoll = POLL_SYSCALLS[platform.machine()]
    assert (nr == poll and int(args[2], 16) & 0xFFFFFFFF == 0xFFFFFFFF) or (nr == ppoll and int(args[2], 16) == 0), got["waits"]
    assert got["closed"] and "pandascreen-buttons" not in got["after"]


def test_each_line_is_asked_for_as_a_button_with_a_pull_up_both_edges_and_the_kernels_debounce(shim, tmp_path):
    got = _run_the_screens_buttons(shim, tmp_path)
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


def test_a_callback_that_raises_is_one_log_line_and_every_button_goes_on(shim, tmp_path):
    """A redraw that fails in a button's callback ended the thread that reads every button."""
    code = r"""
import json, logging, os, sys, threading, time
from gpiozero import DigitalInputDevice
from pandascreen.node.gpiod_pins import GpiodFactory
from pandascreen.node.poll import until
from pandascreen.testing import gpiochip
logging.basicConfig(stream=sys.stderr, format="%(message)s")
f = GpiodFactory()
got = []
def broken():
    raise OSError(121, "Remote I/O error")
a = DigitalInputDevice(22, pull_up=True, pin_factory=f)
b = DigitalInputDevice(23, pull_up=True, pin_factory=f)
a.when_activated = broken
b.when_activated = lambda: got.append("b")
writer = gpiochip.writers(os.environ["PANDASCREEN_GPIO_SHIM_LINES"])
os.write(writer[22], gpiochip.edge(22, rising=False))
time.sleep(0.3)
os.write(writer[23], gpiochip.edge(23, rising=False))
until(lambda: got)
alive = any(t.name == "pandascreen-buttons" for t in threading.enumerate())
a.close(); b.close(); f.close()
print(json.dumps({"got": got, "alive": alive}))
"""
    p = _process(shim, tmp_path, code)
    assert json.loads(p.stdout) == {"got": ["b"], "alive": True}
    assert p.stderr.splitlines() == ["GPIO22: the button's callback failed: OSError: [Errno 121] Remote I/O error"]


def test_a_pin_closed_and_opened_again_by_a_new_device_gets_its_edges(shim, tmp_path):
    """gpiozero keeps a closed pin in its factory and hands it to the next device on that pin."""
    code = r"""
import json, os
from gpiozero import DigitalInputDevice
from pandascreen.node.gpiod_pins import GpiodFactory
from pandascreen.node.poll import until
from pandascreen.testing import gpiochip
f = GpiodFactory()
first = DigitalInputDevice(17, pull_up=True, pin_factory=f)
first.when_activated = lambda: None
first.close()
got = []
again = DigitalInputDevice(17, pull_up=True, pin_factory=f)
again.when_activated = lambda: got.append("pressed")
os.write(gpiochip.writers(os.environ["PANDASCREEN_GPIO_SHIM_LINES"])[17], gpiochip.edge(17, rising=False))
until(lambda: got)
again.close(); f.close()
print(json.dumps(got))
"""
    assert _run(shim, tmp_path, code) == ["pressed"]


def test_gpiod_of_the_old_api_or_a_line_it_cannot_have_falls_back_to_gpiozeros_factories(shim, tmp_path):
    """apt's python3-libgpiod on Bookworm (gpiod 1, seen through --system-site-packages) has a
    Chip but no request_lines; a line held elsewhere fails only when the buttons ask for it."""
    code = r"""
import json, sys, types
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
Device._default_pin_factory = staticmethod(MockFactory)
from pandascreen.node import buttons
device = types.SimpleNamespace(flip=None, show_overview=None, controller=types.SimpleNamespace(trouble=None))
out = []
import gpiod
held = gpiod.request_lines("/dev/gpiochip0", consumer="another", config={17: gpiod.LineSettings()})
for case in ("busy", "old"):
    if case == "old":
        held.release()
        sys.modules["gpiod"] = types.SimpleNamespace(Chip=object, __version__="1.6.3")
    said = []
    b = buttons.for_screen({"next": 17}, device, say=said.append)
    out.append({"said": said, "factory": type(b.next_button.pin_factory).__name__, "trouble": device.controller.trouble})
    b.close()
print(json.dumps(out))
"""
    busy, old = _run(shim, tmp_path, code)
    assert busy == {"factory": "MockFactory", "trouble": None, "said": [
        "buttons: GPIO 17 read through MockFactory; passed over gpiod: OSError: [Errno 16] Device or resource busy"]}
    assert old == {"factory": "MockFactory", "trouble": None, "said": [
        "buttons: GPIO 17 read through MockFactory; passed over gpiod: ImportError: gpiod 1.6.3 has not the API of gpiod 2"]}


def test_a_stop_that_waits_too_long_for_the_thread_leaves_it_its_pipe(shim, tmp_path):
    """A callback still running (an e-paper redraw) when the factory closes: the thread closes its
    wake-up pipe itself as it ends, so nothing it polls is closed or reused under it."""
    code = r"""
import json, os, threading
from gpiozero import DigitalInputDevice
from pandascreen.node.gpiod_pins import GpiodFactory
from pandascreen.testing import gpiochip
f = GpiodFactory()
inside, release = threading.Event(), threading.Event()
def slow():
    inside.set()
    release.wait(5)
b = DigitalInputDevice(17, pull_up=True, pin_factory=f)
b.when_activated = slow
watch = f._watch
os.write(gpiochip.writers(os.environ["PANDASCREEN_GPIO_SHIM_LINES"])[17], gpiochip.edge(17, rising=False))
assert inside.wait(5)
watch.stop(timeout=0.1)
open_while_running = watch._wake_r is not None
release.set()
watch._thread.join(5)
print(json.dumps({"open_while_running": open_while_running, "closed_after": watch._wake_r is None,
                  "ended": not watch._thread.is_alive()}))
"""
    assert _run(shim, tmp_path, code) == {"open_while_running": True, "closed_after": True, "ended": True}


def test_a_callback_that_closes_the_buttons_closes_them_and_no_edge_after_it_is_handed_on(shim, tmp_path):
    """A handler that closes its own buttons (a screen stopping on a press) ran in the thread that
    close then waited for, and the edges read with its press went to a pin already closed."""
    code = r"""
import json, logging, os, sys, threading
from pandascreen.node.buttons import VenueButtons
from pandascreen.node.gpiod_pins import GpiodFactory
from pandascreen.node.poll import until
from pandascreen.testing import gpiochip
logging.basicConfig(stream=sys.stderr, format="%(message)s")
f = GpiodFactory()
got, closed = [], threading.Event()
def step(delta):
    got.append(delta)
    b.close()
    closed.set()
b = VenueButtons(next_pin=17, on_change=step, pin_factory=f, own_factory=True)
writer = gpiochip.writers(os.environ["PANDASCREEN_GPIO_SHIM_LINES"])[17]
# two presses queued at once: the first one's release closes the buttons
os.write(writer, b"".join(gpiochip.edge(17, rising=r, seqno=i + 1) for i, r in enumerate((False, True, False, True))))
closed.wait(5)
# the buttons' thread ends once the handler and the edges read with it are done, and the
# press's hold timer, cancelled by the release, ends on its own a moment later
until(lambda: threading.enumerate() == [threading.main_thread()])
print(json.dumps({"got": got, "chip_closed": f._chip is None,
                  "threads": sorted(t.name for t in threading.enumerate())}))
"""
    p = _process(shim, tmp_path, code)
    assert json.loads(p.stdout) == {"got": [1], "chip_closed": True, "threads": ["MainThread"]}
    assert p.stderr == ""


def test_a_second_button_gpiod_cannot_have_leaves_no_gpiod_thread_or_chip_behind(shim, tmp_path):
    code = r"""
import json, threading, types
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
Device._default_pin_factory = staticmethod(MockFactory)
import gpiod
from pandascreen.node import buttons, gpiod_pins
made = []
class Recorded(gpiod_pins.GpiodFactory):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        made.append(self)
buttons._gpiod_factory = lambda: (Recorded(), None)
held = gpiod.request_lines("/dev/gpiochip0", consumer="another", config={27: gpiod.LineSettings()})
said = []
device = types.SimpleNamespace(flip=None, show_overview=None, controller=types.SimpleNamespace(trouble=None))
b = buttons.for_screen({"next": 17, "prev": 27}, device, say=said.append)
print(json.dumps({"said": said, "factory": type(b.next_button.pin_factory).__name__,
                  "gpiod_closed": made[0]._chip is None,
                  "threads": sorted(t.name for t in threading.enumerate())}))
b.close()
"""
    got = _run(shim, tmp_path, code)
    assert got == {"factory": "MockFactory", "gpiod_closed": True, "threads": ["MainThread"], "said": [
        "buttons: GPIO 17, 27 read through MockFactory; passed over gpiod: OSError: [Errno 16] Device or resource busy"]}
