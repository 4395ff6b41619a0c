import json
import threading

import pytest

from PIL import Image

from pandascreen.node import app
from pandascreen.testing import festival as demofest
from pandascreen.core import operation
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.core.store import MemoryStore
from pandascreen.node.tcp import SyncServer
from pandascreen.testing.screen import RecordingScreen

SEED = bytes(range(100, 132))


def organiser(s=None):
    s = MemoryStore() if s is None else s
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    demofest.publish(s, SEED, log)
    return s, log


def test_device_syncs_and_renders_once(tmp_path, capsys):
    store, log = organiser()
    server = SyncServer(store, log, topic=operation.festival_topic(demofest.FESTIVAL_ID))
    server.start()
    try:
        cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()],
               "peers": ["127.0.0.1:%d" % server.port, "127.0.0.1:1"], "store": "screen.db"}
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        png = tmp_path / "screen.png"
        assert app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(png), "--once"]) == 0
    finally:
        server.stop()
    assert Image.open(str(png)).size == (128, 64)
    # beside the emulated display: what it says, as the view it was drawn from
    view = json.loads((tmp_path / "screen.png.json").read_text())
    assert view["festival"] == "Pandafest 2026" and view["venue"] == demofest.VENUES[0][1], view
    assert "127.0.0.1:1" in capsys.readouterr().err  # the dead peer is reported, the live one used
    s = SqliteStore(str(tmp_path / "screen.db"))
    assert s.count() == store.count()


def test_device_flip_and_status(tmp_path):
    store, log = organiser()
    from pandascreen.core import config
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "display": "inky_phat_212x104",
                           "organisers": [public_key(SEED).hex()]})
    screen = RecordingScreen()
    shots = screen.shown
    dev = app.Device(cfg, store, screen, clock=lambda: demofest.DAY_START + 3600)
    dev.render()
    dev.flip(1)
    dev.flip(1)
    dev.flip(1)
    assert dev.venue_index == 0  # three venues: wrapped round
    dev.flip(-1)
    assert dev.venue_index == 2
    dev.flip(0)
    assert dev.venue_index == 0
    assert shots[0].size == (212, 104) and shots[0].tobytes() != shots[1].tobytes()
    assert dev.sync_once() == (0, []) and dev.status == "no peers"


def test_bad_config_exit_code(tmp_path, capsys):
    (tmp_path / "c.json").write_text("{}")
    assert app.main(["--config", str(tmp_path / "c.json"), "--once"]) == 2
    assert "festival_id" in capsys.readouterr().err


def test_flip_is_drawn_while_a_sync_hangs():
    """A button press comes from gpiozero's thread; a sync stuck on the network must not hold it up."""
    import threading

    entered = threading.Event()
    release = threading.Event()

    class BusyStore(MemoryStore):
        """Like SQLite's store lock: reads wait while the sync is writing."""

        @property
        def version(self):
            if entered.is_set():
                assert release.wait(10)
            return MemoryStore.version.fget(self)

    store, log = organiser(BusyStore())
    cfg = config_for(peers=["10.0.0.9:2026"])

    def hanging_transport(peer):
        entered.set()
        assert release.wait(10)

    screen = RecordingScreen()
    shots = screen.shown
    dev = app.Device(cfg, store, screen, clock=lambda: demofest.DAY_START + 3600, transport=hanging_transport)
    stop = threading.Event()
    loop = threading.Thread(target=dev.run, args=(stop,))
    loop.start()
    try:
        assert entered.wait(10)
        flipper = threading.Thread(target=dev.flip, args=(1,))
        flipper.start()
        flipper.join(8)  # a flip that waited would wait 10 s
        assert not flipper.is_alive(), "flip waited for the sync"
        assert dev.venue_index == 1 and len(shots) == 2  # the stored program before the sync, then the flip
        assert dev.controller.view(demofest.DAY_START + 3600)["venue"] == "Bamboo Tent"
    finally:
        release.set()
        stop.set()
        dev.wake.set()  # the idle loop sleeps until the minute turns; stopping wakes it, as main does
        loop.join(10)
    assert not loop.is_alive()
    assert dev.status == "synced 15:00"  # festival time (UTC+2), not UTC


