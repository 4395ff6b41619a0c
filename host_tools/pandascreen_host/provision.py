"""``pandascreen-host provision``: give a screen its identity (an Ed25519 device key) and its
configuration, on a Raspberry Pi OS SD card (provision_pi.py) or a MicroPython board over its
serial port (provision_micropython.py).

Every option is checked (provision_config.py) and the key chosen (provision_keys.py) before the
first file is written, so a refused option leaves the card or board as it was.
"""

import argparse
import os
import sys

from pandascreen_host import boards as boardsmod
from pandascreen_host.errors import UserError
from pandascreen_host.provision_config import (check_festival_id, check_group, check_hostname, check_ntp,
                                               check_organisers, check_peers, feed_peers, gather_wifi)
from pandascreen_host.provision_micropython import provision_micropython
from pandascreen_host.provision_pi import check_boot_partition, provision_pi


def add_parser(sub):
    p = sub.add_parser(
        "provision", allow_abbrev=False, help="write key, config and Wi-Fi onto an SD card boot partition or a MicroPython board",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Give a screen its identity (Ed25519 device key) and configuration.\n\n"
                    "Raspberry Pi OS: --boot is the SD card's mounted boot partition (bootfs).\n"
                    "MicroPython: --port is the board's serial port; the core is flashed too.\n\n"
                    "The Wi-Fi passphrase is read from --wifi-psk-file, the environment variable\n"
                    "PANDASCREEN_WIFI_PSK, or asked for interactively -- never from the command line.")
    _add_screen_arguments(p)
    _add_target_arguments(p)
    _add_system_arguments(p)
    _add_install_arguments(p)
    return p


def _add_screen_arguments(p):
    """What the screen follows and shows."""
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
                   help="venue id this screen follows (repeat; default: all venues; checked against the program "
                        "in --store)")
    p.add_argument("--home-venue", metavar="ID",
                   help="the entrance's own venue: shown first and again 60 s after a visitor flips away "
                        "(one of --venue; checked against the program in --store)")
    p.add_argument("--language", metavar="CODE",
                   help="screen language (en, de, fr; en_US for a 12-hour clock); default: the festival's")
    p.add_argument("--listen-port", type=int, default=2026, help="port the screen serves sync on (default 2026)")


def _add_target_arguments(p):
    """Where the screen is (card or serial port), its key, and the festival group it joins."""
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
                            "group there, at pull level, signed with --organiser-key; serve carries it to the screens. "
                            "MicroPython: the board refuses feeds issued before the newest change in it")
    grant.add_argument("--organiser-key", metavar="PATH", default="organiser.key",
                       help="with --store: the organiser key that signs it (default organiser.key)")


def _add_system_arguments(p):
    """The screen's network, name, time and root file system."""
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


def _add_install_arguments(p):
    """What software goes onto the screen: the offline bundle (Pi), the compiled core (MicroPython)."""
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


def run(args, out=None, err=None):
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    board = boardsmod.load_board(args.board)
    parts = _config_parts(args)
    if getattr(args, "store", None):
        check_venues_in_program(args.store, parts["festival_id"], parts["group"])
    if board["platform"] == "raspberry-pi-os":
        pub = _run_pi(args, board, parts, out, err)
    else:
        pub = _run_micropython(args, board, parts, out, err)
    if not parts["peers"]:
        err.write("warning: no --peer given; the screen will only show what peers push to it\n")
    out.write("device public key: %s\n" % pub)
    return 0


def _config_parts(args):
    """The checked options every screen's config is built from (both platforms)."""
    parts = {
        "festival_id": check_festival_id(args.festival_id),
        "peers": check_peers(getattr(args, "peer", None)),
        "organisers": check_organisers(getattr(args, "organiser", None)),
        "listen_port": getattr(args, "listen_port", None) or 2026,
        "hostname": check_hostname(getattr(args, "hostname", None)),
        "ntp": check_ntp(getattr(args, "ntp", None)),
        "group": {"trust_anyone": bool(getattr(args, "trust_anyone", False)),
                  "festival_mode": getattr(args, "festival_mode", None) or "curated",
                  "venues": getattr(args, "venue", None) or None,
                  "home_venue": getattr(args, "home_venue", None), "language": getattr(args, "language", None)},
    }
    if not 0 < parts["listen_port"] < 65536:
        raise UserError("--listen-port must be between 1 and 65535")
    language = parts["group"]["language"]
    if language:
        from pandascreen.node import i18n
        if not i18n.spoken(language):
            raise UserError(i18n.not_spoken(language))
    venues, home = parts["group"]["venues"], parts["group"]["home_venue"]
    if home and venues and home not in venues:  # the screen could never show it, so never go home
        raise UserError("--home-venue %s is not one of this screen's --venue ids (%s)" % (home, ", ".join(venues)))
    return parts


