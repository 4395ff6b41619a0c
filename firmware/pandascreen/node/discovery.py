"""Find festival peers on the LAN by mDNS, the way p2panda-net 0.7 does, so no one types IPs.

Why this shape: a Rust p2panda node (p2panda-net ``iroh_mdns`` actor over
``iroh-mdns-address-lookup``) announces itself with a signed record (node/mdns_announcement.py:
the name, the TXT and what is signed) and ignores announcements whose signature does not check.
We announce screens and the organiser's ``serve`` the same way and accept peers only when the
signature checks.

Same festival only: the mDNS record carries no topic or network id (p2panda scopes that in the
ALPN, which includes the network id, and the topic handshake).  So a peer of another festival is
found, dialled once, and then dropped by the topic handshake (``IrohNode`` logs it); its node
id is then remembered as foreign and never dialled again.

Bounded: at most ``max_peers`` reachable peers are kept and dialled, and beside them the
organisers' nodes (``always``: where the program comes from, so a screen whose slots went to
other screens first still dials ``serve`` when it appears; an unreachable one frees
its slot and is tried again on its next announcement; a restarted node signs a newer timestamp
and is dialled again); a flood of announcements only costs a bounded queue and rate-limited log
lines; a peer that resolves but never answers costs one bounded dial in the worker thread, never
the screen's render loop.
"""

import ipaddress
import logging
import random
import socket
import threading
import time

from pandascreen.core.crypto import signing_key
from pandascreen.core.util import hexlify
from pandascreen.node import mdns_answers
from pandascreen.node.iroh_limits import PeerFull, TopicRefused
from pandascreen.node.mdns_announcement import (  # noqa: F401 (the announcement's names, said here too)
    MAX_USER_DATA, SERVICE_NAME, SERVICE_TYPE, USER_DATA_KEY, Z32_ALPHABET, DiscoveryError, instance_of,
    check_announcement, now_timestamp, parse_user_data, signed_bytes, user_data, z32_decode, z32_encode)

log = logging.getLogger("pandascreen.node.discovery")

RETRY_FIRST = 5.0   # an organiser's name that did not check is looked at again after this ...
RETRY_MAX = 60.0    # ... and twice as long each time, up to this
RESCAN_EVERY = 60.0  # a node short of peers looks again at the names it heard this often (x 0.5-1.5)


