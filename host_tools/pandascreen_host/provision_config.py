"""What ``provision`` writes into a screen's config.json: each option checked, then the config
that the device's own ``pandascreen.core.config`` would accept."""

import json
import re

from pandascreen.core import config as configmod
from pandascreen.core.config import ConfigError, parse_peer
from pandascreen_host import boards as boardsmod
from pandascreen_host import wifi as wifimod
from pandascreen_host.errors import UserError

KEY_NAME = "device.key"
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


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


def check_ntp(hosts):
    """Host names or IPs for ``--ntp``; UserError for anything that is not one word."""
    out = []
    for h in hosts or ():
        h = h.strip()
        if not h or len(h) > 253 or any(c.isspace() or c in "#;=\"'" for c in h):
            raise UserError("--ntp %r is not a host name or IP address" % h)
        out.append(h)
    return out


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


def keep_wifi(cfg, old_bytes, out):
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