def check_venues_in_program(store_path, festival_id, group):
    """Refuse a --venue or --home-venue the festival's program in the organiser's store does not
    have: a typo would leave the screen on a venue it can never show.  A store that holds no
    program of this festival yet cannot say; the grant then names the festival id."""
    from pandascreen.core import operation
    from pandascreen.core.schedule import Schedule
    from pandascreen.node.sqlite_store import SqliteStore
    if not os.path.isfile(store_path):
        return
    store = SqliteStore(store_path)
    try:
        have = [v.id for v in Schedule.from_store(store, operation.log_id_for_festival(festival_id)).venues()]
    finally:
        store.close()
    if not have:
        return
    home = [group["home_venue"]] if group["home_venue"] else []
    for flag, wanted in (("--venue", group["venues"] or []), ("--home-venue", home)):
        for vid in wanted:
            if vid not in have:
                raise UserError("%s %s is not a venue of festival %s in %s (it has: %s)"
                                % (flag, vid, festival_id, store_path, ", ".join(sorted(have))))


def _run_pi(args, board, parts, out, err):
    """A Raspberry Pi OS card: refuse the MicroPython options, write the card, grant the key (--store)."""
    if getattr(args, "feed_peer", None):
        raise UserError("--feed-peer is for MicroPython satellites; %s syncs the full logs from --peer"
                        % board["name"])
    if getattr(args, "port", None):
        raise UserError("--port is for MicroPython boards; %s runs Raspberry Pi OS, use --boot" % board["name"])
    check_boot_partition(getattr(args, "boot", None))
    root = getattr(args, "root", None)
    if root and not os.path.isdir(os.path.join(root, "etc")):
        raise UserError("--root %s has no etc/: is it the mounted rootfs partition?" % root)
    check_group(parts["organisers"], parts["group"]["trust_anyone"], err)
    grant_store = getattr(args, "store", None)
    if grant_store and not os.path.exists(getattr(args, "organiser_key", None) or "organiser.key"):
        raise UserError("--store needs the organiser key that manages the festival group: --organiser-key PATH")
    if grant_store:
        from pandascreen_host import group_cmd
        group_cmd.check_grant(grant_store, getattr(args, "organiser_key", None) or "organiser.key",
                              parts["festival_id"], getattr(args, "organiser", None) or [],
                              parts["group"]["festival_mode"])
    parts["wifi"] = gather_wifi(args, board)
    pub, _choice = provision_pi(args, board, parts, out)
    if grant_store:
        from pandascreen_host import group_cmd
        group_cmd.grant_screen(grant_store, getattr(args, "organiser_key", None) or "organiser.key",
                               parts["festival_id"], pub, getattr(args, "organiser", None) or [],
                               parts["group"]["festival_mode"], out)
    return pub


def _run_micropython(args, board, parts, out, err):
    """A MicroPython board: refuse the Raspberry Pi OS options, then flash and configure it."""
    if parts["hostname"]:
        raise UserError("--hostname is only used for Raspberry Pi OS boards")
    if getattr(args, "bundle", False):
        raise UserError("--bundle is for Raspberry Pi OS boards; %s runs MicroPython (use flash)" % board["name"])
    if getattr(args, "root", None) or getattr(args, "read_only_root", False):
        raise UserError("--root/--read-only-root are for Raspberry Pi OS boards; "
                        "%s runs MicroPython" % board["name"])
    if not getattr(args, "port", None):
        raise UserError("provisioning a MicroPython board needs --port, e.g. /dev/ttyACM0 "
                        "(`mpremote connect list` shows the ports)")
    if getattr(args, "boot", None):
        raise UserError("--boot is for Raspberry Pi OS boards; %s runs MicroPython, use --port"
                        % board["name"])
    check_group(parts["organisers"], parts["group"]["trust_anyone"], err)
    parts["feed_peers"] = feed_peers(getattr(args, "feed_peer", None), parts["peers"])
    if not parts["feed_peers"]:
        err.write("warning: no --feed-peer or --peer given; the board has no feed server to ask\n")
    parts["wifi"] = gather_wifi(args, board)
    pub, _choice = provision_micropython(args, board, parts, out, err)
    return pub
