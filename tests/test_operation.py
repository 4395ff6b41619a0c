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
