"""Wi-Fi settings for the screens: passphrase input, WPA-PSK derivation, NetworkManager keyfile,
Raspberry Pi OS ``custom.toml``.

The passphrase is never printed and never accepted as a plain command-line argument (it would
land in shell history and ``ps``). For Raspberry Pi OS we store only the derived 256-bit WPA PSK
(PBKDF2-HMAC-SHA1(passphrase, SSID, 4096), what ``wpa_passphrase`` computes), so the passphrase
itself never touches the SD card. WPA3-only (SAE) networks need the passphrase and are not
supported this way; WPA2 and WPA2/WPA3 transition networks work.
"""

import getpass
import hashlib
import os
import re
import sys
import uuid

from pandascreen_host.errors import UserError

ENV_PSK = "PANDASCREEN_WIFI_PSK"
CONNECTION_ID = "pandascreen-wifi"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def check_ssid(ssid):
    if not isinstance(ssid, str) or not ssid:
        raise UserError("--wifi-ssid must not be empty")
    raw = ssid.encode("utf-8")
    if len(raw) > 32:
        raise UserError("Wi-Fi SSID %r is %d bytes long; SSIDs have at most 32 bytes" % (ssid, len(raw)))
    if any(c in ssid for c in "\x00\r\n"):
        raise UserError("Wi-Fi SSID must not contain line breaks or NUL characters")
    return ssid


def check_country(country):
    c = (country or "").strip().upper()
    if not _COUNTRY.match(c):
        raise UserError("--wifi-country must be a two-letter ISO 3166 code such as DE, GB or US "
                        "(Raspberry Pi OS keeps Wi-Fi switched off until a country is set)")
    return c


def check_passphrase(passphrase):
    """Accept an 8-63 character printable-ASCII passphrase or a 64-hex-digit raw PSK.

    Error messages never contain the passphrase.
    """
    if passphrase is None:
        return None
    if _HEX64.match(passphrase):
        return passphrase
    if not 8 <= len(passphrase) <= 63:
        raise UserError("the Wi-Fi passphrase must be 8 to 63 characters long (WPA2), or 64 hex digits "
                        "(a raw PSK); the one given has %d characters" % len(passphrase))
    if any(not 32 <= ord(c) <= 126 for c in passphrase):
        raise UserError("the Wi-Fi passphrase may only contain printable ASCII characters (WPA2)")
    return passphrase


def wpa_psk(ssid, passphrase):
    """64 lowercase hex digits: the WPA2 pre-shared key for ``ssid`` (raw PSKs pass through)."""
    if _HEX64.match(passphrase):
        return passphrase.lower()
    key = hashlib.pbkdf2_hmac("sha1", passphrase.encode("ascii"), ssid.encode("utf-8"), 4096, 32)
    return key.hex()


def read_passphrase(psk_file=None, open_network=False, environ=None, stdin=None, prompt=None):
    """The passphrase from ``--wifi-psk-file`` (``-`` = stdin), else $PANDASCREEN_WIFI_PSK, else an
    interactive prompt (asked twice). Returns None for ``--wifi-open``."""
    environ = os.environ if environ is None else environ
    stdin = stdin if stdin is not None else sys.stdin
    if open_network:
        if psk_file or environ.get(ENV_PSK):
            raise UserError("--wifi-open means no passphrase, but one was given (--wifi-psk-file or %s)"
                            % ENV_PSK)
        return None
    if psk_file:
        if psk_file == "-":
            text = stdin.readline()
        else:
            try:
                with open(psk_file, "r", encoding="utf-8") as fh:
                    text = fh.read(4096)
            except FileNotFoundError:
                raise UserError("Wi-Fi passphrase file %s does not exist" % psk_file)
            except IsADirectoryError:
                raise UserError("Wi-Fi passphrase file %s is a folder" % psk_file)
            except PermissionError:
                raise UserError("no permission to read the Wi-Fi passphrase file %s" % psk_file)
            except UnicodeDecodeError:
                raise UserError("Wi-Fi passphrase file %s is not UTF-8 text" % psk_file)
            lines = text.split("\n")
            if len([ln for ln in lines if ln.strip()]) > 1:
                raise UserError("Wi-Fi passphrase file %s must hold the passphrase on one line" % psk_file)
            text = lines[0]
        text = text.rstrip("\r\n")
        if not text:
            raise UserError("Wi-Fi passphrase file %s is empty" % psk_file)
        return check_passphrase(text)
    env = environ.get(ENV_PSK)
    if env:
        return check_passphrase(env)
    isatty = getattr(stdin, "isatty", None)
    if not (isatty and isatty()):
        raise UserError("no Wi-Fi passphrase: use --wifi-psk-file FILE, set %s, run in a terminal to be "
                        "asked, or pass --wifi-open for an open network" % ENV_PSK)
    ask = prompt or getpass.getpass
    first = ask("Wi-Fi passphrase: ")
    check_passphrase(first)
    if ask("Repeat Wi-Fi passphrase: ") != first:
        raise UserError("the two Wi-Fi passphrases differ")
    return first


# -- NetworkManager keyfile ---------------------------------------------------------------------
def _keyfile_ssid(ssid):
    """SSID as a keyfile value: plain text when unambiguous, else NM's byte list form "1;2;3;"."""
    plain = (all(32 < ord(c) < 127 or c == " " for c in ssid) and not ssid.startswith(" ")
             and not ssid.endswith(" ") and not ssid.startswith("#") and ";" not in ssid
             and "\\" not in ssid and not ssid.isdigit())
    if plain:
        return ssid
    return "".join("%d;" % b for b in ssid.encode("utf-8"))


def nmconnection(ssid, psk_hex=None, hidden=False, conn_id=CONNECTION_ID, conn_uuid=None):
    """A NetworkManager keyfile (``.nmconnection``) for a WPA2-PSK (or open) network."""
    lines = [
        "# Written by pandascreen-host provision.",
        "[connection]",
        "id=%s" % conn_id,
        "uuid=%s" % (conn_uuid or uuid.uuid4()),
        "type=wifi",
        "autoconnect=true",
        "",
        "[wifi]",
        "mode=infrastructure",
        "ssid=%s" % _keyfile_ssid(ssid),
        "hidden=%s" % ("true" if hidden else "false"),
        "",
    ]
    if psk_hex:
        lines += ["[wifi-security]", "key-mgmt=wpa-psk", "psk=%s" % psk_hex, ""]
    lines += ["[ipv4]", "method=auto", "", "[ipv6]", "addr-gen-mode=default", "method=auto", ""]
    return "\n".join(lines)


# -- Raspberry Pi OS first boot (custom.toml, read by raspberrypi-sys-mods' init_config) ----------
def toml_string(text):
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F:
            out.append("\\u%04X" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


CUSTOM_TOML_MARK = "# Written by pandascreen-host provision"


def custom_toml(ssid=None, psk_hex=None, country=None, hidden=False, hostname=None):
    lines = [CUSTOM_TOML_MARK + " -- applied once on the first boot of a fresh",
             "# Raspberry Pi OS image, then deleted by the system.",
             "config_version = 1", ""]
    if hostname:
        lines += ["[system]", "hostname = %s" % toml_string(hostname), ""]
    if ssid:
        lines += ["[wlan]", "ssid = %s" % toml_string(ssid)]
        if psk_hex:
            lines += ["password = %s" % toml_string(psk_hex), "password_encrypted = true"]
        lines += ["hidden = %s" % ("true" if hidden else "false")]
        if country:
            lines += ["country = %s" % toml_string(country)]
        lines.append("")
    return "\n".join(lines)
