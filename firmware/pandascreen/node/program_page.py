"""The festival program as a small web page for phones on the festival Wi-Fi, served by every
Pi screen and by the organiser's ``serve``.

WHY server-side HTML: a phone on a crowded festival Wi-Fi may have JavaScript off, a slow CPU,
or no internet at all, so the page is complete as plain HTML (now/next per venue, the changes,
the whole program by day and venue, in the festival's language and time zone) with no CDN and
no web font (node/program_page_html.py); a small script (program_page_static/page.js) only listens
to ``/events`` and swaps in the new content when the schedule changes or the minute turns.  Every
page is rendered once per (schedule version, minute) and the same bytes go to every phone, so 200
phones cost one render, not 200.  It is held gzipped only (a phone that takes no gzip gets it
unpacked): plain, the page and its main part would hold 3.8 MB of an idle screen's memory at
20,000 events.

Limits (node/bounded_http.py): MAX_CONNECTIONS open connections in all, of which at most
MAX_LISTENERS live-update streams, MAX_PER_ADDRESS per phone (client address), each stalled
read or write ends after TIMEOUT seconds and each stream after STREAM_LIFETIME (the browser
reconnects).  Over a limit a phone gets ``503`` with ``Retry-After`` at once, and the page
still works: it is complete without the stream.

With an ``inbox`` (node/phone_inbox.py; a self-organised festival's screens) the page is also an
open stage: ``stage.js`` with the bundled ``publish.js`` (browser/README.md) lets a participant
book and edit its own events, create and steward venues and invite, signed on the phone; the
routes under ``/publish`` are node/program_page_stage.py's.  A page without an inbox (a curated
festival's) offers no form and refuses ``POST /publish`` in one line.
"""

import asyncio
import os
import threading
import time
import zlib

from pandascreen.core.errors import SyncError
from pandascreen.node import i18n
from pandascreen.node.bounded_http import BoundedHTTP, response
from pandascreen.node.program_page_html import PAGE, escape, render_main, shown
from pandascreen.node.program_page_stage import Stage

PORT = 8027  # a screen's: neither its feed (8026) nor its sync port (2026); serve's defaults are others
MAX_CONNECTIONS = 512  # 200 phones each with a stream and a page load in flight fit twice over
MAX_LISTENERS = 256  # live-update streams; the other half stays free for page loads
MAX_PER_ADDRESS = 16  # a browser opens 6 at most: two phones behind one address (a NAT) and a reload's overlap
TIMEOUT = 10  # seconds a connection may stall on a read or write
STREAM_LIFETIME = 300  # seconds one event stream lasts; EventSource reconnects by itself
HEARTBEAT = 25  # seconds between two keep-alive comments on an idle stream
WATCH_EVERY = 1.0  # longest wait between two looks at the schedule version (``changed()`` wakes sooner)
SCREEN_WATCH_EVERY = 60.0  # on a Pi screen, whose loop calls ``changed()`` when its schedule changed
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "program_page_static")
FILES = {"/page.js": ("page.js", "text/javascript; charset=utf-8"),
         "/page.css": ("page.css", "text/css; charset=utf-8"),
         # the participant's signing code (browser/README.md): keys and operations made on the phone
         "/publish.js": ("publish.js", "text/javascript; charset=utf-8"),
         "/stage.js": ("stage.js", "text/javascript; charset=utf-8")}
# where participants book and edit their events, on a page with an inbox (stage.js fills it in)
STAGE = (b'<section id="stage" class="stage" aria-labelledby="stage-h" hidden></section>\n'
         b'<script src="/publish.js" defer></script>\n<script src="/stage.js" defer></script>\n')


def _gzip(data, level=6):
    """``gzip.compress(data, level)`` by zlib, which gzip's module calls (wbits 31: zlib writes the
    gzip header and trailer itself)."""
    z = zlib.compressobj(level, zlib.DEFLATED, 31)
    return z.compress(data) + z.flush()


