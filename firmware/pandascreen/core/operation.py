"""p2panda-core 0.7 operations: CBOR header array, Ed25519 signature, BLAKE3 id.

Header wire format (CBOR array, optional fields omitted, never null)::

    [version, verifying_key, signature?, payload_size, payload_hash?, seq_num, backlink?, extensions?]

The signature covers the same array with the signature element removed; the operation id is
BLAKE3 of the signed header bytes.  Extensions follow the p2panda Node Extensions Format
"Basic" variant: ``[1, 0, log_id, timestamp_us, prune_flag]``.
"""

from pandascreen.core import cbor
from pandascreen.core.errors import OperationError
from pandascreen.core.crypto import blake3, signing_key as _signing_key, verify as _verify
from pandascreen.core.util import hexlify

VERSION = 1
MAX_HEADER_SIZE = 4096
MAX_BODY_SIZE = 1 << 20


class Extensions:
    """p2panda Node Extensions Format, "Basic" variant."""

    def __init__(self, log_id, timestamp, prune=False):
        self.log_id = bytes(log_id)
        self.timestamp = int(timestamp)
        self.prune = bool(prune)

    def to_cbor_value(self):
        return [1, 0, self.log_id, self.timestamp, self.prune]

    @classmethod
    def from_cbor_value(cls, value):
        if not isinstance(value, list) or len(value) < 2:
            raise OperationError("extensions must be a CBOR array [version, variant, ...]")
        if value[0] != 1:
            raise OperationError("unsupported extensions version %r" % (value[0],))
        if value[1] != 0:
            raise OperationError("unsupported extensions variant %r (only Basic=0)" % (value[1],))
        if len(value) < 5:
            raise OperationError("Basic extensions need log_id, timestamp and prune flag")
        log_id, ts, prune = value[2], value[3], value[4]
        if not isinstance(log_id, bytes) or len(log_id) != 32:
            raise OperationError("extensions log_id must be 32 bytes")
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            raise OperationError("extensions timestamp must be an unsigned integer")
        if not isinstance(prune, bool):
            raise OperationError("extensions prune flag must be a boolean")
        # Decoders ignore excess trailing fields (NEF rule).
        return cls(log_id, ts, prune)

    def __eq__(self, other):
        return isinstance(other, Extensions) and self.to_cbor_value() == other.to_cbor_value()


class Header:
    def __init__(self, public_key, payload_size=0, payload_hash=None, seq_num=0, backlink=None,
                 extensions=None, signature=None, version=VERSION):
        self.version = version
        self.public_key = bytes(public_key)
        self.signature = signature
        self.payload_size = payload_size
        self.payload_hash = payload_hash
        self.seq_num = seq_num
        self.backlink = backlink
        self.extensions = extensions

    def _fields(self, signed):
        f = [self.version, self.public_key]
        if signed:
            if self.signature is None:
                raise OperationError("header is not signed")
            f.append(self.signature)
        f.append(self.payload_size)
        if self.payload_hash is not None:
            f.append(self.payload_hash)
        f.append(self.seq_num)
        if self.backlink is not None:
            f.append(self.backlink)
        if self.extensions is not None:
            f.append(self.extensions.to_cbor_value())
        return f

    def unsigned_bytes(self):
        return cbor.dumps(self._fields(False))

    def to_bytes(self):
        return cbor.dumps(self._fields(True))

    def sign(self, seed):
        """Sign with ``seed`` (32 bytes) or a ``crypto.SigningKey``."""
        self.signature = _signing_key(seed).sign(self.unsigned_bytes())

    def verify(self, unsigned=None):
        """Check the signature (over ``unsigned`` if the caller already has those bytes)."""
        if self.signature is None:
            return False
        return _verify(self.public_key, self.unsigned_bytes() if unsigned is None else unsigned, self.signature)


class Operation:
    def __init__(self, header, header_bytes, body=None, op_hash=None):
        self.header = header
        self.header_bytes = bytes(header_bytes)
        self.body = None if body is None else bytes(body)
        self.hash = op_hash if op_hash is not None else blake3(self.header_bytes)

    @property
    def public_key(self):
        return self.header.public_key

    @property
    def seq_num(self):
        return self.header.seq_num

    @property
    def backlink(self):
        return self.header.backlink

    @property
    def log_id(self):
        e = self.header.extensions
        return e.log_id if e is not None else None

    @property
    def timestamp(self):
        e = self.header.extensions
        return e.timestamp if e is not None else 0

    @property
    def prune(self):
        e = self.header.extensions
        return e.prune if e is not None else False

    def __repr__(self):
        return "<Operation %s seq=%d by %s>" % (hexlify(self.hash)[:12], self.seq_num, hexlify(self.public_key)[:12])


