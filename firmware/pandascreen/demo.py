"""Demo: a whole festival network on this machine, no hardware, nothing but loopback (~15 s).

    python -m pandascreen.demo --out demo-out        (or: make demo)

WHY one script: a new user should see every moving part at work before buying a screen.
1. The organiser signs the made-up Pandafest schedule and its festival group (the organiser
   key manages it; both screens' keys get Read so they may sign the satellite feed), then
   serves it over iroh (p2panda-net 0.7 sync, live mode).
2. Two Pi screens, real ``node.app.Device`` objects with emulated displays (an SSD1306 OLED
   showing now/next, an Inky wHAT showing the overview of every venue), sync over iroh and stay live.
3. A (mock GPIO) button press flips the OLED's venue.
4. The organiser retitles a talk: the change reaches both screens live (change-to-pixel ms).
5. A stranger's key pushes a "FREE BEER" retitle to both screens: their festival group refuses it.
6. A satellite (board.Satellite, what a Pico W runs) fetches the signed feed over HTTP from the
   OLED screen, checks its one signature and draws it: on CPython, and again under the 32-bit
   unix MicroPython with a Pico W's 180 KB heap when that binary is here (testing/micropython.py finds it).
Frames go to --out as numbered PNGs and a timelapse.gif.

Isolation: iroh's port mapper probes the LAN gateway (UPnP/PCP) even when bound to 127.0.0.1,
so the demo re-runs itself in a loopback-only network namespace (node/netns.py); where that is
impossible it falls back to plain TCP and says so.  iroh never runs in the host namespace.
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from pandascreen.testing import festival as demofest
from pandascreen.core import auth, operation, refresh, schema
from pandascreen.core.crypto import public_key
from pandascreen.node.poll import until
from pandascreen.testing.screen import RecordingScreen

ORGANISER_SEED = bytes(range(100, 132))  # demo only; real organisers use `pandascreen-host import`
SCREEN_SEEDS = (bytes(range(140, 172)), bytes(range(60, 92)))
STRANGER_SEED = bytes(range(180, 212))
NOW = demofest.DAY_START + 75 * 60  # 15:15 festival time (UTC+2): the demo's fixed clock
RETITLED = (1, "Mesh networks: live demo!")  # (event index, new title): on the Main Stage now
BEER = "FREE BEER at the bar"
WAIT = 10.0  # seconds any one step may take


class CapturedScreen(RecordingScreen):
    """An emulated display: keeps every frame with the time it was drawn and whether the
    schedule it was drawn from already held ``marker`` (so change-to-pixel is measured at the
    pixels, not at the store)."""

    def __init__(self, kind):
        RecordingScreen.__init__(self, kind)
        self.seen = []
        self.marker = lambda: False

    def show(self, image):
        RecordingScreen.show(self, image)
        self.seen.append(self.marker())

    @property
    def frames(self):
        """(monotonic, image, marker_seen) of every frame."""
        return list(zip(self.times, self.shown, self.seen))


def _titles(device):
    sch = device.controller.schedule
    return set() if sch is None else {e.title for e in sch.all_events()}


# the satellite as a Pico W runs it (board/board.py on MicroPython), over a real socket
SATELLITE_MPY = r"""
import framebuf
from pandascreen.board.board import Satellite
from pandascreen.core.util import unhexlify, hexlify
from pandascreen.testing.sockets import SocketConn

FB = bytearray(1024)
fb = framebuf.FrameBuffer(FB, 128, 64, framebuf.MONO_VLSB)
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": [("127.0.0.1", %(port)d)],
       "sync_interval": 60}
