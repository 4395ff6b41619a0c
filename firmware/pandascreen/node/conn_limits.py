"""What strangers' connections may hold on a screen: the bounds, in one table, and
the admission that enforces them for the feed server and the plain-TCP sync server.

WHY: both listen on the festival Wi-Fi, where anyone can open connections, and both share the
process's file handles with the store (SQLite), iroh and the display.  Idle or trickling
connections must neither exhaust those handles nor keep a screen or board out:

- every connection has a deadline (the whole request or session) and an idle timeout;
- the connections held at once are bounded in total and per address (an IPv6 /64 is one
  address: a host picks addresses in its /64 at will);
- no connection is added while fewer than ``fd_reserve()`` file handles are free, so the
  store and sync can always open what they need;
- when every slot is taken (or the handles are short), a newcomer from an address holding
  fewer slots evicts the oldest connection of the address holding the most (or any older than
  ``evict_after``), never one a server marked ``working``, so a board gets in while an attacker
  holds slots.

Not covered: a sync attacker with more addresses than slots that opens new connections faster
than ``evict_after`` can keep a board waiting (docs/AUTH.md, threat table).
"""

import errno
import ipaddress
import os
import socket
import threading
import time
from collections import namedtuple

from pandascreen.core.errors import SyncError

Limits = namedtuple("Limits", "connections per_address idle deadline evict_after request_bytes reply_deadline")
Limits.__doc__ = """Bounds of one listener.  ``connections``: held at once; ``per_address``:
from one address; ``idle``: seconds without a byte either way (None: the deadline bounds it);
``deadline``: seconds for the whole request (feed) or session (sync); ``evict_after``: seconds
after which a connection may be evicted for a newcomer; ``request_bytes``: largest request head
(feed); ``reply_deadline``: seconds to deliver the reply (feed)."""

# The signed feed (node/feed_server.py): a board sends one ~60-byte GET and reads <= 10 KB; the
# request's deadline bounds idle time as well.  A connection still waiting for its request is
# the first to go for a newcomer (one being answered never is): a board's GET takes one round trip.
FEED = Limits(connections=32, per_address=4, idle=None, deadline=5.0, evict_after=0.0,
              request_bytes=2048, reply_deadline=10.0)
# Plain-TCP sync (node/tcp.py): a board's incremental sync takes about a second, a fresh one a
# few; a screen syncs a whole festival well within the deadline.
TCP_SYNC = Limits(connections=8, per_address=2, idle=20.0, deadline=120.0, evict_after=10.0,
                  request_bytes=None, reply_deadline=None)
# File handles kept free for the store and sync: a quarter of RLIMIT_NOFILE, at least
# FD_RESERVE_MIN (half the limit when the limit is smaller than twice that).
FD_RESERVE_MIN = 64


class ListenError(SyncError):
    """A listener cannot bind its address; ``busy`` when another program holds the port."""

    def __init__(self, msg, host, port, busy):
        SyncError.__init__(self, msg)
        self.host, self.port, self.busy = host, port, busy


def listen(host, port, what, backlog=64):
    """A listening TCP socket on ``host:port`` (``what`` names it in the error); ListenError."""
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    except OSError as e:
        raise ListenError("cannot listen for %s on %s:%d: %s" % (what, host, port, e.strerror or e),
                          host, port, False)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        busy = e.errno == errno.EADDRINUSE
        raise ListenError("cannot listen for %s on %s:%d: %s"
                          % (what, host, port, "the port is already in use" if busy else (e.strerror or e)),
                          host, port, busy)
    return sock


def udp_port_busy(host, port):
    """Whether another program holds UDP ``host:port`` (asked after iroh could not bind it, so a
    held port is said as such and not as iroh's own error)."""
    if not port:
        return False
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return False
    try:
        sock.bind((host, port))
    except OSError as e:
        return e.errno == errno.EADDRINUSE
    finally:
        sock.close()
    return False


