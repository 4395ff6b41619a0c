"""The console on loopback against hostile web pages (console/request_guard.py): a foreign Host
(DNS rebinding) or Origin is refused on every endpoint, an edit needs JSON plus the page's
per-session secret in a custom header, and a body is read only with a bounded Content-Length.
Raw HTTP first (what a browser may send), then a real Chromium on a hostile page."""
import json
import re
import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pandascreen.testing import festival as demofest
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import UserError
from pandascreen.core.store import MemoryStore
from pandascreen_host.console import request_guard
from pandascreen_host.console import server as console_server
from pandascreen_host.console.state import Console
from test_console import LOG, NOW, ORG, SCREEN, Clock, _chromium, _stop, cdp, festival, running  # noqa: F401  (fixture)

RAW_TIMEOUT = 5


def page_secret(srv):
    """The secret as a browser finds it: in the page the console serves."""
    with urllib.request.urlopen("http://127.0.0.1:%d/" % srv.port, timeout=10) as r:
        m = re.search(rb'<meta name="console-secret" content="([^"]+)">', r.read())
    return m.group(1).decode() if m else ""


def raw(srv, head, body=b"", close_write=False):
    """Send ``head`` (request line + headers, no blank line) and ``body`` as they are; returns
    (status, headers text, body) of the answer, read without waiting for more than it says."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=RAW_TIMEOUT) as s:
        s.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        top, _, rest = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", top)
        want = int(m.group(1)) if m else 0
        while len(rest) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    status = int(top.split(b" ", 2)[1]) if top else 0
    return status, top.decode("latin-1"), rest


def edit_head(srv, length, secret, ctype="application/json", extra=()):
    lines = ["POST /edit HTTP/1.1", "Host: 127.0.0.1:%d" % srv.port]
    if ctype is not None:
        lines.append("Content-Type: %s" % ctype)
    if secret is not None:
        lines.append("X-Console-Secret: %s" % secret)
    if length is not None:
        lines.append("Content-Length: %s" % length)
    return "\r\n".join(lines + list(extra))


def retitle(con, title):
    return json.dumps({"action": "retitle", "id": con.schedule().all_events()[0].id, "title": title}).encode()


def test_the_page_carries_its_secret_and_an_edit_with_it_is_published(running):
    srv, con, store, clock, published = running
    secret = page_secret(srv)
    assert len(secret) >= 32
    before = store.count()
    body = retitle(con, "With The Secret")
    status, _, out = raw(srv, edit_head(srv, len(body), secret), body)
    assert (status, json.loads(out)) == (200, {"ok": True}) and store.count() == before + 1


@pytest.mark.parametrize("host", ["evil.example:%(port)d", "evil.example", "127.0.0.1:%(other)d",
                                  "localhost.evil.example:%(port)d", "", None])
@pytest.mark.parametrize("path", ["/", "/app.js", "/state.json", "/events", "/screen/%(screen)s.png"])
def test_a_foreign_host_is_refused_on_every_endpoint(running, host, path):
    """DNS rebinding: a page on evil.example, its name now resolving to 127.0.0.1, is
    same-origin with the console as far as the browser knows; only Host tells them apart."""
    srv = running[0]
    names = {"port": srv.port, "other": srv.port + 1, "screen": public_key(SCREEN).hex()}
    head = "GET %s HTTP/1.1" % (path % names)
    if host is not None:
        head += "\r\nHost: %s" % (host % names)
    status, _, body = raw(srv, head)
    assert status == 403 and b"own address" in body and b"console-secret" not in body


@pytest.mark.parametrize("host", ["127.0.0.1:%d", "localhost:%d", "[::1]:%d", "LOCALHOST:%d"])
def test_the_consoles_own_names_are_answered(running, host):
    srv = running[0]
    status, _, body = raw(srv, "GET /state.json HTTP/1.1\r\nHost: %s\r\nConnection: close" % (host % srv.port))
    assert status == 200 and json.loads(body)["program"]


@pytest.mark.parametrize("origin", ["http://127.0.0.1:%(other)d", "http://evil.example:%(port)d", "null",
                                    "https://127.0.0.1:%(port)d", "http://localhost:%(other)d"])
def test_a_foreign_origin_is_refused_even_with_the_secret(running, origin):
    srv, con, store, clock, published = running
    secret = page_secret(srv)
    origin = origin % {"port": srv.port, "other": srv.port + 1}
    before = store.count()
    body = retitle(con, "From Elsewhere")
    status, _, out = raw(srv, edit_head(srv, len(body), secret, extra=["Origin: " + origin]), body)
    assert status == 403 and b"other pages" in out
    status, _, _ = raw(srv, "GET /state.json HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s" % (srv.port, origin))
    assert status == 403 and store.count() == before and published == []


def test_the_pages_own_origin_is_accepted(running):
    srv, con, store, clock, published = running
    body = retitle(con, "Same Origin")
    head = edit_head(srv, len(body), page_secret(srv), extra=["Origin: http://127.0.0.1:%d" % srv.port])
    assert raw(srv, head, body)[0] == 200 and published == [1]


@pytest.mark.parametrize("ctype", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])
def test_a_simple_request_cannot_edit(running, ctype):
    """What a foreign page may send without a preflight: a form or a no-cors fetch, with a
    CORS-safelisted content type and no custom header."""
    srv, con, store, clock, published = running
    before = store.count()
    body = retitle(con, "Simple Request")
    status, _, out = raw(srv, edit_head(srv, len(body), None, ctype=ctype), body)
    assert status == 415 and store.count() == before and published == []


@pytest.mark.parametrize("secret", [None, "", "guess", "x" * 43])
def test_an_edit_without_the_pages_secret_is_refused(running, secret):
    srv, con, store, clock, published = running
    before = store.count()
    body = retitle(con, "No Secret")
    status, _, out = raw(srv, edit_head(srv, len(body), secret), body)
    assert status == 403 and b"secret" in out and store.count() == before and published == []


@pytest.mark.parametrize("length, status", [("-1", 400), ("abc", 400), (None, 400), (" ", 400), ("1e3", 400),
                                            ("+10", 400), ("\u00b2", 400), ("12, 12", 400),
                                            (str(request_guard.MAX_EDIT_BYTES + 1), 413),
                                            ("1000000000000", 413), ("9" * 5000, 413)])
def test_a_bad_content_length_is_refused_without_reading_the_body(running, length, status):
    """The connection stays open with the body unsent or unfinished: an answer proves the
    console did not wait to read it (``Content-Length: -1`` used to read to the end of the
    stream, with no cap)."""
    srv, con, store, clock, published = running
    before = store.count()
    got, head, out = raw(srv, edit_head(srv, length, page_secret(srv)), retitle(con, "Unbounded"))
    assert got == status and "connection: close" in head.lower()
    assert store.count() == before and published == []


def test_a_body_announced_and_not_sent_ends_the_connection(running, monkeypatch):
    """The server's read waits at most REQUEST_TIMEOUT (shortened here), then lets go."""
    srv, con, store, clock, published = running
    monkeypatch.setattr(request_guard, "REQUEST_TIMEOUT", 0.2)
    slow = console_server.ConsoleServer(con, ORG).start()
    try:
        body = retitle(con, "Slow")
        status, _, _ = raw(slow, edit_head(slow, len(body), slow.secret), body[:10])
    finally:
        slow.stop()
    assert status == 0 and published == []  # closed with no answer, nothing published


