"""Which requests the console answers: its own Host and Origin names, a secret on every edit,
and a bounded body.  The console's request limits all live here.

WHY: the console publishes organiser-signed edits, and every web page the organiser opens can
make the browser send requests to 127.0.0.1.  A foreign page could POST a "simple" request
(``text/plain``, a form) that needs no CORS preflight, and a DNS-rebound name (``evil.example``
resolving to 127.0.0.1) makes the console same-origin with the attacker's page, which could
then read the page and its secret.  So: a Host or Origin that is not one of the console's own
names is refused before anything else; an edit needs ``Content-Type: application/json`` and a
custom header carrying the page's per-session secret (or the LAN token), which a cross-origin
page can only send after a CORS preflight the console never grants; and a body is read only if
its Content-Length is a number within MAX_EDIT_BYTES.
"""

import hmac
import ipaddress
import re
import secrets
from urllib.parse import urlsplit

from pandascreen.core.errors import UserError
from pandascreen.node.program_page import EVERY_ADDRESS

MAX_EDIT_BYTES = 8192  # one edit form as JSON; anything larger is refused unread (413)
REQUEST_TIMEOUT = 30  # seconds a connection may stall while the console waits to read or write
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
SECRET_HEADER = "X-Console-Secret"  # the page echoes its per-session secret here on each edit
TOKEN_HEADER = "X-Console-Token"  # or a script sends the LAN --console-token here (or in ?token=)
EDIT_TYPE = "application/json"


class Refused(Exception):
    """One request the console will not serve: an HTTP status and a one-line reason."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def new_secret():
    """The per-session secret the served page carries (it changes at each console start)."""
    return secrets.token_urlsafe(32)


def _host_port(netloc):
    """(lowercase host without brackets, port) of ``host[:port]``; port 80 if not given."""
    if "@" in netloc:  # user@host is no Host a browser sends
        return "", 0
    try:
        parts = urlsplit("//" + netloc)
        return (parts.hostname or ""), (parts.port or 80)
    except ValueError:
        return "", 0


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class Guard:
    """The console's own names for ``bound_host``:``port`` and the checks each request passes.

    ``names`` are further names the organiser configured (``laptop.local`` or
    ``laptop.local:8028``; without a port the console's own applies).  On a wildcard bind any
    IP literal with the console's port is accepted too: a rebinding attack needs a DNS name,
    and an IP literal in Host or Origin only comes from a page served by that address.
    """

    def __init__(self, bound_host, port, secret, token=None, names=()):
        self.port = port
        self.secret = secret
        self.token = token
        self.any_ip = bound_host in EVERY_ADDRESS
        self.allowed = {(h, port) for h in LOOPBACK_NAMES}
        if not self.any_ip:
            self.allowed.add((bound_host.strip("[]").lower(), port))
        for name in names:
            self.allowed.add(self._name(name.strip()))

    def _name(self, name):
        if _is_ip(name.strip("[]")):  # a bare IPv6 address has colons but no port
            return name.strip("[]").lower(), self.port
        try:
            parts = urlsplit("//" + name)
            return (parts.hostname or ""), (parts.port or self.port)
        except ValueError:
            raise UserError("--console-name %r is not a host name (e.g. laptop.local or laptop.local:8028)" % name)

    def _own(self, host, port):
        return (host, port) in self.allowed or (self.any_ip and port == self.port and _is_ip(host))

    def check_names(self, headers):
        """Host must be one of the console's names; Origin, when sent, too (and http)."""
        hosts = headers.get_all("Host") or []
        host = hosts[0] if len(hosts) == 1 else None
        if not host or not self._own(*_host_port(host.strip())):
            raise Refused(403, "this console answers only to its own address (Host %r)" % (hosts,))
        origin = headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin.strip())
            if parts.scheme != "http" or not self._own(*_host_port(parts.netloc)):
                raise Refused(403, "requests from other pages are refused (Origin %r)" % (origin,))

    def check_token(self, query, headers):
        """With a LAN token, every request carries it (``?token=`` or the token header)."""
        if self.token and not (_same((query.get("token") or [None])[0], self.token)
                               or _same(headers.get(TOKEN_HEADER), self.token)):
            raise Refused(403, "wrong or missing token")

    def check_edit(self, headers):
        """An edit's headers: JSON, the page's secret (or the token), a bounded Content-Length.
        Returns the number of body bytes to read."""
        if headers.get_content_type() != EDIT_TYPE:
            raise Refused(415, "an edit must be sent as %s" % EDIT_TYPE)
        if not (_same(headers.get(SECRET_HEADER), self.secret)
                or (self.token and _same(headers.get(TOKEN_HEADER), self.token))):
            raise Refused(403, "an edit needs the console page's secret (reload the page)")
        if headers.get("Transfer-Encoding") is not None:
            raise Refused(400, "an edit must have a Content-Length, not Transfer-Encoding")
        lengths = headers.get_all("Content-Length") or []
        length = lengths[0].strip() if len(lengths) == 1 else ""
        if not re.fullmatch("[0-9]+", length):
            raise Refused(400, "an edit needs one Content-Length of 0 to %d bytes" % MAX_EDIT_BYTES)
        if len(length.lstrip("0")) > len(str(MAX_EDIT_BYTES)) or int(length) > MAX_EDIT_BYTES:
            raise Refused(413, "an edit is at most %d bytes" % MAX_EDIT_BYTES)
        return int(length)


def _same(given, expected):
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))
