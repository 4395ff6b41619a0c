"""The satellite's side of the feed's HTTP: the request it sends a full peer and a bounded read
of the answer into a buffer it owns (a Pico W has no memory to spare for a response it did not
size).  Plain Python for CPython and MicroPython; the server is node/feed_server.py."""

from pandascreen.core.feed import VERSION
from pandascreen.core.feed_cursor import FeedError


def http_request(festival_id, host="feed"):
    """The request for the feed in form ``VERSION``: a full peer that knows the ``Feed-Version``
    header answers in that form, one that predates it (and any request without it, as deployed
    boards send) in version 1."""
    return ("GET /pandascreen/feed/%s HTTP/1.0\r\nHost: %s\r\nFeed-Version: %d\r\n\r\n"
            % (festival_id, host, VERSION)).encode()


def _ascii_said(raw):
    # a peer's bytes as words in a refusal: printable ASCII as it is, any other byte "?"
    # (MicroPython decodes no "replace": a cut through a character would raise UnicodeError)
    return bytes([c if 32 <= c < 127 else 63 for c in raw]).decode()


def read_http(conn, buf, chunk=512, partial=False):
    """Read one HTTP/1.0 response from ``conn`` (``readinto(memoryview) -> n``, 0 at the end)
    into ``buf``; return the body's length (the body then starts at buf[0]).  FeedError if the
    status is not 200 or the body does not fit ``buf`` (never reads more than ``len(buf)``);
    ``partial``: return what fits (the first bytes of the body) instead."""
    mv = memoryview(buf)
    got = 0
    head_end = -1
    while head_end < 0:
        if got >= min(len(buf), 1024):
            raise FeedError("HTTP header too long")
        n = conn.readinto(mv[got:min(got + chunk, len(buf))])
        if not n:
            raise FeedError("connection closed in the HTTP header")
        got += n
        head_end = bytes(mv[:got]).find(b"\r\n\r\n")
    head = bytes(mv[:head_end]).split(b"\r\n")
    status = head[0].split()
    if len(status) < 2 or status[1] != b"200":
        raise FeedError("feed server answered %s" % _ascii_said(head[0][:40]))
    length = None
    for line in head[1:]:
        if line.lower().startswith(b"content-length:"):
            try:
                length = int(line[15:].strip())
            except ValueError:
                raise FeedError("bad Content-Length")
    if partial:
        length = min(length or len(buf), len(buf))
    if length is not None and length > len(buf):
        raise FeedError("feed of %d bytes is over the %d byte limit" % (length, len(buf)))
    body = got - head_end - 4
    buf[0:body] = bytes(mv[head_end + 4:got])  # at most one chunk copied
    while length is None or body < length:
        if body == len(buf):
            if conn.readinto(bytearray(1)):
                raise FeedError("feed is over the %d byte limit" % len(buf))
            break
        n = conn.readinto(mv[body:min(body + chunk, len(buf) if length is None else length)])
        if not n:
            if length is not None:
                raise FeedError("connection closed after %d of %d feed bytes" % (body, length))
            break
        body += n
    return body
