"""Device runtime for Raspberry Pi OS: follow the festival's logs, show now/next, flip venues.

    pandascreen --config /boot/firmware/pandascreen/config.json
    pandascreen --config config.json --emulate screen.png --once     # no hardware needed
"""

import argparse
import os
import sys
import threading
import time

from pandascreen.core import config as configmod
from pandascreen.core import operation
from pandascreen.core.schedule import Schedule


class Screen:
    """Chooses the output: real luma/inky device, or a PNG file (emulated)."""

    def __init__(self, kind, emulate_path=None, screen_cfg=None):
        from pandascreen.node import display
        self.kind = kind
        self.emulate_path = emulate_path
        self._dev = None
        if emulate_path:
            return
        screen_cfg = screen_cfg or {}
        if kind.startswith("ssd1306"):
            self._dev = display.LumaScreen(display.open_luma_ssd1306(
                port=screen_cfg.get("i2c_port", 1), address=screen_cfg.get("address", 0x3C)))
        else:
            self._dev = display.InkyScreen(display.open_inky())

    def show(self, image):
        if self.emulate_path:
            tmp = self.emulate_path + ".tmp.png"
            image.convert("RGB").save(tmp)
            os.replace(tmp, self.emulate_path)
        else:
            self._dev.show(image)


class Device:
    def __init__(self, cfg, store, screen, clock=time.time):
        self.cfg = cfg
        self.store = store
        self.screen = screen
        self.clock = clock
        # p2panda convention: the handshake carries the topic, logs are keyed by BLAKE3(topic)
        self.topic = operation.festival_topic(cfg["festival_id"])
        self.log_id = operation.log_id_for_topic(self.topic)
        self.venue_index = 0
        self.status = "starting"
        self._lock = threading.RLock()
        self._schedule = None
        self._seen = -1
        self.last_sync = None

    def schedule(self):
        with self._lock:
            n = self.store.count()
            if self._schedule is None or n != self._seen:
                authors = self.cfg["organiser_keys"] or None
                self._schedule = Schedule.from_store(self.store, self.log_id, authors=authors)
                self._seen = n
            return self._schedule

    def flip(self, delta):
        with self._lock:
            n = len(self.schedule().venues()) or 1
            self.venue_index = 0 if delta == 0 else (self.venue_index + delta) % n
        self.render()

    def render(self):
        from pandascreen.node import display
        with self._lock:
            img = display.render_schedule_image(self.schedule(), self.venue_index, int(self.clock()),
                                                self.cfg["display"], status=self.status)
            self.screen.show(img)
            return img

    def sync_once(self):
        from pandascreen.node.tcp import sync_with
        ok = 0
        errors = []
        for host, port in self.cfg["peer_addrs"]:
            try:
                sync_with(self.store, self.log_id, host, port, timeout=15, topic=self.topic)
                ok += 1
            except Exception as e:  # one unreachable peer must not stop the screen
                errors.append("%s:%d %s" % (host, port, e))
        if not self.cfg["peer_addrs"]:
            self.status = "no peers"
        elif ok:
            self.status = "synced %s" % time.strftime("%H:%M", time.gmtime(self.clock()))
            self.last_sync = self.clock()
        else:
            self.status = "offline"
        return ok, errors

    def run(self, stop, once=False):
        last_sync = -1e18
        last_render = -1e18
        while not stop.is_set():
            now = self.clock()
            if self.cfg["peer_addrs"] and now - last_sync >= self.cfg["sync_interval"]:
                _, errors = self.sync_once()
                for e in errors:
                    print("sync: %s" % e, file=sys.stderr)
                last_sync = now
            if now - last_render >= self.cfg["render_interval"] or once:
                self.render()
                last_render = now
            if once:
                return
            stop.wait(1.0)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pandascreen", description="Festival now/next screen (p2panda peer)")
    ap.add_argument("--config", required=True, help="config.json written by `pandascreen-host provision`")
    ap.add_argument("--emulate", metavar="PNG", help="write the screen to this PNG instead of hardware")
    ap.add_argument("--once", action="store_true", help="sync and render once, then exit")
    ap.add_argument("--no-serve", action="store_true", help="do not accept sync connections from peers")
    args = ap.parse_args(argv)
    try:
        cfg = configmod.load(args.config)
    except configmod.ConfigError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    base = os.path.dirname(os.path.abspath(args.config))
    store_path = cfg["store"] if os.path.isabs(cfg["store"]) else os.path.join(base, cfg["store"])
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen.core.store import IngestError
    try:
        store = SqliteStore(store_path)
    except IngestError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    try:
        screen = Screen(cfg["display"], args.emulate, cfg.get("screen"))
    except Exception as e:
        print("error: cannot open the %s display: %s (try --emulate out.png)" % (cfg["display"], e),
              file=sys.stderr)
        return 2
    device = Device(cfg, store, screen)
    server = None
    buttons = None
    stop = threading.Event()
    try:
        if not args.no_serve and not args.once and cfg["listen_port"]:
            from pandascreen.node.tcp import SyncServer
            server = SyncServer(store, device.log_id, host="0.0.0.0", port=cfg["listen_port"],
                                topic=device.topic)
            server.start()
        if cfg["buttons"] and not args.emulate:
            from pandascreen.node.buttons import VenueButtons
            buttons = VenueButtons(next_pin=cfg["buttons"].get("next"), prev_pin=cfg["buttons"].get("prev"),
                                   on_change=device.flip)
        device.run(stop, once=args.once)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if buttons is not None:
            buttons.close()
        if server is not None:
            server.stop()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