def test_the_stored_program_is_drawn_before_a_first_sync_that_waits_for_an_unanswering_peer():
    """A screen starting offline with its configured peer gone drew nothing until that dial gave
    up (10 s of a dark panel at boot), though its store held the whole program."""
    import threading
    store, log = organiser()
    entered, release = threading.Event(), threading.Event()

    def unanswering(peer):
        entered.set()
        assert release.wait(10)
        raise OSError("no answer")

    screen = RecordingScreen()
    dev = app.Device(config_for(peers=["10.0.0.9:2026"]), store, screen, clock=lambda: demofest.DAY_START + 3600,
                     transport=unanswering)
    stop = threading.Event()
    loop = threading.Thread(target=dev.run, args=(stop,))
    loop.start()
    try:
        assert entered.wait(10)
        assert len(screen.shown) == 1, "no frame before the sync"
        view = dev.controller.view(demofest.DAY_START + 3600)
        assert view["venue"] and view.get("now") or view.get("next")
    finally:
        release.set()
        stop.set()
        dev.wake.set()
        loop.join(10)
    assert not loop.is_alive()


def config_for(peers=(), display="ssd1306_128x64"):
    from pandascreen.core import config
    return config.validate({"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()],
                            "peers": list(peers), "display": display})


def test_clock_not_set_shown_on_the_pi(tmp_path):
    store, log = organiser()
    screen = RecordingScreen()
    shots = screen.shown
    t = [1000]  # a Pi without RTC that booted offline
    dev = app.Device(config_for(), store, screen, clock=lambda: t[0])
    dev.render()
    view = dev.controller.view(t[0])
    # no time of its own: the program at the organiser's newest signed time, the clock not claimed
    assert view["clock"] == "--:--" and view["status"] == "clock not set"
    assert view["now"]["title"] == "Opening: Why pandas sync offline"
    t[0] = demofest.DAY_START + 3600
    dev.render()
    assert shots[0].tobytes() != shots[1].tobytes()
    assert dev.controller.view(t[0])["now"] is not None


def test_last_known_time_survives_a_restart(tmp_path):
    import time
    store, log = organiser()
    # signed now: a clock further than clock.FAR_AHEAD past every signed timestamp is not claimed,
    # and the demo festival's are from July 2026
    store.publish(SEED, demofest.bodies()[-1], log, int(time.time() * 1000000))
    server = SyncServer(store, log, topic=operation.festival_topic(demofest.FESTIVAL_ID))
    server.start()
    try:
        cfg = {"festival_id": demofest.FESTIVAL_ID, "peers": ["127.0.0.1:%d" % server.port], "store": "s.db",
               "organisers": [public_key(SEED).hex()]}
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        assert app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(tmp_path / "a.png"),
                         "--once"]) == 0
    finally:
        server.stop()
    saved = int((tmp_path / "s.db.last-time").read_text())
    import time
    assert abs(saved - time.time()) < 60