def _uint(value, name, limit):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > limit:
        raise OperationError("header field %s must be an unsigned integer <= %d" % (name, limit))
    return value


def _b32(value, name, size=32):
    if not isinstance(value, bytes) or len(value) != size:
        raise OperationError("header field %s must be a %d-byte string" % (name, size))
    return value


class _NotPlain(Exception):
    """The header is not in the plain canonical shape the fast parser knows."""


def _plain_uint(hb, pos, limit):
    # a CBOR unsigned integer with its shortest head, <= limit
    b = hb[pos]
    if b < 24:
        return b, pos + 1
    if b == 24:
        v, end = hb[pos + 1], pos + 2
        low = 24
    elif b == 25:
        v, end, low = int.from_bytes(hb[pos + 1:pos + 3], "big"), pos + 3, 0x100
    elif b == 26:
        v, end, low = int.from_bytes(hb[pos + 1:pos + 5], "big"), pos + 5, 0x10000
    elif b == 27:
        v, end, low = int.from_bytes(hb[pos + 1:pos + 9], "big"), pos + 9, 0x100000000
    else:
        raise _NotPlain()
    if v < low or v > limit or end > len(hb):
        raise _NotPlain()
    return v, end


def _plain_bytes(hb, pos, size):
    # a CBOR byte string of exactly ``size`` (24..255) bytes
    end = pos + 2 + size
    if hb[pos] != 0x58 or hb[pos + 1] != size or end > len(hb):
        raise _NotPlain()
    return hb[pos + 2:end], end


def _decode_header_plain(hb):
    """Parse a header written the way p2panda writes it; returns (Header, signature offset).

    Hand-written because ingest pays for it on every operation (the generic decoder plus a
    re-encode for the canonical check cost a third of a signature check).  It accepts only
    canonical encodings (shortest heads, exactly the fields the header needs, Basic
    extensions with exactly five items), so what it accepts the generic path would decode
    to the same Header and find canonical.  Anything else raises _NotPlain and takes the
    generic path, which gives the same result or the same error as before.
    """
    try:
        count = hb[0] - 0x80
        if count < 5 or count > 8:
            raise _NotPlain()
        version, pos = _plain_uint(hb, 1, 0xFFFF)
        pk, pos = _plain_bytes(hb, pos, 32)
        sig_at = pos
        sig, pos = _plain_bytes(hb, pos, 64)
        size, pos = _plain_uint(hb, pos, 0xFFFFFFFF)
        used = 4
        payload_hash = None
        if size:
            payload_hash, pos = _plain_bytes(hb, pos, 32)
            used += 1
        seq, pos = _plain_uint(hb, pos, 0xFFFFFFFF)
        used += 1
        backlink = None
        if seq:
            backlink, pos = _plain_bytes(hb, pos, 32)
            used += 1
        ext = None
        if used < count:
            if hb[pos] != 0x85 or hb[pos + 1] != 0x01 or hb[pos + 2] != 0x00:
                raise _NotPlain()
            log_id, pos = _plain_bytes(hb, pos + 3, 32)
            ts, pos = _plain_uint(hb, pos, 0xFFFFFFFFFFFFFFFF)
            flag = hb[pos]
            if flag != 0xF4 and flag != 0xF5:
                raise _NotPlain()
            pos += 1
            ext = Extensions(log_id, ts, flag == 0xF5)
            used += 1
        if used != count or pos != len(hb):
            raise _NotPlain()
    except IndexError:
        raise _NotPlain()
    return Header(pk, size, payload_hash, seq, backlink, ext, sig, version), sig_at


def _check_size(header_bytes):
    if len(header_bytes) > MAX_HEADER_SIZE:
        raise OperationError("header is %d bytes, larger than the %d byte limit" % (len(header_bytes), MAX_HEADER_SIZE))


def decode_header(header_bytes):
    """Decode signed header bytes into a ``Header`` (structure only, no signature check)."""
    _check_size(header_bytes)
    try:
        return _decode_header_plain(header_bytes)[0]
    except _NotPlain:
        return _decode_header_generic(header_bytes)


