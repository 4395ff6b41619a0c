"""The console's web server: the page, live snapshots (server-sent events), PNGs, edits.

WHY stdlib http.server: a handful of routes for one organiser's browser; no framework to
install on the laptop.  Bound to 127.0.0.1 unless told otherwise; any other address needs a
token (the page passes it on in each request), since an edit publishes signed operations.
Every request first passes request_guard (own Host and Origin only; an edit needs JSON, the
page's per-session secret in a header and a bounded Content-Length), because any web page the
organiser opens can make the browser send requests to 127.0.0.1 too.
"""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from pandascreen.core.errors import PandascreenError, UserError
from pandascreen_host.console import edits, request_guard
from pandascreen_host.console.request_guard import LOOPBACK_NAMES, Refused
from pandascreen_host.laptop_ports import CONSOLE

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
FILES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/app.js": ("app.js", "text/javascript; charset=utf-8"),
         "/style.css": ("style.css", "text/css; charset=utf-8")}
SSE_POLL = 0.5  # seconds between two snapshot checks for one page
SSE_LIFETIME = 600  # a page's event stream ends after this; EventSource reconnects by itself
SECRET_SLOT = b"{{console-secret}}"  # in index.html: replaced by the session's secret when served


def parse_bind(text, token=None):
    """``HOST:PORT`` (or ``HOST``; port laptop_ports.CONSOLE) -> (host, port); a LAN bind needs a token."""
    host, _, port = (text or "127.0.0.1").rpartition(":") if ":" in (text or "") else (text or "127.0.0.1", "", str(CONSOLE))
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise UserError("--console must look like HOST:PORT, e.g. 127.0.0.1:%d" % CONSOLE)
    if host not in LOOPBACK_NAMES and not token:
        raise UserError("--console on %s is reachable from the LAN: give it a secret (--console-token-file, "
                        "$PANDASCREEN_CONSOLE_TOKEN or --console-token)" % host)
    return host, int(port)


class ConsoleServer:
    def __init__(self, console, seed, host="127.0.0.1", port=0, token=None, on_published=None, say=None,
                 names=()):
        self.console = console
        self.seed = seed
        self.token = token
        self.secret = request_guard.new_secret()
        self.on_published = on_published
        self.say = say or (lambda line: None)
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # one edit at a time (the store's writer)
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self.guard = request_guard.Guard(host, self.port, self.secret, token, names)
        self._thread = None

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d/" % (host, self.port) + ("?token=%s" % self.token if self.token else "")

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="console", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def edit(self, form):
        with self.lock:
            sched = self.console.schedule()
            body = edits.publish(self.console.store, self.seed, self.console.log_id, sched, form)
        self.say("console: published %s %s" % (form.get("action"), form.get("id")))
        if self.on_published is not None:
            self.on_published()
        return body

    def identify(self, form):
        """Ask the screen ``form["screen"]`` (its key, hex) to show its name (Console.identify)."""
        with self.lock:
            self.console.identify(self.seed, form.get("screen"))
        self.say("console: asked screen %s to show its name" % str(form.get("screen"))[:16])
        if self.on_published is not None:
            self.on_published()


def _handler(server):
    """The request handler class of ``server`` (http.server makes one handler per request)."""
    return type("Handler", (_Handler,), {"console": server, "timeout": request_guard.REQUEST_TIMEOUT})


class _Handler(BaseHTTPRequestHandler):
    """One request to the console; ``console`` is the ConsoleServer (set by _handler)."""

    protocol_version = "HTTP/1.1"
    timeout = None  # request_guard.REQUEST_TIMEOUT, read when the server starts
    console = None

    def log_message(self, fmt, *args):  # quiet: serve has its own log lines
        pass

    def _send(self, code, data, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _json(self, code, obj):
        self._send(code, json.dumps(obj).encode("utf-8"), "application/json")

    def _refuse(self, refused):
        self.close_connection = True  # a body may be left unread: never read the next request from it
        self._json(refused.status, {"error": refused.reason})

    def _checked(self, url):
        """Refused (already answered) unless the request names this console and carries its token."""
        try:
            self.console.guard.check_names(self.headers)
            self.console.guard.check_token(parse_qs(url.query), self.headers)
        except Refused as e:
            self._refuse(e)
            return False
        return True

    def do_GET(self):
        url = urlparse(self.path)
        if not self._checked(url):
            return
        server = self.console
        if url.path in FILES:
            name, ctype = FILES[url.path]
            with open(os.path.join(STATIC, name), "rb") as fh:
                data = fh.read()
            return self._send(200, data.replace(SECRET_SLOT, server.secret.encode()), ctype)
        if url.path == "/state.json":
            return self._json(200, server.console.snapshot())
        if url.path == "/events":
            return self._events()
        if url.path.startswith("/screen/") and url.path.endswith(".png"):
            png = server.console.png(url.path[len("/screen/"):-len(".png")])
            if png is None:
                return self._json(404, {"error": "no such screen"})
            return self._send(200, png, "image/png")
        self._json(404, {"error": "not found"})

    def _form(self, url):
        """The POSTed JSON object, or None (answered already) when refused or malformed."""
        try:
            if url.path not in ("/edit", "/identify"):
                raise Refused(404, "not found")
            size = self.console.guard.check_edit(self.headers)
        except Refused as e:
            return self._refuse(e)
        try:
            body = self.rfile.read(size)
        except TimeoutError:  # a body announced and not sent: give the thread back
            self.close_connection = True
            return None
        try:
            form = json.loads(body or b"{}")
            if not isinstance(form, dict):
                raise ValueError("not an object")
        except ValueError:
            return self._json(400, {"error": "the edit is not a JSON object"})
        return form

    def do_POST(self):
        url = urlparse(self.path)
        if not self._checked(url):
            return
        form = self._form(url)
        if form is None:
            return
        try:
            if url.path == "/identify":
                self.console.identify(form)
            else:
                self.console.edit(form)
        except PandascreenError as e:
            return self._json(400, {"error": str(e)})
        self._json(200, {"ok": True})

    def _events(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        server = self.console
        last = None
        deadline = time.monotonic() + SSE_LIFETIME
        try:
            while time.monotonic() < deadline and not server.stopping.is_set():
                data = json.dumps(server.console.snapshot(), sort_keys=True)
                if data != last:
                    self.wfile.write(b"data: " + data.encode("utf-8") + b"\n\n")
                    self.wfile.flush()
                    last = data
                server.stopping.wait(SSE_POLL)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
