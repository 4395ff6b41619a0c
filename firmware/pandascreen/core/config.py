"""Device configuration (written by `pandascreen-host provision`), validated with clear errors.

The festival group (core/auth.py) is named here: ``organisers`` are its Manage members (the
first key is the group's id), ``festival_mode`` is "curated" (an imported program: every Write
member writes anything) or "self-organised" (members invite members, venue stewards),
``venues`` the venue ids this screen follows (null: all).  ``layout`` is "now_next" (one venue,
the buttons flip venues) or "overview" (the whole program at a glance, core/overview.py; the
buttons turn pages).  A config without organisers is refused unless it says ``"trust_anyone": true`` -- a
demo in which anyone on the network can change the screen; never a silent default.

Example::

    {"festival_id": "pandafest-2026",
     "organisers": ["<64 hex chars>"],
     "festival_mode": "curated",
     "venues": null,
     "peers": ["<node id>@10.0.0.2:2025"],
     "listen_port": 2026,
     "display": "ssd1306_128x64",
     "layout": "now_next",
     "screen": {"i2c_port": 1, "address": 60},
     "buttons": {"next": 17, "prev": 27},
     "store": "festival.db", "key": "device.key",
     "sync_interval": 60, "render_interval": 20}
"""

import json

from pandascreen.core.util import unhexlify
from pandascreen.core.errors import ConfigError
from pandascreen.core import screens

# the screen kinds a device may name: the keys of core/screens.py's one table
DISPLAYS = tuple(screens.kinds())
NOW_NEXT = "now_next"
OVERVIEW = "overview"
LAYOUTS = (NOW_NEXT, OVERVIEW)
# configs already on screens name the overview "all_venues": read as OVERVIEW, never written
LAYOUT_ALIASES = {"all_venues": OVERVIEW}

DEFAULTS = {
    "organisers": [],
    "festival_mode": "curated",
    "trust_anyone": False,
    "venues": None,
    "peers": [],
    "listen_port": 2026,
    "display": "ssd1306_128x64",
    "screen": {},
    "buttons": {},
    "store": "festival.db",
    "key": "device.key",
    "sync_interval": 60,
    "render_interval": 20,
}


def parse_peer(text):
    if not isinstance(text, str) or ":" not in text:
        raise ConfigError("peer %r must look like host:port" % (text,))
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    node_id, at, _ = host.rpartition("@")
    if at and not _node_id(node_id):
        raise ConfigError("peer %r: the node id before \"@\" must be 64 hex characters" % (text,))
    try:
        port = int(port)
    except ValueError:
        raise ConfigError("peer %r has a port that is not a number" % (text,))
    if not host or not 0 < port < 65536:
        raise ConfigError("peer %r must look like host:port with a port from 1 to 65535" % (text,))
    return host, port


def _node_id(text):
    try:
        return len(unhexlify(text)) == 32
    except ValueError:
        return False


# the keys whose value has one JSON shape: (type, what to write instead); "key" may be null (device.key)
SHAPES = (("organisers", list, "a list of organiser public keys"),
          ("peers", list, "a list of peers, each host:port or <node id>@host:port"),
          ("buttons", dict, "an object such as {\"next\": 17, \"prev\": 27}"),
          ("screen", dict, "an object such as {\"i2c_port\": 1, \"address\": 60}"),
          ("store", str, "a file name such as \"festival.db\""),
          ("key", (str, type(None)), "a file name such as \"device.key\""))


def _check_shapes(out):
    for key, kind, instead in SHAPES:
        if not isinstance(out[key], kind) or out[key] == "":
            raise ConfigError("%s must be %s, not %s" % (key, instead, json.dumps(out[key])[:40]))


