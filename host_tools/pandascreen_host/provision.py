"""``pandascreen-host provision``: give a screen its identity and configuration.

Raspberry Pi OS (``--boot /media/$USER/bootfs``, the SD card's FAT boot partition)::

    bootfs/pandascreen/config.json                  device config (pandascreen.core.config format)
    bootfs/pandascreen/device.key                   32-byte Ed25519 seed (secret)
    bootfs/pandascreen/pandascreen-wifi.nmconnection NetworkManager keyfile (WPA-PSK, mode 600)
    bootfs/pandascreen/README.txt                   what these files are
    bootfs/custom.toml                              only on a never-booted image: Wi-Fi for first boot
    bootfs/config.txt                               board's dtparam lines appended (I2C / SPI)

How Wi-Fi reaches the Pi: Bookworm no longer reads ``wpa_supplicant.conf`` from the boot
partition. A fresh image's cmdline.txt starts ``init=/usr/lib/raspberrypi-sys-mods/firstboot``,
which applies ``custom.toml`` once (its ``[wlan]`` section becomes
``/etc/NetworkManager/system-connections/preconfigured.nmconnection``) and deletes it. We write
the derived WPA PSK there (``password_encrypted = true``), never the passphrase. (Wi-Fi set in
Raspberry Pi Imager arrives later via firstrun.sh and wins.) On a card that has booted before
custom.toml would be ignored, so we skip it and the Wi-Fi profile travels as
``pandascreen/pandascreen-wifi.nmconnection``, to be installed into
``/etc/NetworkManager/system-connections/`` (root, mode 600) on the Pi -- by hand (see the
README.txt written next to it) or by the pandascreen service.

MicroPython boards (``--port /dev/ttyACM0``): flashes the core (see flash.py), then writes
``/device.key`` and ``/config.json`` (including the Wi-Fi passphrase, which the board needs for
``network.WLAN.connect``) over mpremote.

The device's private key is generated here (os.urandom), written with mode 0600 from the first
byte (O_EXCL temp file + rename) and never printed; only the public key is shown. (The boot
partition is FAT: on the Pi its files are readable by every user until moved.) An existing
device key is never replaced without ``--force`` (and then kept as ``device.key.replaced-TIME``).
Re-provisioning a card keeps the screen's identity: the key on the card, or, once the Pi's first
boot has moved it off the card, the ``device_public_key`` its config.json names (no key is written
then); a new identity takes ``--new-key --force``.
"""

import argparse
import json
import os
import re
import sys
import time

from pandascreen_host import boards as boardsmod
from pandascreen_host import wifi as wifimod
from pandascreen_host.errors import UserError
from pandascreen_host.fsutil import atomic_write, is_private, load_seed, read_small, write_secret

CONFIG_DIR = "pandascreen"
CONFIG_NAME = "config.json"
KEY_NAME = "device.key"
NM_NAME = "pandascreen-wifi.nmconnection"
FIRSTBOOT_MARK = "init=/usr/lib/raspberrypi-sys-mods/firstboot"
MP_CONFIG = "/config.json"
MP_KEY = "/device.key"
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

README = """pandascreen files (written by `pandascreen-host provision`)

config.json                    what this screen shows and which peers it syncs with
device.key                     the screen's private Ed25519 key -- keep it secret
pandascreen-wifi.nmconnection  Wi-Fi for NetworkManager (only needed if custom.toml was not used)

The boot partition is FAT, so on the Pi every user can read these files. On the Pi, move the
key and the Wi-Fi profile somewhere private (the pandascreen service is meant to do this):
  sudo install -m 600 pandascreen-wifi.nmconnection /etc/NetworkManager/system-connections/
  sudo nmcli connection reload
"""


def add_parser(sub):
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
    return p


def _crypto():
    try:
        from pandascreen.core import crypto
    except ImportError:
        raise UserError("the pandascreen package is not importable; install pandascreen (pip install -e .)")
    return crypto


def _hex(b):
    return bytes(b).hex()


def public_key_hex(seed):
    return _hex(_crypto().public_key(seed))


def new_seed():
    return os.urandom(32)


def _stamp():
    return time.strftime("%Y%m%d-%H%M%S")


def backup_secret(path):
    """Keep a copy of an existing key before it is replaced (mode 0600)."""
    data = read_small(path, 4096, "device key")
    backup = "%s.replaced-%s" % (path, _stamp())
    write_secret(backup, data, overwrite=False, what="key backup")
    return backup


