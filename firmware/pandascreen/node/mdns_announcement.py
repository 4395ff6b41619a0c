"""What a p2panda-net 0.7 node announces on mDNS and signs: its name (the z-base-32 node id), the
TXT ``user-data`` and the bytes its signature covers; ``check_announcement`` verifies one.

WHY a module of its own: the format is p2panda-net's and byte-exact (tests/test_discovery.py
pins a vector of it); node/discovery.py runs zeroconf around it, and node/mdns_answers.py checks
every answer a name gets with it.

A Rust p2panda node (p2panda-net ``iroh_mdns`` actor over ``iroh-mdns-address-lookup``) announces
itself as ``<z-base-32 node id>._p2pandav1._udp.local.`` with SRV + A/AAAA records (where to dial
it) and a TXT ``user-data=<signature hex>|<hybrid timestamp>[|relay url]``.

What is signed (p2panda-net ``addrs.rs``, ``UnsignedTransportInfo::to_bytes`` = p2panda-core
``encode_cbor`` = ciborium, whose serializer is not human-readable):

    CBOR map {"timestamp": [micros, logical],               # HybridTimestamp(Timestamp, Lamport)
              "addresses": [{"Iroh": {                      # TransportAddress::Iroh(EndpointAddr)
                   "id": [32 ints],                         # PublicKey -> [u8; 32] as a tuple
                   "addrs": [{"Ip": {"V4": [[a, b, c, d], port]}}, ...]}}]}   # BTreeSet, sorted

The TXT timestamp is ``HybridTimestamp``'s Display, ``"<micros>/<logical>"``.  Each field
follows the serde derive of its Rust type; tests/test_discovery.py pins one byte vector of it.
It was derived by reading the source, not checked against a running Rust node (none builds here).
"""

import ipaddress
import time

from pandascreen.core import cbor
from pandascreen.core.crypto import signing_key, verify
from pandascreen.core.util import hexlify

SERVICE_NAME = "p2pandav1"
SERVICE_TYPE = "_%s._udp.local." % SERVICE_NAME
USER_DATA_KEY = b"user-data"
Z32_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
MAX_USER_DATA = 245  # iroh UserData limit (a DNS TXT string)


class DiscoveryError(ValueError):
    """A malformed or forged announcement."""


def z32_encode(data):
    """z-base-32 (MSB first, no padding), as iroh names an endpoint in mDNS."""
    bits = 0
    nbits = 0
    out = []
    for b in bytes(data):
        bits = (bits << 8) | b
        nbits += 8
        while nbits >= 5:
            nbits -= 5
            out.append(Z32_ALPHABET[(bits >> nbits) & 31])
    if nbits:
        out.append(Z32_ALPHABET[(bits << (5 - nbits)) & 31])
    return "".join(out)


def z32_decode(text):
    bits = 0
    nbits = 0
    out = bytearray()
    for ch in text:
        i = Z32_ALPHABET.find(ch)
        if i < 0:
            raise DiscoveryError("not z-base-32: %r" % ch)
        bits = (bits << 5) | i
        nbits += 5
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
    return bytes(out)


def _ip_entry(host, port):
    ip = ipaddress.ip_address(host)
    if ip.version == 4:
        return (0, ip.packed, port, {"Ip": {"V4": [list(ip.packed), port]}})
    # serde's SocketAddrV6 is (ip, port) too in a compact (not human-readable) format
    return (1, ip.packed, port, {"Ip": {"V6": [list(ip.packed), port]}})


def signed_bytes(node_id, addrs, timestamp):
    # BTreeSet<TransportAddr> order: derived Ord, V4 before V6, then ip octets, then port
    """The CBOR bytes a p2panda-net node signs for ``addrs`` (``[(ip, port)]``) at
    ``timestamp`` = ``(micros, logical)`` (see the module doc)."""
    entries = sorted(_ip_entry(h, int(p)) for h, p in addrs)
    endpoint = {"id": list(bytes(node_id)), "addrs": [e[3] for e in entries]}
    info = {"timestamp": [int(timestamp[0]), int(timestamp[1])], "addresses": [{"Iroh": endpoint}]}
    return cbor.dumps(info)


def user_data(seed, addrs, timestamp):
    """TXT ``user-data`` value: ``<signature hex>|<micros>/<logical>``."""
    key = signing_key(seed)
    sig = key.sign(signed_bytes(key.public_key, addrs, timestamp))
    return "%s|%d/%d" % (hexlify(sig), timestamp[0], timestamp[1])


def parse_user_data(text):
    """``(signature bytes, (micros, logical))``; relay url ignored.  Raises DiscoveryError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DiscoveryError("user-data is not UTF-8")
    parts = text.split("|")
    if len(parts) not in (2, 3):
        raise DiscoveryError("user-data has %d parts, expected 2 or 3" % len(parts))
    try:
        sig = bytes.fromhex(parts[0])
        micros, logical = parts[1].split("/")
        ts = (int(micros), int(logical))
    except ValueError:
        raise DiscoveryError("user-data signature or timestamp unreadable")
    if len(sig) != 64 or not (0 <= ts[0] < 2 ** 64 and 0 <= ts[1] < 2 ** 64):
        raise DiscoveryError("user-data signature or timestamp out of range")
    return sig, ts


def check_announcement(instance, addrs, txt):
    """Verify one resolved announcement; ``(node_id, [(ip, port)], timestamp)`` or DiscoveryError."""
    node_id = z32_decode(instance)
    if len(node_id) != 32 or z32_encode(node_id) != instance:
        raise DiscoveryError("instance name is not a z-base-32 node id")
    if not addrs:
        raise DiscoveryError("no address")
    raw = (txt or {}).get(USER_DATA_KEY)
    if raw is None:
        raise DiscoveryError("no user-data (not signed)")
    sig, ts = parse_user_data(raw)
    if not verify(node_id, signed_bytes(node_id, addrs, ts), sig):
        raise DiscoveryError("signature does not check")
    return node_id, list(addrs), ts


def instance_of(name):
    """The instance part of an mDNS name (its node id in z-base-32)."""
    return name[: -len(SERVICE_TYPE) - 1] if name.endswith("." + SERVICE_TYPE) else name


def now_timestamp():
    return (int(time.time() * 1_000_000), 0)
