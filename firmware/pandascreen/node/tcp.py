"""Plain TCP transport for ``pandascreen.core.sync``: a background server and a client.

One TCP connection carries exactly the framed byte stream of one sync session (topic
handshake, then log sync).  Both directions are pumped with ``select`` on a non-blocking
socket, so two peers streaming large batches at each other cannot deadlock.

    server = SyncServer(store, log_id)          # loopback by default
    server.start(); print(server.port)
    stats = sync_with(other_store, log_id, "127.0.0.1", server.port)
    server.stop()
"""

import logging
import select
import socket
import threading
import time

from pandascreen.core.postcard import DEFAULT_MAX_FRAME
from pandascreen.core.sync import ACCEPTOR, INITIATOR, SyncError, SyncSession
from pandascreen.node import conn_limits
from pandascreen.node.conn_limits import TCP_SYNC
from pandascreen.node.log_repeats import Repeats

log = logging.getLogger("pandascreen.node.tcp")

# After our Close is sent, wait at most this long for the peer's Close before hanging up.
CLOSE_WAIT = 2.0


class _Finished(Exception):
    """The exchange is over as far as this side needs: ``pump`` ends without an error."""


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
    try:
        while True:
            if not pending:
                pending = memoryview(session.outgoing())
            if session.finished and not pending:
                break
            wait = _time_left(session, pending, last_activity, end, timeout, deadline, peer)
            try:
                readable, writable, _ = select.select([sock], [sock] if pending else [], [], wait)
            except (OSError, ValueError) as e:
                raise SyncError("connection to %s failed: %s" % (peer, e))
            if writable and pending:
                n = _send(sock, pending, session, peer)
                if n:
                    pending = pending[n:]
                    last_activity = time.monotonic()
            if readable and _receive(sock, session, pending, timeout, peer):
                last_activity = time.monotonic()
    except _Finished:
        pass
    return session.stats()


def _time_left(session, pending, last_activity, end, timeout, deadline, peer):
    """Seconds ``pump`` may wait for the socket; ``_Finished`` when time is up after the exchange
    is complete, ``SyncError`` when it is up before."""
    done = session.complete and not pending
    # everything is exchanged and our Close is out: the peer's Close is a courtesy
    limit = min(timeout, CLOSE_WAIT) if done else timeout
    now = time.monotonic()
    wait = limit - (now - last_activity)
    if end is not None and now >= end:
        if done:
            raise _Finished()
        raise SyncError("%s did not finish within the session deadline of %gs %s"
                        % (peer, deadline, session.where()))
    if end is not None:
        wait = min(wait, end - now)
    if wait <= 0:
        if done:
            raise _Finished()
        raise SyncError("%s timed out after %gs without progress %s" % (peer, timeout, session.where()))
    return wait


def _send(sock, pending, session, peer):
    """Bytes of ``pending`` the socket took (0 when it would block)."""
    try:
        return sock.send(pending)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError as e:
        if session.complete:
            raise _Finished()
        raise SyncError("connection to %s lost %s: %s" % (peer, session.where(), _oserr(e)))


def _receive(sock, session, pending, timeout, peer):
    """Feed what arrived to ``session``; False when nothing could be read after all.  At the
    peer's end of stream, what is still ``pending`` goes out (briefly) and ``_Finished``."""
    try:
        data = sock.recv(65536)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError as e:
        if session.complete:
            raise _Finished()
        raise SyncError("connection to %s lost %s: %s" % (peer, session.where(), _oserr(e)))
    if not data:
        session.eof()  # raises SyncError unless the exchange was complete
        if pending:
            try:
                sock.setblocking(True)
                sock.settimeout(min(timeout, CLOSE_WAIT))
                sock.sendall(pending)
            except OSError:
                pass
        raise _Finished()
    session.feed(data)
    return True


def _oserr(e):
    if isinstance(e, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(e, BrokenPipeError):
        return "peer closed the connection"
    return e.strerror or str(e)


def _shut(sock):
    """End a connection another thread pumps: its select wakes and the session fails."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


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

    Sessions are bounded by node/conn_limits.TCP_SYNC (each keyword overrides one bound):
    ``timeout`` idle seconds, ``session_deadline`` seconds per session, ``max_connections`` in
    total, ``max_per_address`` from one address, ``evict_after`` seconds before a session may
    be evicted for a newcomer from an address holding fewer (``.slots``, conn_limits.Slots).
    """

    def __init__(self, store, log_id, host="127.0.0.1", port=0, timeout=TCP_SYNC.idle, topic=None,
                 handshake=True, max_frame=DEFAULT_MAX_FRAME, max_connections=TCP_SYNC.connections,
                 max_per_address=TCP_SYNC.per_address, session_deadline=TCP_SYNC.deadline,
                 evict_after=TCP_SYNC.evict_after):
        self.store = store
        self.log_id = bytes(log_id)
        self.host = host
        self.port = port
        self.timeout = timeout
        self.topic = topic
        self.handshake = handshake
        self.max_frame = max_frame
        self.session_deadline = session_deadline
        self.slots = conn_limits.Slots(TCP_SYNC._replace(
            connections=max_connections, per_address=max_per_address, idle=timeout,
            deadline=session_deadline, evict_after=evict_after))
        self.errors = []
        self._errors_said = Repeats(lambda msg: log.warning("sync server: %s", msg))
        self.sessions = 0
        self.last_stats = None
        self._sock = None
        self._thread = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns = set()
        self._workers = set()

    def start(self):
        """Listen (ListenError, a SyncError, when the address cannot be had), then accept."""
        if self._thread is not None:
            return self
        sock = conn_limits.listen(self.host, self.port, "plain-TCP sync", backlog=16)
        sock.settimeout(None)  # accept() sleeps until a peer comes; stop() wakes it (an idle screen never polls)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._accept_loop, name="pandascreen-sync-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # Linux ends a blocked accept() with EINVAL
            except OSError:
                pass
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
            except OSError as e:
                if self._stopping.is_set():
                    break
                log.warning("sync server: accept failed: %s", e)
                time.sleep(0.2)
                continue
            try:
                slot = self.slots.admit(addr[0], lambda c=conn: _shut(c))
            except conn_limits.Refused as e:
                self._record_error("%s:%d: refused, %s" % (addr[0], addr[1], e))
                _close(conn)
                continue
            t = threading.Thread(target=self._serve, args=(conn, addr, slot), name="pandascreen-sync", daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._workers.add(t)
            t.start()

    def _serve(self, conn, addr, slot):
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
            self._record_error("%s: %s" % (peer, "evicted for a peer from an address holding fewer sessions"
                                           if slot.evicted else e))
        except Exception as e:  # never let one bad peer kill the server thread silently
            self._record_error("%s: unexpected %s: %s" % (peer, type(e).__name__, e))
        finally:
            _close(conn)
            self.slots.release(slot)
            with self._lock:
                self._conns.discard(conn)
                self._workers.discard(threading.current_thread())

    def _record_error(self, msg):
        with self._lock:
            self.errors.append(msg)
            del self.errors[:-20]
        self._errors_said(msg)  # one like it a minute (node/log_repeats.py); ``errors`` keeps each
