"""[CPython] Plain TCP transport for ``pandascreen.core.sync``: a background server and a client.

One TCP connection carries exactly the framed byte stream of one sync session (topic
handshake, then log sync).  Both directions are pumped with ``select`` on a non-blocking
socket, so two peers streaming large batches at each other cannot deadlock.

    server = SyncServer(store, log_id)          # loopback by default
    server.start(); print(server.port)
    stats = sync_with(other_store, log_id, "127.0.0.1", server.port)
    server.stop()
"""

import errno
import logging
import select
import socket
import threading
import time

from pandascreen.core.postcard import DEFAULT_MAX_FRAME
from pandascreen.core.sync import ACCEPTOR, INITIATOR, SyncError, SyncSession

log = logging.getLogger("pandascreen.node.tcp")

# After our Close is sent, wait at most this long for the peer's Close before hanging up.
CLOSE_WAIT = 2.0


def pump(sock, session, timeout=10.0, peer="peer", deadline=None):
    """Drive ``session`` over the connected socket ``sock`` until it finishes.

    ``timeout`` is an inactivity limit in seconds: if nothing can be sent or received for
    that long the session fails.  ``deadline`` (seconds) bounds the whole session, so a
    peer that trickles one byte now and then (slowloris) cannot hold a slot for ever.  Returns ``session.stats()``; raises ``SyncError``.
    Does not close the socket.
    """
    sock.setblocking(False)
    session.start()
    pending = b""
    last_activity = time.monotonic()
    end = None if deadline is None else last_activity + deadline
    while True:
        if not pending:
            pending = memoryview(session.outgoing())
        if session.finished and not pending:
            break
        if session.complete and not pending:
            # Everything is exchanged and our Close is out; the peer's Close is a courtesy.
            limit = min(timeout, CLOSE_WAIT)
        else:
            limit = timeout
        now = time.monotonic()
        wait = limit - (now - last_activity)
        if end is not None and now >= end:
            if session.complete and not pending:
                break
            raise SyncError("%s did not finish within the session deadline of %gs %s"
                            % (peer, deadline, session.where()))
        if end is not None:
            wait = min(wait, end - now)
        if wait <= 0:
            if session.complete and not pending:
                break
            raise SyncError("%s timed out after %gs without progress %s"
                            % (peer, timeout, session.where()))
        wlist = [sock] if pending else []
        try:
            readable, writable, _ = select.select([sock], wlist, [], wait)
        except (OSError, ValueError) as e:
            raise SyncError("connection to %s failed: %s" % (peer, e))
        if writable and pending:
            try:
                n = sock.send(pending)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as e:
                if session.complete:
                    break
                raise SyncError("connection to %s lost %s: %s" % (peer, session.where(), _oserr(e)))
            if n:
                pending = pending[n:]
                last_activity = time.monotonic()
        if readable:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                if session.complete:
                    break
                raise SyncError("connection to %s lost %s: %s" % (peer, session.where(), _oserr(e)))
            last_activity = time.monotonic()
            if not data:
                session.eof()  # raises SyncError unless the exchange was complete
                if pending:
                    try:
                        sock.setblocking(True)
                        sock.settimeout(min(timeout, CLOSE_WAIT))
                        sock.sendall(pending)
                    except OSError:
                        pass
                break
            session.feed(data)
    return session.stats()