log = []
s = Satellite(cfg, fb, lambda: None, 128, 64, clock=lambda: %(now)d, connect=SocketConn, log=log.append)
s.step()
print("feeds", s.feed_count, log)
print("title", (s.view(%(now)d)["now"] or {}).get("title"))
gc_collect = __import__("gc").collect
gc_collect()
for i in range(0, 1024, 64):
    print("fb%%02d" %% (i // 64), hexlify(FB[i:i + 64]))
"""


def _micropython_satellite(port, org_pk):
    """Run the satellite under a 32-bit unix MicroPython (180 KB heap, like a Pico W) when
    $PANDASCREEN_MICROPYTHON_UNIX32 names one (the WebAssembly port has no sockets); (title, PIL
    image) or None."""
    from PIL import Image
    from pandascreen.testing import micropython as ports
    try:
        if not ports.unix32_binary():
            return None
    except ports.HarnessMissing:
        return None
    code = SATELLITE_MPY % {"fid": demofest.FESTIVAL_ID, "org": org_pk.hex(), "port": port, "now": NOW}
    proc = ports.run_unix32(code, "180K", timeout=60)
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert proc.returncode == 0 and out.get("feeds", "").startswith("1 "), proc.stdout + proc.stderr
    fb = bytes.fromhex("".join(out["fb%02d" % i] for i in range(16)))
    img = Image.new("1", (128, 64))
    img.putdata([fb[(y // 8) * 128 + x] >> (y % 8) & 1 for y in range(64) for x in range(128)])
    return out["title"], img


def _signed_store(path, log_id):
    """The organiser's store: the festival, then Read grants for the two screens' keys."""
    from pandascreen.node.sqlite_store import SqliteStore
    store = SqliteStore(path)
    t = demofest.DAY_START * 1000000
    for body in demofest.bodies():
        store.publish(ORGANISER_SEED, body, log_id, t)
        t += 1000
    org = public_key(ORGANISER_SEED)
    deps = []
    for seed in SCREEN_SEEDS:
        body = auth.group_body(org, auth.add(public_key(seed), auth.READ), deps)
        deps = [store.publish(ORGANISER_SEED, body, log_id, t).hash]
        t += 1000
    return store, t


def _quietly(close):
    """Teardown goes on past a part that fails to close (the demo's result is already said)."""
    try:
        close()
    except Exception:
        pass


def _write_key(folder, seed):
    fd = os.open(os.path.join(folder, "device.key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, seed)
    finally:
        os.close(fd)


class Demo:
    """The demo's parts and what it has written; each step is a method, run in order by ``run``."""

    def __init__(self, out_dir, quiet, use_iroh, closers):
        self.out_dir, self.quiet, self.use_iroh, self.closers = out_dir, quiet, use_iroh, closers
        self.work = tempfile.mkdtemp(prefix="pandascreen-demo-")
        closers.callback(shutil.rmtree, self.work, ignore_errors=True)
        self.topic = operation.festival_topic(demofest.FESTIVAL_ID)
        self.log_id = operation.log_id_for_topic(self.topic)
        self.org_pk = public_key(ORGANISER_SEED)
        self.written, self.timelapse, self.screens = [], [], []
        self.t_start = time.monotonic()
        from pandascreen.node import log_setup
        self._say = log_setup.say("pandascreen.demo", log_setup.STDOUT)

    def close_later(self, close):
        self.closers.callback(_quietly, close)

    def say(self, msg):
        if not self.quiet:
            self._say(msg)

    def save(self, image, name, caption, scale):
        from PIL import Image
        img = image.convert("RGB")
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
        path = os.path.join(self.out_dir, "%02d-%s.png" % (len(self.written) + 1, name))
        img.save(path)
        self.written.append(path)
        self.timelapse.append(img)
        self.say("  picture %s: %s" % (path, caption))

    # -- 1. the organiser signs the festival and serves it ------------------------------------
    def organiser(self):
        self.org_store, self.clock_us = _signed_store(os.path.join(self.work, "organiser.db"), self.log_id)
        self.close_later(self.org_store.close)
        self.say("1. organiser %s… signed %d operations for %s (festival group: organiser Manage, 2 screens Read)"
                 % (self.org_pk.hex()[:12], self.org_store.count(), demofest.FESTIVAL_ID))
        if self.use_iroh:
            from pandascreen.node.iroh_transport import IrohNode
            self.org_node = IrohNode(self.org_store, self.topic, ORGANISER_SEED, bind="127.0.0.1:0", reconnect=False,
                                     say=lambda line: None).start()
            self.close_later(lambda: self.org_node.stop(grace=0.2))
            self.peer = self.org_node.ticket()
            self.say("   serving over iroh: node %s… at %s (live mode)"
                     % (self.org_node.node_id[:12], self.org_node.addresses()[0]))
        else:
            from pandascreen.node.tcp import SyncServer
            org_tcp = SyncServer(self.org_store, self.log_id, host="127.0.0.1", port=0, topic=self.topic).start()
            self.close_later(org_tcp.stop)
            self.peer = "127.0.0.1:%d" % org_tcp.port
            self.say("   serving over plain TCP at %s" % self.peer)

    # -- 2. two Pi screens: the real app's Device with emulated displays ----------------------
    def screen(self, i, kind, lay):
        from pandascreen.core import config as configmod
        from pandascreen.node.app import Device
        from pandascreen.node.sqlite_store import SqliteStore
        cdir = os.path.join(self.work, "screen%d" % i)
        os.makedirs(cdir)
        _write_key(cdir, SCREEN_SEEDS[i])
        cfg = configmod.validate({"festival_id": demofest.FESTIVAL_ID, "organisers": [self.org_pk.hex()],
                                  "peers": [self.peer], "display": kind, "layout": lay, "listen_port": 0,
                                  "sync_interval": 2, "render_interval": 0})
        store = SqliteStore(os.path.join(cdir, "festival.db"))
        self.close_later(store.close)
        screen = CapturedScreen(kind)
        clock = {"now": NOW}  # the demo's clock, per screen (see step 4)
        dev = Device(cfg, store, screen, clock=lambda c=clock: c["now"])
        node = None
        if self.use_iroh:
            from pandascreen.node.iroh_transport import IrohNode
            node = IrohNode(store, self.topic, SCREEN_SEEDS[i], bind="127.0.0.1:0", on_change=dev.wake.set,
                            say=lambda line: None).start()
            self.close_later(lambda: node.stop(grace=0.2))
            # the app's wiring (app._start_iroh): dial in the background, stay live
            dev.controller.transport = lambda p: node.sync(p, background=True)
        # sync first, so that the first frame (an e-paper's only one for 3 min) shows the program
        ok, errors = dev.sync_once()
        assert ok, "screen %d could not sync: %s" % (i, errors)
        stop = threading.Event()
        loop = threading.Thread(target=dev.run, args=(stop,), daemon=True)
        loop.start()
        self.close_later(lambda: (stop.set(), dev.wake.set(), loop.join(5)))
        return {"name": "ABC"[i], "kind": kind, "dev": dev, "screen": screen, "node": node,
                "dir": cdir, "cfg": cfg, "clock": clock}

    def synced(self):
        for i, (kind, lay) in enumerate((("ssd1306_128x64", "now_next"), ("inky_what_400x300", "overview"))):
            self.screens.append(self.screen(i, kind, lay))
        total = self.org_store.count()
        for s in self.screens:
            ok = until(lambda: s["dev"].store.count() == total and s["screen"].frames
                       and s["dev"].controller.schedule is not None, 15)
            assert ok, "screen %s did not sync (%d/%d)" % (s["name"], s["dev"].store.count(), total)
        live = ""
        if self.use_iroh:
            ok = until(lambda: all(any(lk.get("live") for lk in s["node"].status()) for s in self.screens), WAIT)
            assert ok, "a screen has no live link to the organiser"
            live = ", both in live mode with the organiser"
        a = self.screens[0]["dev"].controller.authorizer
        keys = [self.org_pk] + [public_key(x) for x in SCREEN_SEEDS]
        levels = [auth.LEVEL_NAMES[a.level(a.group_id, k)] for k in keys]
        self.say("2. synced: both screens hold all %d operations over %s after %.1f s%s; the group they checked: "
                 "organiser %s, screens %s" % (total, "iroh" if self.use_iroh else "TCP",
                                               time.monotonic() - self.t_start, live, levels[0], "/".join(levels[1:])))
        oled, board = self.screens
        until(lambda: oled["dev"].status.startswith("synced"), 5)
        until(lambda: board["dev"].status.startswith("synced"), 5)
        oled["dev"].render()
        board["dev"].render()
        self.save(oled["screen"].last(), "oled-main-stage", "SSD1306 OLED, now/next at the Main Stage, 15:15", 4)
        self.save(board["screen"].last(), "inky-what-overview", "Inky wHAT, the overview", 2)

    # -- 3. a button press (gpiozero mock pins) -----------------------------------------------
    def button(self):
        from gpiozero import Device as GpioDevice
        from gpiozero.pins.mock import MockFactory
        from pandascreen.node.buttons import VenueButtons
        oled = self.screens[0]
        GpioDevice.pin_factory = MockFactory()
        try:
            buttons = VenueButtons(next_pin=17, prev_pin=27, on_change=oled["dev"].flip, bounce_time=None)
            n = len(oled["screen"].frames)
            pin = GpioDevice.pin_factory.pin(17)
            pin.drive_low()
            pin.drive_high()
            assert until(lambda: len(oled["screen"].frames) > n, 3), "the button press drew nothing"
            self.say("3. button: 'next' on GPIO17 flipped the OLED to venue %d" % oled["dev"].venue_index)
            self.save(oled["screen"].last(), "oled-next-venue", "after the 'next' button: the Bamboo Tent", 4)
            pin = GpioDevice.pin_factory.pin(27)  # back to the Main Stage
            pin.drive_low()
            pin.drive_high()
            until(lambda: oled["dev"].venue_index == 0, 3)
            buttons.close()
        finally:
            GpioDevice.pin_factory.close()
            GpioDevice.pin_factory = None

    # -- 4. the organiser retitles a talk; both screens redraw live ---------------------------
    def live_change(self):
        oled, board = self.screens
        idx, title = RETITLED
        for s in self.screens:
            s["screen"].marker = lambda d=s["dev"]: title in _titles(d)
        body = schema.make_body("event", "update", demofest.event_id(idx), {"title": title})
        t0 = time.monotonic()
        self.org_store.publish(ORGANISER_SEED, body, self.log_id, self.clock_us)
        self.clock_us += 1000
        if self.use_iroh:
            self.org_node.notify()
        else:
            for s in self.screens:  # TCP has no live mode: the screens sync again
                s["dev"].sync_once()
                s["dev"].wake.set()

        def drawn_ms(s):
            ok = until(lambda: any(f[2] for f in s["screen"].frames), 15)
            assert ok, "screen %s never drew the retitled talk" % s["name"]
            return (next(f[0] for f in s["screen"].frames if f[2]) - t0) * 1000

        oled_ms = drawn_ms(oled)
        ok = until(lambda: title in _titles(board["dev"]), 15)
        assert ok, "screen B never got the retitled talk"
        stored_ms = (time.monotonic() - t0) * 1000
        # a 3-colour Inky takes a full refresh at most every 3 min (core/refresh.py): its demo
        # clock skips those minutes instead of the demo waiting them
        board["clock"]["now"] += refresh.MIN_FULL_GAP
        board["dev"].wake.set()
        board_ms = drawn_ms(board)
        self.say("4. live change: organiser retitled '%s' -> '%s'; change-to-pixel: OLED %.0f ms; Inky wHAT had it "
                 "after %.0f ms and drew it at its next full refresh (e-paper: one per %d min, demo clock skipped "
                 "ahead) %.0f ms" % (demofest.EVENTS[idx][3], title, oled_ms, stored_ms, refresh.MIN_FULL_GAP // 60,
                                     board_ms))
        self.save(oled["screen"].last(), "oled-live-change", "the retitled talk on the OLED", 4)
        self.save(board["screen"].last(), "inky-what-live-change", "the retitled talk on the wHAT board", 2)

    # -- 5. a stranger pushes FREE BEER ---------------------------------------------------------
    def stranger(self):
        from pandascreen.node.sqlite_store import SqliteStore
        stranger_store = SqliteStore(os.path.join(self.work, "stranger.db"))
        self.close_later(stranger_store.close)
        beer = schema.make_body("event", "update", demofest.event_id(RETITLED[0]), {"title": BEER})
        stranger_store.publish(STRANGER_SEED, beer, self.log_id, self.clock_us)
        stranger_pk = public_key(STRANGER_SEED)
        pushed = self._push_iroh(stranger_store) if self.use_iroh else self._push_tcp(stranger_store)
        time.sleep(0.5)
        for s in self.screens:
            s["dev"].render()
        title = RETITLED[1]
        refused = [s for s in self.screens if s["dev"].store.latest(stranger_pk, self.log_id) is None
                   and BEER not in _titles(s["dev"]) and title in _titles(s["dev"])]
        assert len(refused) == 2, "a screen took the stranger's operation"
        self.say("5. refused: stranger %s… (not in the festival group) offered '%s' to both screens (%d operation(s) "
                 "sent); both ignored it and still show '%s'" % (stranger_pk.hex()[:12], BEER, pushed, title))

    def _push_iroh(self, stranger_store):
        """The stranger dials each screen and offers its operation; how many it sent."""
        from pandascreen.node.iroh_transport import IrohNode
        snode = IrohNode(stranger_store, self.topic, STRANGER_SEED, bind="127.0.0.1:0", serve=False, live=False,
                         reconnect=False, timeout=3.0, say=lambda line: None).start()
        self.close_later(lambda: snode.stop(grace=0.1))
        pushed = 0
        for s in self.screens:
            try:
                pushed += snode.sync(s["node"].ticket(), timeout=5).get("ops_sent", 0)
            except Exception as e:  # the screen may end the session on the refused op
                self.say("   stranger's session with screen %s: %s" % (s["name"], e))
        return pushed

    def _push_tcp(self, stranger_store):
        """The stranger serves plain TCP and each screen syncs with it; how many it received."""
        from pandascreen.node.tcp import SyncServer
        ssrv = SyncServer(stranger_store, self.log_id, host="127.0.0.1", port=0, topic=self.topic).start()
        self.close_later(ssrv.stop)
        pushed = 0
        for s in self.screens:
            try:
                stats = s["dev"].controller.transport(("127.0.0.1", ssrv.port))
                pushed += stats.get("ops_received", 0) if isinstance(stats, dict) else 0
            except Exception as e:
                self.say("   screen %s's session with the stranger: %s" % (s["name"], e))
        return pushed

    # -- 6. a MicroPython-style satellite reads the OLED screen's signed feed ------------------
    def satellite(self):
        from pandascreen.board.board import Satellite
        from pandascreen.node import display
        from pandascreen.node.feed_server import FeedServer, FeedSource
        from pandascreen.testing.sockets import SocketConn
        oled = self.screens[0]
        # what node/feed_server.start_for_screen wires on a Pi, with the demo's fixed clock
        source = FeedSource(oled["dev"].store, demofest.FESTIVAL_ID, SCREEN_SEEDS[0], [self.org_pk],
                            schedule=lambda: oled["dev"].controller.schedule, lock=oled["dev"]._lock,
                            clock=lambda: NOW)
        feed_srv = FeedServer(source, "127.0.0.1", 0).start()
        self.close_later(feed_srv.stop)
        img = display.new_image("ssd1306_128x64")
        sat_cfg = {"festival_id": demofest.FESTIVAL_ID, "organiser_keys": [self.org_pk],
                   "peer_addrs": [("127.0.0.1", feed_srv.port)], "sync_interval": 60}
        log = []
        sat = Satellite(sat_cfg, display.PILCanvas(img, "mono"), lambda: None, 128, 64, clock=lambda: NOW,
                        connect=SocketConn, log=log.append)
        sat.step()
        assert sat.feed_count == 1, "the satellite took no feed: %s" % log
        shown = sat.view(NOW)["now"]["title"]
        self.say("6. feed: satellite fetched http://127.0.0.1:%d/pandascreen/feed/%s from screen A, one signature "
                 "checked (%d bytes, signed by the screen's key), now showing '%s'"
                 % (feed_srv.port, demofest.FESTIVAL_ID, len(source.get()), shown))
        mpy = _micropython_satellite(feed_srv.port, self.org_pk)
        if mpy is None:
            self.say("   (no 32-bit unix MicroPython here (PANDASCREEN_MICROPYTHON_UNIX32 not set): the satellite ran "
                     "its MicroPython loop on CPython)")
            self.save(img, "satellite-feed", "the satellite board (MicroPython loop on CPython) drawing the feed", 4)
        else:
            assert mpy[0] == shown, mpy[0]
            self.say("   the same satellite under the 32-bit unix MicroPython (180 KB heap, like a Pico W) "
                     "fetched it too: '%s'" % mpy[0])
            self.save(mpy[1], "satellite-feed",
                      "the satellite board on MicroPython (unix32, 180 KB heap) drawing the feed", 4)

    def gif(self):
        from PIL import Image
        gif = os.path.join(self.out_dir, "timelapse.gif")
        size = (800, 600)
        frames = []
        for im in self.timelapse:
            canvas = Image.new("RGB", size, "white")
            im = im.copy()
            im.thumbnail(size)
            canvas.paste(im, ((size[0] - im.width) // 2, (size[1] - im.height) // 2))
            frames.append(canvas)
        frames[0].save(gif, save_all=True, append_images=frames[1:], duration=1200, loop=0)
        self.written.append(gif)
        self.say("done in %.1f s: %d files in %s (open %s and %s)"
                 % (time.monotonic() - self.t_start, len(self.written), os.path.abspath(self.out_dir),
                    os.path.basename(self.written[0]), os.path.basename(gif)))


def run(out_dir, quiet=False, use_iroh=True):
    """The whole demo; returns the files written.  Raises AssertionError when a step fails."""
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):  # frames of an earlier run would mislead
        if name.endswith(".png") or name == "timelapse.gif":
            os.remove(os.path.join(out_dir, name))
    with contextlib.ExitStack() as closers:
        demo = Demo(out_dir, quiet, use_iroh, closers)
        for step in (demo.organiser, demo.synced, demo.button, demo.live_change, demo.stranger, demo.satellite,
                     demo.gif):
            step()
    return demo.written


def _reexec_isolated(argv):
    """Run this demo again inside a loopback-only namespace, streaming its output; None when
    that is impossible here (then the caller falls back to plain TCP)."""
    from pandascreen.node import netns
    if os.environ.get(netns.MARK):
        return None
    try:
        probe = subprocess.run(["unshare", "-rn", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.returncode != 0:
        return None
    env = dict(os.environ)
    env[netns.MARK] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    script = 'ip link set lo up && exec "$@"'
    try:
        return subprocess.call(["unshare", "-rn", "sh", "-c", script, "sh", sys.executable, "-m",
                                "pandascreen.demo"] + list(argv), env=env, timeout=120)
    except subprocess.TimeoutExpired:
        print("demo FAILED: no result within 120 s")
        return 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(prog="python -m pandascreen.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="demo-out", help="folder for the PNG/GIF frames (default: demo-out)")
    ap.add_argument("--tcp", action="store_true", help="plain TCP instead of iroh (no namespace needed)")
    args = ap.parse_args(argv)
    use_iroh = not args.tcp
    if use_iroh:
        from pandascreen.node import netns
        if not netns.loopback_only():
            code = _reexec_isolated(argv)
            if code is not None:
                return code
            print("note: cannot make a loopback-only network namespace here (unshare -rn), so iroh "
                  "(whose port mapper probes the LAN) stays off: this run uses plain TCP on 127.0.0.1")
            use_iroh = False
        else:
            try:
                import iroh  # noqa: F401
            except ImportError:
                print("note: the iroh package cannot be loaded here: this run uses plain TCP on 127.0.0.1")
                use_iroh = False
    try:
        run(args.out, use_iroh=use_iroh)
    except AssertionError as e:
        print("demo FAILED: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
