"""``provision`` for Raspberry Pi OS: the files on the SD card's boot (and root) partition.

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

Re-provisioning a card keeps the screen's identity: the key on the card, or, once the Pi's first
boot has moved it off the card, the ``device_public_key`` its config.json names (no key is written
then); a new identity takes ``--new-key --force``.  (The boot partition is FAT: on the Pi its files
are readable by every user until moved.)
"""

import json
import os
import re

from pandascreen_host import wifi as wifimod
from pandascreen_host.errors import UserError
from pandascreen_host.fsutil import atomic_write, load_seed, read_small, write_secret
from pandascreen_host.provision_config import KEY_NAME, build_config, keep_wifi
from pandascreen_host.provision_keys import (KeyChoice, backup_secret, choose_key, public_key_hex, stamp,
                                             target_conflict, write_host_key)

CONFIG_DIR = "pandascreen"
CONFIG_NAME = "config.json"
NM_NAME = "pandascreen-wifi.nmconnection"
FIRSTBOOT_MARK = "init=/usr/lib/raspberrypi-sys-mods/firstboot"

README = """pandascreen files (written by `pandascreen-host provision`)

config.json                    what this screen shows and which peers it syncs with
device.key                     the screen's private Ed25519 key -- keep it secret
pandascreen-wifi.nmconnection  Wi-Fi for NetworkManager (only needed if custom.toml was not used)

The boot partition is FAT, so on the Pi every user can read these files. On the Pi, move the
key and the Wi-Fi profile somewhere private (the pandascreen service is meant to do this):
  sudo install -m 600 pandascreen-wifi.nmconnection /etc/NetworkManager/system-connections/
  sudo nmcli connection reload
"""


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


def keep_pi_identity(choice, card_pub, key_path, new_key, force):
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


def provision_pi(args, board, cfg_parts, out):
    """Check everything (key, custom.toml, config), then write the card; returns (public key hex, KeyChoice)."""
    boot = check_boot_partition(getattr(args, "boot", None))
    force = bool(getattr(args, "force", False))
    folder = os.path.join(boot, CONFIG_DIR)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UserError("%s exists but is not a folder" % folder)
    key_target = os.path.join(folder, KEY_NAME)
    existing = load_seed(key_target, private=False) if os.path.exists(key_target) else None  # FAT: no modes
    choice = choose_key(getattr(args, "key", None), getattr(args, "new_key", False), force, existing)
    replace_target = target_conflict(choice, existing, key_target, force)
    if existing is None:
        choice = keep_pi_identity(choice, card_public_key(os.path.join(folder, CONFIG_NAME)),
                                  getattr(args, "key", None), getattr(args, "new_key", False), force)
    wifi = cfg_parts["wifi"]
    custom_path = os.path.join(boot, "custom.toml")
    write_custom = bool(is_fresh_image(boot) and (wifi or cfg_parts.get("hostname")))
    if write_custom:
        _check_custom_toml(custom_path, force)
    pub = choice.public_key if choice.seed is None else public_key_hex(choice.seed)
    cfg = build_config(board, cfg_parts["festival_id"], cfg_parts["peers"], cfg_parts["organisers"], pub,
                       cfg_parts["listen_port"], wifi, cfg_parts["group"])

    # -- everything checked; now write -----------------------------------------------------------
    write_host_key(choice, out)
    os.makedirs(folder, exist_ok=True)
    _write_card_key(choice, existing, key_target, replace_target, out)
    _write_card_config(folder, cfg, wifi, out)
    _write_wifi(boot, folder, wifi, cfg_parts.get("hostname"), write_custom, out)
    _enable_interfaces(board, boot, out)
    write_ntp(cfg_parts.get("ntp"), boot, getattr(args, "root", None), out)
    if getattr(args, "read_only_root", False):
        write_read_only_root(boot, getattr(args, "root", None), out)
    if getattr(args, "bundle", False):  # offline install: wheels for first boot (bundle.py)
        from pandascreen_host import bundle as bundlemod
        bundlemod.make_bundle(folder, board, getattr(args, "os", None), getattr(args, "bundle_cache", None),
                              getattr(args, "bundle_wheel", None), out=out)
    return pub, choice


def _check_custom_toml(custom_path, force):
    """A custom.toml someone else wrote is replaced only with --force."""
    if not os.path.exists(custom_path):
        return
    try:
        with open(custom_path, "r", encoding="utf-8", errors="replace") as fh:
            ours = fh.read().startswith(wifimod.CUSTOM_TOML_MARK)
    except OSError:
        ours = False
    if not ours and not force:
        raise UserError("%s already exists and was not written by pandascreen-host; pass --force to "
                        "replace it (it is kept as custom.toml.replaced-TIME)" % custom_path)


def _write_card_key(choice, existing, key_target, replace_target, out):
    if replace_target:
        out.write("kept the old device key as %s\n" % backup_secret(key_target))
    if choice.seed is None:
        out.write("kept the screen's identity: its device key is on the Pi, none written to the card\n")
    elif existing != choice.seed:
        write_secret(key_target, choice.seed, overwrite=replace_target, what="device key")
        out.write("wrote %s\n" % key_target)
    else:
        out.write("kept %s (same key)\n" % key_target)


def _write_card_config(folder, cfg, wifi, out):
    """config.json (the previous one kept as .bak when it changes) and the README beside it."""
    cfg_path = os.path.join(folder, CONFIG_NAME)
    old = read_small(cfg_path, 1 << 20, "config") if os.path.exists(cfg_path) else None
    if not wifi and old is not None:
        keep_wifi(cfg, old, out)
    data = (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode("utf-8")
    if old is not None:
        if old != data:
            atomic_write(cfg_path + ".bak", old)
    atomic_write(cfg_path, data)
    out.write("wrote %s\n" % cfg_path)
    atomic_write(os.path.join(folder, "README.txt"), README)


def _write_wifi(boot, folder, wifi, hostname, write_custom, out):
    """The NetworkManager profile, and on a never-booted image the first-boot custom.toml."""
    nm_path = os.path.join(folder, NM_NAME)
    if wifi:
        write_secret(nm_path, wifimod.nmconnection(wifi["ssid"], wifi["psk"], wifi["hidden"]),
                     overwrite=True, what="Wi-Fi connection")
        out.write("wrote %s (Wi-Fi %r, mode 600)\n" % (nm_path, wifi["ssid"]))
    custom_path = os.path.join(boot, "custom.toml")
    if write_custom:
        if os.path.exists(custom_path):
            with open(custom_path, "rb") as fh:
                old = fh.read()
            if not old.startswith(wifimod.CUSTOM_TOML_MARK.encode()):
                write_secret(custom_path + ".replaced-" + stamp(), old, what="custom.toml backup")
        text = wifimod.custom_toml(wifi["ssid"] if wifi else None, wifi["psk"] if wifi else None,
                                   wifi["country"] if wifi else None, wifi["hidden"] if wifi else False,
                                   hostname)
        write_secret(custom_path, text, overwrite=True, what="custom.toml")
        out.write("wrote %s (applied on the first boot)\n" % custom_path)
    elif wifi or hostname:
        out.write("note: this card has booted before, so the first-boot custom.toml would be ignored; "
                  "on the Pi, install %s into "
                  "/etc/NetworkManager/system-connections/ (mode 600) -- see pandascreen/README.txt\n"
                  % NM_NAME)


def _enable_interfaces(board, boot, out):
    """The board file's config.txt lines (I2C, SPI) that the card does not have yet."""
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
