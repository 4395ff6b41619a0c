"""The console's web server: the page, live snapshots (server-sent events), PNGs, edits.

WHY stdlib http.server: a handful of routes for one organiser's browser; no framework to
install on the laptop.  Bound to 127.0.0.1 unless told otherwise; any other address needs a
token (the page passes it on in each request), since an edit publishes signed operations.
"""

import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from pandascreen.core.errors import PandascreenError, UserError
from pandascreen_host.console import edits

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
FILES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/app.js": ("app.js", "text/javascript; charset=utf-8"),
         "/style.css": ("style.css", "text/css; charset=utf-8")}
SSE_POLL = 0.5  # seconds between two snapshot checks for one page
SSE_LIFETIME = 600  # a page's event stream ends after this; EventSource reconnects by itself
MAX_FORM = 8192
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_bind(text, token=None):
    """``HOST:PORT`` (or ``HOST``; port 8026) -> (host, port); a LAN bind needs a token."""
    host, _, port = (text or "127.0.0.1").rpartition(":") if ":" in (text or "") else (text or "127.0.0.1", "", "8026")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise UserError("--console must look like HOST:PORT, e.g. 127.0.0.1:8026")
    if host not in LOOPBACK and not token:
        raise UserError("--console on %s is reachable from the LAN: give --console-token too" % host)
    return host, int(port)


class ConsoleServer:
    def __init__(self, console, seed, host="127.0.0.1", port=0, token=None, on_published=None, say=None):
        self.console = console
        self.seed = seed
        self.token = token
        self.on_published = on_published
        self.say = say or (lambda line: None)
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # one edit at a time (the store's writer)
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self._thread = None

    @property
    def url(self):
        return "http://%s:%d/" % (self.host, self.port) + ("?token=%s" % self.token if self.token else "")

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


def _handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: serve has its own log lines
            pass

        def _send(self, code, data, ctype):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _json(self, code, obj):
            self._send(code, json.dumps(obj).encode("utf-8"), "application/json")

        def _allowed(self, url):
            if not server.token:
                return True
            given = (parse_qs(url.query).get("token") or [""])[0] or self.headers.get("X-Console-Token", "")
            if hmac.compare_digest(given.encode(), server.token.encode()):
                return True
            self._json(403, {"error": "wrong or missing token"})
            return False

        def do_GET(self):
            url = urlparse(self.path)
            if not self._allowed(url):
                return
            if url.path in FILES:
                name, ctype = FILES[url.path]
                with open(os.path.join(STATIC, name), "rb") as fh:
                    return self._send(200, fh.read(), ctype)
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

        def do_POST(self):
            url = urlparse(self.path)
            if not self._allowed(url):
                return
            if url.path != "/edit":
                return self._json(404, {"error": "not found"})
            size = int(self.headers.get("Content-Length") or 0)
            if size > MAX_FORM:
                return self._json(413, {"error": "edit too large"})
            try:
                form = json.loads(self.rfile.read(size) or b"{}")
                if not isinstance(form, dict):
                    raise ValueError("not an object")
            except ValueError:
                return self._json(400, {"error": "the edit is not a JSON object"})
            try:
                server.edit(form)
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
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
