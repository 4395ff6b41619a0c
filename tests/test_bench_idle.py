"""The idle bench section (bench/idle.py) measures and reports; its made-up festival is on now.
Figures are printed by ``make bench`` only; nothing here asserts a speed."""
import os
import subprocess
import sys
import time

import pytest

from pandascreen.bench import idle
from pandascreen.core import schema
from pandascreen.core.cbor import loads
from pandascreen.node.poll import until


def test_the_made_up_festival_has_a_talk_on_now_in_every_venue():
    now = 1780000000 + 12345
    bodies = [loads(b) for b in idle.made_up_now(events=400, venues=4, now=now)]
    events = [b["fields"] for b in bodies if b["kind"] == "event"]
    assert len(events) == 400 and {e["venue"] for e in events} == {"v0", "v1", "v2", "v3"}
    for v in ("v0", "v1", "v2", "v3"):
        # between two talks there is at most a 15-minute gap: something is on now or soon
        starts = sorted(e["start"] for e in events if e["venue"] == v)
        assert starts[0] < now < starts[-1]
    assert all(b["v"] == schema.SCHEMA_VERSION for b in bodies)


def test_a_window_is_measured_per_process_and_reported_per_thread():
    p = idle.Sampled("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"], "/dev/null")
    try:
        time.sleep(0.3)
        res = idle.measure([p], window=1.0, settle=0.0)["sleeper"]
    finally:
        p.stop()
    assert res["exited"] is None and res["rss_mb"] > 1 and res["cpu_percent"] >= 0
    assert list(res["wakeups_per_minute"]) == ["python"]
    text = idle.report({"window_s": 1, "settle_s": 0, "processes": {"sleeper": res}})
    assert "sleeper" in text and "wake-ups/min: python" in text


def test_an_exited_process_is_said_with_its_last_lines(tmp_path):
    log = tmp_path / "log"
    p = idle.Sampled("dies", [sys.executable, "-c", "print('bad config', flush=True); import time; time.sleep(0.2)"],
                     str(log))
    try:
        until(lambda: "bad config" in log.read_text(), 10)  # up and saying why, however slowly python starts
        res = idle.measure([p], window=2.0, settle=0.0)["dies"]
    finally:
        p.stop()
    assert res["exited"] == ["bad config"]
    assert "EXITED during the window: bad config" in idle.report({"window_s": 2, "settle_s": 0,
                                                                   "processes": {"dies": res}})


def proc(rss, anon, files):
    """A measured process as ``idle.measure`` gives it: RSS and its parts, MB."""
    return {"cpu_percent": 0.0, "rss_mb": rss, "rss_anon_mb": anon, "rss_file_mb": files,
            "exited": None, "wakeups_per_minute": {"python": 0}}


def test_the_report_splits_a_screens_rss_into_its_floors_and_what_it_holds_running():
    r = {"window_s": 60, "settle_s": 40, "modules": 350, "processes": {
        "floor: python3, sleep": proc(10.0, 6.0, 4.0),
        "floor: python3, import iroh, sleep": proc(25.0, 14.0, 11.0),
        "floor: python3, an iroh endpoint, sleep": proc(36.0, 16.0, 20.0),
        idle.IMPORTS_FLOOR: proc(45.0, 25.0, 20.0),
        "screen, 38c3": proc(52.5, 26.0, 26.5)}}
    text = idle.report(r)
    assert "RSS  52.5 MB (anon  26.0, files  26.5)" in text
    assert ("python3 10.0 MB, iroh imported +15.0, an endpoint bound +11.0 (anon +2.0), the screen's other "
            "imports (350 modules) +9.0 = 45.0 MB of code before it runs") in text
    assert "screen, 38c3" in text and "running and its data: +7.5 MB above its code (anon +1.0, files +6.5)" in text


def test_the_imports_floor_binds_an_endpoint_as_a_screen_does():
    assert idle.IMPORTS.startswith(idle.KEEP_OUT) and "iroh.Endpoint.bind" in idle.IMPORTS


def test_every_floor_with_an_endpoint_gives_back_what_malloc_holds_free_as_a_quiet_screen_does():
    given_back = idle.GIVE_BACK.splitlines()[-1]
    for floor in (idle.ENDPOINT, idle.IMPORTS, idle.STACK):
        lines = [line.strip() for line in floor.splitlines()]
        assert lines.index(given_back) > [i for i, line in enumerate(lines) if "Endpoint.bind" in line][0]


def test_the_stack_is_reported_also_when_the_screen_did_not_list_its_modules():
    r = {"window_s": 60, "settle_s": 40, "modules": 0, "loaded_error": "Traceback\nRuntimeError: no", "processes": {
        idle.STACK_FLOOR: proc(46.0, 20.5, 25.5), "screen, 38c3": proc(52.5, 26.0, 26.5)}}
    text = idle.report(r)
    assert "did not come up to list its modules" in text and "+6.5 MB above that stack" in text