# ------------------------------------------------------------------ zeroconf side
class Discovery:
    """Announce this node and report signed peers of the LAN to ``add_peer(node_id, addrs)``.

    ``add_peer`` runs in one worker thread, one peer at a time, so a slow dial is bounded by its
    own timeout and never blocks rendering.  ``interfaces`` is passed to zeroconf (tests bind
    to the namespace's addresses).
    """

    def __init__(self, seed, port, add_peer, addresses=None, interfaces=None, max_peers=16,
                 log_every=50, advertise=True, always=(), rescan_every=RESCAN_EVERY):
        self.seed = bytes(seed)
        self.node_id = signing_key(self.seed).public_key
        self.port = int(port)
        self.add_peer = add_peer
        self.addresses = list(addresses or [])
        self.interfaces = interfaces
        self.max_peers = max_peers
        self.always = set(bytes(k) for k in always)  # node ids dialled beyond max_peers (the organisers')
        self.log_every = log_every
        self.advertise = advertise
        self.peers = {}       # node id -> [(ip, port)]
        self.foreign = set()  # node ids add_peer refused (other festival): never dialled again
        self._stamps = {}     # node id -> the newest signed timestamp seen
        self.rejected = 0
        self._rejected_by_kind = {}
        self._zc = None
        self._browser = None
        self._info = None
        self._queue = []
        self._retry = {}  # an organiser's name that did not check -> (when it is looked at again, the wait)
        self.rescan_every = rescan_every
        self._rescan_at = time.monotonic() + rescan_every
        self._cv = threading.Condition()
        self._stop = False
        self._worker = None

    def start(self):
        from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, Zeroconf
        kw = {"ip_version": IPVersion.V4Only}
        if self.interfaces:
            kw["interfaces"] = list(self.interfaces)
        self._zc = Zeroconf(**kw)
        if self.advertise:
            addrs = [(a, self.port) for a in self.addresses] or [("127.0.0.1", self.port)]
            instance = z32_encode(self.node_id)
            props = {USER_DATA_KEY: user_data(self.seed, addrs, now_timestamp()).encode()}
            self._info = ServiceInfo(SERVICE_TYPE, "%s.%s" % (instance, SERVICE_TYPE),
                                     addresses=[socket.inet_aton(a) for a, _ in addrs], port=self.port,
                                     properties=props, server="%s.local." % instance)
        self._worker = threading.Thread(target=self._work, name="pandascreen-discovery", daemon=True)
        self._worker.start()
        self._browser = ServiceBrowser(self._zc, SERVICE_TYPE, handlers=[self._on_change])
        return self

    def stop(self):
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._worker is not None:
            self._worker.join(1.0)  # may be announcing (probing); closing zeroconf ends that
        if self._zc is not None:
            try:
                if self._info is not None and not self._worker.is_alive():
                    self._zc.unregister_service(self._info)
            except Exception:
                pass
            self._zc.close()
            self._zc = None
        if self._worker is not None:
            self._worker.join(2.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _on_change(self, zeroconf, service_type, name, state_change):
        from zeroconf import ServiceStateChange
        if state_change is ServiceStateChange.Removed:
            self._left(name)
            return
        instance = instance_of(name)
        try:  # cheap check first: a flood of junk names never costs a resolve
            node_id = z32_decode(instance)
            if len(node_id) != 32 or len(instance) != 52:
                raise DiscoveryError("instance name is not a z-base-32 node id")
        except DiscoveryError as e:
            self._reject(name, str(e), "name")
            return
        with self._cv:
            if name in self._queue:
                return
            # an organiser's (a configured few) is never dropped as part of a flood: a screen that
            # missed it would never find where the program comes from.  A full table does not
            # keep a name out: the dial under way may fail and free its place
            if len(self._queue) < 4 * self.max_peers or node_id in self.always:
                self._queue.append(name)
                self._cv.notify()
                return
            # full: a name heard with its records takes the place of one heard bare (a flood of
            # made-up names has nothing to resolve, and each would hold the queue a whole timeout)
            bare = [i for i, queued in enumerate(self._queue)
                    if not self._heard_in_full(queued) and not self._an_organisers(queued)]
            if bare and self._heard_in_full(name):
                self._reject(self._queue[bare[0]], "%d announcements already wait to be checked"
                             % len(self._queue), "flood")
                self._queue[bare[0]] = name
                self._cv.notify()
            else:
                self._reject(name, "%d announcements already wait to be checked" % len(self._queue), "flood")

    def _left(self, name):
        """A peer said goodbye (or its records expired): its place in the table goes to the next
        one found.  The node still redials it while it is wanted, and gives its place to a
        newcomer once it is away (node/iroh_peers.py ``_room_for``)."""
        try:
            node_id = z32_decode(instance_of(name))
        except DiscoveryError:
            return
        with self._cv:
            self.peers.pop(node_id, None)
            self._stamps.pop(node_id, None)

    def _next_name(self):
        """Take the next announcement to resolve and dial off the queue: an organiser's first (where
        the program comes from), else one heard with its records, at random.  Every screen of a
        cold start hears the first screens started first; dialled in the order heard, those few
        got everyone's dials and, slow to answer them all, most of the QUIC handshakes that were
        given up."""
        for i, name in enumerate(self._queue):
            if self._an_organisers(name):
                return self._queue.pop(i)
        # names heard with their records first: a flood of bare names, each a resolve that waits
        # its whole timeout, no longer holds up a screen announced in full
        full = [i for i, name in enumerate(self._queue) if self._heard_in_full(name)]
        return self._queue.pop(random.choice(full) if full else random.randrange(len(self._queue)))

    def _announce(self):
        """Announce this node.  Its name is its node id, which anyone may read: when another device
        answers for it (a stranger, or a copy of this device's key), say so and announce anyway,
        as mDNS lets cooperating responders do, or no screen would find this node while it lasts."""
        try:  # here, not in start(): probing takes ~1.5 s and must not hold up the caller
            self._zc.register_service(self._info, allow_name_change=False)
            return
        except Exception as e:
            if type(e).__name__ != "NonUniqueNameException":
                log.warning("mDNS: cannot announce this node: %s", str(e) or type(e).__name__)
                self._info = None
                return
        log.warning("mDNS: another device on the LAN answers for this node's name (a stranger, or a copy of "
                    "this device's key); announcing it anyway")
        try:
            self._zc.register_service(self._info, allow_name_change=False, cooperating_responders=True)
        except Exception as e:
            log.warning("mDNS: cannot announce this node: %s", str(e) or type(e).__name__)
            self._info = None

    def _checked(self, name, instance, addrs, txt):
        """``check_announcement`` of what zeroconf resolved; for an organiser's name whose record
        does not check, every answer the LAN gives for it (node/mdns_answers.py says why)."""
        try:
            return check_announcement(instance, addrs, txt)
        except DiscoveryError:
            if not self._an_organisers(name):
                raise
            for other_addrs, other_txt in mdns_answers.asked(self._zc, name, rng=random):
                try:
                    return check_announcement(instance, other_addrs, other_txt)
                except DiscoveryError:
                    continue
            raise

    def _retry_later(self, name):
        """An organiser's name that did not resolve or check is looked at again, after 5 s and
        twice as long each time up to RETRY_MAX: zeroconf reports a name once, and a screen that
        gave up on it would never find where the program comes from."""
        if not self._an_organisers(name):
            return
        with self._cv:
            wait = min(RETRY_MAX, self._retry[name][1] * 2) if name in self._retry else RETRY_FIRST
            self._retry[name] = (time.monotonic() + wait, wait)

    def _next_wake(self):
        """Seconds until the next retry or rescan is due (None: none), under ``_cv``."""
        due = [d for d, _ in self._retry.values()]
        if len(self.peers) < self.max_peers and self.rescan_every:
            due.append(self._rescan_at)
        return min(RETRY_MAX, max(0.0, min(due) - time.monotonic())) if due else None

    def _rescan_due(self):
        """While short of peers, every ``rescan_every`` seconds (jittered): queue again the names
        heard in full (their SRV record is in zeroconf's cache) that are not peers now.  zeroconf
        reports a name once, so a name dropped from a full queue (a flood, a big festival's
        start), refused for a full table since emptied, or unreachable when dialled would never
        be looked at again.  Under ``_cv``."""
        now = time.monotonic()
        if now < self._rescan_at or not self.rescan_every:
            return
        self._rescan_at = now + self.rescan_every * (0.5 + random.random())
        if len(self.peers) >= self.max_peers or self._zc is None:
            return
        from zeroconf.const import _CLASS_IN, _TYPE_PTR
        for record in self._zc.cache.get_all_by_details(SERVICE_TYPE, _TYPE_PTR, _CLASS_IN):
            name = record.alias
            if len(self._queue) >= 4 * self.max_peers:
                break
            try:
                node_id = z32_decode(instance_of(name))
            except DiscoveryError:
                continue
            if (name in self._queue or node_id == self.node_id or node_id in self.peers or node_id in self.foreign
                    or not self._heard_in_full(name)):
                continue
            self._queue.append(name)

    def _an_organisers(self, name):
        """True when ``name`` is an organiser's (``always``)."""
        try:
            return z32_decode(instance_of(name)) in self.always
        except DiscoveryError:
            return False

    def _heard_in_full(self, name):
        """True when zeroconf's cache holds ``name``'s SRV record: an announcement with something
        to resolve (a name announced alone costs a resolve that waits its whole timeout)."""
        from zeroconf.const import _CLASS_IN, _TYPE_SRV
        return self._zc is not None and bool(self._zc.cache.get_all_by_details(name, _TYPE_SRV, _CLASS_IN))

    def _retries_due(self):
        """Queue the retries that are due, under ``_cv``."""
        now = time.monotonic()
        for name, (due, wait) in list(self._retry.items()):
            if due <= now and name not in self._queue:
                self._queue.append(name)
                # due again after the same wait should it leave the queue unlooked at; a look that
                # fails doubles the wait (``_retry_later``), one that checks ends the retries
                self._retry[name] = (now + wait, wait)

    def _reject(self, name, why, kind="record"):
        """One log line per ignored announcement, rate-limited per kind (name, record, flood,
        limit) so a flood neither fills the log nor hides the one forged record that matters.
        A full table or queue is what every screen of a big festival meets at its start: an
        INFO line; a name or record that does not check is a WARNING."""
        self.rejected += 1
        n = self._rejected_by_kind[kind] = self._rejected_by_kind.get(kind, 0) + 1
        if n <= 3 or n % self.log_every == 0:
            log.log(logging.INFO if kind in ("limit", "flood") else logging.WARNING,
                    "mDNS: ignored %s: %s (%d ignored so far)", name[:70], why, self.rejected)

    def _work(self):
        from zeroconf import ServiceInfo
        if self._info is not None:
            self._announce()
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    # an announcement, a retry, a rescan while short of peers or stop(): no other wake-ups
                    self._cv.wait(self._next_wake())
                    self._retries_due()
                    self._rescan_due()
                if self._stop:
                    return
                name = self._next_name()
            instance = instance_of(name)
            try:
                info = ServiceInfo(SERVICE_TYPE, name)
                if not info.request(self._zc, 2000):
                    raise DiscoveryError("did not resolve")
                addrs = [(a, info.port) for a in info.parsed_addresses()]
                node_id, addrs, ts = self._checked(name, instance, addrs, info.properties)
            except Exception as e:  # forged, malformed, vanished: one log line, go on
                self._reject(name, str(e) or type(e).__name__)
                self._retry_later(name)
                continue
            self._retry.pop(name, None)
            if node_id == self.node_id or node_id in self.foreign:
                continue
            if self.peers.get(node_id) == addrs and self._stamps.get(node_id, ts) >= ts:
                continue  # nothing new (a restarted node signs a newer timestamp: dial it again)
            if node_id not in self.peers and len(self.peers) >= self.max_peers and node_id not in self.always:
                self._reject(name, "this screen keeps %d peers" % self.max_peers, "limit")
                continue
            self.peers[node_id] = addrs
            self._stamps[node_id] = ts
            log.info("mDNS: found peer %s at %s", hexlify(node_id)[:16], addrs)
            try:
                answer = self.add_peer(node_id, addrs)
            except Exception as e:
                log.warning("mDNS: peer %s: %s", hexlify(node_id)[:16], e)
                answer = None
            if answer is False:  # another festival: never again
                self.foreign.add(node_id)
            if not answer:  # unreachable now: free the slot for another peer, retry on its next announcement
                self.peers.pop(node_id, None)
                self._stamps.pop(node_id, None)
                if answer is None:
                    self._retry_later(name)  # an organiser's: looked at again, its announcement may not come


def iroh_add_peer(node, timeout=8.0, most_addresses=4):
    """An ``add_peer`` for an ``IrohNode``: dial ``node_id@ip:port`` at each announced address in
    turn (at most ``most_addresses``) until one answers -- a laptop on two LANs announces both, and
    a screen reaches one of them; the node keeps the peer wanted (once, at the address that
    answered) and redials by itself.  True: synced; None: not reachable now; False: the peer is of
    another festival (``TopicRefused``: it dropped us right after the topic handshake), so discovery
    never dials it again."""
    def add(node_id, addrs):
        for ip, port in addrs[:most_addresses]:
            answer = _dial(node, "%s@%s:%d" % (hexlify(node_id), ip, port), timeout)
            if answer is not None:
                return answer
        return None
    return add


def _dial(node, spec, timeout):
    """One dial of ``iroh_add_peer``: True, None or False as it says."""
    try:
        node.sync(spec, timeout=timeout)
    except PeerFull:  # an organiser at its bound: reachable, the program comes from the others
        return True
    except TopicRefused:  # what the session found, not what its message says
        return False
    except Exception as e:  # a loaded, busy or stopping peer, a cut: tried again on its next announcement
        msg = str(e)
        if "still under way" in msg:  # reachable, and syncing: keep it
            return True
        log.info("mDNS peer %s: %s", spec[:16], msg)
        return None
    return True


def advertised_addresses(node):
    """The IPv4 ``(ip, port)`` pairs an ``IrohNode`` can be dialled at (iroh's direct addresses;
    IPv6 left out: zeroconf is run IPv4-only here)."""
    out = []
    for text in node.addresses():
        host, _, port = text.rpartition(":")
        host = host.strip("[]")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            continue
        if ip.version == 4 and not ip.is_unspecified:
            out.append((host, int(port)))
    if any(not ipaddress.ip_address(h).is_loopback for h, _ in out):
        out = [(h, p) for h, p in out if not ipaddress.ip_address(h).is_loopback]
    return out


def start_for_node(node, say=None, max_peers=None, dial_timeout=15.0):
    """Announce ``node`` (an ``IrohNode``) on the LAN and dial the signed peers found; the one
    call the Pi app and ``serve`` make.  Returns the started ``Discovery`` or None (said in one
    line) when mDNS cannot run here; configured peers work either way."""
    say = say or (lambda line: log.info("%s", line))
    if max_peers is None:  # the peers the node keeps (node/liveness.py says why)
        from pandascreen.node.liveness import MAX_PEERS
        max_peers = getattr(node, "max_peers", MAX_PEERS)
    addrs = advertised_addresses(node)
    if not addrs:
        say("mDNS off: the iroh node has no IPv4 address to announce")
        return None
    try:
        d = Discovery(node.seed, addrs[0][1], iroh_add_peer(node, timeout=dial_timeout),
                      addresses=[h for h, _ in addrs], interfaces=[h for h, _ in addrs],
                      max_peers=max_peers, always=getattr(node, "default_node_ids", ())).start()
    except Exception as e:  # no zeroconf, no multicast route, port 5353 refused
        say("mDNS off (%s: %s); configured peers still work" % (type(e).__name__, e))
        return None
    say("mDNS: announcing %s.%s at %s" % (z32_encode(node.node_id_bytes)[:12] + "...", SERVICE_TYPE,
                                          ", ".join("%s:%d" % a for a in addrs)))
    return d
