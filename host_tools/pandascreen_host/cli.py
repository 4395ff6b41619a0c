"""``pandascreen-host``: laptop-side tools for pandascreen festival screens.

Exit codes: 0 ok, 2 bad input / usage (``error: ...`` without a traceback), 130 interrupted.

Only ``PandascreenError`` (core/errors.py, the one root every module's errors derive from) is
caught and printed as one line: those are the failures we foresaw and can explain.  Anything
else is a bug and keeps Python's traceback (exit 1), so it gets reported and fixed instead of
being hidden behind "unexpected AttributeError".
"""

import argparse
import os
import sys

from pandascreen_host.errors import PandascreenError, UserError

EXAMPLES = """examples:
  pandascreen-host boards
  pandascreen-host provision --board pi-zero-2w-ssd1306 --boot /media/$USER/bootfs \\
      --festival-id pandafest-2026 --peer 10.0.0.2:2026 --wifi-ssid FestivalNet --wifi-country DE
  pandascreen-host flash --board pico-w-ssd1306 --port /dev/ttyACM0
  pandascreen-host preview --board pi-4-inky-phat --schedule fahrplan.xml --at 2026-07-18T14:00+02:00 -o now.png
  pandascreen-host import fahrplan.xml --store festival.db --key organiser.key
  pandascreen-host serve --store festival.db --key organiser.key --watch fahrplan.xml
"""


def _ensure_firmware_importable():
    try:
        import pandascreen  # noqa: F401
        return
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    fw = os.path.normpath(os.path.join(here, "..", "..", "firmware"))
    if os.path.isdir(os.path.join(fw, "pandascreen")) and fw not in sys.path:
        sys.path.insert(0, fw)


