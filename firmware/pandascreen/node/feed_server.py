"""Serve the signed screen feed (node/feed_sign.py) over plain HTTP for satellite boards.

WHY plain HTTP: a MicroPython board has TCP sockets and little else (no iroh, no TLS worth
its heap); the feed carries its own signature, so the transport need not be trusted.  A Pi
screen or the organiser's ``serve`` runs one ``FeedServer``; boards ask
``GET /pandascreen/feed/<festival id>`` and get ``application/cbor`` with a Content-Length.

``FeedSource`` re-derives the feed when the store changed, or when the one it holds is
``refresh`` seconds old (so issued-at stays fresh and a board's clock floor follows), and
signs it with the peer's key: an organiser key needs no grant, any other key needs a group
operation giving it Read (``pandascreen-host group add <key> --level read``).
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pandascreen.core import auth, operation
from pandascreen.node import feed_sign
from pandascreen.core.crypto import signing_key
from pandascreen.core.errors import PandascreenError, SyncError
from pandascreen.core.feed import FEED_PORT  # one number for servers, provisioning and boards

PATH = "/pandascreen/feed/"


class FeedSource:
    """The current signed feed of one festival.

    ``schedule``: a callable returning the schedule to derive from (a Pi screen passes its
    controller's, with its ``lock``); None: rebuilt from ``store`` whenever the store changed.
    """

    def __init__(self, store, festival_id, seed, organisers, schedule=None, lock=None, clock=time.time,
                 refresh=60, authorizer=None):
        self.store = store
        self.festival_id = festival_id
        self.log_id = operation.log_id_for_festival(festival_id)
        self.key = signing_key(seed)
        self.organisers = [bytes(k) for k in organisers]
        self._schedule = schedule
        self._lock = lock or threading.RLock()
        self.clock = clock
        self.refresh = refresh
        self.authorizer = authorizer
        self._mine = threading.Lock()
        self._built = None  # (store version, issued_at, bytes)
        self._own = None  # (store version, Schedule) when built here

    def schedule(self):
        if self._schedule is not None:
            return self._schedule()
        version = self.store.version
        if self._own is None or self._own[0] != version:
            from pandascreen.core.schedule import Schedule
            authorizer = self.authorizer or auth.guard(self.store, auth.for_authors(self.organisers), self.log_id)
            self._own = (version, Schedule.from_store(self.store, self.log_id, authorizer=authorizer))
        return self._own[1]

    def get(self):
        """Feed bytes; FeedError if this key may not sign feeds (no grant in the logs)."""
        with self._mine:
            now = int(self.clock())
            version = self.store.version
            b = self._built
            if b is not None and b[0] == version and 0 <= now - b[1] < self.refresh:
                return b[2]
            with self._lock:
                grant = feed_sign.find_grant(self.store, self.log_id, self.key.public_key, self.organisers)
                data = feed_sign.build(self.schedule(), self.store, self.log_id, self.festival_id, self.key,
                                       grant, now)
            self._built = (version, now, data)
            return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    source = None  # set per server

    def do_GET(self):
        src = self.server.source
        if self.path != PATH + src.festival_id:
            self._reply(404, b"no such feed\n", "text/plain")
            return
        try:
            data = src.get()
        except PandascreenError as e:
            self._reply(503, ("%s\n" % e).encode("utf-8"), "text/plain")
            return
        self._reply(200, data, "application/cbor")

    def _reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # one line per request would flood a screen's journal
        pass


class FeedServer:
    """``FeedServer(source, host, port).start()`` serves in a thread until ``stop()``."""

    def __init__(self, source, host="0.0.0.0", port=FEED_PORT):
        self.source = source
        self.host = host
        self.port = port
        self._httpd = None
        self._thread = None

    def start(self):
        try:
            self._httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        except OSError as e:
            raise SyncError("cannot serve the feed on %s:%d: %s" % (self.host, self.port, e.strerror or e))
        self._httpd.daemon_threads = True
        self._httpd.source = self.source
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="feed-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None


def start_for_screen(cfg, store, config_dir, device, say, port=FEED_PORT):
    """A Pi screen's feed server on ``port``, signed with its device key (``cfg["key"]``) and derived
    from the schedule its controller holds; None (said in one line) when it cannot start.  The
    key needs a Read grant in the festival group, else boards get 503 with the command to run."""
    import os
    path = cfg.get("key") or "device.key"
    path = path if os.path.isabs(path) else os.path.join(config_dir, path)
    try:
        with open(path, "rb") as fh:
            seed = fh.read(33)
    except OSError as e:
        say("no feed for satellite boards: cannot read the device key %s: %s" % (path, e.strerror or e))
        return None
    if len(seed) != 32 or not cfg.get("organiser_keys"):
        say("no feed for satellite boards: %s" % ("no organiser keys in the config" if len(seed) == 32
                                                   else "the device key is not a 32-byte seed"))
        return None
    source = FeedSource(store, cfg["festival_id"], seed, cfg["organiser_keys"],
                        schedule=lambda: device.controller.schedule, lock=device._lock)
    try:
        server = FeedServer(source, "0.0.0.0", port).start()
    except SyncError as e:
        say("no feed for satellite boards: %s" % e)
        return None
    say("listening: signed screen feed for satellite boards on port %d" % server.port)
    return server