def test_emulate_to_unwritable_path_is_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"festival_id": demofest.FESTIVAL_ID, "store": "s.db",
                                                      "organisers": [public_key(SEED).hex()]}))
    code = app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(tmp_path / "no" / "such" / "x.png"),
                     "--once"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: cannot write the emulated screen to ") and "No such file" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_emulated_screen_loads_the_png_writer_alone(tmp_path):
    """Its PNG is written without Pillow's other image formats (JPEG with TIFF's tags, decimal and
    fractions, GIF, BMP, PPM): Pillow 13 loads only the plugin of the file's extension unless it is
    given a format.  A Pi's screen writes no image file, and the emulated one stands in for it in
    the idle bench's memory figures."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import sys; from PIL import Image; from pandascreen.node import app; "
            "app.Screen('ssd1306_128x64', sys.argv[1]).show(Image.new('1', (128, 64))); "
            "print(' '.join(sorted(m for m in sys.modules if m.endswith('ImagePlugin'))))")
    png = tmp_path / "screen.png"
    p = subprocess.run([sys.executable, "-c", code, str(png)], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=os.path.join(root, "firmware")))
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["PIL.PngImagePlugin"]
    assert Image.open(png).size == (128, 64)


def test_flip_is_drawn_while_a_peer_writes_to_the_store():
    """A peer pushing operations to our SyncServer holds the store's lock; the loop waits for it, not the buttons."""
    import threading

    busy = threading.Event()
    release = threading.Event()
    waiting = threading.Event()

    class BusyStore(MemoryStore):
        @property
        def version(self):
            if busy.is_set():
                waiting.set()
                assert release.wait(10)
            return MemoryStore.version.fget(self)

    store, log = organiser(BusyStore())
    screen = RecordingScreen()
    shots = screen.shown
    dev = app.Device(config_for(), store, screen, clock=lambda: demofest.DAY_START + 3600)
    dev.render()
    busy.set()
    stop = threading.Event()
    loop = threading.Thread(target=dev.run, args=(stop,))
    loop.start()
    try:
        assert waiting.wait(10)
        flipper = threading.Thread(target=dev.flip, args=(-1,))
        flipper.start()
        flipper.join(8)  # a flip that waited would wait 10 s
        assert not flipper.is_alive(), "flip waited for the store"
        assert dev.venue_index == 2 and len(shots) == 2
    finally:
        release.set()
        stop.set()
        dev.wake.set()  # the idle loop sleeps until the minute turns; stopping wakes it, as main does
        loop.join(10)
    assert not loop.is_alive()


def _held_port():
    import socket
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen(1)
    return holder, holder.getsockname()[1]


def _serving_config(tmp_path, **ports):
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()], "store": "screen.db"}
    cfg.update(ports)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "device.key").write_bytes(bytes(range(32)))
    return ["--config", str(tmp_path / "config.json"), "--emulate", str(tmp_path / "screen.png")]


