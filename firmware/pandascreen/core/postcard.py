"""postcard codec for the p2panda 0.7 sync wire format, plus u32-BE framing.

Only the parts of postcard (https://postcard.jamesmunns.com) that the log-sync protocol needs:

* ``u16``/``u32``/``u64`` are LEB128 varints (``encode_varint`` / ``decode_varint``);
* byte strings and ``Vec<u8>`` are ``varint(len) || bytes``;
* ``Option<T>`` is ``00`` or ``01 || T``;
* enums are ``varint(variant) || fields``; maps are ``varint(len) || (key, value)*``.

Every message travels in a frame: ``u32 big-endian payload length || payload``
(``frame`` builds one, ``FrameReader`` splits a byte stream back into frames).

Messages are plain tuples:

* handshake (``TopicHandshakeMessage``): ``("topic", topic32)``, ``("done",)``
* log sync (``TopicLogSyncMessage``): ``("have", {pk: {log_id: seq}})``,
  ``("presync", total_operations, total_bytes)``, ``("op", header_bytes, body_or_None)``,
  ``("done",)`` (all wrapped in ``Sync``), ``("live", header_fields, body_or_None)`` and
  ``("close",)``.

``Live`` carries the header as serde data, not as its CBOR bytes: p2panda-core's
``impl Serialize for Header`` (serde.rs) writes ``serialize_seq(field_count)``, which postcard
encodes as ``varint(count) || fields``: version u16, verifying_key bytes, signature bytes,
payload_size u32, [payload_hash bytes], seq_num u32, [backlink bytes], extensions.  The Node's
``Extensions`` (p2panda/src/operation.rs) is again a seq: ``varint(5) || version u16 ||
variant u16 || log_id bytes || timestamp u64 || prune bool``.  ``header_fields`` is the tuple
``(version, public_key, signature, payload_size, payload_hash, seq_num, backlink, extensions)``
with ``extensions = (version, variant, log_id, timestamp, prune)`` or None; optional fields are
None.  Kept as plain tuples so this module stays free of ``operation``.
"""

from pandascreen.core.errors import PostcardError

U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF
U64_MAX = 0xFFFFFFFFFFFFFFFF

# Our default limit for one frame; p2panda-net itself allows 128 MiB.
DEFAULT_MAX_FRAME = 16 * 1024 * 1024

KEY_SIZE = 32  # VerifyingKey, Topic and our log ids (a BLAKE3 hash) are all 32 bytes.


class FrameError(PostcardError):
    """Broken framing (for example a frame larger than allowed)."""


class UnsupportedMessage(PostcardError):
    """A valid message this peer does not implement (an extensions variant other than Basic)."""


# --------------------------------------------------------------------------- primitives

def _bits_max(bits):
    if bits == 16:
        return U16_MAX
    if bits == 32:
        return U32_MAX
    if bits == 64:
        return U64_MAX
    raise ValueError("unsupported varint width %r" % (bits,))