# -- argument checks ------------------------------------------------------------------------------
def check_festival_id(fid):
    if not isinstance(fid, str) or not fid.strip():
        raise UserError("--festival-id must not be empty")
    if fid != fid.strip() or any(ord(c) < 32 for c in fid) or len(fid) > 128:
        raise UserError("--festival-id must be one line of at most 128 characters without surrounding spaces")
    return fid


def check_peers(peers, flag="--peer"):
    out = []
    for p in peers or []:
        try:
            from pandascreen.core.config import ConfigError, parse_peer
        except ImportError:
            raise UserError("the pandascreen package is not importable; install pandascreen")
        try:
            host, port = parse_peer(p)
        except ConfigError as e:
            raise UserError("%s: %s" % (flag, e))
        if any(c.isspace() for c in host):
            raise UserError("%s %r: the host name contains spaces" % (flag, p))
        out.append(p)
    return out


def feed_peers(feed_peer_args, peers):
    """A MicroPython satellite's feed servers ("host:port"): the checked ``--feed-peer`` values,
    else the ``--peer`` hosts on the port full peers serve the feed on (core/feed.FEED_PORT)."""
    if feed_peer_args:
        return check_peers(feed_peer_args, "--feed-peer")
    from pandascreen.core.config import parse_peer
    from pandascreen.core.feed import FEED_PORT
    out = []
    for p in peers:
        host = parse_peer(p)[0]
        addr = ("[%s]:%d" if ":" in host else "%s:%d") % (host, FEED_PORT)
        if addr not in out:
            out.append(addr)
    return out


def check_organisers(keys):
    out = []
    for k in keys or []:
        k = k.strip().lower()
        if not re.match(r"^[0-9a-f]{64}$", k):
            raise UserError("--organiser %r must be an Ed25519 public key: 64 hex characters" % k[:80])
        out.append(k)
    return out


def check_hostname(name):
    if name is None:
        return None
    if not _HOSTNAME.match(name):
        raise UserError("--hostname %r must be 1-63 lowercase letters, digits or dashes (not at the ends)" % name)
    return name


def check_group(organisers, trust_anyone, err):
    """Provisioning names the festival group (core/auth.py); trusting anyone is a loud demo."""
    if organisers and trust_anyone:
        raise UserError("--organiser and --trust-anyone contradict each other: choose one")
    if not organisers and not trust_anyone:
        raise UserError("name the festival group: --organiser PUBKEY (the organiser key `pandascreen-host "
                        "import` prints; repeat for several), or --trust-anyone for a demo")
    if trust_anyone:
        err.write("WARNING: --trust-anyone: this screen has no festival group. Anyone on its network can "
                  "add, retitle or delete what it shows. Use it for a demo only.\n")


def build_config(board, festival_id, peers, organisers, public_key, listen_port=2026, wifi=None, group=None):
    """The device's config.json content as a dict (format of ``pandascreen.core.config``).

    ``group``: ``{"trust_anyone": bool, "festival_mode": str, "venues": [ids] or None}``."""
    group = group or {}
    cfg = {
        "festival_id": festival_id,
        "organisers": list(organisers),
        "trust_anyone": bool(group.get("trust_anyone")),
        "festival_mode": group.get("festival_mode") or "curated",
        "venues": group.get("venues"),
        "peers": list(peers),
        "listen_port": listen_port,
        "display": board["screen"]["kind"],
        "screen": boardsmod.screen_config(board),
        "buttons": boardsmod.button_config(board),
        "key": KEY_NAME,
        "board": board["name"],
        "platform": board["platform"],
        "device_public_key": public_key,
    }
    if wifi:
        cfg["wifi"] = {"ssid": wifi["ssid"], "country": wifi["country"]}
    for key in ("home_venue", "language"):  # what this entrance shows first, and in which language
        if group.get(key):
            cfg[key] = group[key]
    try:
        from pandascreen.core import config as configmod
    except ImportError:
        return cfg
    try:
        configmod.validate(json.loads(json.dumps(cfg)))
    except configmod.ConfigError as e:
        raise UserError("the config would be rejected by the device: %s" % e)
    return cfg