def _run_app(argv):
    """The app as a process, bounded in time (a screen that started would run until stopped)."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.path.join(root, "firmware"))
    p = subprocess.run([sys.executable, "-m", "pandascreen.node.app"] + argv, capture_output=True, text=True,
                       env=env, timeout=60)
    return p.returncode, p.stderr


def test_a_busy_sync_port_is_one_line_naming_listen_port(tmp_path):
    holder, port = _held_port()
    try:
        code, err = _run_app(_serving_config(tmp_path, listen_port=port))
    finally:
        holder.close()
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert 'port %d (plain-TCP sync for boards) is already in use' % port in err and '"listen_port"' in err, err


def test_a_busy_feed_port_is_one_line_naming_feed_port(tmp_path):
    holder, port = _held_port()
    spare, free = _held_port()
    spare.close()  # a free port for sync; the feed's is held
    try:
        code, err = _run_app(_serving_config(tmp_path, listen_port=free, feed_port=port))
    finally:
        holder.close()
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert 'port %d (the feed for satellite boards) is already in use' % port in err and '"feed_port"' in err, err


def test_feed_port_must_be_a_port_number():
    from pandascreen.core import config as configmod
    base = {"festival_id": "f", "trust_anyone": True}
    assert configmod.validate(dict(base, feed_port=0))["feed_port"] == 0
    for bad in (-1, 65536, "8026", True, 2026):  # 2026: the listen_port too
        with pytest.raises(configmod.ConfigError, match="feed_port"):
            configmod.validate(dict(base, feed_port=bad))
def test_a_refused_upgrade_is_shown_in_the_status_line(tmp_path, monkeypatch):
    """pandascreen-install --keep-running records why it kept the old venv; the screen says so."""
    from pandascreen.node import install
    cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()], "store": "screen.db"}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / install.REFUSED_NAME).write_text("upgrade refused: bundle wheel x.whl is missing\n")
    seen = []
    monkeypatch.setattr(app.Device, "run", lambda self, stop, once=False: seen.append(self.status))
    assert app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(tmp_path / "s.png"),
                     "--once"]) == 0
    assert seen and seen[0].startswith("upgrade refused: bundle wheel x.whl is missing")
    (tmp_path / install.REFUSED_NAME).unlink()
    seen.clear()
    assert app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(tmp_path / "s.png"),
                     "--once"]) == 0
    assert seen and "upgrade refused" not in seen[0]


def test_an_idle_screen_loop_sleeps_until_the_minute_turns_not_every_second():
    store, log = organiser()
    now = [demofest.DAY_START + 3600 + 57]  # three seconds before a minute turns
    dev = app.Device(config_for(), store, type("Screen", (), {"show": lambda self, img: None})(),
                     clock=lambda: now[0])
    stop = threading.Event()
    waits = []

    class Wake:
        def wait(self, timeout):
            waits.append(timeout)
            now[0] += timeout
            if len(waits) >= 14:
                stop.set()

        def set(self):
            pass

        def clear(self):
            pass

    dev.wake = Wake()
    dev.run(stop)
    # it wakes just after the minute turns (the frame changes then), then when the config's
    # render_interval (20 s) is due: three wake-ups a minute, not sixty (tests/test_wakeup.py)
    assert 3.0 <= waits[0] <= 3.1
    assert all(19.9 <= w <= 20.1 for w in waits[1:])


def test_a_thread_a_library_starts_for_the_buttons_is_not_counted_as_the_main_thread(monkeypatch):
    """lgpio starts its alert thread in C once the buttons' edge callbacks are set, and a thread
    takes its OS name from the thread that starts it: started after the screen named its threads,
    it read as ``MainThread``, and its wake-ups were counted as the main loop's."""
    import _thread
    import contextlib
    import types
    from pandascreen.node import buttons
    main_tid = threading.main_thread().native_id
    with open("/proc/self/task/%d/comm" % main_tid, "w") as fh:
        fh.write("python")  # as a process starts, whatever an earlier test named it
    seen = {}

    class LibraryThreadButtons:
        def __init__(self, **kwargs):
            started = threading.Event()

            def body():  # a thread outside threading's list, as a C library's
                with open("/proc/self/task/%d/comm" % threading.get_native_id()) as fh:
                    seen["name"] = fh.read().strip()
                started.set()
            _thread.start_new_thread(body, ())
            assert started.wait(5)

        def close(self):
            pass

    monkeypatch.setattr(buttons, "VenueButtons", LibraryThreadButtons)
    monkeypatch.setattr(buttons, "_gpiod_factory", lambda: (None, None))
    device = types.SimpleNamespace(flip=None, show_overview=None, wake=threading.Event(), run=lambda stop, once: None)
    with contextlib.ExitStack() as stack:
        app._run_screen(types.SimpleNamespace(once=True, emulate=None), {"buttons": {"next": 17}}, device, stack)
    assert seen["name"] == "python"


def test_buttons_that_cannot_be_set_up_leave_the_screen_running_and_say_so(monkeypatch, capsys):
    """A Pi with no pin factory gpiozero can load (lgpio refused, a Pi 5 where RPi.GPIO cannot
    work) raised out of the app: a traceback, and systemd restarted the screen every 5 s, so it
    showed no program at all.  Without buttons it shows the program and says the buttons are off."""
    import contextlib
    import types
    from gpiozero import Device
    from gpiozero.exc import BadPinFactory

    def no_pin_factory():
        raise BadPinFactory("Unable to load any default pin factory!")
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setattr(Device, "_default_pin_factory", staticmethod(no_pin_factory))
    ran = []
    device = types.SimpleNamespace(flip=None, show_overview=None, wake=threading.Event(),
                                   run=lambda stop, once: ran.append(once),
                                   controller=types.SimpleNamespace(trouble=None))
    with contextlib.ExitStack() as stack:
        app._run_screen(types.SimpleNamespace(once=True, emulate=None), {"buttons": {"next": 17, "prev": 27}},
                        device, stack)
    assert ran == [True]
    assert device.controller.trouble == "buttons off"
    lines = [line for line in capsys.readouterr().err.splitlines() if "buttons" in line]
    assert len(lines) == 1
    assert "GPIO 17, 27" in lines[0] and "BadPinFactory: Unable to load any default pin factory!" in lines[0]
