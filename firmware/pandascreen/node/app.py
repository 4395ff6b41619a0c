"""Device runtime for Raspberry Pi OS: follow the festival's logs, show now/next, flip venues.

    pandascreen --config /boot/firmware/pandascreen/config.json
    pandascreen --config config.json --emulate screen.png --once     # no hardware needed
"""

import argparse
import contextlib
import gc
import os
import sqlite3
import sys
import threading
import time

from pandascreen.core import config as configmod
from pandascreen.core import fleet
from pandascreen.core.controller import Controller, TimeFile
from pandascreen.core.util import hexlify
from pandascreen.node import i18n, lean_process, log_setup, ntp_state, screen_network, wakeup
from pandascreen.node.screen_output import Screen, ScreenError
from pandascreen.node.stop_signals import stop_like_ctrl_c


_log = log_setup.say("pandascreen.app")  # its lines and the node modules' records, on stderr


# seconds the loop waits after a turn that drew before it looks at the store again, while changes
# keep coming (``Device._pace``): a 38c3 cold start drew 17 frames in 0.7 s, 0.15 CPU-s here,
# about ten times that on a Pi Zero 2 W
FRAME_GAP = 0.25
# ... and while the node pulls a backlog from a peer (``IrohNode.catching_up``): a cold start in a
# swarm of 50 on two cores pulls the program over 10-20 s and drew it some twenty times
BACKLOG_FRAME_GAP = 2.0


