"""A small read-only HTTP/1.1 server on one asyncio loop, with a fixed budget: connections in
total, connections per client address, bytes of a request head, and seconds a connection may
stall.

WHY not ``http.server``: a page on the festival Wi-Fi is opened by hundreds of phones at once,
and each keeps a live-update stream open, on a Pi Zero 2 W class machine (512 MB, 4 slow
cores).  ``ThreadingHTTPServer`` pays a thread per connection (hundreds of threads for the
streams alone) and parses every request's headers with the email package; here one thread
serves every connection, a stream is a coroutine waiting for a change, and a request is one
line and a few headers read with a size cap.  A connection over the budget gets a short ``503``
with ``Retry-After`` at once, unless a connection of that address (or, over the total, of any
address) sits idle between two requests: the oldest such is closed to make way, as a browser
keeps its connections open after a reply and asks again on a new one when an idle one is gone
(so a second phone behind the same address, or a reload, is never locked out by keep-alives).
Over the total with none idle, a newcomer takes the place of the oldest connection still sending
its first request head from the address holding the most connections, when that address holds
more than the newcomer's would, else of the oldest one of an address that has finished no head
for ``SLOW_HEAD`` seconds: neither a few addresses nor hundreds that fill the budget with requests
they never finish (a trickled head, reconnected at each timeout or faster) lock every phone out,
and phones with a request each, sent at once, never push each other out; a POST whose body is
still coming counts as such a request.  One that says nothing for ``timeout`` seconds is closed.
Only GET and HEAD are answered (the pages it serves are read-only), a request with a body is refused,
unless the server is given a ``post`` handler: then a POST with a Content-Length of at most
``max_body`` bytes is read whole (within ``timeout``) and ``post(target, headers, body)``, run
off the loop's thread, returns the response bytes; a longer one gets ``413`` and is not read.

``route(method, target, headers)`` (headers: a dict of lowercase names to lowercase values, and the
client's address under ``ADDRESS``) returns the full response bytes (``response()`` builds them), an ``OffLoop`` (a
call that may wait for a lock, run on a worker thread, whose bytes are sent), or, for
a stream, an async iterable of byte chunks (sent after ``STREAM_HEAD``; the connection closes
when it ends, and the stream's ``aclose()``, when it has one, is awaited however it ended).
"""

import asyncio
import errno
import threading
import time

from pandascreen.node.conn_limits import ListenError

# seconds: a phone sends its request head at once; one still coming (or a POST body still
# coming) after this makes way for a newcomer when every place is taken, the oldest first
SLOW_HEAD = 2.0
MAX_HEAD = 8192  # bytes of a request line and its headers; a phone's GET needs well under 2 KB
ADDRESS = ":address"  # the client's address among the headers ``route`` gets (HTTP names never start with ":")
STATUS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          408: "Request Timeout", 409: "Conflict", 413: "Content Too Large", 431: "Request Header Fields Too Large",
          503: "Service Unavailable"}
BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Retry-After: 5\r\nContent-Length: 23\r\nConnection: close\r\n\r\nbusy, try again soon.\r\n")
STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               b"Connection: close\r\n\r\n")


def response(status, body, ctype, extra=(), head=False, close=False):
    """The bytes of one whole response (``head``: without the body, for HEAD)."""
    lines = ["HTTP/1.1 %d %s" % (status, STATUS.get(status, "")), "Content-Type: " + ctype,
             "Content-Length: %d" % len(body), "Cache-Control: no-cache"]
    lines.extend("%s: %s" % kv for kv in extra)
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body)


def _parse_head(head):
    """(request line parts, header names, {name: value}) of a request head, names and values lowercase."""
    lines = head.decode("latin-1").split("\r\n")
    names = [line.split(":", 1)[0].strip().lower() for line in lines[1:] if line]
    values = dict((line.split(":", 1)[0].strip().lower(), line.split(":", 1)[-1].strip().lower())
                  for line in lines[1:] if ":" in line)
    return lines[0].split(" "), names, values


class OffLoop:
    """A response that needs a lock or a store: ``fn(*args)`` returns its bytes, run on a
    worker thread so the one serving thread never waits for it."""

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args