class ProgramSource:
    """The page of one festival, rendered at each call (``ProgramPage`` calls once per schedule
    version, group revision and minute, and keeps the result gzipped).

    ``schedule``: a callable returning the current ``Schedule`` (a Pi screen passes its
    controller's, used under its ``lock``); ``language``: the configured one, else the
    festival document's (node/i18n.py)."""

    def __init__(self, schedule, lock=None, clock=time.time, language=None, screen_time=None):
        self._schedule = schedule
        self._lock = lock or threading.RLock()
        # ``screen_time() -> (t, trusted)``: the time a screen shows its program at and whether it
        # claims it (core/clock.py); a page beside a screen says what the screen says
        self._screen_time = screen_time or (lambda: (clock(), True))
        self.clock = lambda: self._screen_time()[0]
        self.language = language
        self._mine = threading.Lock()

    def words(self):
        """The festival's words now (node/i18n.py), for the lines a phone reads."""
        with self._lock:
            fest = self._schedule().festival
        return i18n.labels(i18n.language_for(self.language, fest))

    def version(self):  # cheap: no rendering
        with self._lock:
            return self._schedule().version

    def pages(self):
        """(key, whole page bytes, main content bytes); the key names the schedule version and
        the minute (the same key: the same bytes)."""
        with self._mine:
            with self._lock:
                now, claimed = self._screen_time()
                now = int(now)
                sched = self._schedule()
                key = "%d-%d-%d" % (sched.version, now // 60, claimed)
                lang = i18n.language_for(self.language, sched.festival)
                main = render_main(sched, now, lang, claimed)
                title = shown((sched.festival or {}).get("name") or "") or i18n.labels(lang)["program"]
            page = PAGE % {"lang": escape(i18n.base(lang)), "title": escape(title), "key": escape(key), "main": main}
            return (key, page.encode("utf-8"), main.encode("utf-8"))


UNAVAILABLE = "The program cannot be shown right now; this page tries again every minute."


def _unavailable():
    """(key, page, main) of a page that says the program cannot be drawn: fixed words, nothing from
    any writer, so it cannot fail the way the page it stands in for did."""
    main = '<p class="updated" id="updated">%s</p>' % escape(UNAVAILABLE)
    return ("unavailable", (PAGE % {"lang": "en", "title": "Program", "key": "unavailable", "main": main}).encode("utf-8"),
            main.encode("utf-8"))


def store_schedule(store, log_id, authorizer=None, authors=None):
    """A ``schedule`` callable for ``ProgramSource`` that rebuilds from ``store`` when it changed."""
    from pandascreen.core.schedule import Schedule
    held = [None, None]

    def schedule():
        version = store.version
        if held[0] != version:
            held[1] = Schedule.from_store(store, log_id, authors=authors, authorizer=authorizer)
            held[0] = version
        return held[1]
    return schedule


def _with_stage(built, revision):
    """(key, whole page with the open stage, main): what a page with an inbox serves.  Its key
    also names the group's ``revision``: an invite changes no document, yet the invited phone
    must hear it to look at its rights again (stage.js listens for the page's changes)."""
    key = "%s-r%d" % (built[0], revision)
    whole = built[1].replace(b'data-key="%s"' % built[0].encode(), b'data-key="%s"' % key.encode(), 1)
    return (key, whole.replace(b"</body>", STAGE + b"</body>"), built[2])


def _packed(built):
    """(key, whole, main) as held for every phone: both gzipped once, here; the plain forms let go."""
    return (built[0], _gzip(built[1]), _gzip(built[2]))


class _Stream:
    """One phone's stream, counted from the moment it is granted (so streams opening at the same
    time cannot pass the limit together) until the server closes it, however it ended."""

    def __init__(self, page):
        page.listeners += 1
        if page.listeners == 1:
            page.changed()  # the page may show a minute gone by: nobody was looking
        self.page = page
        self.events = page._stream()
        self.counted = True

    def __aiter__(self):
        return self.events

    async def aclose(self):
        if self.counted:
            self.counted = False
            self.page.listeners -= 1
            await self.events.aclose()


class ProgramPage:
    """``ProgramPage(source, host, port).start()`` serves the page until ``stop()``.

    One thread (node/bounded_http.py) answers every phone from the last rendered page; another
    looks when ``changed()`` says so, at each minute boundary and at the latest every ``watch_every``
    seconds; renders when the page changed (a phone never waits for a screen's lock) and wakes
    every live stream.  A turned minute is rendered only while a phone listens (or loads the page)."""

    def __init__(self, source, host="0.0.0.0", port=PORT, max_connections=MAX_CONNECTIONS,
                 max_listeners=MAX_LISTENERS, max_per_address=MAX_PER_ADDRESS, watch_every=WATCH_EVERY,
                 timeout=TIMEOUT, stream_lifetime=STREAM_LIFETIME, inbox=None):
        self.source = source
        self.inbox = inbox  # node/phone_inbox.PhoneInbox: what participants publish (None: read-only)
        self.stage = Stage(inbox, lambda: source.words())
        self.host = host
        self.port = port
        self.max_listeners = max_listeners
        self.watch_every = watch_every
        self.stream_lifetime = stream_lifetime
        self.stopping = threading.Event()
        self.files = {}
        for path, (name, ctype) in FILES.items():
            try:
                with open(os.path.join(STATIC, name), "rb") as fh:
                    body = fh.read()
            except OSError as e:  # publish.js: built from browser/ by make, carried by the wheel
                raise SyncError("cannot read %s (%s): run make, which builds it" % (name, e.strerror or e))
            self.files[path] = (body, _gzip(body, 9), ctype)
        self.built = None  # (key, whole page gzipped, main gzipped): what every phone gets
        self.listeners = 0
        self._changed = None  # asyncio.Event set (and replaced) when the page changes
        self._http = BoundedHTTP(self._route, host, port, max_connections=max_connections,
                                 max_per_address=max_per_address, timeout=timeout, name="program page",
                                 post=self.stage.post, max_body=_inbox_limit())
        self._watcher = None
        self._poke = threading.Event()  # set by changed(): the watcher looks now
        self._looked = None  # (schedule version, group revision, minute) of the page built last

    def changed(self):
        """The schedule (or the group) may have changed, or a phone arrived: look now."""
        self._poke.set()

    @property
    def url(self):
        """Where this machine reaches the page (its bound address; ``phone_url`` says phones')."""
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d/" % (host, self.port)

    @property
    def open_connections(self):
        return self._http.open_connections

    @property
    def refused(self):
        return self._http.refused

    # -- on the serving thread --------------------------------------------------------------------
    def _route(self, method, target, headers):
        head = method == "HEAD"
        path, _, query = target.partition("?")
        gz = "gzip" in headers.get("accept-encoding", "")
        if path in ("/", "/index.html"):
            if self.listeners == 0 and self._looked is not None and self._looked[2] != self._minute():
                self.changed()  # served as it is; the watcher renders the minute for the next look
            key, whole, main = self.built
            if query == "part=main":
                return self._reply(None, main, "text/html; charset=utf-8", gz, head, [("X-Page-Key", key)])
            return self._reply(None, whole, "text/html; charset=utf-8", gz, head)
        if path in self.files:
            body, packed, ctype = self.files[path]
            return self._reply(body, packed, ctype, gz, head)
        if path.startswith("/publish/"):
            got = self.stage.route(path, query, headers, head)
            if got is not None:
                return got
        if path == "/events":
            if self.listeners >= self.max_listeners:
                return response(503, b"too many live pages: reload later\n", "text/plain; charset=utf-8",
                                [("Retry-After", "30")], head=head, close=True)
            return _Stream(self)
        return response(404, b"not found\n", "text/plain; charset=utf-8", head=head)

    @staticmethod
    def _reply(body, packed, ctype, gz, head, extra=()):
        """``body``, gzipped (``packed``) for a phone that accepts it: a 38c3-sized program is
        200 KB of HTML and 45 KB gzipped, and 200 phones share one Wi-Fi.  ``body`` None: not
        held, unpacked for this phone."""
        extra = list(extra) + [("Vary", "Accept-Encoding")]
        if gz:
            return response(200, packed, ctype, extra + [("Content-Encoding", "gzip")], head=head)
        return response(200, zlib.decompress(packed, 47) if body is None else body, ctype, extra, head=head)

    async def _stream(self):
        """A phone's live updates: the page's key now and after every change, a comment every
        HEARTBEAT seconds (keeps the Wi-Fi's NAT and the browser from dropping it), until
        ``stream_lifetime`` ends it (EventSource reconnects)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stream_lifetime
        yield b"retry: 5000\n\n"
        seen = None
        while True:
            if self._changed is None:  # made here: an asyncio.Event belongs to this loop
                self._changed = asyncio.Event()
            changed = self._changed
            key = self.built[0]
            if key != seen:
                yield b"data: " + key.encode("ascii") + b"\n\n"
                seen = key
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(changed.wait(), min(HEARTBEAT, left))
            except asyncio.TimeoutError:
                yield b": still here\n\n"

    def _staged(self, built):
        return _with_stage(built, self.inbox.authorizer.revision) if self.inbox is not None else built

    def _publish(self, built):
        self.built = built
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # -- the watcher thread ----------------------------------------------------------------------
    def _minute(self):
        return int(self.source.clock()) // 60
    def _nap(self):
        """Seconds until the next look: ``watch_every``, or sooner the next minute boundary."""
        left = 60 - self.source.clock() % 60
        return max(0.01, min(self.watch_every, left + 0.01))

    def _state(self):  # what the page shows: (schedule version, group revision, minute)
        return self.source.version(), self.inbox.authorizer.revision if self.inbox is not None else None, self._minute()
    def _watch(self):
        while not self.stopping.is_set():
            self._poke.wait(self._nap())
            self._poke.clear()
            if self.stopping.is_set():
                return
            self._look()

    def _look(self):
        """Render when the schedule or the group changed, or the minute turned while a phone listens."""
        try:
            looked = self._state()
            if looked == self._looked or (self.listeners == 0 and self._looked is not None
                                          and looked[:2] == self._looked[:2]):
                return
            built = self.source.pages()
        except Exception:  # a schedule mid-rebuild: the phones keep the last page, look again
            return
        self._looked = looked
        built = self._staged(built)
        if built[0] != self.built[0]:
            self._http.call(self._publish, _packed(built))

    failed = None  # why the first page could not be drawn (the phones read UNAVAILABLE until it can)

    def start(self):
        self._looked = self._state()
        try:
            built = self.source.pages()
        except SyncError:
            raise
        except Exception as e:  # no program may keep a screen from starting: the watcher draws it again
            self.failed = "%s: %s" % (type(e).__name__, e)
            self._looked = None
            built = _unavailable()
        self.built = _packed(self._staged(built))
        self._http.start()
        self.port = self._http.port
        self._watcher = threading.Thread(target=self._watch, name="program-page-watch", daemon=True)
        self._watcher.start()
        return self

    def stop(self):
        self.stopping.set()
        self._poke.set()
        if self._watcher is not None:
            self._watcher.join(5)
        self._http.stop()


def _inbox_limit():
    from pandascreen.node.phone_inbox import MAX_REQUEST
    return MAX_REQUEST


def parse_bind(text, default_host="0.0.0.0", default_port=PORT):
    """``IP:PORT``, ``IP`` or ``:PORT`` -> (host, port); SyncError naming the option otherwise."""
    text = (text or "").strip()
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", str(default_port))
    host = host.strip("[]") or default_host
    if not port.isdigit() or int(port) > 65535:
        raise SyncError("--program-page must look like IP:PORT, e.g. 0.0.0.0:%d" % default_port)
    return host, int(port)


def start_for_screen(cfg, device, say, port=PORT):
    """A Pi screen's program page on ``port`` (config ``program_page_port``; 0 turns it off),
    rendered from the schedule its controller holds; None (said in one line) when it cannot start."""
    port = cfg.get("program_page_port", port)
    if not port:
        return None
    source = screen_source(cfg, device)
    try:
        page = ProgramPage(source, "0.0.0.0", port, inbox=inbox_for_screen(device, cfg.get("language")),
                           watch_every=SCREEN_WATCH_EVERY).start()
    except SyncError as e:
        say("no program page for phones: %s" % e)
        return None
    say("listening: program page for phones on port %d" % page.port)
    if page.failed:
        say("program page: cannot draw the program (%s); the page says so and tries again" % page.failed)
    return page


def screen_source(cfg, device):
    """What a Pi screen's page is rendered from: the schedule its controller holds, at the time
    the screen shows it and claims it or not (``Device.shown_time``)."""
    return ProgramSource(lambda: device.controller.schedule, lock=device._lock, language=cfg.get("language"),
                         screen_time=device.shown_time)


def inbox_for_screen(device, language=None):
    """Where participants' phones publish (node/phone_inbox.py), for a self-organised festival's
    screen; None (the page stays read-only) for a curated one: its program comes from the organisers."""
    from pandascreen.core import auth
    from pandascreen.node.phone_inbox import PhoneInbox
    c = device.controller
    if c.authorizer is None or c.authorizer.mode != auth.SELF_ORGANISED:
        return None
    # bookings are judged at the time the screen shows (``Device.shown_time``, the clock rule's;
    # offline the system clock may be weeks behind it); a phone's clock far off is said only where NTP keeps the screen's: the
    # clock rule also vouches for a clock a Pi restored offline from last night's, hours behind an
    # honest phone
    return PhoneInbox(c.store, c.log_id, c.authorizer, lock=device._lock, schedule=lambda: c.schedule,
                      language=language, on_stored=lambda: _stored(device),
                      clock=lambda: (device.shown_time()[0], device.clock_synced()))


def _stored(device):
    """A phone's operation is in the screen's store: redraw now, and have the sync node (the
    device's ``node``, when the app gave it one) push it to live peers now instead of at its next
    look at the store."""
    wake = getattr(device, "wake", None)
    if wake is not None:
        wake.set()
    node = getattr(device, "node", None)
    if node is not None:
        node.notify()
    page = getattr(device, "program_page", None)
    if page is not None:
        page.changed()  # a group operation changes the stage's rights, not the schedule's version


EVERY_ADDRESS = ("0.0.0.0", "::", "")


def phone_url(host, port):
    """The address phones use for a page listening on ``host``:``port``: a page on every address
    is reached by the machine's mDNS name, ``<hostname>.local`` (Raspberry Pi OS announces it,
    as do most laptops), any other host as it is."""
    if host in EVERY_ADDRESS:
        import socket
        host = "%s.local" % socket.gethostname().split(".")[0]
    elif ":" in host:
        host = "[%s]" % host
    return "http://%s:%d/" % (host, port)


def address_for_screen(cfg, port):
    """The address phones use for a screen's page: the config's ``program_page_url``, else the
    screen's mDNS name and ``port``."""
    return cfg.get("program_page_url") or phone_url("0.0.0.0", port)