def encode_varint(n, bits=32, out=None):
    """LEB128 varint of the unsigned integer ``n`` (checked against ``u<bits>``).

    Appends to the bytearray ``out`` when given, else returns new ``bytes``.
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise PostcardError("varint must be an int, got %s" % type(n).__name__)
    if n < 0 or n > _bits_max(bits):
        raise PostcardError("value %d does not fit in u%d" % (n, bits))
    buf = out if out is not None else bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            buf.append(byte | 0x80)
        else:
            buf.append(byte)
            break
    if out is None:
        return bytes(buf)
    return None


def decode_varint(data, pos=0, bits=32):
    """Decode a ``u<bits>`` LEB128 varint at ``data[pos]``; returns ``(value, new_pos)``."""
    limit = _bits_max(bits)
    max_len = (bits + 6) // 7
    value = 0
    shift = 0
    n = len(data)
    for i in range(max_len):
        if pos >= n:
            raise PostcardError("truncated varint at offset %d" % pos)
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if value > limit:
                raise PostcardError("varint overflows u%d" % bits)
            return value, pos
        shift += 7
    raise PostcardError("varint longer than %d bytes for u%d" % (max_len, bits))


def encode_bytes(data, out=None):
    """``varint(len) || data``."""
    buf = out if out is not None else bytearray()
    encode_varint(len(data), 64, buf)
    buf.extend(data)
    if out is None:
        return bytes(buf)
    return None


def decode_bytes(data, pos=0):
    """Returns ``(bytes, new_pos)``."""
    length, pos = decode_varint(data, pos, 64)
    end = pos + length
    if end > len(data):
        raise PostcardError(
            "byte string of %d bytes at offset %d runs past the end of the message (%d bytes)"
            % (length, pos, len(data))
        )
    return bytes(data[pos:end]), end


def encode_option_bytes(value, out=None):
    """``Option<Vec<u8>>``: ``00`` for None, ``01 || bytes`` otherwise."""
    buf = out if out is not None else bytearray()
    if value is None:
        buf.append(0)
    else:
        buf.append(1)
        encode_bytes(value, buf)
    if out is None:
        return bytes(buf)
    return None


def decode_option_bytes(data, pos=0):
    """Returns ``(bytes_or_None, new_pos)``."""
    if pos >= len(data):
        raise PostcardError("truncated Option at offset %d" % pos)
    tag = data[pos]
    pos += 1
    if tag == 0:
        return None, pos
    if tag == 1:
        return decode_bytes(data, pos)
    raise PostcardError("invalid Option tag %d at offset %d" % (tag, pos - 1))


def _decode_key(data, pos, what):
    key, pos = decode_bytes(data, pos)
    if len(key) != KEY_SIZE:
        raise PostcardError("%s must be %d bytes, got %d" % (what, KEY_SIZE, len(key)))
    return key, pos


def _check_key(key, what):
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_SIZE:
        raise PostcardError("%s must be %d bytes" % (what, KEY_SIZE))
    return bytes(key)


def _check_end(data, pos, what):
    if pos != len(data):
        raise PostcardError("%d unexpected trailing byte(s) after %s" % (len(data) - pos, what))


# --------------------------------------------------------------------------- framing

def frame(payload):
    """``u32 big-endian length || payload``."""
    n = len(payload)
    if n > U32_MAX:
        raise FrameError("payload of %d bytes is too large for a frame" % n)
    return n.to_bytes(4, "big") + bytes(payload)


class FrameReader:
    """Incremental frame splitter: ``feed`` bytes in any pieces, get complete payloads back.

    A frame longer than ``max_size`` raises ``FrameError`` as soon as its length prefix is
    seen (before the payload is buffered).
    """

    def __init__(self, max_size=DEFAULT_MAX_FRAME):
        self.max_size = max_size
        self._buf = bytearray()

    def feed(self, data):
        """Add ``data``; returns a list of complete frame payloads (``bytes``), maybe empty."""
        if data:
            self._buf += data
        frames = []
        buf = self._buf
        pos = 0
        avail = len(buf)
        while avail - pos >= 4:
            length = int.from_bytes(bytes(buf[pos:pos + 4]), "big")
            if length > self.max_size:
                what = guess_foreign(bytes(buf[pos:pos + 64]))
                if what:
                    raise FrameError("this is not p2panda 0.7 framing: the peer looks like %s" % what)
                raise FrameError(
                    "frame of %d bytes exceeds the limit of %d bytes" % (length, self.max_size)
                )
            if avail - pos - 4 < length:
                break
            frames.append(bytes(buf[pos + 4:pos + 4 + length]))
            pos += 4 + length
        if pos:
            self._buf = buf[pos:]
        return frames

    def pending(self):
        """Number of buffered bytes that do not form a complete frame yet."""
        return len(self._buf)

    def at_boundary(self):
        """True when no partial frame is buffered."""
        return not self._buf


def guess_foreign(prefix):
    """What a peer whose first bytes are ``prefix`` seems to be, in words, or None.

    Called only when those bytes make an impossible frame length, to say "an HTTP server"
    instead of "frame of 1213486160 bytes".  p2panda 0.6 used the same ALPN but unframed CBOR
    with ``#[serde(tag = "type", content = "value")]``, so its first message is a CBOR map
    with a "type" key.
    """
    p = bytes(prefix)
    if p[:5] == b"HTTP/":
        return "an HTTP server (it answered %r)" % p.split(b"\r\n")[0][:40].decode("latin-1")
    for verb in (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"OPTIONS "):
        if p.startswith(verb):
            return "an HTTP client"
    if p[:4] == b"SSH-":
        return "an SSH server"
    if p[:1] == b"\x16" and p[1:2] == b"\x03":
        return "a TLS server or client"
    if p[:1] in (b"\xa1", b"\xa2") and b"type" in p[:8]:
        return "a p2panda 0.6 node (unframed CBOR messages); only p2panda 0.7 nodes can sync with this one"
    return None


def unframe_all(data, max_size=DEFAULT_MAX_FRAME):
    """Split a complete byte string into frame payloads; trailing partial data is an error."""
    reader = FrameReader(max_size)
    frames = reader.feed(data)
    if not reader.at_boundary():
        raise FrameError("%d byte(s) of an incomplete frame at the end" % reader.pending())
    return frames


# --------------------------------------------------------------------------- handshake

def encode_handshake(msg):
    """Payload (unframed) of a ``TopicHandshakeMessage``: ``("topic", t32)`` or ``("done",)``."""
    kind = msg[0]
    if kind == "topic":
        out = bytearray(b"\x00")
        encode_bytes(_check_key(msg[1], "topic"), out)
        return bytes(out)
    if kind == "done":
        return b"\x01"
    raise PostcardError("unknown handshake message %r" % (kind,))


def decode_handshake(payload):
    variant, pos = decode_varint(payload, 0, 32)
    if variant == 0:
        topic, pos = _decode_key(payload, pos, "topic")
        _check_end(payload, pos, "TopicHandshakeMessage::Topic")
        return ("topic", topic)
    if variant == 1:
        _check_end(payload, pos, "TopicHandshakeMessage::Done")
        return ("done",)
    raise PostcardError("unknown TopicHandshakeMessage variant %d" % variant)


# --------------------------------------------------------------------------- log sync

def _sorted_keys(d):
    keys = [bytes(k) for k in d]
    keys.sort()
    return keys


def encode_heights(heights, out):
    """``BTreeMap<VerifyingKey, BTreeMap<LogId, u32>>`` in key-byte order."""
    norm = {}
    for pk in heights:
        norm[_check_key(pk, "public key")] = heights[pk]
    encode_varint(len(norm), 64, out)
    for pk in _sorted_keys(norm):
        logs = norm[pk]
        nlogs = {}
        for log_id in logs:
            nlogs[_check_key(log_id, "log id")] = logs[log_id]
        encode_bytes(pk, out)
        encode_varint(len(nlogs), 64, out)
        for log_id in _sorted_keys(nlogs):
            encode_bytes(log_id, out)
            encode_varint(nlogs[log_id], 32, out)


def decode_heights(data, pos):
    n_pk, pos = decode_varint(data, pos, 64)
    heights = {}
    for _ in range(n_pk):
        pk, pos = _decode_key(data, pos, "public key")
        n_log, pos = decode_varint(data, pos, 64)
        logs = {}
        for _ in range(n_log):
            log_id, pos = _decode_key(data, pos, "log id")
            seq, pos = decode_varint(data, pos, 32)
            logs[log_id] = seq
        heights[pk] = logs
    return heights, pos


def _encode_fixed(value, size, what, out):
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise PostcardError("%s must be %d bytes" % (what, size))
    encode_bytes(value, out)


def encode_header_fields(fields, out):
    """``Header<Extensions>`` as a postcard seq (see module doc); appends to ``out``."""
    version, pk, sig, payload_size, payload_hash, seq_num, backlink, ext = fields
    count = 5 + (payload_hash is not None) + (backlink is not None) + (ext is not None)
    encode_varint(count, 64, out)
    encode_varint(version, 16, out)
    _encode_fixed(pk, KEY_SIZE, "verifying key", out)
    _encode_fixed(sig, 64, "signature", out)
    encode_varint(payload_size, 32, out)
    if payload_hash is not None:
        _encode_fixed(payload_hash, KEY_SIZE, "payload hash", out)
    encode_varint(seq_num, 32, out)
    if backlink is not None:
        _encode_fixed(backlink, KEY_SIZE, "backlink", out)
    if ext is not None:
        ext_version, variant, log_id, timestamp, prune = ext
        encode_varint(5, 64, out)
        encode_varint(ext_version, 16, out)
        encode_varint(variant, 16, out)
        _encode_fixed(log_id, KEY_SIZE, "log id", out)
        encode_varint(timestamp, 64, out)
        out.append(1 if prune else 0)


def _decode_fixed(data, pos, size, what):
    value, pos = decode_bytes(data, pos)
    if len(value) != size:
        raise PostcardError("%s must be %d bytes, got %d" % (what, size, len(value)))
    return value, pos


def decode_header_fields(data, pos):
    """Inverse of ``encode_header_fields``: returns ``(fields, new_pos)``.

    Like p2panda's ``HeaderVisitor``: payload_hash is read iff payload_size > 0, backlink iff
    seq_num > 0, and the seq length must match exactly (no missing or excess fields).
    """
    count, pos = decode_varint(data, pos, 64)
    if count < 5:
        raise PostcardError("header has %d fields, at least 5 are needed" % count)
    version, pos = decode_varint(data, pos, 16)
    pk, pos = _decode_fixed(data, pos, KEY_SIZE, "verifying key")
    sig, pos = _decode_fixed(data, pos, 64, "signature")
    payload_size, pos = decode_varint(data, pos, 32)
    used = 4
    payload_hash = None
    if payload_size:
        payload_hash, pos = _decode_fixed(data, pos, KEY_SIZE, "payload hash")
        used += 1
    seq_num, pos = decode_varint(data, pos, 32)
    used += 1
    backlink = None
    if seq_num:
        backlink, pos = _decode_fixed(data, pos, KEY_SIZE, "backlink")
        used += 1
    ext = None
    if count == used + 1:
        n, pos = decode_varint(data, pos, 64)
        ext_version, pos = decode_varint(data, pos, 16)
        variant, pos = decode_varint(data, pos, 16)
        if ext_version != 1:
            raise UnsupportedMessage("unsupported extensions version %d" % ext_version)
        if variant != 0 or n != 5:
            raise UnsupportedMessage("unsupported extensions variant %d with %d fields (only Basic)"
                                     % (variant, n))
        log_id, pos = _decode_fixed(data, pos, KEY_SIZE, "log id")
        timestamp, pos = decode_varint(data, pos, 64)
        if pos >= len(data):
            raise PostcardError("truncated bool at offset %d" % pos)
        flag = data[pos]
        pos += 1
        if flag > 1:
            raise PostcardError("invalid bool %d at offset %d" % (flag, pos - 1))
        ext = (ext_version, variant, log_id, timestamp, flag == 1)
    elif count != used:
        raise PostcardError("header has %d fields, expected %d or %d" % (count, used, used + 1))
    return (version, pk, sig, payload_size, payload_hash, seq_num, backlink, ext), pos


def encode_message(msg):
    """Payload (unframed) of a ``TopicLogSyncMessage`` given as a tuple (see module doc)."""
    kind = msg[0]
    out = bytearray()
    if kind == "close":
        out.append(2)
        return bytes(out)
    if kind == "live":
        out.append(1)
        encode_header_fields(msg[1], out)
        encode_option_bytes(msg[2], out)
        return bytes(out)
    out.append(0)  # TopicLogSyncMessage::Sync
    if kind == "have":
        out.append(0)
        encode_heights(msg[1], out)
    elif kind == "presync":
        out.append(1)
        encode_varint(msg[1], 32, out)
        encode_varint(msg[2], 32, out)
    elif kind == "op":
        out.append(2)
        encode_bytes(msg[1], out)
        encode_option_bytes(msg[2], out)
    elif kind == "done":
        out.append(3)
    else:
        raise PostcardError("unknown log sync message %r" % (kind,))
    return bytes(out)


def decode_message(payload):
    """Decode a ``TopicLogSyncMessage`` payload into a tuple (see module doc)."""
    outer, pos = decode_varint(payload, 0, 32)
    if outer == 2:
        _check_end(payload, pos, "TopicLogSyncMessage::Close")
        return ("close",)
    if outer == 1:
        fields, pos = decode_header_fields(payload, pos)
        body, pos = decode_option_bytes(payload, pos)
        _check_end(payload, pos, "TopicLogSyncMessage::Live")
        return ("live", fields, body)
    if outer != 0:
        raise PostcardError("unknown TopicLogSyncMessage variant %d" % outer)
    inner, pos = decode_varint(payload, pos, 32)
    if inner == 0:
        heights, pos = decode_heights(payload, pos)
        msg = ("have", heights)
        what = "LogSyncMessage::Have"
    elif inner == 1:
        total_ops, pos = decode_varint(payload, pos, 32)
        total_bytes, pos = decode_varint(payload, pos, 32)
        msg = ("presync", total_ops, total_bytes)
        what = "LogSyncMessage::PreSync"
    elif inner == 2:
        header, pos = decode_bytes(payload, pos)
        body, pos = decode_option_bytes(payload, pos)
        msg = ("op", header, body)
        what = "LogSyncMessage::Operation"
    elif inner == 3:
        msg = ("done",)
        what = "LogSyncMessage::Done"
    else:
        raise PostcardError("unknown LogSyncMessage variant %d" % inner)
    _check_end(payload, pos, what)
    return msg


def frame_message(msg):
    """Framed ``TopicLogSyncMessage``."""
    return frame(encode_message(msg))


def frame_handshake(msg):
    """Framed ``TopicHandshakeMessage``."""
    return frame(encode_handshake(msg))