def validate(cfg):
    """``cfg`` with the defaults filled in, checked key by key; raises ConfigError naming the first
    key that is wrong.  Adds ``organiser_keys`` and ``peer_addrs`` (parsed)."""
    if not isinstance(cfg, dict):
        raise ConfigError("config must be a JSON object")
    out = {}
    for k in DEFAULTS:
        v = DEFAULTS[k]
        out[k] = dict(v) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v)
    for k in cfg:
        out[k] = cfg[k]
    fid = out.get("festival_id")
    if not isinstance(fid, str) or not fid:
        raise ConfigError("config needs \"festival_id\" (the festival to follow)")
    _check_shapes(out)
    _check_group(out)
    venues = out["venues"]
    if venues is not None and (not isinstance(venues, list)
                               or not all(isinstance(v, str) and v for v in venues)):
        raise ConfigError("venues must be a list of venue ids (or null for all venues)")
    out["peer_addrs"] = [parse_peer(p) for p in out["peers"]]
    if screens.info(out["display"]) is None:
        raise ConfigError("unknown display %r (known: %s)" % (out["display"], ", ".join(screens.kinds())))
    if out.get("language") is not None and not (isinstance(out["language"], str) and out["language"]):
        raise ConfigError("language must be a language code such as \"de\" or \"en_US\" (or null: the festival's)")
    if out.get("home_venue") is not None and not (isinstance(out["home_venue"], str) and out["home_venue"]):
        raise ConfigError("home_venue must be a venue id (the venue this screen returns to)")
    if "home_after" in out and (not _whole(out["home_after"]) or out["home_after"] < 0):
        raise ConfigError("home_after must be a whole number of seconds >= 0")
    url = out.get("program_page_url")
    if url is not None and not (isinstance(url, str) and (url.startswith("http://") or url.startswith("https://"))):
        raise ConfigError("program_page_url must be the page's address as phones reach it, e.g. "
                          "http://screen-1.local:8027/")
    if isinstance(out.get("layout"), str):
        out["layout"] = LAYOUT_ALIASES.get(out["layout"], out["layout"])
    if out.get("layout", NOW_NEXT) not in LAYOUTS:
        raise ConfigError("unknown layout %r (known: %s)" % (out.get("layout"), ", ".join(LAYOUTS)))
    ntp = out.get("ntp")
    if ntp is not None and (not isinstance(ntp, list) or not all(isinstance(h, str) and h for h in ntp)):
        raise ConfigError("ntp must be a list of time server host names")
    _check_ports(out)
    for name in out["buttons"]:
        pin = out["buttons"][name]
        if name not in ("next", "prev"):
            raise ConfigError("unknown button %r (known: next, prev)" % (name,))
        if not _whole(pin) or pin < 0:
            raise ConfigError("button %s pin must be a GPIO number" % name)
    return out


def _whole(v):
    # an int that is not a bool (JSON true would pass isinstance(v, int))
    return isinstance(v, int) and not isinstance(v, bool)


def _check_group(out):
    """The festival group: organiser keys (parsed into ``organiser_keys``), trust_anyone, mode."""
    keys = []
    for pk in out["organisers"]:
        try:
            raw = unhexlify(pk)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ConfigError("organiser key %r must be 64 hex characters (an Ed25519 public key)" % (pk,))
        keys.append(raw)
    out["organiser_keys"] = keys
    for k in ("trust_anyone", "oled_care"):  # oled_care: node/oled_care.py, on unless false
        if not isinstance(out.get(k, True), bool):
            raise ConfigError("%s must be true or false" % k)
    if not keys and not out["trust_anyone"]:
        raise ConfigError("config names no festival group: add \"organisers\" (the organiser public "
                          "keys), or \"trust_anyone\": true for a demo in which anyone on the "
                          "network can change what the screen shows")
    if out["festival_mode"] not in ("curated", "self-organised"):
        raise ConfigError("festival_mode must be \"curated\" or \"self-organised\", not %r"
                          % (out["festival_mode"],))


def _check_ports(out):
    """Ports and intervals: whole numbers in range, and a Pi's two TCP ports apart."""
    port = out.get("program_page_port", 0)
    if not _whole(port) or not 0 <= port <= 65535:
        raise ConfigError("program_page_port must be a port number (0 turns the phones' program page off)")
    for k in ("listen_port", "sync_interval", "render_interval"):
        v = out[k]
        if not _whole(v) or v < 0:
            raise ConfigError("%s must be a whole number >= 0" % k)
    if out["listen_port"] > 65535:
        raise ConfigError("listen_port must be at most 65535")
    if "feed_port" in out and (not _whole(out["feed_port"]) or not 0 <= out["feed_port"] <= 65535):
        raise ConfigError("feed_port must be a port number from 0 (no feed) to 65535")  # a Pi's feed; 0: none
    if out.get("feed_port") and out["feed_port"] == out["listen_port"]:  # both TCP on a Pi
        raise ConfigError("feed_port and listen_port must differ (both are TCP ports on a Pi screen)")
    # a satellite refuses feeds issued before this (Unix seconds): the newest program the laptop knew
    if "feed_floor" in out and (not _whole(out["feed_floor"]) or out["feed_floor"] < 0):
        raise ConfigError("feed_floor must be a whole number of seconds >= 0 (a feed's issued-at)")


def load(path):
    try:
        fh = open(path)
    except OSError as e:
        raise ConfigError("cannot read config %s: %s" % (path, e))
    try:
        try:
            data = json.load(fh)
        except ValueError as e:
            raise ConfigError("config %s is not valid JSON: %s" % (path, e))
        except RuntimeError:  # nested too deeply (CPython's RecursionError is one, as MicroPython's is)
            raise ConfigError("config %s is nested too deeply to be a config" % path)
    finally:
        fh.close()
    return validate(data)