def build_parser():
    ap = argparse.ArgumentParser(
        prog="pandascreen-host", allow_abbrev=False,
        description="Set up pandascreen festival screens: provision, flash, preview, import schedules.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    # boards ----------------------------------------------------------------------------------
    p = sub.add_parser("boards", allow_abbrev=False, help="list the supported boards (or show one)",
                       description="List the board + screen combinations in boards/, or show one.")
    p.add_argument("name", nargs="?", help="board to show in detail")

    # provision -------------------------------------------------------------------------------
    p = sub.add_parser(
        "provision", allow_abbrev=False, help="write key, config and Wi-Fi onto an SD card boot partition or a MicroPython board",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Give a screen its identity (Ed25519 device key) and configuration.\n\n"
                    "Raspberry Pi OS: --boot is the SD card's mounted boot partition (bootfs).\n"
                    "MicroPython: --port is the board's serial port; the core is flashed too.\n\n"
                    "The Wi-Fi passphrase is read from --wifi-psk-file, the environment variable\n"
                    "PANDASCREEN_WIFI_PSK, or asked for interactively -- never from the command line.")
    p.add_argument("--board", required=True, help="board name (see `pandascreen-host boards`) or a .toml file")
    p.add_argument("--festival-id", required=True, help="festival to follow, e.g. pandafest-2026")
    p.add_argument("--peer", action="append", default=[], metavar="HOST:PORT",
                   help="peer to sync with (repeat for several)")
    p.add_argument("--feed-peer", action="append", default=[], metavar="HOST:PORT",
                   help="MicroPython: full peer serving the signed feed (repeat; default: the --peer hosts "
                        "on port 8026)")
    p.add_argument("--organiser", action="append", default=[], metavar="PUBKEY",
                   help="festival group: an organiser public key, 64 hex (repeat; the first names the "
                        "group); required unless --trust-anyone")
    p.add_argument("--trust-anyone", action="store_true",
                   help="DEMO ONLY: no festival group, anyone on the network can change the screen")
    p.add_argument("--festival-mode", choices=("curated", "self-organised"), default="curated",
                   help="curated (an imported program, default) or self-organised (members invite members)")
    p.add_argument("--venue", action="append", default=None, metavar="ID",
                   help="venue id this screen follows (repeat; default: all venues)")
    p.add_argument("--home-venue", metavar="ID",
                   help="the entrance's own venue: shown first and again 60 s after a visitor flips away")
    p.add_argument("--language", metavar="CODE",
                   help="screen language (en, de, fr; en_US for a 12-hour clock); default: the festival's")
    p.add_argument("--listen-port", type=int, default=2026, help="port the screen serves sync on (default 2026)")
    target = p.add_argument_group("target")
    target.add_argument("--boot", metavar="PATH", help="Raspberry Pi OS boot partition, e.g. /media/$USER/bootfs")
    target.add_argument("--port", metavar="DEV", help="MicroPython serial port, e.g. /dev/ttyACM0")
    keys = p.add_argument_group("device key")
    keys.add_argument("--key", metavar="PATH",
                      help="keep the device key in this file on the laptop too (reused if it exists)")
    keys.add_argument("--new-key", action="store_true", help="make a new key even if one exists (needs --force)")
    keys.add_argument("--force", action="store_true", help="allow replacing an existing device key / custom.toml")
    grant = p.add_argument_group("festival group (Raspberry Pi OS screens: their status is signed)")
    grant.add_argument("--store", metavar="PATH",
                       help="the organiser's festival store (festival.db): add this screen's key to the festival "
                            "group there, at pull level, signed with --organiser-key; serve carries it to the screens")
    grant.add_argument("--organiser-key", metavar="PATH", default="organiser.key",
                       help="with --store: the organiser key that signs it (default organiser.key)")
    w = p.add_argument_group("Wi-Fi")
    w.add_argument("--wifi-ssid", metavar="SSID", help="network name")
    w.add_argument("--wifi-country", metavar="CC", help="two-letter country code (required on Raspberry Pi OS)")
    w.add_argument("--wifi-psk-file", metavar="FILE", help="file holding the passphrase ('-' = stdin)")
    w.add_argument("--wifi-open", action="store_true", help="the network has no passphrase")
    w.add_argument("--wifi-hidden", action="store_true", help="the network does not broadcast its SSID")
    p.add_argument("--hostname", help="Raspberry Pi OS host name, set on first boot of a fresh image")
    p.add_argument("--ntp", action="append", default=[], metavar="HOST",
                   help="time server(s) on the festival LAN (the organiser's laptop, the router): "
                        "systemd-timesyncd NTP=/FallbackNTP= on Raspberry Pi OS, the board's config on "
                        "MicroPython (repeat for several)")
    p.add_argument("--read-only-root", action="store_true",
                   help="Raspberry Pi OS: overlay root file system (overlayroot=tmpfs), the store on the "
                        "ext4 partition labelled pandadata: pulling the plug never corrupts the system")
    p.add_argument("--root", metavar="PATH",
                   help="Raspberry Pi OS root partition (rootfs), mounted: --ntp is installed there too")
    b = p.add_argument_group("offline install (Raspberry Pi OS, see host_tools/pandascreen_host/bundle.py)")
    b.add_argument("--bundle", action="store_true",
                   help="put pandascreen and its aarch64 wheels for this board on the boot partition "
                        "(pandascreen/bundle/), installed into /opt/pandascreen/venv on first boot")
    b.add_argument("--os", action="append", choices=["bookworm", "trixie"], default=[],
                   help="Pi OS release(s) to bundle for: bookworm (Python 3.11), trixie (3.13); default both")
    b.add_argument("--bundle-cache", metavar="DIR", help="keep downloaded wheels here and reuse them for the next boards")
    b.add_argument("--bundle-wheel", metavar="PATH", help="pandascreen's own wheel (default: built from this checkout)")
    p.add_argument("--no-flash", action="store_true", help="MicroPython: only write config and key, skip the core")
    p.add_argument("--build-dir", default=None, help="where compiled .mpy files go (default build/mpy)")
    p.add_argument("--mpy-cross", metavar="PATH", help="mpy-cross executable to use")

    # flash -----------------------------------------------------------------------------------
    p = sub.add_parser("flash", allow_abbrev=False, help="compile the MicroPython core with mpy-cross and copy it to a board",
                       description="Compile what firmware/pandascreen/board/manifest.py names (core, board glue, "
                                   "the SSD1306 driver) with mpy-cross and copy it, with main.py, to a "
                                   "MicroPython board with mpremote.")
    p.add_argument("--port", metavar="DEV", help="serial port, e.g. /dev/ttyACM0")
    p.add_argument("--board", help="board name (must be a MicroPython board)")
    p.add_argument("--dry-run", action="store_true", help="only compile into the build folder")
    p.add_argument("--build-dir", default=None, help="build folder (default build/mpy)")
    p.add_argument("--mpy-cross", metavar="PATH", help="mpy-cross executable to use")
    p.add_argument("--firmware", metavar="DIR", help="firmware source folder (default: this checkout's firmware/)")

    # preview ---------------------------------------------------------------------------------
    p = sub.add_parser("preview", allow_abbrev=False, help="render what a screen shows at a given time to PNG or GIF",
                       description="Render a board's screen for a schedule at a given time, without hardware.")
    from pandascreen_host import preview
    preview.add_arguments(p)

    # import ----------------------------------------------------------------------------------
    p = sub.add_parser("import", allow_abbrev=False, help="import a schedule file into a festival store as signed operations",
                       description="Turn a schedule file into signed p2panda operations in a store.")
    p.add_argument("schedule", help="schedule file (frab XML/JSON, pretalx JSON, iCal, voctosched CSV)")
    p.add_argument("--store", default="festival.db", help="store to write (default festival.db)")
    p.add_argument("--key", metavar="PATH", help="organiser key file (32-byte Ed25519 seed)")
    p.add_argument("--festival-id", help="festival id (default: from the schedule)")
    p.add_argument("--timezone", help="IANA time zone for times without an offset, e.g. Europe/Berlin")
    from pandascreen_host.import_cmd import add_identity_arguments, add_span_arguments
    add_span_arguments(p)
    add_identity_arguments(p)
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")

    # serve -----------------------------------------------------------------------------------
    from pandascreen_host import serve
    serve.add_parser(sub)

    # group -------------------------------------------------------------------------------------
    from pandascreen_host import group_cmd
    group_cmd.add_parser(sub)
    return ap


def cmd_boards(args, out):
    from pandascreen_host import boards
    if args.name:
        b = boards.load_board(args.name)
        out.write("%s: %s\n" % (b["name"], b["description"]))
        out.write("  platform:  %s\n" % b["platform"])
        s = b["screen"]
        where = ("I2C%d address 0x%02X" % (s["i2c_port"], s["address"])) if s["bus"] == "i2c" \
            else "SPI%d" % s["spi_port"]
        out.write("  screen:    %s on %s\n" % (s["kind"], where))
        label = "GP" if b["platform"] == "micropython" else "GPIO"
        out.write("  pins:      %s\n" % ", ".join("%s=%s%d" % (k, label, v) for k, v in b["pins"].items()))
        out.write("  enclosure: enclosures/%s\n" % b["enclosure"])
        return 0
    names = boards.list_boards()
    if not names:
        raise UserError("no board files found in %s" % boards.boards_dir())
    rows = []
    for n in names:
        try:
            b = boards.load_board(n)
            rows.append((n, b["platform"], b["screen"]["kind"], b["description"]))
        except UserError as e:
            rows.append((n, "?", "?", "INVALID: %s" % e))
    w = max(len(r[0]) for r in rows)
    for r in rows:
        out.write("%-*s  %-15s  %-17s  %s\n" % (w, r[0], r[1], r[2], r[3]))
    return 0


def cmd_flash(args, out):
    from pandascreen_host import boards, flash
    if args.board:
        b = boards.load_board(args.board)
        if b["platform"] != "micropython":
            raise UserError("%s runs Raspberry Pi OS; flash is for MicroPython boards -- use "
                            "`pandascreen-host provision --boot ...` for a Pi" % b["name"])
    flash.flash(port=args.port, build_dir=args.build_dir or flash.DEFAULT_BUILD_DIR, dry_run=args.dry_run,
                fw_dir=args.firmware, mpy_cross=args.mpy_cross, out=out)
    return 0


def cmd_import(args, out):
    import importlib.util
    if importlib.util.find_spec("pandascreen_host.import_cmd") is None:
        raise UserError("`import` is not available in this version")
    from pandascreen_host import import_cmd
    result = import_cmd.run(args)
    return 0 if result is None else int(result)


def main(argv=None):
    _ensure_firmware_importable()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: usage errors are 2, --help is 0
        return e.code if isinstance(e.code, int) else 2
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    out = sys.stdout
    try:
        if args.command == "boards":
            return cmd_boards(args, out)
        if args.command == "provision":
            from pandascreen_host import provision
            return provision.run(args)
        if args.command == "flash":
            return cmd_flash(args, out)
        if args.command == "preview":
            from pandascreen_host import preview
            return preview.run(args)
        if args.command == "import":
            return cmd_import(args, out)
        if args.command == "serve":
            from pandascreen_host import serve
            return serve.run(args)
        if args.command == "group":
            from pandascreen_host import group_cmd
            return group_cmd.run(args)
        parser.error("unknown command %s" % args.command)
    except PandascreenError as e:
        sys.stderr.write("error: %s\n" % one_line(e))
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    return 0


def one_line(error):
    """The message on one line: a multi-line cause (e.g. a parser's) must not break ``error: ...``."""
    return " ".join(str(error).split()) or type(error).__name__