def floors():
    """Every floor of a window, measured."""
    return {"floor: python3, sleep": proc(10.0, 6.0, 4.0),
            "floor: python3, import iroh, sleep": proc(25.0, 14.0, 11.0),
            "floor: python3, an iroh endpoint, sleep": proc(36.0, 16.0, 20.0),
            idle.IMPORTS_FLOOR: proc(40.0, 24.0, 16.0),
            idle.STACK_FLOOR: proc(46.0, 20.5, 25.5)}


def test_the_report_sets_a_screens_rss_beside_the_stack_it_is_built_on():
    r = {"window_s": 60, "settle_s": 40, "modules": 350, "processes": dict(
        floors(), **{"screen, 38c3": proc(52.5, 26.0, 26.5), "screen, 20k events": proc(53.0, 26.5, 26.5)})}
    text = idle.report(r)
    assert ("the stack a screen is built on, no pandascreen code (iroh with an endpoint bound, zeroconf, "
            "Pillow's drawing, PyNaCl, blake3, sqlite3): 46.0 MB (anon 20.5, files 25.5)") in text
    assert "screen, 38c3" in text and "+6.5 MB above that stack (anon +5.5, files +1.0)" in text
    assert "+7.0 MB above that stack (anon +6.0, files +1.0)" in text


def test_the_stack_floor_loads_the_parts_a_screen_is_built_on_and_nothing_of_pandascreen():
    names = idle.STACK_IMPORTS.split("import ", 1)[1].split("\n")[0].split(", ")
    assert names == ["iroh", "zeroconf", "PIL.ImageDraw", "nacl.signing", "blake3", "sqlite3"]
    assert "pandascreen" not in idle.STACK


def test_the_screen_run_as_on_a_pi_is_set_beside_the_emulated_one_and_not_against_the_emulated_floors():
    r = {"window_s": 60, "settle_s": 40, "modules": 350, "processes": dict(floors(), **{
        idle.SCREEN_38C3: dict(proc(52.5, 26.0, 26.5), cpu_percent=0.025, wakeups_per_minute={"iroh": 7, "MainThread": 12}),
        idle.PI_SCREEN: dict(proc(58.0, 30.5, 27.5), cpu_percent=0.05, wakeups_per_minute={"iroh": 7, "MainThread": 15})})}
    r["pi_environment"] = idle.PI_ENVIRONMENT  # as run() gives it
    text = idle.report(r)
    assert ("beside the emulated 38c3 screen: RSS +5.5 MB (anon +4.5, files +1.0), CPU +0.025% of a core, "
            "wake-ups +3 a minute") in text
    assert "the unit's %s;" % " ".join(idle.PI_ENVIRONMENT) in text and "MALLOC_ARENA_MAX=2" in text
    assert "+18.0 MB above its code" not in text and "+12.0 MB above that stack" not in text
    r["processes"][idle.PI_SCREEN]["exited"] = ["error: cannot open the display"]
    assert "one of them exited" in idle.report(r)


def test_the_screen_run_as_on_a_pi_is_set_beside_the_stack_as_on_a_pi():
    r = {"window_s": 60, "settle_s": 40, "modules": 350, "processes": dict(floors(), **{
        idle.PI_STACK_FLOOR: proc(50.0, 22.0, 28.0),
        idle.SCREEN_38C3: proc(52.5, 26.0, 26.5), idle.PI_SCREEN: proc(58.0, 30.5, 27.5)})}
    text = idle.report(r)
    assert ("the stack as on a Pi (the stack, luma's OLED device on I2C, gpiozero, gpiod), no pandascreen code: "
            "50.0 MB (anon 22.0, files 28.0); the screen as on a Pi is +8.0 MB above it (anon +8.5, files -0.5)") in text
    assert "floor: the stack as on a Pi" in text.splitlines()[6]  # in the table, as a floor
    del r["processes"][idle.SCREEN_38C3]  # not needed for this line
    assert "the screen as on a Pi is +8.0 MB above it" in idle.report(r)
    r["processes"][idle.PI_STACK_FLOOR]["exited"] = ["ModuleNotFoundError: No module named 'luma'"]
    text = idle.report(r)
    assert "the stack as on a Pi (" not in text and "not set beside the stack as on a Pi: one of them exited" in text


def test_the_buttons_through_lgpio_are_set_beside_gpiods_with_the_threads_that_wake_more():
    r = {"window_s": 60, "settle_s": 40, "modules": 350, "processes": dict(floors(), **{
        idle.PI_SCREEN: dict(proc(52.0, 27.5, 24.5), cpu_percent=0.03, wakeups_per_minute={"iroh": 7, "python": 2}),
        idle.PI_SCREEN_LGPIO: dict(proc(52.5, 28.0, 24.5), cpu_percent=4.03,
                                   wakeups_per_minute={"iroh": 7, "python": 100002, "Thread-3": 3000})})}
    text = idle.report(r)
    assert ("its buttons through lgpio (gpiozero's choice on Raspberry Pi OS) instead of gpiod: CPU +4.000% of a core, "
            "wake-ups +103000 a minute (python +100000, Thread-3 +3000), RSS +0.5 MB") in text
    assert not [line for line in text.splitlines()  # not set against the emulated screens' floors
                if idle.PI_SCREEN_LGPIO in line and ("above its code" in line or "above that stack" in line)]
    r["processes"][idle.PI_SCREEN_LGPIO]["exited"] = ["buttons off"]
    assert "not set beside gpiod's: one of the screens exited" in idle.report(r)


