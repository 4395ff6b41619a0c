"""[CPython, Linux] The kernel's word that a network link is back: an interface running again
(the Wi-Fi found its access point, a cable was plugged in) or an address added (a DHCP lease).

Why: after a cut, a screen's redials of its peers back off up to ``liveness.REDIAL_MAX`` and a
dial begun inside the cut waits for its QUIC timeout.  The first peer that answers again makes
the others due at once (``liveness.Redial.healed``), but something has to answer first: in the
field test half the screens took 10 to 20 s after the heal for that.  When the cut was this
screen's own link, the kernel knows the moment it returns, and the node redials its wanted
peers at once, one every ``REDIAL_AFTER_HEAL``.  A cut further away (a switch, the access point's uplink) says
nothing here, and the redials and mDNS find the peers as before.

How: an rtnetlink socket (``AF_NETLINK``, the link and IPv4-address groups) read by one thread
that sleeps in ``select`` until a message or ``stop()`` comes: no wake-ups while nothing
changes.  Only two message kinds and two fields of them are read, so the standard library's
socket does it; pyroute2 would bring a whole netlink stack for that.  Links going down are no
news for the redials, and loopback is left out.
"""

import select
import socket
import struct
import threading

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWLINK = 16
RTM_NEWADDR = 20
IFF_RUNNING = 0x40
ARPHRD_LOOPBACK = 772
_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, seq, pid
_IFINFOMSG = struct.Struct("=BxHiII")  # family, (pad), device type, index, flags, change


def links_back(data, running):
    """The number of messages in ``data`` (one netlink read) that say a link is back: an
    interface that was not running (per ``running``, ``{index: bool}``, updated here) and is
    now, or an address added.  Loopback never counts."""
    back, at = 0, 0
    while at + _NLMSGHDR.size <= len(data):
        length, kind = _NLMSGHDR.unpack_from(data, at)[:2]
        if length < _NLMSGHDR.size:
            break
        body = at + _NLMSGHDR.size
        if kind == RTM_NEWLINK and body + _IFINFOMSG.size <= len(data):
            _, dev_type, index, flags, _ = _IFINFOMSG.unpack_from(data, body)
            now = bool(flags & IFF_RUNNING)
            if dev_type != ARPHRD_LOOPBACK and now and running.get(index) is False:
                back += 1
            running[index] = now
        elif kind == RTM_NEWADDR:
            back += 1
        at += (length + 3) & ~3
    return back


class LinkWatch:
    """Calls ``on_back()`` (from its own thread) each time the kernel says a link is back."""

    def __init__(self, on_back):
        self.on_back = on_back
        self._sock = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = None
        self._running = {}  # interface index -> running, as last heard

    def start(self):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR))
        self._sock = sock
        for name, index in _interfaces():
            self._running[index] = _is_running(name)
        self._thread = threading.Thread(target=self._watch, name="pandascreen-link-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(2.0)
        for s in (self._sock, self._wake_r, self._wake_w):
            if s is not None:
                s.close()

    def _watch(self):
        while True:
            ready, _, _ = select.select([self._sock, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            if links_back(data, self._running):
                try:
                    self.on_back()
                except Exception:  # the node's business; the watch goes on
                    pass


def _interfaces():
    try:
        return [(name, index) for index, name in socket.if_nameindex()]
    except OSError:
        return []


def _is_running(name):
    """Whether ``name`` has its carrier now (``/sys/class/net/<name>/operstate`` up or unknown)."""
    try:
        with open("/sys/class/net/%s/operstate" % name) as fh:
            return fh.read().strip() in ("up", "unknown")
    except OSError:
        return None