def gather_wifi(args, board):
    """{"ssid", "country", "hidden", "passphrase", "psk"} or None. Reads the passphrase."""
    ssid = getattr(args, "wifi_ssid", None)
    if not ssid:
        for flag, attr in (("--wifi-psk-file", "wifi_psk_file"), ("--wifi-country", "wifi_country"),
                           ("--wifi-open", "wifi_open"), ("--wifi-hidden", "wifi_hidden")):
            if getattr(args, attr, None):
                raise UserError("%s needs --wifi-ssid" % flag)
        return None
    ssid = wifimod.check_ssid(ssid)
    country = getattr(args, "wifi_country", None)
    if board["platform"] == "raspberry-pi-os" or country:
        country = wifimod.check_country(country)
    passphrase = wifimod.read_passphrase(getattr(args, "wifi_psk_file", None),
                                         open_network=getattr(args, "wifi_open", False))
    psk = wifimod.wpa_psk(ssid, passphrase) if passphrase else None
    return {"ssid": ssid, "country": country, "hidden": bool(getattr(args, "wifi_hidden", False)),
            "passphrase": passphrase, "psk": psk}


# -- keys -------------------------------------------------------------------------------------
class KeyChoice:
    """Which seed to use and what to do with the host-side key file."""

    def __init__(self, seed, source, host_path=None, write_host=False, backup_host=False):
        self.seed = seed
        self.source = source
        self.host_path = host_path
        self.write_host = write_host
        self.backup_host = backup_host


def choose_key(key_path, new_key, force, existing_target_seed):
    """Decide the device seed. Nothing is written here.

    * ``--key PATH`` that exists: use it (``--new-key`` replaces it, only with ``--force``);
    * ``--key PATH`` that does not exist, or ``--new-key``: generate one;
    * no ``--key``: keep the key already on the target, else generate one (kept only on the target).
    """
    if key_path:
        if os.path.isdir(key_path):
            raise UserError("--key %s is a folder; give a file name such as stage-a.key" % key_path)
        if os.path.exists(key_path):
            if new_key:
                if not force:
                    raise UserError("device key %s already exists; pass --force with --new-key to replace it "
                                    "(the old key is kept as %s.replaced-TIME)" % (key_path, key_path))
                return KeyChoice(new_seed(), "new", key_path, write_host=True, backup_host=True)
            if not is_private(key_path):
                sys.stderr.write("warning: device key %s is readable by other users; run: chmod 600 %s\n"
                                 % (key_path, key_path))
            return KeyChoice(load_seed(key_path), "file", key_path)
        parent = os.path.dirname(os.path.abspath(key_path))
        if not os.path.isdir(parent):
            raise UserError("folder %s for --key does not exist" % parent)
        return KeyChoice(new_seed(), "new", key_path, write_host=True)
    if existing_target_seed is not None and not new_key:
        return KeyChoice(existing_target_seed, "target")
    return KeyChoice(new_seed(), "new")