class Device:
    """Pi glue around the core ``Controller``: a lock, the luma/inky screen, gpiozero buttons.

    The loop thread syncs OUTSIDE the lock (network I/O can take seconds); button presses come
    from gpiozero's thread and only need the lock for a redraw from the schedule already held,
    so flipping venues never waits for a sync.
    """

    def __init__(self, cfg, store, screen, clock=time.time, transport=None, peers=None, time_file=None):
        self.cfg = cfg
        self.store = store
        self.screen = screen
        self.clock = clock
        self.last_image = None
        self._lock = threading.RLock()
        self.wake = threading.Event()  # set by the sync node when a peer changed the store
        self.controller = Controller(
            cfg, store, transport=transport or self._sync_tcp, render=self._show, peers=peers, clock=clock,
            load_time=None if time_file is None else time_file.load,
            save_time=None if time_file is None else time_file.save, log=_log, translate=i18n.translate,
            synced=ntp_state.kernel_synced if clock is time.time else None)  # an emulated clock: not known
        self.topic = self.controller.topic
        self.log_id = self.controller.log_id
        from pandascreen.node import oled_care
        # an OLED shifts, dims and sleeps (node/oled_care.py); e-paper and HDMI draw as rendered
        self.oled_care = oled_care.for_screen(getattr(screen, "kind", None) or cfg["display"], cfg, say=_log)

    @property
    def venue_index(self):
        return self.controller.venue_index

    @property
    def status(self):
        return self.controller.status()

    def clock_synced(self):
        """True when NTP keeps this screen's clock (node/ntp_state.py): it is the time, to the second."""
        return self.clock is time.time and ntp_state.kernel_synced() is True

    def shown_time(self):
        """``(time the program is shown at, claimed)`` now, by the screen's clock rule
        (core/clock.py): what the program page beside it says too."""
        with self._lock:
            return self.controller.screen_time(self.clock())

    def _sync_tcp(self, peer):
        from pandascreen.node.tcp import sync_with
        host, port = peer
        return sync_with(self.store, self.log_id, host, port, timeout=15, topic=self.topic)

    identify_until = None  # the organiser asked this screen to show its name until then (core/fleet.py)
    _identify_seen = (None, None)  # (fleet store version, the latest end asked) as last read

    def _identify(self):
        """Follow the organiser's identify request in the fleet log: the name frame while it
        runs, the program again when it ends (a forced redraw at each edge)."""
        report = self.fleet_report
        if report is None:
            return
        version = getattr(report.store, "version", None)
        if version is None or version != self._identify_seen[0]:  # read the log when it changed only
            self._identify_seen = (version, fleet.identify_until(report.store, report.log_id, report.public_key))
        asked = self._identify_seen[1]
        now = self.clock()
        until = asked if asked is not None and now < asked else None
        if until != self.identify_until:
            self.identify_until = until
            with self._lock:
                self.controller.redraw(catch_up=False, force=True)

    def _show(self, view):
        from pandascreen.node import display
        self._drawn_at = self.clock()
        kind = getattr(self.screen, "kind", None) or self.cfg["display"]
        size = getattr(self.screen, "size", None)
        if self.identify_until is not None and self.clock() < self.identify_until:
            view = dict(view, refresh="full")  # an e-paper panel draws the name in one go
            self.screen.view = view
            img = display.render_name_image(hexlify(self.fleet_report.public_key)[:8], kind, size)
            self.screen.show(img)
            self.last_image = img
            return
        try:
            # a view, or the overview (Controller.view; the buttons turn its pages)
            img = display.render(view, kind, size, page_url=self.page_url)
        except Exception as e:  # any: no frame may stop the screen (see _not_drawn)
            img = self._not_drawn(e, kind, size)
            if img is None:
                return
        else:
            self._draw_error = None
        self.screen.view = view
        if self.oled_care is not None:
            now = self.clock()
            # None while the panel is off (festival closed); the minute tick calls again at opening
            img = self.oled_care.show(self.screen, img, now, self.controller.schedule,
                                      self.controller.clock_trusted(now), self.controller.needs_attention())
        else:
            self.screen.show(img)
        self.last_image = img

    _draw_error = None  # the last frame's drawing error, said once

    def _not_drawn(self, error, kind, size):
        """A frame that could not be drawn: said once (not every minute), and the screen keeps
        its last good frame, or shows a plain error frame when it has none.  The loop goes on:
        the next schedule change or minute draws again.  Returns the image to show, or None."""
        said = "%s: %s" % (type(error).__name__, error)
        if said != self._draw_error:
            _log("cannot draw this frame (%s); the screen keeps %s" % (
                said, "its last frame" if self.last_image is not None else "an error frame"))
            self._draw_error = said
        if self.last_image is not None:
            return None
        from pandascreen.node import display
        return display.render_error_image(kind, size)

    def flip(self, delta):
        """Button handler (gpiozero thread): change venue and draw it now."""
        self._flipped_at = self.clock()
        with self._lock:
            self.controller.flip(delta)
            self.controller.redraw(catch_up=False)

    def show_overview(self):
        """Long press (gpiozero thread): every venue at once, until the screen returns home."""
        self._flipped_at = self.clock()
        with self._lock:
            self.controller.show_overview()
            self.controller.redraw(catch_up=False)

    def render(self):
        with self._lock:
            self.controller.redraw(force=True)
            return self.last_image

    def sync_once(self):
        return self.controller.sync()

    snapshot_to = None  # the store's path: keep the last good schedule beside it
    page_url = None  # the program page's address: large screens show it as a QR code (node/page_qr.py)
    fleet_report = None  # node/fleet_report.FleetReport: the screen's status in the fleet log

    _snapshots = None  # node/snapshot.Pacer: when the snapshot is due

    def _snapshot(self, now=False):
        """Write the snapshot when the store has been quiet for a moment (snapshot.Pacer), or
        ``now`` when a change is still unwritten (the loop ends); then the store's page cache and
        what the change and the write freed go back to the system (node/lean_process.py)."""
        if self.snapshot_to is None:
            return
        from pandascreen.node import snapshot
        if self._snapshots is None:
            self._snapshots = snapshot.Pacer()
        version = self.store.version
        if not self._snapshots.see(version) and not (now and self._snapshots.pending()):
            return
        try:
            snapshot.save_for(self.store, self.log_id, self.snapshot_to)
        except OSError as e:
            _log("cannot write the schedule snapshot: %s" % e)
        self._snapshots.done(version)
        self.store.release_memory()
        lean_process.give_back()

    _fleet_quiet = None  # node/snapshot.Pacer over the fleet store: when its cache goes back

    def _fleet_settled(self):
        """The fleet store's page cache and what its writes freed go back to the system once that
        store is quiet too: statuses (this screen's every few minutes, other screens') fill it while
        the program, and so the snapshot, stays as it was.  At the loop's next turn, not sooner: the
        idle wait leaves this pacer out, as fifty screens' statuses would wake the loop every few
        seconds for memory that can wait a minute."""
        from pandascreen.node import snapshot
        if self._fleet_quiet is None:
            self._fleet_quiet = snapshot.Pacer()
        store = self.fleet_report.store
        version = store.version
        if self._fleet_quiet.see(version):
            self._fleet_quiet.done(version)
            store.release_memory()
            lean_process.give_back()

    def run(self, stop, once=False):
        """The screen's loop until ``stop`` is set; whoever sets it sets ``wake`` too (the idle
        loop sleeps up to a minute).  The program the store holds is drawn first: the first sync
        may wait for a peer that does not answer (10 s of a dark panel at boot)."""
        if not once:
            self.controller.draw_stored(int(self.clock()), self._lock)
        while not stop.is_set():
            if self.controller.sync_due(int(self.clock())):
                self._sync_at = self.clock()
            drew = self.controller.step(lock=self._lock, force=once)
            self._tell_page()
            self._snapshot()
            if self.fleet_report is not None:  # node/fleet_report.py: status op, when due
                with self._lock:
                    self.fleet_report.tick()
                self._identify()
                self._fleet_settled()
            self._tell_node()
            if drew:
                self._stepped_at = self.clock()
            if once:
                break
            self.wake.wait(self.idle_wait())  # a live update redraws at once
            self.wake.clear()
            self._pace(stop)
        self._snapshot(now=True)  # the last change is in the snapshot, also when stopped at once

    _sync_at = _drawn_at = _flipped_at = None  # when the loop last synced, drew, a visitor flipped
    _stepped_at = None  # the screen's clock when the loop last finished a turn that drew

    def _pace(self, stop):
        """Woken less than ``FRAME_GAP`` seconds after the end of a turn that drew (a sync hands a
        program over in hundreds of batches, each a wake-up), wait out the rest of the gap: the
        batches that come meanwhile are taken in and drawn together, and the loop idles between
        turns however long a turn takes.  A lone change after a quiet spell, or right after a
        turn that drew nothing (the fleet status, a peer that came or went), is drawn at once.
        While the node pulls a backlog, the gap is ``BACKLOG_FRAME_GAP`` after the last turn that
        drew, for any change, and the backlog's end is drawn within a ``FRAME_GAP``.  A clock set
        back holds nothing; a button press draws from its own thread, never here."""
        if self._stepped_at is None:
            return
        since = self.clock() - self._stepped_at
        if 0 <= since < FRAME_GAP:
            stop.wait(FRAME_GAP - since)
        for _ in range(int(BACKLOG_FRAME_GAP / FRAME_GAP)):  # bounded, whatever the clock does
            since = self.clock() - self._stepped_at
            if stop.is_set() or not 0 <= since < BACKLOG_FRAME_GAP or not self._catching_up():
                return
            stop.wait(min(FRAME_GAP, BACKLOG_FRAME_GAP - since))

    _asking_failed = False

    def _catching_up(self):
        try:
            return self.node is not None and self.node.catching_up()
        except Exception as e:  # a fault in asking never stops the loop: it draws as usual, and says so once
            if not self._asking_failed:
                self._asking_failed = True
                _log("frame pacing: cannot ask the node whether it pulls a backlog: %s" % e)
            return False

    program_page = None  # node/program_page.ProgramPage: told when the schedule changed
    _page_version = None

    node = None  # node/iroh_transport.IrohNode, when the screen has one
    _store_versions = None

    def _tell_node(self):
        """What this loop wrote (a sync with configured peers, the fleet status) goes to live
        peers now: the node itself looks at its stores only every ``SCREEN_STORE_LOOK`` seconds."""
        fleet = self.fleet_report.store if self.fleet_report is not None else None
        versions = (self.controller.store.version, fleet.version if fleet is not None else None)
        if self.node is not None and versions != self._store_versions:
            if self._store_versions is not None:
                self.node.notify()
            self._store_versions = versions

    def _tell_page(self):
        """The program page renders a new schedule or group (an invite, a venue made invite-only)
        at once instead of at its next look."""
        version = (getattr(self.controller.schedule, "version", None),
                   getattr(getattr(self.controller, "authorizer", None), "revision", None))
        if self.program_page is not None and version != self._page_version:
            self._page_version = version
            self.program_page.changed()

    def idle_wait(self):
        """Seconds to sleep when nothing happens (node/wakeup.py): until the next minute, when
        the frame changes, or sooner when a redraw, a sync with configured peers, the return
        home, the end of an identify request or the snapshot is due.  A change in the store
        wakes the loop at once; stopping sets the same event."""
        cfg = self.cfg
        home = cfg.get("home_after", 60)
        dues = [None if not cfg.get("render_interval") or self._drawn_at is None
                else self._drawn_at + cfg["render_interval"],
                None if not cfg.get("peer_addrs") or self._sync_at is None
                else self._sync_at + cfg.get("sync_interval", 60),
                None if self._flipped_at is None else self._flipped_at + home,
                self.identify_until]
        snapshot_in = None if self._snapshots is None else self._snapshots.due_in()
        now = self.clock()
        if snapshot_in is not None:
            dues.append(now + max(snapshot_in, 0.0))
        return wakeup.seconds_until(now, dues)