def fd_reserve(soft_limit):
    """File handles to keep free under a soft RLIMIT_NOFILE of ``soft_limit``."""
    return max(soft_limit // 4, min(FD_RESERVE_MIN, soft_limit // 2))


def fd_limit():
    """The soft RLIMIT_NOFILE, or None where the resource module is missing or unlimited."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def fds_in_use():
    """Open file handles of this process (Linux /proc, BSD/macOS /dev/fd); None when unknown.
    Listing needs a handle itself: failing for lack of one counts as all in use."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except FileNotFoundError:
            continue
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE):
                return fd_limit()
            continue
    return None


def address_key(ip):
    """What counts as one address: an IPv4 address, an IPv6 /64 (IPv4-mapped IPv6 as IPv4)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if addr.version == 6:
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network((addr, 64), strict=False))
    return str(addr)


class Refused(SyncError):
    """A connection the limits do not admit; the message says which limit."""


class Slot:
    """One admitted connection.  ``evict()`` (given by the server) ends it from any thread;
    a server sets ``working`` once the peer has asked for what it is being sent (never evicted)."""

    __slots__ = ("key", "peer", "started", "evict", "evicted", "working")

    def __init__(self, key, peer, started, evict):
        self.key, self.peer, self.started, self.evict = key, peer, started, evict
        self.evicted = self.working = False


class Slots:
    """Admission for one listener under ``limits`` (thread-safe).

    ``admit(ip, evict)`` returns a Slot or raises Refused; ``release(slot)`` when the
    connection ends.  ``counts`` says how many were admitted, refused and evicted."""

    def __init__(self, limits, clock=time.monotonic, in_use=fds_in_use, limit=fd_limit):
        self.limits = limits
        self.clock = clock
        self._in_use = in_use
        self._limit = limit
        self._lock = threading.Lock()
        self._held = {}  # address key -> [Slot, ...] oldest first
        self.counts = {"admitted": 0, "refused": 0, "evicted": 0}

    def __len__(self):
        with self._lock:
            return sum(len(v) for v in self._held.values())

    def _fds_short(self):
        limit = self._limit()
        if limit is None:
            return None
        used = self._in_use()
        if used is not None and used > limit - fd_reserve(limit):
            return "file handles are kept for sync (%d of %d in use)" % (used, limit)
        return None

    def admit(self, ip, evict):
        now = self.clock()
        key = address_key(ip)
        short = self._fds_short()
        victim = None
        with self._lock:
            mine = len(self._held.get(key, ()))
            total = sum(len(v) for v in self._held.values())
            why = None
            if mine >= self.limits.per_address:
                why = "%d connections from this address already" % mine
            elif short is not None or total >= self.limits.connections:
                # full: a newcomer only takes the place of one held too long or too many times
                victim = self._victim(mine, now)
                if victim is None:
                    why = short or "all %d connections busy" % self.limits.connections
            if why is not None:
                self.counts["refused"] += 1
                raise Refused(why)
            if victim is not None:
                self._drop(victim)
                victim.evicted = True
                self.counts["evicted"] += 1
            slot = Slot(key, ip, now, evict)
            self._held.setdefault(key, []).append(slot)
            self.counts["admitted"] += 1
        if victim is not None:
            victim.evict()
        return slot

    def _victim(self, mine, now):
        """The connection a newcomer holding ``mine`` slots may take over, or None: of those not
        ``working``, the oldest of an address holding at least two more than the newcomer would,
        else the oldest past ``evict_after`` of an address holding more than the newcomer."""
        oldest = {}  # address key -> (slots it holds, its oldest slot that may go)
        for key, held in self._held.items():
            idle = [s for s in held if not s.working]
            if idle:
                oldest[key] = (len(held), idle[0])
        unfair = [slot for count, slot in oldest.values() if count > mine + 1]
        if unfair:
            return min(unfair, key=lambda s: s.started)
        stale = [slot for count, slot in oldest.values()
                 if count > mine and now - slot.started >= self.limits.evict_after]
        return min(stale, key=lambda s: s.started) if stale else None

    def _drop(self, slot):
        held = self._held.get(slot.key)
        if held and slot in held:
            held.remove(slot)
            if not held:
                del self._held[slot.key]

    def release(self, slot):
        with self._lock:
            self._drop(slot)