def _oserr(e):
    if isinstance(e, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(e, BrokenPipeError):
        return "peer closed the connection"
    return e.strerror or str(e)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def sync_with(store, log_id, host, port, timeout=10, topic=None, handshake=True, progress=None,
              max_frame=DEFAULT_MAX_FRAME):
    """Connect to a ``SyncServer`` at ``host:port`` and sync ``log_id`` as initiator.

    Returns the stats dict of ``SyncSession.stats()`` plus ``"peer"``.  Raises ``SyncError``
    with a readable message when the peer cannot be reached or the session fails.
    """
    peer = "%s:%d" % (host, port)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise SyncError("cannot reach peer %s: connection refused" % peer)
    except socket.gaierror as e:
        raise SyncError("cannot reach peer %s: unknown host (%s)" % (peer, e.strerror or e))
    except socket.timeout:
        raise SyncError("cannot reach peer %s: no answer within %gs" % (peer, timeout))
    except OSError as e:
        raise SyncError("cannot reach peer %s: %s" % (peer, _oserr(e)))
    session = SyncSession(store, log_id, INITIATOR, topic=topic, handshake=handshake,
                          progress=progress, max_frame=max_frame)
    try:
        stats = pump(sock, session, timeout, "peer " + peer)
    finally:
        _close(sock)
    stats["peer"] = peer
    return stats


class SyncServer:
    """Accepts sync connections in a background thread (one thread per connection).

    Binds to loopback unless ``host`` says otherwise; ``port=0`` picks a free port (see
    ``.port`` after ``start()``).  Failed sessions are logged and kept in ``.errors``
    (last 20); ``.sessions`` counts finished sessions, ``.last_stats`` is the latest stats.
    Sessions run concurrently, so the store must be thread-safe (``SqliteStore`` is).
    """

    def __init__(self, store, log_id, host="127.0.0.1", port=0, timeout=30, topic=None,
                 handshake=True, max_frame=DEFAULT_MAX_FRAME, max_connections=8,
                 max_per_address=2, session_deadline=120):
        self.store = store
        self.log_id = bytes(log_id)
        self.host = host
        self.port = port
        self.timeout = timeout
        self.topic = topic
        self.handshake = handshake
        self.max_frame = max_frame
        self.max_connections = max_connections
        # one address cannot take every slot (honest peers elsewhere still get in), and no
        # session outlives session_deadline (issue 13, fix 3)
        self.max_per_address = max_per_address
        self.session_deadline = session_deadline
        self._per_address = {}
        self.errors = []
        self.sessions = 0
        self.last_stats = None
        self._sock = None
        self._thread = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns = set()
        self._workers = set()

    def start(self):
        if self._thread is not None:
            return self
        try:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(16)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise SyncError("cannot listen on %s:%d: the port is already in use" % (self.host, self.port))
            raise SyncError("cannot listen on %s:%d: %s" % (self.host, self.port, _oserr(e)))
        sock.settimeout(0.2)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._accept_loop, name="pandascreen-sync-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            conns = list(self._conns)
            workers = list(self._workers)
        for c in conns:
            _close(c)
        for w in workers:
            w.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, addr = self._sock.accept()
            except socket.timeout:
                continue
            except OSError as e:
                if self._stopping.is_set():
                    break
                log.warning("sync server: accept failed: %s", e)
                time.sleep(0.2)
                continue
            with self._lock:
                busy = len(self._conns) >= self.max_connections
                mine = self._per_address.get(addr[0], 0)
                crowded = mine >= self.max_per_address
                if not busy and not crowded:
                    self._conns.add(conn)
                    self._per_address[addr[0]] = mine + 1
            if busy or crowded:
                self._record_error("%s:%d: refused, %d sessions already running%s"
                                   % (addr[0], addr[1], self.max_connections if busy else mine,
                                      "" if busy else " from this address"))
                _close(conn)
                continue
            t = threading.Thread(target=self._serve, args=(conn, addr), name="pandascreen-sync", daemon=True)
            with self._lock:
                self._workers.add(t)
            t.start()

    def _serve(self, conn, addr):
        peer = "peer %s:%d" % (addr[0], addr[1])
        session = SyncSession(self.store, self.log_id, ACCEPTOR, topic=self.topic,
                              handshake=self.handshake, max_frame=self.max_frame)
        try:
            stats = pump(conn, session, self.timeout, peer, self.session_deadline)
            stats["peer"] = "%s:%d" % (addr[0], addr[1])
            with self._lock:
                self.sessions += 1
                self.last_stats = stats
        except SyncError as e:
            self._record_error("%s: %s" % (peer, e))
        except Exception as e:  # never let one bad peer kill the server thread silently
            self._record_error("%s: unexpected %s: %s" % (peer, type(e).__name__, e))
        finally:
            _close(conn)
            with self._lock:
                self._conns.discard(conn)
                self._workers.discard(threading.current_thread())
                left = self._per_address.get(addr[0], 1) - 1
                if left > 0:
                    self._per_address[addr[0]] = left
                else:
                    self._per_address.pop(addr[0], None)

    def _record_error(self, msg):
        log.warning("sync server: %s", msg)
        with self._lock:
            self.errors.append(msg)
            del self.errors[:-20]
