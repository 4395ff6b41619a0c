"""``provision`` for a MicroPython board, over its serial port.

MicroPython boards (``--port /dev/ttyACM0``): flashes the core (see flash.py), then writes
``/device.key`` and ``/config.json`` (including the Wi-Fi passphrase, which the board needs for
``network.WLAN.connect``) over mpremote.
"""

import json

from pandascreen_host.errors import UserError
from pandascreen_host.provision_config import build_config, keep_wifi
from pandascreen_host.provision_keys import choose_key, public_key_hex, stamp, target_conflict, write_host_key

MP_CONFIG = "/config.json"
MP_KEY = "/device.key"


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
        replace_target = broken or target_conflict(choice, existing, "the board's %s" % MP_KEY, force)
        pub = public_key_hex(choice.seed)
        cfg = build_config(board, cfg_parts["festival_id"], cfg_parts["peers"], cfg_parts["organisers"],
                           pub, cfg_parts["listen_port"], wifi, cfg_parts["group"])
        if not getattr(args, "no_flash", False):
            flashmod.flash(port=port, build_dir=getattr(args, "build_dir", None) or flashmod.DEFAULT_BUILD_DIR,
                           mpy_cross=getattr(args, "mpy_cross", None), stream=err, out=out, device=dev)
        write_host_key(choice, out)
        if replace_target and existing is not None:
            backup = "%s.replaced-%s" % (MP_KEY, stamp())
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
            keep_wifi(cfg, dev.read(MP_CONFIG), out)
        dev.put_bytes((json.dumps(cfg, indent=1, sort_keys=True) + "\n").encode("utf-8"), MP_CONFIG)
        out.write("wrote %s on the board%s\n" % (MP_CONFIG, (" (Wi-Fi %r)" % wifi["ssid"]) if wifi else ""))
    return pub, choice