def upgrade_refusal(folder):
    """The line pandascreen-install left in ``folder`` when it kept this venv running instead of
    installing a damaged bundle (node/install.py), or None: the screen shows it until fixed."""
    from pandascreen.node.upgrade_refused import REFUSED_NAME
    try:
        with open(os.path.join(folder, REFUSED_NAME), "rb") as fh:
            line = fh.read(600).decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return None
    if not line:
        return None
    _log(line[0])
    return line[0][:200]


def _arguments(argv):
    ap = argparse.ArgumentParser(prog="pandascreen", description="Festival now/next screen (p2panda peer)")
    ap.add_argument("--config", required=True, help="config.json written by `pandascreen-host provision`")
    ap.add_argument("--emulate", metavar="PNG", help="write the screen to this PNG instead of hardware")
    ap.add_argument("--once", action="store_true", help="sync and render once, then exit")
    ap.add_argument("--no-serve", action="store_true", help="do not accept sync connections from peers")
    return ap.parse_args(argv)


def _open_device(args, cfg, store_path, stack):
    """The store (a corrupt one moved aside and refilled from the last snapshot), the screen and
    the ``Device`` around them; the store's close is left on ``stack``."""
    try:
        screen = Screen(cfg["display"], args.emulate, cfg.get("screen"))
    except ScreenError:
        raise
    except Exception as e:  # the driver's own error: luma, inky, SPI, I2C
        raise ScreenError("cannot open the %s display: %s (try --emulate out.png)" % (cfg["display"], e))
    store, notice = _open_store(cfg, store_path, screen, wait=not args.once)
    stack.callback(store.close)
    device = Device(cfg, store, screen, time_file=TimeFile(store_path + ".last-time"))
    device.controller.notice = notice
    device.controller.warning = upgrade_refusal(os.path.dirname(store_path))
    device.snapshot_to = store_path
    return device