def test_the_stack_floor_as_on_a_pi_adds_luma_gpiozero_and_gpiod_and_nothing_of_pandascreen():
    assert idle.PI_STACK.startswith(idle.KEEP_OUT + idle.STACK_IMPORTS)
    assert "import luma.oled.device, luma.core.interface.serial, smbus2, gpiozero, gpiod\n" in idle.PI_STACK
    assert "pandascreen" not in idle.PI_STACK


def test_the_window_measures_the_38c3_screen_also_as_on_a_pi_copied_before_anything_runs(tmp_path):
    import json
    folders = {idle.SCREEN_38C3: idle._screen_dir(str(tmp_path), "screen-38c3", "f", "00" * 32),
               idle.SCREEN_20K: idle._screen_dir(str(tmp_path), "screen-20k", "f", "00" * 32)}
    listed = idle.processes(str(tmp_path), folders, None, "60")
    labels = [label for label, _, _ in listed]
    assert labels[-4:] == [idle.SCREEN_38C3, idle.SCREEN_20K, idle.PI_SCREEN, idle.PI_SCREEN_LGPIO]
    assert labels[-6:-4] == [idle.STACK_FLOOR, idle.PI_STACK_FLOOR] and idle.IMPORTS_FLOOR not in labels
    pi_stack = listed[-5][1]  # with the unit's environment, as the screen as on a Pi
    assert pi_stack[pi_stack.index("env"):pi_stack.index("env") + 1 + len(idle.PI_ENVIRONMENT)] == ["env"] + idle.PI_ENVIRONMENT
    pi, lgpio = listed[-2][1], listed[-1][1]
    shim = os.path.join(str(tmp_path), "gpiochip_shim.so")
    assert os.path.exists(shim)
    start = pi.index("env")
    assert pi[start:start + 2 + len(idle.PI_ENVIRONMENT)] == ["env"] + idle.PI_ENVIRONMENT + ["LD_PRELOAD=" + shim]
    assert not any(a.startswith("GPIOZERO_PIN_FACTORY=") for a in pi)  # read as a Pi's screen reads them
    assert "GPIOZERO_PIN_FACTORY=lgpio" in lgpio and "LD_PRELOAD=" + shim in lgpio
    assert "LG_WD=" + str(tmp_path) in lgpio  # lgpio's FIFO where the process may write it
    for argv in (pi, lgpio):
        with open(argv[-1]) as fh:
            cfg = json.load(fh)
        assert cfg["buttons"] == idle.PI_BUTTONS and "oled_care" not in cfg  # a Pi's default: on
    copies = {os.path.dirname(argv[-1]) for argv in (pi, lgpio)}
    assert len(copies) == 2 and folders[idle.SCREEN_38C3] not in copies  # each its own copy of the store


# said at the exit of the screen run as on a Pi: the modules it ran, the pin factory that reads its
# buttons, and whether frames went through luma to the bus
PI_LOADED = """import atexit, sys
from pandascreen.node import buttons
factories = []
make = buttons.VenueButtons.__init__
def made(self, *args, **kwargs):
    make(self, *args, **kwargs)
    factories.append(type(self.next_button.pin_factory).__name__)
buttons.VenueButtons.__init__ = made
def said():
    import smbus2
    names = sorted(m for m in ("luma.oled.device", "pandascreen.node.buttons", "pandascreen.node.oled_care")
                   if m in sys.modules)
    print(" ".join(names), ",".join(factories) or "none", smbus2.SMBus.writes > 0)
atexit.register(said)
"""


@pytest.mark.parametrize("suffix, environment, factory", [("-pi", [], "GpiodFactory"),
                                                          ("-pi-lgpio", ["GPIOZERO_PIN_FACTORY=lgpio"], "LGPIOFactory")])
def test_the_screen_run_as_on_a_pi_draws_through_luma_to_the_bus_and_reads_its_buttons_on_the_fake_chip(
        tmp_path, suffix, environment, factory):
    from pandascreen.testing import gpiochip
    folder = idle._screen_dir(str(tmp_path), "screen", "idlefest", "00" * 32)
    argv = idle.pi_screen(folder, gpiochip.build(str(tmp_path)), suffix, environment + ["LG_WD=" + str(tmp_path)])
    code = argv.index("-c") + 1
    argv[code] = PI_LOADED + argv[code]
    p = subprocess.run(idle.namespaced(argv + ["--once"]), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "buttons off" not in p.stderr, p.stderr
    assert p.stdout.split()[-5:] == ["luma.oled.device", "pandascreen.node.buttons", "pandascreen.node.oled_care",
                                     factory, "True"], p.stdout