class BoundedHTTP:
    """``BoundedHTTP(route, host, port).start()`` serves on its own thread until ``stop()``."""

    def __init__(self, route, host, port, max_connections=256, max_per_address=8, timeout=10, name="http",
                 post=None, max_body=0):
        self.route = route
        self.post = post
        self.max_body = max_body
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.timeout = timeout
        self.name = name
        self.open_connections = 0
        self.refused = 0  # connections answered "busy" since the start
        self._per_address = {}
        self._idle = {}  # writer -> address, in the order they fell idle after a reply (keep-alive)
        self._heading = {}  # writer -> address, oldest first: connections still sending their first request head
        self._heading_since = {}  # address -> when (time.monotonic) it began a head, none of its heads finished since
        self._evicted = set()  # writers closed to make way, whose place is already given back
        self.loop = None
        self._server = None
        self._thread = None

    # -- the budget (only touched on the loop's thread) --------------------------------------
    def _admit(self, address):
        if self._per_address.get(address, 0) >= self.max_per_address:
            full = self._close_idle(address)
        elif self.open_connections >= self.max_connections:
            full = self._close_idle(None) and self._close_heading(address)
        else:
            full = False
        if full:
            self.refused += 1
            return False
        self.open_connections += 1
        self._per_address[address] = self._per_address.get(address, 0) + 1
        return True

    def _close_idle(self, address):
        """Close the oldest connection idle between requests (of ``address``, or any when None);
        False when one was closed, True when every connection is busy.  The closed one gives back
        its place at once."""
        for writer, owner in self._idle.items():
            if address is None or owner == address:
                del self._idle[writer]
                self._evicted.add(writer)
                self._release(owner)  # now: a burst of new connections in this same turn sees the place free
                writer.close()
                return False
        return True

    def _close_heading(self, address):
        """Close the oldest connection still sending its first request head of the address that
        holds the most, when that is more than ``address`` would hold with one more; False when
        one was closed, True when none may be."""
        counts = self._per_address
        victim = None
        for writer, owner in self._heading.items():  # oldest first: the first of the heaviest wins
            if victim is None or counts.get(owner, 0) > counts.get(victim[1], 0):
                victim = (writer, owner)
        if victim is None or counts.get(victim[1], 0) <= counts.get(address, 0) + 1:
            # else the oldest of an address that has sent no whole head for SLOW_HEAD seconds (many
            # addresses with a place each; one reconnecting faster than that is as slow)
            now = time.monotonic()
            victim = next(((w, a) for w, a in self._heading.items()
                           if now - self._heading_since.get(a, now) >= SLOW_HEAD), None)
            if victim is None:
                return True
        writer, owner = victim
        self._unheading(writer)
        self._evicted.add(writer)
        self._release(owner)
        writer.close()
        return False

    def _heading_as(self, writer, address):
        self._heading[writer] = address
        if address not in self._heading_since and len(self._heading_since) >= 4 * self.max_connections:
            for gone in [a for a in self._heading_since if a not in self._per_address]:
                del self._heading_since[gone]  # addresses with no connection left
        self._heading_since.setdefault(address, time.monotonic())

    def _unheading(self, writer):
        """``writer`` no longer sends a head (or a POST body)."""
        self._heading.pop(writer, None)

    def _finished(self, address):
        """``address`` sent a request whole: it is not slow (``_close_heading``)."""
        self._heading_since.pop(address, None)

    def _release(self, address):
        self.open_connections -= 1
        left = self._per_address.get(address, 1) - 1
        if left > 0:
            self._per_address[address] = left
        else:
            self._per_address.pop(address, None)

    # -- one connection ----------------------------------------------------------------------
    async def _send(self, writer, data):
        writer.write(data)
        await asyncio.wait_for(writer.drain(), self.timeout)

    async def _refuse(self, writer):
        """Over the budget: a short 503 at once, then the connection ends."""
        try:
            writer.write(BUSY)
            await asyncio.wait_for(writer.drain(), 1)
        except (OSError, asyncio.TimeoutError):
            pass
        writer.close()

    async def _client(self, reader, writer):
        address = (writer.get_extra_info("peername") or ("?",))[0]
        if not self._admit(address):
            await self._refuse(writer)
            return
        held = []  # the stream being sent: closed however the connection ends
        try:
            if await self._request(reader, writer, held, heading_as=address):
                while await self._request(reader, writer, held, idle_as=address):
                    pass  # each request waits at most ``timeout`` for its head
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError,
                OSError, ValueError):
            pass  # a phone gone, silent or talking nonsense: its connection ends, nothing else
        except asyncio.CancelledError:
            pass  # the server stops: the connection ends like any other (asyncio would log a cancelled one)
        finally:
            for stream in held:
                if hasattr(stream, "aclose"):
                    try:
                        await stream.aclose()
                    except Exception:
                        pass
            if writer in self._evicted:
                self._evicted.discard(writer)
            else:
                self._release(address)
            writer.close()

    async def _request(self, reader, writer, held, idle_as=None, heading_as=None):
        """Read and answer one request; True when the connection stays open for the next one.
        ``idle_as``: the client's address, when this is a kept-alive connection that may be closed
        to make way while it waits for the next request; ``heading_as``: when this is the first
        request, which may be closed to make way while its head comes (``_close_heading``)."""
        if idle_as is not None:
            self._idle[writer] = idle_as
        if heading_as is not None:
            self._heading_as(writer, heading_as)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
        except asyncio.LimitOverrunError:  # not read on: said in one line, then the connection ends
            self._unheading(writer)
            await self._send(writer, response(431, b"request head over %d bytes\n" % MAX_HEAD, "text/plain",
                                              close=True))
            return False
        finally:
            self._idle.pop(writer, None)
            self._unheading(writer)
        if heading_as is not None and not head.startswith(b"POST "):
            self._finished(heading_as)  # a POST's head is not its request: its body, trickled, is as slow
        parts, names, values = _parse_head(head)
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await self._send(writer, response(400, b"bad request\n", "text/plain", close=True))
            return False
        method, target, version = parts
        if method == "POST" and self.post is not None:
            await self._post(reader, writer, target, names, values, heading_as or idle_as)
            return False
        if method not in ("GET", "HEAD") or "content-length" in names or "transfer-encoding" in names:
            await self._send(writer, response(405, b"only GET and HEAD\n", "text/plain",
                                              [("Allow", "GET, HEAD")], close=True))
            return False
        close = values.get("connection") == "close" or (version == "HTTP/1.0"
                                                       and values.get("connection") != "keep-alive")
        values[ADDRESS] = heading_as or idle_as  # no header a client sends can have this name
        reply = self.route(method, target, values)
        if isinstance(reply, OffLoop):
            reply = await asyncio.get_running_loop().run_in_executor(None, reply.fn, *reply.args)
        if isinstance(reply, bytes):
            await self._send(writer, reply)
            return not close
        held.append(reply)
        await self._send(writer, STREAM_HEAD)
        if method != "HEAD":
            async for chunk in reply:
                await self._send(writer, chunk)
        return False

    async def _post(self, reader, writer, target, names, values, address=None):
        """A POST with a Content-Length within ``max_body``: read whole, answered by ``post`` off the loop.
        While its body comes it is a request not finished yet, closed to make way as a trickled
        head is (``_close_heading``): a body that never finishes holds a place as long."""
        size = values.get("content-length", "")
        if names.count("content-length") > 1:  # which one counts is where a smuggled request would hide
            await self._send(writer, response(400, b"two Content-Lengths\n", "text/plain", close=True))
            return
        if "transfer-encoding" in names or not (size.isascii() and size.isdigit()):  # "²" is a digit to isdigit()
            await self._send(writer, response(400, b"a POST needs a Content-Length\n", "text/plain", close=True))
            return
        # leading zeros dropped, and more digits than the limit has is over it (int() refuses 4,300)
        size = size.lstrip("0") or "0"
        if len(size) > len(str(self.max_body)) or int(size) > self.max_body:
            await self._send(writer, response(413, b"request body over %d bytes\n" % self.max_body,
                                              "text/plain", close=True))
            return
        if address is not None:
            self._heading_as(writer, address)
        try:
            data = await asyncio.wait_for(reader.readexactly(int(size)), self.timeout)
        except asyncio.TimeoutError:  # a stalled body: said in one line, nothing of it is used
            self._unheading(writer)
            await self._send(writer, response(408, b"the request body did not arrive within %g s\n" % self.timeout,
                                              "text/plain", close=True))
            return
        finally:
            self._unheading(writer)
        if address is not None:
            self._finished(address)
        loop = asyncio.get_running_loop()
        await self._send(writer, await loop.run_in_executor(None, self.post, target, values, data))

    # -- the loop ----------------------------------------------------------------------------
    def start(self):
        ready = threading.Event()
        failed = []

        def serve():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(
                    self._client, self.host, self.port, limit=MAX_HEAD, backlog=256, reuse_address=True))
            except OSError as e:
                failed.append(e)
                ready.set()
                loop.close()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            try:
                loop.run_forever()
            finally:
                self._server.close()
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(30)
        if failed:
            e = failed[0]
            busy = e.errno == errno.EADDRINUSE
            raise ListenError("cannot serve the %s on %s:%d: %s" % (
                self.name, self.host, self.port, "the port is already in use" if busy else (e.strerror or e)),
                self.host, self.port, busy)
        return self

    def call(self, fn, *args):
        """Run ``fn(*args)`` on the loop's thread (from any thread)."""
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop closed in between
                pass

    def stop(self):
        if self._thread is None:
            return
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.loop.stop)
            except RuntimeError:
                pass
        self._thread.join(5)
        self._thread = None