# seconds between tries to open a store the disk will not make (full, read-only), doubling
STORE_RETRY_FIRST = 2.0
STORE_RETRY_MAX = 60.0


def _open_store(cfg, store_path, screen, wait=True):
    """The store and its notice (node/snapshot.py ``open_store``).  A first start on a disk that
    cannot make the store (full, read-only) shows "disk full" or "cannot store" on the screen and
    tries again (``wait``) until the disk takes writes or the screen is stopped: a screen that
    exited would leave the panel blank while systemd started it again every few seconds."""
    from pandascreen.core.errors import CannotStore
    from pandascreen.core.operation import log_id_for_festival
    from pandascreen.node import snapshot
    pause = STORE_RETRY_FIRST
    said = None
    while True:
        try:
            opened = snapshot.open_store(store_path, log=_log, log_id=log_id_for_festival(cfg["festival_id"]))
        except CannotStore as e:
            if not wait:
                raise
            if said != str(e):
                said = str(e)
                _log("%s; the screen says so and tries again" % said)
                _show_unwritable(cfg, screen, getattr(e, "failed", None) or "cannot")
            time.sleep(pause)  # a stop (SIGTERM, Ctrl-C) ends it as KeyboardInterrupt
            pause = min(pause * 2, STORE_RETRY_MAX)
            continue
        if said is not None:
            _log("the store %s opened: the disk takes writes again" % store_path)
        return opened


