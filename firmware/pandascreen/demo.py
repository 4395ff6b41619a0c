"""Demo: an organiser and a screen, two p2panda peers on this machine, and an emulated OLED.

    python -m pandascreen.demo --out demo-out

1. The organiser signs the Pandafest schedule into its own SQLite store and serves it on
   127.0.0.1.
2. The screen (a fresh store) syncs over TCP: log heights, then only what is missing.
3. The screen renders now/next on an emulated SSD1306 (luma's dummy device) and on an
   emulated Inky pHAT; simulated GPIO button presses (gpiozero MockFactory) flip venues.
4. The organiser moves a talk; the screen syncs again and shows the change.
Frames are written as PNG (and an animated GIF) into --out.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

from pandascreen import demofest
from pandascreen.core import operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.core.schedule import Schedule
from pandascreen.node.sqlite_store import SqliteStore

ORGANISER_SEED = bytes(range(100, 132))  # demo only; real organisers use `pandascreen-host import`


def _scaled(img, factor=4):
    img = img.convert("RGB")
    return img.resize((img.width * factor, img.height * factor), 0)


def run(out_dir, quiet=False):
    from luma.core.device import dummy
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    from pandascreen.node import display
    from pandascreen.node.buttons import VenueButtons
    from pandascreen.node.tcp import SyncServer, sync_with

    def say(msg):
        if not quiet:
            print(msg)

    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="pandascreen-demo-")
    topic = operation.festival_topic(demofest.FESTIVAL_ID)
    log_id = operation.log_id_for_topic(topic)
    organiser = SqliteStore(os.path.join(work, "organiser.db"))
    screen_store = SqliteStore(os.path.join(work, "screen.db"))
    clock = demofest.DAY_START * 1000000
    for body in demofest.bodies():
        organiser.publish(ORGANISER_SEED, body, log_id, clock)
        clock += 1000
    say("organiser: signed %d operations for %s" % (organiser.count(), demofest.FESTIVAL_ID))

    server = SyncServer(organiser, log_id, host="127.0.0.1", port=0, topic=topic)
    server.start()
    frames = []
    written = []
    try:
        stats = sync_with(screen_store, log_id, "127.0.0.1", server.port, topic=topic)
        say("screen: synced from 127.0.0.1:%d -> %s" % (server.port, _fmt_stats(stats)))

        trusted = [public_key(ORGANISER_SEED)]
        state = {"venue": 0, "schedule": Schedule.from_store(screen_store, log_id, authors=trusted)}
        oled = dummy(width=128, height=64, mode="1")
        screen = display.LumaScreen(oled)

        def show(now, name, status="synced"):
            img = display.render_schedule_image(state["schedule"], state["venue"], now, "ssd1306_128x64",
                                                status=status)
            screen.show(img)
            path = os.path.join(out_dir, name + ".png")
            _scaled(oled.image).save(path)
            frames.append(_scaled(oled.image))
            written.append(path)
            return path

        now = demofest.DAY_START + 75 * 60  # 15:15 local (UTC+2)
        say("screen: %s" % show(now, "01-main-stage"))

        Device.pin_factory = MockFactory()
        try:
            def flip(delta):
                n = len(state["schedule"].venues()) or 1
                state["venue"] = (state["venue"] + delta) % n

            buttons = VenueButtons(next_pin=17, prev_pin=27, on_change=flip, bounce_time=None)
            for i, label in ((2, "02-next-venue"), (3, "03-next-venue")):
                pin = Device.pin_factory.pin(17)
                pin.drive_low()
                pin.drive_high()
                time.sleep(0.05)
                say("button: next -> %s" % show(now, label))
            pin = Device.pin_factory.pin(27)
            pin.drive_low()
            pin.drive_high()
            time.sleep(0.05)
            buttons.close()
        finally:
            Device.pin_factory.close()
            Device.pin_factory = None

        # the organiser moves the Hack Lab talk and renames it; the screen syncs again
        moved = schema.make_body("event", "update", demofest.event_id(9), {
            "title": "Hands-on: CBOR, BLAKE3 & Ed25519 (moved +30 min)",
            "start": demofest.DAY_START + 100 * 60, "end": demofest.DAY_START + 160 * 60})
        organiser.publish(ORGANISER_SEED, moved, log_id, clock)
        stats = sync_with(screen_store, log_id, "127.0.0.1", server.port, topic=topic)
        say("screen: synced again -> %s" % _fmt_stats(stats))
        state["schedule"] = Schedule.from_store(screen_store, log_id, authors=trusted)
        state["venue"] = 2  # the Hack Lab
        say("screen: %s" % show(now, "04-after-update"))

        # an afternoon time-lapse of the main stage
        state["venue"] = 0
        for minute in range(0, 360, 20):
            img = display.render_schedule_image(state["schedule"], 0, demofest.DAY_START + minute * 60,
                                                "ssd1306_128x64")
            frames.append(_scaled(img))
        gif = os.path.join(out_dir, "timelapse.gif")
        frames[0].save(gif, save_all=True, append_images=frames[1:], duration=700, loop=0)
        written.append(gif)

        inky = display.render_schedule_image(state["schedule"], 1, now, "inky_phat_212x104")
        path = os.path.join(out_dir, "05-inky-phat.png")
        _scaled(inky, 3).save(path)
        written.append(path)
        say("inky pHAT: %s" % path)
    finally:
        server.stop()
        organiser.close()
        screen_store.close()
        shutil.rmtree(work, ignore_errors=True)
    say("done: %d files in %s" % (len(written), os.path.abspath(out_dir)))
    return written


def _fmt_stats(stats):
    if isinstance(stats, dict):
        return "received %d (%d new), sent %d operations in %.2f s" % (
            stats["ops_received"], stats["ops_new"], stats["ops_sent"], stats["duration"])
    return str(stats)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pandascreen.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="demo-out", help="folder for the PNG/GIF frames (default: demo-out)")
    args = ap.parse_args(argv)
    run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
