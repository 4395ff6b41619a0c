"""Stand-ins for the connection a satellite board reads its feed over: ``send``, a bounded
``readinto`` (fills at most the caller's buffer) and ``close``, as board/main.py's
``SocketConn`` on a Pico.  Plain Python: the MicroPython scripts of the tests and the bench
import them too.

- ``FileConn``: a peer that answers with the HTTP response in a file (``path + ".http"``).
- ``BytesConn``: a peer that answers with bytes, ``trickle`` bytes a read at most.
- ``SocketConn``: a real TCP connection (CPython or MicroPython's unix port) with the board's
  interface, to a feed server on loopback.
"""


def http_ok(body):
    """``body`` as a feed server's whole answer."""
    return b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


class FileConn:
    """``path`` None: the network is down (the connect fails, as a board's does)."""

    def __init__(self, path):
        if path is None:
            raise OSError("Wi-Fi down")
        self.f = open(path + ".http", "rb")
        self.sent = b""

    def send(self, data):
        self.sent += data

    def readinto(self, mv):
        return self.f.readinto(mv)

    def close(self):
        self.f.close()


class BytesConn:
    """``taken``: how many bytes the reader has read (a bounded reader stops early).  ``trickle``
    may also be set on a subclass, to change every connection's pace at once."""

    trickle = None

    def __init__(self, data, trickle=None):
        self.data = data
        if trickle is not None:
            self.trickle = trickle
        self.taken = 0
        self.reads = 0

    def send(self, data):
        pass

    def readinto(self, mv):
        self.reads += 1
        n = min(len(mv), len(self.data) - self.taken)
        if self.trickle:
            n = min(n, self.trickle)
        mv[:n] = self.data[self.taken:self.taken + n]
        self.taken += n
        return n

    def close(self):
        pass


class SocketConn:
    def __init__(self, host, port, timeout=5):
        import socket
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.connect(socket.getaddrinfo(host, port)[0][-1])

    def send(self, data):
        mv = memoryview(data)
        while len(mv):
            mv = mv[self.sock.send(mv):]

    def readinto(self, mv):
        read = getattr(self.sock, "recv_into", None)  # CPython's socket; MicroPython's reads with readinto
        return read(mv) if read else self.sock.readinto(mv)

    def close(self):
        self.sock.close()