def test_two_host_headers_are_refused(running):
    srv = running[0]
    head = "GET /state.json HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nHost: evil.example:%d" % (srv.port, srv.port)
    assert raw(srv, head)[0] == 403
    head = "GET /state.json HTTP/1.1\r\nHost: evil.example@127.0.0.1:%d" % srv.port
    assert raw(srv, head)[0] == 403


def test_two_content_lengths_are_refused(running):
    srv, con, store, clock, published = running
    body = retitle(con, "Two Lengths")
    head = edit_head(srv, len(body), page_secret(srv), extra=["Content-Length: 2"])
    assert raw(srv, head, body)[0] == 400 and published == []


def test_a_chunked_edit_is_refused(running):
    srv, con, store, clock, published = running
    body = retitle(con, "Chunked")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    got = raw(srv, edit_head(srv, None, page_secret(srv), extra=["Transfer-Encoding: chunked"]), chunked)
    assert got[0] == 400 and published == []


def test_configured_names_and_ip_literals_on_a_wildcard_bind():
    guard = request_guard.Guard("0.0.0.0", 8026, "s", names=["Laptop.local", "proxy.example:80", "fe80::1"])
    assert guard._own("laptop.local", 8026) and guard._own("proxy.example", 80) and guard._own("fe80::1", 8026)
    assert guard._own("192.168.1.5", 8026) and not guard._own("192.168.1.5", 8027)
    assert not guard._own("evil.example", 8026) and not guard._own("laptop.local", 80)
    lan = request_guard.Guard("192.168.1.5", 8026, "s")
    assert lan._own("192.168.1.5", 8026) and not lan._own("192.168.1.6", 8026)
    with pytest.raises(UserError, match="console-name"):
        request_guard.Guard("127.0.0.1", 8026, "s", names=["laptop.local:http"])