def card_public_key(cfg_path):
    """The ``device_public_key`` a previous provisioning wrote into the card's config.json, or None.

    The Pi's first boot moves device.key off the card (node/install.py) and leaves the config:
    this public key is then all the card still knows of the screen's identity."""
    if not os.path.isfile(cfg_path):
        return None
    try:
        cfg = json.loads(read_small(cfg_path, 1 << 20, "config").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    pub = cfg.get("device_public_key") if isinstance(cfg, dict) else None
    return pub if isinstance(pub, str) and re.match(r"^[0-9a-f]{64}$", pub) else None


def _keep_pi_identity(choice, card_pub, key_path, new_key, force):
    """A card whose key already moved to the Pi keeps that identity: no key is written (the Pi's
    installer would refuse a different one and the screen would stay dark) unless the caller asks
    for a new identity on purpose. Returns the choice to use; ``seed`` None means "keep the Pi's"."""
    if card_pub is None:
        return choice
    if not key_path and not new_key:
        kept = KeyChoice(None, "pi")
        kept.public_key = card_pub
        return kept
    if public_key_hex(choice.seed) == card_pub or force:
        return choice
    raise UserError("this card's screen has device public key %s (its private key is on the Pi); "
                    "re-provisioning keeps it without --key/--new-key, or pass --new-key --force to give "
                    "the screen a new identity" % card_pub)


def _target_conflict(choice, existing, where, force):
    """Refuse to replace a different key already on the device unless --force."""
    if existing is None or existing == choice.seed:
        return False
    if not force:
        raise UserError(
            "%s already holds a different device key (public key %s); replacing it gives the screen a "
            "new identity. Pass --force to replace it (the old key is kept as a backup next to it)"
            % (where, public_key_hex(existing)))
    return True


def _write_host_key(choice, out):
    if not choice.write_host:
        return
    if choice.backup_host and os.path.exists(choice.host_path):
        backup = backup_secret(choice.host_path)
        out.write("kept the old key as %s\n" % backup)
        write_secret(choice.host_path, choice.seed, overwrite=True, what="device key")
    else:
        write_secret(choice.host_path, choice.seed, overwrite=False, what="device key")
    out.write("wrote device key %s (mode 600)\n" % choice.host_path)


def _keep_wifi(cfg, old_bytes, out):
    """Re-provisioning without --wifi-ssid keeps the Wi-Fi section of the previous config."""
    try:
        old = json.loads(old_bytes.decode("utf-8"))
    except (ValueError, AttributeError):
        return False
    w = old.get("wifi") if isinstance(old, dict) else None
    if isinstance(w, dict) and w.get("ssid"):
        cfg["wifi"] = w
        out.write("kept the Wi-Fi settings for %r (pass --wifi-ssid to change them)\n" % w["ssid"])
        return True
    return False


# -- Raspberry Pi OS boot partition -----------------------------------------------------------
def check_boot_partition(path):
    if not path:
        raise UserError("provisioning a Raspberry Pi needs --boot PATH: the SD card's boot partition, "
                        "e.g. /media/$USER/bootfs")
    if not os.path.isdir(path):
        raise UserError("boot partition %s does not exist or is not a folder (is the SD card mounted?)" % path)
    if not (os.path.isfile(os.path.join(path, "config.txt")) or os.path.isfile(os.path.join(path, "cmdline.txt"))):
        raise UserError("%s does not look like a Raspberry Pi boot partition (no config.txt or cmdline.txt); "
                        "pass the mounted bootfs folder, e.g. /media/$USER/bootfs" % path)
    if not os.access(path, os.W_OK):
        raise UserError("no permission to write to %s" % path)
    return path


def is_fresh_image(boot):
    try:
        with open(os.path.join(boot, "cmdline.txt"), "r", encoding="utf-8", errors="replace") as fh:
            return FIRSTBOOT_MARK in fh.read()
    except OSError:
        return False


def config_txt_update(text, lines):
    """(new text, added lines): append missing ``lines`` under an ``[all]`` section."""
    active = set()
    for ln in text.splitlines():
        s = ln.strip()
        if s and not s.startswith("#"):
            active.add(s)
    missing = [ln for ln in lines if ln.strip() not in active]
    if not missing:
        return text, []
    new = text
    if new and not new.endswith("\n"):
        new += "\n"
    new += "\n[all]\n# added by pandascreen-host provision\n" + "\n".join(missing) + "\n"
    return new, missing


TIMESYNCD_NAME = "timesyncd-pandascreen.conf"
TIMESYNCD_DROPIN = "etc/systemd/timesyncd.conf.d/pandascreen.conf"


def check_ntp(hosts):
    """Host names or IPs for ``--ntp``; UserError for anything that is not one word."""
    out = []
    for h in hosts or ():
        h = h.strip()
        if not h or len(h) > 253 or any(c.isspace() or c in "#;=\"'" for c in h):
            raise UserError("--ntp %r is not a host name or IP address" % h)
        out.append(h)
    return out


def timesyncd_dropin(hosts):
    """A systemd-timesyncd drop-in: the festival's time servers first, and as the only fallback
    (Debian's fallback pool is unreachable on a field without internet, so listing it only hides
    that no time is coming)."""
    return ("# written by pandascreen-host provision --ntp\n[Time]\nNTP=%s\nFallbackNTP=%s\n"
            % (" ".join(hosts), " ".join(hosts))).encode("ascii")


def write_ntp(hosts, boot, root, out):
    """Put the drop-in on the boot partition (pandascreen/, for the installer or by hand) and,
    with ``--root``, straight into the root partition's /etc/systemd/timesyncd.conf.d/."""
    if not hosts:
        return
    data = timesyncd_dropin(hosts)
    path = os.path.join(boot, CONFIG_DIR, TIMESYNCD_NAME)
    atomic_write(path, data)
    out.write("wrote %s (time from %s)\n" % (path, ", ".join(hosts)))
    if root:
        target = os.path.join(root, TIMESYNCD_DROPIN)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        atomic_write(target, data)
        out.write("wrote %s\n" % target)


DATA_LABEL = "pandadata"
DATA_MOUNT = "/var/lib/pandascreen"
# recurse=0: only / gets the tmpfs overlay; the data partition below stays writable
OVERLAYROOT = "overlayroot=tmpfs:recurse=0"


def write_read_only_root(boot, root, out):
    """``--read-only-root``: Raspberry Pi OS's overlay root file system, as ``raspi-config nonint
    do_overlayfs 0`` sets it on Bookworm (the ``overlayroot`` package's initramfs hook, switched on
    by ``overlayroot=tmpfs`` in cmdline.txt), so pulling the plug never corrupts the system:
    every write to / goes to RAM.  The store, the device key and the last known time live in
    /var/lib/pandascreen, which fstab mounts from the ext4 partition labelled ``pandadata``
    (``recurse=0`` keeps it writable; the store's own durability, synchronous=FULL, is unchanged).

    The parameter does nothing until the overlayroot package's initramfs hook is installed, so a
    fresh image's first boot (Wi-Fi, host name, the pandascreen install) still lands on the card.
    WHY idempotent text edits: provisioning the same card twice must not stack parameters.
    Needs on the Pi: the ``overlayroot`` package (raspi-config installs it, or the offline bundle)
    and a partition labelled pandadata (``sudo mkfs.ext4 -L pandadata /dev/mmcblk0p3``).
    """
    cmdline = os.path.join(boot, "cmdline.txt")
    with open(cmdline, "r", encoding="utf-8") as fh:
        words = fh.read().split()
    words = [w for w in words if not w.startswith("overlayroot=")]
    atomic_write(cmdline, (" ".join([OVERLAYROOT] + words) + "\n").encode("utf-8"))
    out.write("wrote %s (%s: the root file system is read-only, writes go to RAM)\n" % (cmdline, OVERLAYROOT))
    if not root:
        out.write("note: without --root, add to /etc/fstab on the Pi:\n  LABEL=%s %s ext4 defaults,noatime,nofail 0 2\n"
                  % (DATA_LABEL, DATA_MOUNT))
        return
    fstab = os.path.join(root, "etc", "fstab")
    try:
        with open(fstab, "r", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        lines = []
    lines = [ln for ln in lines if not (ln.split()[1:2] == [DATA_MOUNT])]
    lines.append("LABEL=%s %s ext4 defaults,noatime,nofail 0 2" % (DATA_LABEL, DATA_MOUNT))
    atomic_write(fstab, ("\n".join(lines) + "\n").encode("utf-8"))
    os.makedirs(os.path.join(root, DATA_MOUNT.lstrip("/")), exist_ok=True)
    out.write("wrote %s (store partition LABEL=%s on %s)\n" % (fstab, DATA_LABEL, DATA_MOUNT))


def provision_pi(args, board, cfg_parts, out):
    boot = check_boot_partition(getattr(args, "boot", None))
    force = bool(getattr(args, "force", False))
    folder = os.path.join(boot, CONFIG_DIR)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UserError("%s exists but is not a folder" % folder)
    key_target = os.path.join(folder, KEY_NAME)
    existing = load_seed(key_target) if os.path.exists(key_target) else None
    choice = choose_key(getattr(args, "key", None), getattr(args, "new_key", False), force, existing)
    replace_target = _target_conflict(choice, existing, key_target, force)
    if existing is None:
        choice = _keep_pi_identity(choice, card_public_key(os.path.join(folder, CONFIG_NAME)),
                                   getattr(args, "key", None), getattr(args, "new_key", False), force)
    wifi = cfg_parts["wifi"]
    fresh = is_fresh_image(boot)
    custom_path = os.path.join(boot, "custom.toml")
    write_custom = bool(fresh and (wifi or cfg_parts.get("hostname")))
    if write_custom and os.path.exists(custom_path):
        try:
            with open(custom_path, "r", encoding="utf-8", errors="replace") as fh:
                ours = fh.read().startswith(wifimod.CUSTOM_TOML_MARK)
        except OSError:
            ours = False
        if not ours and not force:
            raise UserError("%s already exists and was not written by pandascreen-host; pass --force to "
                            "replace it (it is kept as custom.toml.replaced-TIME)" % custom_path)
    pub = choice.public_key if choice.seed is None else public_key_hex(choice.seed)
    cfg = build_config(board, cfg_parts["festival_id"], cfg_parts["peers"], cfg_parts["organisers"], pub,
                       cfg_parts["listen_port"], wifi, cfg_parts["group"])

    # -- everything checked; now write -----------------------------------------------------------
    _write_host_key(choice, out)
    os.makedirs(folder, exist_ok=True)
    if replace_target:
        out.write("kept the old device key as %s\n" % backup_secret(key_target))
    if choice.seed is None:
        out.write("kept the screen's identity: its device key is on the Pi, none written to the card\n")
    elif existing != choice.seed:
        write_secret(key_target, choice.seed, overwrite=replace_target, what="device key")
        out.write("wrote %s\n" % key_target)
    else:
        out.write("kept %s (same key)\n" % key_target)
    cfg_path = os.path.join(folder, CONFIG_NAME)
    old = read_small(cfg_path, 1 << 20, "config") if os.path.exists(cfg_path) else None
    if not wifi and old is not None:
        _keep_wifi(cfg, old, out)
    data = (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode("utf-8")
    if old is not None:
        if old != data:
            atomic_write(cfg_path + ".bak", old)
    atomic_write(cfg_path, data)
    out.write("wrote %s\n" % cfg_path)
    atomic_write(os.path.join(folder, "README.txt"), README)
    nm_path = os.path.join(folder, NM_NAME)
    if wifi:
        write_secret(nm_path, wifimod.nmconnection(wifi["ssid"], wifi["psk"], wifi["hidden"]),
                     overwrite=True, what="Wi-Fi connection")
        out.write("wrote %s (Wi-Fi %r, mode 600)\n" % (nm_path, wifi["ssid"]))
    if write_custom:
        if os.path.exists(custom_path):
            with open(custom_path, "rb") as fh:
                old = fh.read()
            if not old.startswith(wifimod.CUSTOM_TOML_MARK.encode()):
                write_secret(custom_path + ".replaced-" + _stamp(), old, what="custom.toml backup")
        text = wifimod.custom_toml(wifi["ssid"] if wifi else None, wifi["psk"] if wifi else None,
                                   wifi["country"] if wifi else None, wifi["hidden"] if wifi else False,
                                   cfg_parts.get("hostname"))
        write_secret(custom_path, text, overwrite=True, what="custom.toml")
        out.write("wrote %s (applied on the first boot)\n" % custom_path)
    elif wifi or cfg_parts.get("hostname"):
        out.write("note: this card has booted before, so the first-boot custom.toml would be ignored; "
                  "on the Pi, install %s into "
                  "/etc/NetworkManager/system-connections/ (mode 600) -- see pandascreen/README.txt\n"
                  % NM_NAME)
    lines = board.get("raspberry_pi", {}).get("config_txt", [])
    cfg_txt = os.path.join(boot, "config.txt")
    if lines and os.path.isfile(cfg_txt):
        with open(cfg_txt, "r", encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
        new, added = config_txt_update(text, lines)
        if added:
            backup = cfg_txt + ".pandascreen.bak"
            if not os.path.exists(backup):
                atomic_write(backup, text.encode("utf-8", "surrogateescape"))
            atomic_write(cfg_txt, new.encode("utf-8", "surrogateescape"))
            out.write("enabled in config.txt: %s\n" % ", ".join(added))
    write_ntp(cfg_parts.get("ntp"), boot, getattr(args, "root", None), out)
    if getattr(args, "read_only_root", False):
        write_read_only_root(boot, getattr(args, "root", None), out)
    if getattr(args, "bundle", False):  # offline install: wheels for first boot (bundle.py)
        from pandascreen_host import bundle as bundlemod
        bundlemod.make_bundle(folder, board, getattr(args, "os", None), getattr(args, "bundle_cache", None),
                              getattr(args, "bundle_wheel", None), out=out)
    return pub, choice


# -- MicroPython boards ---------------------------------------------------------------------
def provision_micropython(args, board, cfg_parts, out, err):
    port = getattr(args, "port", None)
    if not port:
        raise UserError("provisioning a MicroPython board needs --port, e.g. /dev/ttyACM0 "
                        "(`mpremote connect list` shows the ports)")
    if getattr(args, "boot", None):
        raise UserError("--boot is for Raspberry Pi OS boards; %s runs MicroPython, use --port" % board["name"])
    force = bool(getattr(args, "force", False))
    from pandascreen_host.device import MicroPythonDevice
    from pandascreen_host import flash as flashmod
    wifi = cfg_parts["wifi"]
    with MicroPythonDevice(port) as dev:
        existing = dev.read(MP_KEY) if dev.exists(MP_KEY) else None
        broken = existing is not None and len(existing) != 32
        if broken and not force:
            raise UserError("%s on the board is not a 32-byte key; pass --force to replace it" % MP_KEY)
        choice = choose_key(getattr(args, "key", None), getattr(args, "new_key", False), force,
                            None if broken else existing)
        replace_target = broken or _target_conflict(choice, existing, "the board's %s" % MP_KEY, force)
        pub = public_key_hex(choice.seed)
        cfg = build_config(board, cfg_parts["festival_id"], cfg_parts["peers"], cfg_parts["organisers"],
                           pub, cfg_parts["listen_port"], wifi, cfg_parts["group"])
        if not getattr(args, "no_flash", False):
            flashmod.flash(port=port, build_dir=getattr(args, "build_dir", None) or flashmod.DEFAULT_BUILD_DIR,
                           mpy_cross=getattr(args, "mpy_cross", None), stream=err, out=out, device=dev)
        _write_host_key(choice, out)
        if replace_target and existing is not None:
            backup = "%s.replaced-%s" % (MP_KEY, _stamp())
            dev.put_bytes(existing, backup, skip_same=False)
            out.write("kept the old device key on the board as %s\n" % backup)
        if existing != choice.seed:
            dev.put_bytes(choice.seed, MP_KEY, skip_same=False)
            out.write("wrote %s on the board\n" % MP_KEY)
        else:
            out.write("kept %s on the board (same key)\n" % MP_KEY)
        cfg["feed_peers"] = cfg_parts["feed_peers"]  # board/main.py: the servers it asks for the signed feed
        if cfg_parts.get("ntp"):  # board/main.py asks these first, then the feed servers, then pool.ntp.org
            cfg["ntp"] = cfg_parts["ntp"]
            out.write("the board takes its time from %s\n" % ", ".join(cfg_parts["ntp"]))
        if wifi:
            # firmware/pandascreen/board/main.py passes cfg["wifi"]["psk"] to network.WLAN.connect();
            # the board's own flash is the only place it is stored.
            cfg["wifi"] = {"ssid": wifi["ssid"], "country": wifi["country"], "hidden": wifi["hidden"],
                           "psk": wifi["passphrase"] or ""}
        elif dev.exists(MP_CONFIG):
            _keep_wifi(cfg, dev.read(MP_CONFIG), out)
        dev.put_bytes((json.dumps(cfg, indent=1, sort_keys=True) + "\n").encode("utf-8"), MP_CONFIG)
        out.write("wrote %s on the board%s\n" % (MP_CONFIG, (" (Wi-Fi %r)" % wifi["ssid"]) if wifi else ""))
    return pub, choice


def run(args, out=None, err=None):
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    board = boardsmod.load_board(args.board)
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
    if board["platform"] == "raspberry-pi-os":
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
        parts["wifi"] = gather_wifi(args, board)
        pub, choice = provision_pi(args, board, parts, out)
        if grant_store:
            from pandascreen_host import group_cmd
            group_cmd.grant_screen(grant_store, getattr(args, "organiser_key", None) or "organiser.key",
                                   parts["festival_id"], pub, getattr(args, "organiser", None) or [],
                                   parts["group"]["festival_mode"], out)
    else:
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
        if getattr(args, "store", None):
            raise UserError("--store grants a Pi screen's key; %s is a satellite and signs nothing" % board["name"])
        check_group(parts["organisers"], parts["group"]["trust_anyone"], err)
        parts["feed_peers"] = feed_peers(getattr(args, "feed_peer", None), parts["peers"])
        if not parts["feed_peers"]:
            err.write("warning: no --feed-peer or --peer given; the board has no feed server to ask\n")
        parts["wifi"] = gather_wifi(args, board)
        pub, choice = provision_micropython(args, board, parts, out, err)
    if not parts["peers"]:
        err.write("warning: no --peer given; the screen will only show what peers push to it\n")
    out.write("device public key: %s\n" % pub)
    return 0
