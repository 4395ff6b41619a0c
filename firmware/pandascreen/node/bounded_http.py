"""A threaded HTTP server with a fixed budget: connections in total, connections per client
address, and seconds a connection may stall.

WHY: a page on the festival Wi-Fi is opened by hundreds of phones at once, on a Pi Zero 2 W
class machine (512 MB, 4 slow cores).  The standard ``ThreadingHTTPServer`` starts one thread
per connection without limit, and a phone that opens a connection and sends nothing holds its
thread forever.  Here a connection over the budget gets a short ``503`` with ``Retry-After``
at once (written from the accepting thread, never read from), and every handler has a socket
timeout, so memory and threads stay bounded whatever the clients do.
"""

import threading
from http.server import ThreadingHTTPServer

BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Retry-After: 5\r\nContent-Length: 23\r\nConnection: close\r\n\r\nbusy, try again soon.\r\n")


class BoundedHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that admits at most ``max_connections`` connections at once and
    ``max_per_address`` from one client address; handlers get ``timeout`` seconds per read or
    write (the handler class's ``timeout``, set here when it has none)."""

    daemon_threads = True
    request_queue_size = 128  # the kernel's accept backlog: a burst of phones waits there, not in threads

    def __init__(self, address, handler, max_connections=256, max_per_address=8, timeout=10):
        if getattr(handler, "timeout", None) is None:
            handler = type(handler.__name__, (handler,), {"timeout": timeout})
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self._count_lock = threading.Lock()
        self._open = 0
        self._per_address = {}
        self.refused = 0  # connections answered "busy" since the start
        ThreadingHTTPServer.__init__(self, address, handler)

    @property
    def open_connections(self):
        return self._open

    def _admit(self, address):
        with self._count_lock:
            if self._open >= self.max_connections or self._per_address.get(address, 0) >= self.max_per_address:
                self.refused += 1
                return False
            self._open += 1
            self._per_address[address] = self._per_address.get(address, 0) + 1
            return True

    def _release(self, address):
        with self._count_lock:
            self._open -= 1
            left = self._per_address.get(address, 1) - 1
            if left > 0:
                self._per_address[address] = left
            else:
                self._per_address.pop(address, None)

    def process_request(self, request, client_address):
        address = client_address[0]
        if not self._admit(address):
            try:
                request.settimeout(1)
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            ThreadingHTTPServer.process_request(self, request, client_address)
        except BaseException:
            self._release(address)
            raise

    def process_request_thread(self, request, client_address):
        try:
            ThreadingHTTPServer.process_request_thread(self, request, client_address)
        finally:
            self._release(client_address[0])