def _decode_header_generic(header_bytes):
    """Any header through the generic CBOR decoder (the reference for the fast path)."""
    try:
        fields = cbor.loads(header_bytes)
    except cbor.CBORError as e:
        raise OperationError("header is not valid CBOR: %s" % e)
    if not isinstance(fields, list):
        raise OperationError("header must be a CBOR array")
    n = len(fields)
    used = 0

    def take(name):
        nonlocal used
        if used >= n:
            raise OperationError("header ends early: missing %s" % name)
        used += 1
        return fields[used - 1]

    version = _uint(take("version"), "version", 0xFFFF)
    pk = _b32(take("verifying_key"), "verifying_key")
    sig = _b32(take("signature"), "signature", 64)
    payload_size = _uint(take("payload_size"), "payload_size", 0xFFFFFFFF)
    payload_hash = None
    if payload_size != 0:
        payload_hash = _b32(take("payload_hash"), "payload_hash")
    seq_num = _uint(take("seq_num"), "seq_num", 0xFFFFFFFF)
    backlink = None
    if seq_num != 0:
        backlink = _b32(take("backlink"), "backlink")
    extensions = None
    if used < n:
        extensions = Extensions.from_cbor_value(take("extensions"))
    if used != n:
        raise OperationError("unexpected %d excessive field(s) in header" % (n - used))
    return Header(pk, payload_size, payload_hash, seq_num, backlink, extensions, sig, version)


def validate(op, unsigned=None):
    """p2panda-core ``validate_operation``; raises OperationError.  ``unsigned``: the signed
    bytes without the signature, if the caller has them (decode does)."""
    h = op.header
    if h.version != VERSION:
        raise OperationError("unsupported operation version %d" % h.version)
    if (h.payload_hash is None) != (h.payload_size == 0):
        raise OperationError("inconsistent payload info: payload_hash must be present iff payload_size > 0")
    if h.seq_num == 0 and h.backlink is not None:
        raise OperationError("operation with seq_num 0 must not have a backlink")
    if h.seq_num > 0 and h.backlink is None:
        raise OperationError("operation with seq_num %d is missing its backlink" % h.seq_num)
    if not h.verify(unsigned):
        raise OperationError("signature does not match the header and author %s" % hexlify(h.public_key)[:16])
    if op.body is not None:
        if len(op.body) != h.payload_size or blake3(op.body) != h.payload_hash:
            raise OperationError("body does not match payload_size/payload_hash in the header")


def validate_backlink(past_header, op, past_hash):
    """p2panda-core ``validate_backlink``: ``op`` must directly follow ``past_header``."""
    h = op.header
    if past_header.public_key != h.public_key:
        raise OperationError("backlink points into another author's log")
    if h.seq_num != past_header.seq_num + 1:
        raise OperationError("seq_num %d does not follow %d" % (h.seq_num, past_header.seq_num))
    if h.backlink != past_hash:
        raise OperationError("backlink does not match the hash of operation %d" % past_header.seq_num)


def decode(header_bytes, body=None, op_hash=None, empty_body_is_none=False):
    """Decode and fully validate an operation (header bytes as received, optional body);
    ``op_hash``: the header's hash when the caller computed it already.  ``empty_body_is_none``:
    an empty body of an operation without payload is no body (some peers send it so)."""
    header_bytes = bytes(header_bytes)
    if body is not None and len(body) > MAX_BODY_SIZE:
        raise OperationError("body is %d bytes, larger than the %d byte limit" % (len(body), MAX_BODY_SIZE))
    _check_size(header_bytes)
    try:
        header, sig_at = _decode_header_plain(header_bytes)
        # canonical by construction; the signature covers the same bytes without it
        unsigned = bytes((header_bytes[0] - 1,)) + header_bytes[1:sig_at] + header_bytes[sig_at + 66:]
    except _NotPlain:
        header = _decode_header_generic(header_bytes)
        if header.to_bytes() != header_bytes:
            raise OperationError("header is not canonically encoded CBOR")
        unsigned = None
    if empty_body_is_none and body is not None and not body and header.payload_size == 0:
        body = None
    op = Operation(header, header_bytes, body, op_hash)
    validate(op, unsigned)
    return op


def create(seed, body=None, seq_num=0, backlink=None, extensions=None):
    """Build and sign an operation (like p2panda's forge); ``seed`` may be a ``crypto.SigningKey``
    (derived once for many operations)."""
    key = _signing_key(seed)
    if body is not None:
        body = bytes(body)
        if len(body) > MAX_BODY_SIZE:
            raise OperationError("body is %d bytes, larger than the %d byte limit" % (len(body), MAX_BODY_SIZE))
    size = len(body) if body else 0
    h = Header(
        key.public_key,
        payload_size=size,
        payload_hash=blake3(body) if size else None,
        seq_num=seq_num,
        backlink=backlink,
        extensions=extensions,
    )
    h.sign(key)
    return Operation(h, h.to_bytes(), body if size else None)


TOPIC_PREFIX = b"pandascreen/festival/"


def festival_topic(festival_id):
    """32-byte p2panda topic for a festival id (string)."""
    return blake3(TOPIC_PREFIX + festival_id.encode("utf-8"))


def log_id_for_topic(topic):
    """The p2panda Node convention: LogId = BLAKE3(topic)."""
    return blake3(topic)


def log_id_for_festival(festival_id):
    return log_id_for_topic(festival_topic(festival_id))
