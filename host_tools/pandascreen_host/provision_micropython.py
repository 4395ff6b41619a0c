"""``provision`` for a MicroPython board, over its serial port.

MicroPython boards (``--port /dev/ttyACM0``): flashes the core (see flash.py), then writes
``/device.key`` and ``/config.json`` (including the Wi-Fi passphrase, which the board needs for
``network.WLAN.connect``) over mpremote.

With ``--store`` the config carries ``feed_floor``: the newest program the laptop knows
(``feed_floor`` below), below which the board refuses a feed's issued-at from its first boot on
(board/board.py starts its newest accepted issued-at there).
"""

import json
import os
import time

from pandascreen.core import config as configmod
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
    store = getattr(args, "store", None)
    floor = None if not store else feed_floor(store, configmod.validate(dict(
        festival_id=cfg_parts["festival_id"], organisers=cfg_parts["organisers"], **cfg_parts["group"])))
    with MicroPythonDevice(port) as dev:
        existing = dev.read(MP_KEY) if dev.exists(MP_KEY) else None
        old_cfg = dev.read(MP_CONFIG) if dev.exists(MP_CONFIG) else None
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
        elif old_cfg is not None:
            keep_wifi(cfg, old_cfg, out)
        _put_floor(cfg, floor, old_cfg, store, out)
        dev.put_bytes((json.dumps(cfg, indent=1, sort_keys=True) + "\n").encode("utf-8"), MP_CONFIG)
        out.write("wrote %s on the board%s\n" % (MP_CONFIG, (" (Wi-Fi %r)" % wifi["ssid"]) if wifi else ""))
    return pub, choice


def feed_floor(store_path, cfg, now=None):
    """The newest signed timestamp (Unix seconds) that a writer of ``cfg``'s festival group holds in
    the festival log at ``store_path``, never later than ``now`` (the laptop's clock: a writer's
    clock ahead of it must not lock a board out of every current feed); None for an empty log.

    WHY this floor: a feed issued before the newest change the laptop knew cannot show that change,
    so a board provisioned here refuses one (a stranger serving an old, validly signed feed first).
    The writers are the ones the board's feed signers derive the program from (core/auth.py)."""
    from pandascreen.core import auth, operation
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen_host import festivals
    if not os.path.isfile(store_path):
        raise UserError("--store %s: no such festival store (the festival.db that import wrote)" % store_path)
    log_id = operation.log_id_for_festival(cfg["festival_id"])
    store = SqliteStore(store_path)
    try:
        festivals.require(store, cfg["festival_id"], store_path)
        group = auth.guard(store, auth.from_config(cfg), log_id)
        newest = None
        for pk in store.heights(log_id):
            op = store.latest(pk, log_id) if group.may_write(pk) else None
            if op is not None and (newest is None or op.timestamp > newest):
                newest = op.timestamp
    finally:
        store.close()
    if newest is None:
        return None
    return min(newest // 1000000, int(time.time() if now is None else now))


def _put_floor(cfg, floor, old_cfg, store, out):
    """``feed_floor`` into the board's config: the store's, or the one of the board's previous config
    for the same festival when that is later (or no --store was given)."""
    try:
        old = json.loads(old_cfg.decode("utf-8")) if old_cfg is not None else {}
    except (ValueError, AttributeError):
        old = {}
    kept = old.get("feed_floor") if isinstance(old, dict) and old.get("festival_id") == cfg["festival_id"] else None
    if not isinstance(kept, int) or isinstance(kept, bool) or kept < 0:
        kept = None
    if kept is not None and (floor is None or kept > floor):
        cfg["feed_floor"] = kept
        out.write("kept the board's feed floor: it refuses feeds issued before %s\n" % _utc(kept))
    elif floor is not None:
        cfg["feed_floor"] = floor
        out.write("the board refuses feeds issued before %s (the newest change in %s)\n" % (_utc(floor), store))
    else:
        out.write("no feed floor: with no saved feed the board takes the first good feed it is offered "
                  "(--store festival.db gives it the newest program this laptop knows)\n")


def _utc(t):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))
