"""Serve the signed screen feed (node/feed_sign.py) over plain HTTP for satellite boards.

WHY plain HTTP: a MicroPython board has TCP sockets and little else (no iroh, no TLS worth
its heap); the feed carries its own signature, so the transport need not be trusted.  A Pi
screen or the organiser's ``serve`` runs one ``FeedServer``; boards ask
``GET /pandascreen/feed/<festival id>`` and get ``application/cbor`` with a Content-Length.
Anyone on the Wi-Fi can connect, so what connections may hold is bounded (node/conn_limits.FEED).

``FeedSource`` re-derives the feed when the store changed, or when the one it holds is
``refresh`` seconds old (so issued-at stays fresh and a board's clock floor follows), and
signs it with the peer's key: an organiser key needs no grant, any other key needs a group
operation giving it Read (``pandascreen-host group add <key> --level read``).
"""

import asyncio
import concurrent.futures
import threading
import time

from pandascreen.core import auth, operation
from pandascreen.node import conn_limits, feed_sign
from pandascreen.core.clock import elapsed
from pandascreen.core.crypto import signing_key
from pandascreen.core.errors import PandascreenError
from pandascreen.core.feed import FEED_PORT, VERSION  # one number for servers, provisioning and boards

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
        self._built = {}  # feed form: (store version, issued_at, bytes)
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

    def get(self, form=1):
        """Feed bytes in feed form ``form`` (1 to core/feed.py VERSION); FeedError if this key may not
        sign feeds (no grant in the logs)."""
        with self._mine:
            now = int(self.clock())
            version = self.store.version
            b = self._built.get(form)
            if b is not None and b[0] == version and elapsed(now, b[1]) < self.refresh:
                return b[2]
            with self._lock:
                grant = feed_sign.find_grant(self.store, self.log_id, self.key.public_key, self.organisers)
                data = feed_sign.build(self.schedule(), self.store, self.log_id, self.festival_id, self.key,
                                       grant, now, version=form)
            self._built[form] = (version, now, data)
            return data


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
            431: "Request Header Fields Too Large", 503: "Service Unavailable"}


def _reply(code, body, ctype="text/plain"):
    head = ("HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n" % (code, _REASONS[code], ctype, len(body)))
    return head.encode("ascii") + body


