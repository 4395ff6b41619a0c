import pytest

import vectors
from pandascreen.core import cbor, crypto, operation
from pandascreen.core.util import hexlify, unhexlify


def test_golden_vectors_native():
    assert crypto.BACKEND == "native"
    assert vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3) == []


def test_blake3_known_values():
    assert hexlify(crypto.blake3(bytes([1, 2, 3]))) == "b177ec1bf26dfb3b7010d473e6d44713b29b765b99c6e60ecbfae742de496543"
    assert hexlify(crypto.blake3(b"A very important message.")) == (
        "8d3ca6d66651182cd6a9c1fc5dad0260a0ee29fe9ed494734e60d259430ae8a4")


def test_header_matches_cbor2_decoding():
    cbor2 = pytest.importorskip("cbor2")
    fields = cbor2.loads(unhexlify(vectors.B_HEADER))
    assert fields[0] == 1 and fields[3] == 13 and fields[5] == 0 and len(fields) == 6


SEED = unhexlify(vectors.SEED)


def _resign(header):
    header.sign(SEED)
    return header.to_bytes()


@pytest.mark.parametrize("mutate,msg", [
    (lambda hb: hb[:-1], "CBOR"),
    (lambda hb: hb + b"\x00", "trailing"),
    (lambda hb: b"\xa0", "array"),
    (lambda hb: hb[:10] + bytes([hb[10] ^ 1]) + hb[11:], "signature"),
])
def test_decode_rejects_bad_bytes(mutate, msg):
    hb = unhexlify(vectors.A_HEADER)
    with pytest.raises(operation.OperationError) as ei:
        operation.decode(mutate(hb))
    assert msg in str(ei.value)


def test_decode_rejects_body_mismatch():
    with pytest.raises(operation.OperationError, match="body does not match"):
        operation.decode(unhexlify(vectors.B_HEADER), b"Hello, Panda!")


def test_body_may_be_absent():
    op = operation.decode(unhexlify(vectors.B_HEADER), None)
    assert op.body is None and op.header.payload_size == 13


def test_excess_field_and_noncanonical():
    fields = cbor.loads(unhexlify(vectors.A_HEADER))
    with pytest.raises(operation.OperationError, match="excessive"):
        operation.decode(cbor.dumps(fields + [[1, 0, b"x" * 32, 1, False], 7]))
    # non-minimal integer head for version (0x18 0x01 instead of 0x01)
    hb = unhexlify(vectors.A_HEADER)
    bad = hb[:1] + b"\x18\x01" + hb[2:]
    with pytest.raises(operation.OperationError, match="canonical"):
        operation.decode(bad)


def test_backlink_rules():
    h = operation.Header(crypto.public_key(SEED), seq_num=1, backlink=None)
    h.sign(SEED)
    with pytest.raises(operation.OperationError, match="ends early|missing"):
        operation.decode(h.to_bytes())
    h = operation.Header(crypto.public_key(SEED), payload_size=0, seq_num=0)
    h.version = 2
    with pytest.raises(operation.OperationError, match="version"):
        operation.decode(_resign(h))


def test_extensions_roundtrip_and_excess_ignored():
    log_id = operation.log_id_for_festival("fest")
    ext = operation.Extensions(log_id, 123, True)
    op = operation.create(SEED, b"x", extensions=ext)
    back = operation.decode(op.header_bytes, b"x")
    assert back.log_id == log_id and back.timestamp == 123 and back.prune is True
    assert operation.Extensions.from_cbor_value([1, 0, log_id, 5, False, "future"]).timestamp == 5
    with pytest.raises(operation.OperationError, match="variant"):
        operation.Extensions.from_cbor_value([1, 1, log_id, 5, False])


# The fast header parser (operation._decode_header_plain) must never accept what the
# generic decoder + re-encode check would decode differently or find non-canonical.
from hypothesis import given, settings, strategies as st  # noqa: E402