def test_a_configured_name_is_answered_and_the_lan_token_also_allows_an_edit():
    store, a = festival()
    con = Console(store, LOG, MemoryStore(), a, public_key(ORG), demofest.FESTIVAL_ID, clock=Clock(NOW))
    srv = console_server.ConsoleServer(con, ORG, token="s3cret", names=["laptop.local"]).start()
    try:
        head = "GET /state.json?token=s3cret HTTP/1.1\r\nHost: laptop.local:%d" % srv.port
        assert raw(srv, head)[0] == 200
        body = retitle(con, "By Token")
        head = edit_head(srv, len(body), None, extra=["X-Console-Token: s3cret"])
        assert raw(srv, head, body)[0] == 200
        head = edit_head(srv, len(body), None, extra=["X-Console-Token: wrong"])
        assert raw(srv, head, body)[0] == 403
    finally:
        srv.stop()


# -- in Chromium: a hostile page on another loopback port, and a DNS-rebound name ------------

HOSTILE_PAGE = """<!doctype html><html><body>
<form id="csrf" method="POST" action="%(edit)s" enctype="text/plain" target="sink">
<input name='%(field)s' value='"}'></form>
<iframe name="sink" id="sink"></iframe>
<script>
window.results = {};
const edit = %(edit_js)s, form = %(form_js)s;
async function attempt(name, run) {
  try { results[name] = await run(); } catch (e) { results[name] = "blocked"; }
}
(async () => {
  await attempt("plain", async () => (await fetch(edit, {method: "POST", mode: "no-cors",
    headers: {"Content-Type": "text/plain"}, body: JSON.stringify(form)})).type);
  await attempt("json", async () => (await fetch(edit, {method: "POST",
    headers: {"Content-Type": "application/json", "X-Console-Secret": "guess"}, body: JSON.stringify(form)})).status);
  await attempt("read", async () => (await (await fetch(%(page_js)s)).text()).length);
  await attempt("form", () => new Promise((ok) => {
    document.getElementById("sink").onload = () => ok("sent"); document.getElementById("csrf").submit(); }));
  window.done = true;
})();
</script></body></html>"""


class HostileSite:
    """Another origin on loopback (its own port), serving one page that attacks the console."""

    def __init__(self, page):
        data = page.encode("utf-8")

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_in_chromium_a_hostile_page_on_another_loopback_port_changes_nothing(running, tmp_path):
    srv, con, store, clock, published = running
    event = con.schedule().all_events()[0]
    form = {"action": "retitle", "id": event.id, "title": "Hostile"}
    # a text/plain form: name + "=" + value makes the body {"action": ..., "pad": "="}
    field = json.dumps(dict(form, pad=""))[:-2]
    edit = "http://127.0.0.1:%d/edit" % srv.port
    site = HostileSite(HOSTILE_PAGE % {"edit": edit, "field": field, "edit_js": json.dumps(edit),
                                       "form_js": json.dumps(form),
                                       "page_js": json.dumps("http://127.0.0.1:%d/" % srv.port)})
    before = store.count()
    proc, port = _chromium("http://127.0.0.1:%d/" % site.port, str(tmp_path / "profile"))
    try:
        results = cdp(port, [{"wait": "window.done === true"}, {"eval": "window.results"}])[0]
    finally:
        _stop(proc)
        site.stop()
    # every attempt ran: the no-cors ones were sent, the CORS ones failed their preflight
    assert results == {"plain": "opaque", "json": "blocked", "read": "blocked", "form": "sent"}
    assert store.count() == before and published == []
    assert all(e.title != "Hostile" for e in con.schedule().all_events())


def test_in_chromium_a_dns_rebound_name_gets_neither_the_page_nor_an_edit(running, tmp_path):
    """evil.test resolves to 127.0.0.1 (Chromium's resolver rule), as a rebinding attacker's
    name would: the browser treats the console as evil.test's own origin."""
    srv, con, store, clock, published = running
    before = store.count()
    event = con.schedule().all_events()[0]
    proc, port = _chromium("http://evil.test:%d/" % srv.port, str(tmp_path / "profile"),
                           ["--host-resolver-rules=MAP evil.test 127.0.0.1"])
    try:
        got = cdp(port, [
            {"wait": "document.readyState === 'complete' && location.host === 'evil.test:%d'" % srv.port},
            {"eval": "document.body.textContent"},
            {"eval": "fetch('/state.json').then((r) => r.status)"},
            {"eval": "fetch('/edit', {method: 'POST', headers: {'Content-Type': 'application/json', "
                     "'X-Console-Secret': (document.querySelector('meta[name=console-secret]') || {}).content || ''}, "
                     "body: %s}).then((r) => r.status)" % json.dumps(json.dumps(
                         {"action": "retitle", "id": event.id, "title": "Rebound"}))}])
    finally:
        _stop(proc)
    assert "own address" in got[0] and "pandascreen console" not in got[0]
    assert got[1:] == [403, 403]
    assert store.count() == before and published == []