class FeedServer:
    """``FeedServer(source, host, port).start()`` serves in a thread until ``stop()``.

    One asyncio loop holds every connection (no thread per connection, so idle ones cost a
    file handle and a few KB, no more), under ``limits`` (node/conn_limits.FEED: connections
    in total and per address, the request's deadline and size, the reply's deadline, file
    handles kept for sync).  ``slots.counts`` says how many were admitted, refused, evicted.
    Not http.server: it gives each connection a thread blocked in reads with no total deadline
    and reads request heads of up to 100 lines of 64 KB; a board sends one GET line and a Host."""

    def __init__(self, source, host="0.0.0.0", port=FEED_PORT, limits=conn_limits.FEED):
        self.source = source
        self.host = host
        self.port = port
        self.limits = limits
        self.slots = conn_limits.Slots(limits)
        self._loop = None
        self._thread = None
        self._accepting = None
        self._tasks = set()
        self._builder = None

    def start(self):
        """Listen (ListenError, a SyncError, when the address cannot be had), then serve."""
        sock = conn_limits.listen(self.host, self.port, "the satellite feed")
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._builder = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="feed-build")
        self._loop = asyncio.new_event_loop()
        self._accepting = self._loop.create_task(self._accept(sock))
        self._thread = threading.Thread(target=self._loop.run_forever, name="feed-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        loop = self._loop
        if loop is None:
            return
        self._loop = None

        async def close():
            self._accepting.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(self._accepting, *self._tasks, return_exceptions=True)
            loop.stop()
        asyncio.run_coroutine_threadsafe(close(), loop)
        self._thread.join(5)
        if not loop.is_running():
            loop.close()
        self._builder.shutdown(wait=False)

    async def _accept(self, sock):
        """Accept one connection at a time and admit it before anything else is made for it, so
        a burst never holds more handles than the bounds allow (plus the one being refused)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    conn, addr = await loop.sock_accept(sock)
                except OSError:  # out of handles for a moment (or a connection reset before accept)
                    await asyncio.sleep(0.1)
                    continue
                handler = []
                try:  # eviction cancels the victim's handler, which frees its handle
                    slot = self.slots.admit(addr[0], lambda h=handler: h[0].cancel())
                except conn_limits.Refused:
                    conn.close()
                    continue
                task = loop.create_task(self._connection(conn, slot))
                handler.append(task)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            sock.close()

    async def _connection(self, conn, slot):
        transport = None
        try:
            reader, writer = await asyncio.open_connection(sock=conn, limit=self.limits.request_bytes)
            transport = writer.transport
            reply = await self._answer(reader, slot)
            writer.write(reply)
            await asyncio.wait_for(writer.drain(), self.limits.reply_deadline)
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), self.limits.reply_deadline)
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError):
            pass  # gone, or not reading what it asked for: cut below
        finally:
            # whatever ended it (a reply, a deadline, eviction), the handle is freed now
            if transport is not None:
                transport.abort()  # a no-op once closed
            else:
                conn.close()
            self.slots.release(slot)

    async def _answer(self, reader, slot):
        """The reply's bytes to the request ``reader`` brings within the request deadline."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.limits.deadline)
        except asyncio.TimeoutError:
            return _reply(408, b"the request took longer than %gs\n" % self.limits.deadline)
        except (asyncio.LimitOverrunError, ValueError):
            return _reply(431, b"the request head is over %d bytes\n" % self.limits.request_bytes)
        slot.working = True  # asked: no newcomer takes its place now
        words = head.split(b"\r\n", 1)[0].split()
        if len(words) != 3 or not words[2].startswith(b"HTTP/"):
            return _reply(400, b"not an HTTP request\n")
        if words[0] != b"GET":
            return _reply(405, b"only GET\n")
        src = self.source
        if words[1] != (PATH + src.festival_id).encode("utf-8"):
            return _reply(404, b"no such feed\n")
        try:
            data = await asyncio.get_running_loop().run_in_executor(self._builder, src.get, _version(head))
        except PandascreenError as e:
            return _reply(503, ("%s\n" % e).encode("utf-8"))
        return _reply(200, data, "application/cbor")


def _version(head):
    """The feed form a board asks for (``Feed-Version: 2``, core/feed.py ``http_request``); 1 when
    it does not say (deployed boards), the newest this peer writes when it asks for a newer one."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"feed-version":
            try:
                return max(1, min(int(value.strip()), VERSION))
            except ValueError:
                return 1
    return 1


def start_for_screen(cfg, store, config_dir, device, say, port=FEED_PORT):
    """A Pi screen's feed server on ``port``, signed with its device key (``cfg["key"]``) and derived
    from the schedule its controller holds; None (said in one line) without a key to sign with,
    conn_limits.ListenError when the port cannot be had.  The key needs a Read grant in the
    festival group, else boards get 503 with the command to run."""
    from pandascreen.core.errors import ConfigError
    from pandascreen.node.device_key import device_seed
    try:
        seed = device_seed(cfg, config_dir)
    except ConfigError as e:
        say("no feed for satellite boards: %s" % e)
        return None
    if not cfg.get("organiser_keys"):
        say("no feed for satellite boards: no organiser keys in the config")
        return None
    source = FeedSource(store, cfg["festival_id"], seed, cfg["organiser_keys"],
                        schedule=lambda: device.controller.schedule, lock=device._lock)
    server = FeedServer(source, "0.0.0.0", port).start()
    say("listening: signed screen feed for satellite boards on port %d" % server.port)
    return server