def _show_unwritable(cfg, screen, failed):
    """One frame on ``screen``: no program, and the status line saying why (``failed``: the
    store's ``write_failed``, core/controller.py ``_problem``)."""
    from pandascreen.core.store import MemoryStore
    store = MemoryStore()
    store.write_failed = failed
    Device(cfg, store, screen).controller.draw_stored(time.time(), force=True)


def name_threads():
    """Give each running thread its Python name in the OS too (``top -H``, ``ps -L``, the idle
    bench's wake-up count read them), as Linux allows a process for its own threads."""
    for t in threading.enumerate():
        try:
            with open("/proc/self/task/%d/comm" % t.native_id, "w") as fh:
                fh.write(t.name.replace("pandascreen-", "")[:15])
        except (OSError, TypeError):  # not Linux, or the thread ended meanwhile
            pass


def _run_screen(args, cfg, device, stack):
    """Buttons (a real screen only) and the loop, until stopped; the loop thread is woken to end."""
    stop = threading.Event()
    if not args.once:  # what start-up built lives as long as the screen: the collector need not walk it again
        gc.collect()
        gc.freeze()
    if cfg["buttons"] and not args.emulate:
        from pandascreen.node.buttons import for_screen
        buttons = for_screen(cfg["buttons"], device, say=_log)
        if buttons is not None:
            stack.callback(buttons.close)
    # after the buttons: a thread takes its OS name from the thread that starts it, and lgpio starts
    # its own (in C, out of threading's reach) when they are set up
    name_threads()
    stack.callback(device.wake.set)
    stack.callback(stop.set)
    try:
        device.run(stop, once=args.once)
    except KeyboardInterrupt:
        pass


def main(argv=None):
    """The screen, start to stop: each part started is stopped in reverse order (``stack``),
    whatever ends the run; a user error is one line and exit 2, a store that went bad exit 3."""
    from pandascreen.node import iroh_backtraces
    iroh_backtraces.library_backtraces_off()  # before any thread starts (the module says why)
    lean_process.without_tls()  # before anything imports asyncio
    from pandascreen.core.store import IngestError
    args = _arguments(argv)
    try:
        cfg = configmod.load(args.config)
    except configmod.ConfigError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    base = os.path.dirname(os.path.abspath(args.config))
    store_path = cfg["store"] if os.path.isabs(cfg["store"]) else os.path.join(base, cfg["store"])
    with contextlib.ExitStack() as stack:
        stack.enter_context(stop_like_ctrl_c())  # systemd's stop (SIGTERM) takes Ctrl-C's path
        try:
            device = _open_device(args, cfg, store_path, stack)
            screen_network.start(cfg, base, store_path, device, stack, serve=not args.no_serve and not args.once,
                                 once=args.once, say=_log)
            _run_screen(args, cfg, device, stack)
        except (IngestError, ScreenError, screen_network.ListenPortError, configmod.ConfigError) as e:
            print("error: %s" % e, file=sys.stderr)
            return 2
        except sqlite3.DatabaseError as e:
            # a page went bad while running: one line; the restart moves the file aside and
            # shows the snapshot (node/snapshot.py) instead of failing again
            print("error: the store %s is damaged (%s); restart to recover from the snapshot"
                  % (store_path, e), file=sys.stderr)
            return 3
        except KeyboardInterrupt:  # stopped while starting: what started is stopped all the same
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