def _head(major, n, width):
    # CBOR head of ``n`` with a chosen width (0 = in the initial byte); may be non-minimal
    if width == 0:
        return bytes([(major << 5) | n]) if n < 24 else None
    size = {24: 1, 25: 2, 26: 4, 27: 8}[width]
    if n >= 1 << (8 * size):
        return None
    return bytes([(major << 5) | width]) + n.to_bytes(size, "big")


def _uint(n, width):
    if width is None:  # the shortest head
        for w in (0, 24, 25, 26, 27):
            if _head(0, n, w) is not None:
                return _head(0, n, w)
    return _head(0, n, width) or _head(0, n, 27)


MOSTLY = [None] * 6
WIDTH = st.sampled_from(MOSTLY + [0, 24, 25, 26, 27])


@st.composite
def header_bytes(draw):
    parts = [_uint(draw(st.sampled_from([1] * 6 + [2, 0x10000])), draw(WIDTH)),
             b"\x58\x20" + crypto.public_key(SEED), b"\x58\x40" + draw(st.binary(min_size=64, max_size=64))]
    size = draw(st.sampled_from([0, 0, 13, 300, 1 << 33]))
    parts.append(_uint(size, draw(WIDTH)))
    if size or draw(st.integers(0, 7)) == 0:
        parts.append(b"\x58\x20" + bytes(32))
    seq = draw(st.sampled_from([0, 1, 30, 1 << 32]))
    parts.append(_uint(seq, draw(WIDTH)))
    if seq or draw(st.integers(0, 7)) == 0:
        parts.append(_head(2, 32, draw(st.sampled_from([24] * 6 + [25]))) + bytes(range(32)))
    if draw(st.booleans()):
        n = draw(st.sampled_from([5] * 6 + [6, 4]))
        items = [draw(st.sampled_from([b"\x01"] * 6 + [b"\xf5", b"\x18\x01"])),
                 draw(st.sampled_from([b"\x00"] * 6 + [b"\xf4"])),
                 b"\x58\x20" + bytes(32), _uint(draw(st.integers(0, (1 << 64) - 1)), draw(WIDTH)),
                 draw(st.sampled_from([b"\xf4", b"\xf5"] * 3 + [b"\x00"])), b"\x01"][:n]
        parts.append(bytes([0x80 | n]) + b"".join(items))
    if draw(st.integers(0, 7)) == 0:
        parts.append(b"\x07")
    count = len(parts) + draw(st.sampled_from([0] * 6 + [-1, 1]))
    hb = bytes([0x80 | max(0, count)]) + b"".join(parts)
    if draw(st.booleans()):  # and a random byte changed
        i = draw(st.integers(0, len(hb) - 1))
        hb = hb[:i] + bytes([draw(st.integers(0, 255))]) + hb[i + 1:]
    return hb


def _same(a, b):
    return a.to_bytes() == b.to_bytes() and a.unsigned_bytes() == b.unsigned_bytes()


@settings(max_examples=1500, deadline=None)
@given(header_bytes())
def test_plain_header_parser_agrees_with_the_generic_decoder(hb):
    try:
        fast, sig_at = operation._decode_header_plain(hb)
    except operation._NotPlain:
        return
    generic = operation._decode_header_generic(hb)  # must not raise
    assert generic.to_bytes() == hb  # canonical
    assert _same(fast, generic)
    assert hb[sig_at:sig_at + 66] == b"\x58\x40" + generic.signature


def test_plain_header_parser_takes_every_header_we_write():
    for hx in (vectors.A_HEADER, vectors.B_HEADER, vectors.C_HEADER, vectors.D_HEADER, vectors.E_HEADER):
        hb = unhexlify(hx)
        header, _ = operation._decode_header_plain(hb)
        assert header.to_bytes() == hb
    ext = operation.Extensions(operation.log_id_for_festival("f"), (1 << 64) - 1, True)
    op = operation.create(SEED, b"y" * 70000, 0xFFFFFFFF, bytes(32), ext)
    assert operation._decode_header_plain(op.header_bytes)[0].to_bytes() == op.header_bytes
