"""postcard varints, framing and the p2panda 0.7 sync messages (golden bytes from P2PANDA_FORMAT.md §3)."""
import pytest

from pandascreen.core import postcard
from pandascreen.core.postcard import (FrameError, FrameReader, PostcardError, UnsupportedMessage,
                                  decode_handshake, decode_message, decode_varint, encode_varint,
                                  frame, frame_handshake, frame_message)
from pandascreen.core.util import unhexlify

VK = bytes(range(32))
LOG = bytes(range(100, 132))
TOPIC = bytes(range(200, 232))


def h(text):
    return unhexlify(text.replace(" ", ""))


@pytest.mark.parametrize("n,enc", [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (384, "8003"),
    (16383, "ff7f"), (16384, "808001"), (0xFFFFFFFF, "ffffffff0f"),
])
def test_varint_u32(n, enc):
    assert encode_varint(n, 32) == h(enc)
    assert decode_varint(h(enc), 0, 32) == (n, len(h(enc)))


def test_varint_widths_and_errors():
    assert encode_varint(0xFFFF, 16) == h("ffff03")
    assert decode_varint(h("ffff03"), 0, 16) == (0xFFFF, 3)
    assert encode_varint(postcard.U64_MAX, 64) == h("ffffffffffffffffff01")
    assert decode_varint(h("ffffffffffffffffff01"), 0, 64) == (postcard.U64_MAX, 10)
    with pytest.raises(PostcardError, match="does not fit in u16"):
        encode_varint(0x10000, 16)
    with pytest.raises(PostcardError):
        encode_varint(-1)
    with pytest.raises(PostcardError, match="overflows u32"):
        decode_varint(h("ffffffff1f"), 0, 32)
    with pytest.raises(PostcardError, match="longer than 5 bytes"):
        decode_varint(h("ffffffffff01"), 0, 32)
    with pytest.raises(PostcardError, match="truncated"):
        decode_varint(h("8080"), 0, 32)
    with pytest.raises(PostcardError, match="overflows u16"):
        decode_varint(h("ffff04"), 0, 16)


def test_bytes_and_option():
    assert postcard.encode_bytes(b"hello") == b"\x05hello"
    assert postcard.decode_bytes(b"\x05hello!", 0) == (b"hello", 6)
    with pytest.raises(PostcardError, match="runs past the end"):
        postcard.decode_bytes(b"\x06hello", 0)
    assert postcard.encode_option_bytes(None) == b"\x00"
    assert postcard.encode_option_bytes(b"ab") == b"\x01\x02ab"
    assert postcard.decode_option_bytes(b"\x01\x02ab", 0) == (b"ab", 4)
    assert postcard.decode_option_bytes(b"\x00", 0) == (None, 1)
    with pytest.raises(PostcardError, match="invalid Option tag 2"):
        postcard.decode_option_bytes(b"\x02", 0)


def test_frame_hello_example_from_codec_docs():
    # p2panda-net codec.rs docs: "hello" (postcard String) -> 00 00 00 06 05 68 65 6c 6c 6f
    assert frame(postcard.encode_bytes(b"hello")) == h("00000006 05 68656c6c6f")


# ---------------------------------------------------------------- golden messages (§3.2)

def test_handshake_golden():
    assert frame_handshake(("topic", TOPIC)) == h("00000022 00 20") + TOPIC
    assert frame_handshake(("done",)) == h("00000001 01")
    assert decode_handshake(h("00 20") + TOPIC) == ("topic", TOPIC)
    assert decode_handshake(h("01")) == ("done",)
    with pytest.raises(PostcardError, match="topic must be 32 bytes"):
        decode_handshake(h("00 03 010203"))
    with pytest.raises(PostcardError, match="unknown TopicHandshakeMessage variant 2"):
        decode_handshake(h("02"))


GOLDEN = [
    (("have", {}), "00000003 00 00 00"),
    (("have", {VK: {LOG: 1}}), "00000047 00 00 01 20" + VK.hex() + "01 20" + LOG.hex() + "01"),
    (("presync", 2, 384), "00000005 00 01 02 8003"),
    (("done",), "00000002 00 03"),
    (("close",), "00000001 02"),
]


@pytest.mark.parametrize("msg,framed", GOLDEN)
def test_sync_messages_golden(msg, framed):
    assert frame_message(msg) == h(framed)
    assert decode_message(h(framed)[4:]) == msg


def test_operation_message_golden():
    hdr = bytes(range(130))  # 130 > 127: two-byte varint length
    body = b"\xa1\x61v\x01"
    expect = h("00 02 8201") + hdr + h("01 04") + body
    assert frame_message(("op", hdr, body)) == len(expect).to_bytes(4, "big") + expect
    assert decode_message(expect) == ("op", hdr, body)
    no_body = h("00 02 03 aabbcc 00")
    assert postcard.encode_message(("op", h("aabbcc"), None)) == no_body
    assert decode_message(no_body) == ("op", h("aabbcc"), None)


def test_have_sorted_like_btreemap():
    vk2 = bytes([0] * 31 + [1])
    vk9 = bytes([9] * 32)
    log1 = bytes([1] * 32)
    log2 = bytes([2] * 32)
    heights = {vk9: {log2: 5, log1: 300}, vk2: {log1: 0}}
    payload = postcard.encode_message(("have", heights))
    expect = (h("00 00 02") + b"\x20" + vk2 + h("01 20") + log1 + h("00")
              + b"\x20" + vk9 + h("02 20") + log1 + h("ac02 20") + log2 + h("05"))
    assert payload == expect
    assert decode_message(payload) == ("have", heights)


def test_decode_errors():
    with pytest.raises(PostcardError, match="header has 0 fields"):
        decode_message(h("01 00"))
    with pytest.raises(PostcardError, match="unknown TopicLogSyncMessage variant 3"):
        decode_message(h("03"))
    with pytest.raises(PostcardError, match="unknown LogSyncMessage variant 4"):
        decode_message(h("00 04"))
    with pytest.raises(PostcardError, match="trailing"):
        decode_message(h("00 03 00"))
    with pytest.raises(PostcardError, match="truncated"):
        decode_message(h(""))
    with pytest.raises(PostcardError, match="public key must be 32 bytes"):
        decode_message(h("00 00 01 02 aabb 00"))
    with pytest.raises(PostcardError, match="does not fit in u32"):
        postcard.encode_message(("presync", 1 << 32, 0))
    with pytest.raises(PostcardError, match="log id must be 32 bytes"):
        postcard.encode_message(("have", {VK: {b"short": 1}}))


# ---------------------------------------------------------------- frame reader

def test_frame_reader_arbitrary_pieces():
    msgs = [("have", {VK: {LOG: 7}}), ("presync", 1, 10), ("op", b"x" * 300, b"y" * 70000), ("done",), ("close",)]
    stream = b"".join(frame_message(m) for m in msgs)
    for step in (1, 3, 4, 5, 64, 1000, len(stream)):
        r = FrameReader()
        got = []
        for i in range(0, len(stream), step):
            got.extend(decode_message(p) for p in r.feed(stream[i:i + step]))
        assert got == msgs
        assert r.at_boundary()


def test_frame_reader_partial_and_empty():
    r = FrameReader()
    assert r.feed(b"\x00\x00") == []
    assert r.pending() == 2
    assert r.feed(b"\x00\x00") == [b""]  # an empty frame is a valid frame
    assert r.feed(b"\x00\x00\x00\x02\x00") == []
    assert not r.at_boundary()
    assert r.feed(b"\x03") == [b"\x00\x03"]


def test_frame_reader_rejects_oversized_frame_early():
    r = FrameReader()
    with pytest.raises(FrameError, match="exceeds the limit of 16777216 bytes"):
        r.feed((16 * 1024 * 1024 + 1).to_bytes(4, "big"))
    small = FrameReader(max_size=10)
    assert small.feed(frame(b"0123456789")) == [b"0123456789"]
    with pytest.raises(FrameError, match="frame of 11 bytes exceeds the limit of 10"):
        small.feed(frame(b"0123456789A")[:4])


def test_unframe_all():
    data = frame(b"a") + frame(b"bc")
    assert postcard.unframe_all(data) == [b"a", b"bc"]
    with pytest.raises(FrameError, match="incomplete frame"):
        postcard.unframe_all(data + b"\x00\x00")


# ---------------------------------------------------------------- same bytes under MicroPython

def test_postcard_under_micropython():
    from pandascreen.testing.micropython import run_micropython

    out = run_micropython("""
import sys
from pandascreen.core import postcard
from pandascreen.core.util import hexlify
VK = bytes(range(32))
LOG = bytes(range(100, 132))
TOPIC = bytes(range(200, 232))
msgs = [("have", {}), ("have", {VK: {LOG: 1}}), ("presync", 2, 384), ("done",), ("close",),
        ("op", bytes(range(130)), b"body"), ("op", b"abc", None),
        ("have", {bytes([9] * 32): {bytes([2] * 32): 5, bytes([1] * 32): 300}, bytes([0] * 31 + [1]): {bytes([1] * 32): 0}})]
stream = b""
for m in msgs:
    f = postcard.frame_message(m)
    print(hexlify(f))
    assert postcard.decode_message(f[4:]) == m
    stream += f
print(hexlify(postcard.frame_handshake(("topic", TOPIC))), hexlify(postcard.frame_handshake(("done",))))
r = postcard.FrameReader()
got = []
for i in range(0, len(stream), 3):
    got.extend(r.feed(stream[i:i + 3]))
assert [postcard.decode_message(p) for p in got] == msgs and r.at_boundary()
print(postcard.decode_varint(b"\\xff\\xff\\xff\\xff\\x0f", 0, 32)[0], hexlify(postcard.encode_varint(2**64 - 1, 64)))
for bad in (lambda: postcard.decode_varint(b"\\xff\\xff\\xff\\xff\\x1f", 0, 32),
            lambda: postcard.decode_message(b"\\x01\\x00"),
            lambda: postcard.FrameReader().feed(b"\\x01\\x00\\x00\\x01")):
    try:
        bad()
        print("no error")
    except postcard.PostcardError as e:
        print("error", type(e).__name__, e)
print(sys.implementation.name)
""")
    lines = out.splitlines()
    expect = [postcard.frame_message(m).hex() for m in [
        ("have", {}), ("have", {VK: {LOG: 1}}), ("presync", 2, 384), ("done",), ("close",),
        ("op", bytes(range(130)), b"body"), ("op", b"abc", None),
        ("have", {bytes([9] * 32): {bytes([2] * 32): 5, bytes([1] * 32): 300}, bytes([0] * 31 + [1]): {bytes([1] * 32): 0}})]]
    assert lines[:8] == expect
    assert lines[0] == "00000003000000" and lines[2] == "000000050001028003"
    assert lines[8] == frame_handshake(("topic", TOPIC)).hex() + " 0000000101"
    assert lines[9] == "4294967295 ffffffffffffffffff01"
    assert lines[10] == "error PostcardError varint overflows u32"
    assert lines[11] == "error PostcardError header has 0 fields, at least 5 are needed"
    assert lines[12] == "error FrameError frame of 16777217 bytes exceeds the limit of 16777216 bytes"
    assert lines[13] == "micropython"


# ---------------------------------------------------------------- Live (header as postcard seq)
#
# Derivation of TopicLogSyncMessage::Live(Header<Extensions>, Option<Body>) from the Rust types:
# * enum variant index Live = 1 (Sync = 0, Close = 2): varint 01
# * p2panda-core serde.rs `impl Serialize for Header`: serialize_seq(Some(field_count)) ->
#   postcard varint(count), then each element: version u16 varint, verifying_key / signature /
#   payload_hash / backlink via serialize_hex = serde bytes -> varint(len) || raw bytes
#   (0x20 = 32, 0x40 = 64), payload_size and seq_num u32 varints; payload_hash only when
#   payload_size > 0, backlink only when seq_num > 0; extensions last (the Node's E is never
#   zero-sized).  field_count = 4 + signature + payload_hash + backlink + extensions.
# * p2panda/src/operation.rs `impl Serialize for Extensions`: serialize_seq(Some(5)) -> 05,
#   version u16 = 1, variant code u16 = 0 (Basic), log_id (transparent Hash -> bytes 0x20||32),
#   timestamp u64 varint (Timestamp is #[serde(transparent)]), prune flag bool -> 00/01.
# * Option<Body>: 00, or 01 || varint(len) || body (Body serialises via serialize_hex).
# The operations are tests/vectors.py D (seq 0, body) and E (seq 1, no body, backlink = D id);
# their CBOR headers are pinned there, so these bytes are pinned to the same signed operations.

import vectors as V  # noqa: E402

D_SIG = ("4123456af5c120874ac1b3792f139388ef1a61af2c71e1f3fcc2f64e1732f6ce8e33a23a157382b097bc1a7c8e2bb27ae7"
         "80990243133464e2c0eabc59b9a206")
E_SIG = ("8f0a88d715c8bd837c6e95da35677d345893b4366900670cb1fc74f559e9b0750ffff932a13aa32de8227f662f475211c9"
         "05771d8acb2518d4c5698b7d556803")
D_PAYLOAD_HASH = "c6208537343f375abecc6811528fe87ed3b51f344765e7586f645bd05ed27e90"
# extensions seq: 05 | version 01 | variant 00 | 20 log_id | varint(1_700_000_000_000_000) | prune 00
EXT_SEQ = "05 01 00 20" + V.NEF_LOG_ID + "8080f9c0c1c48203" + "00"
LIVE_D = ("01"                                  # TopicLogSyncMessage::Live
          "07"                                  # 7 fields: version pk sig size hash seq ext
          "01"                                  # version 1 (u16)
          "20" + V.PUBLIC_KEY +                 # verifying key
          "40" + D_SIG +                        # signature
          "0e"                                  # payload_size 14
          "20" + D_PAYLOAD_HASH +               # payload_hash (payload_size > 0)
          "00" +                                # seq_num 0 (so no backlink)
          EXT_SEQ +
          "01 0e" + V.NEF_BODY)                 # Some(body), 14 bytes
LIVE_E = ("01" "07" "01" "20" + V.PUBLIC_KEY + "40" + E_SIG +
          "00"                                  # payload_size 0 (so no payload_hash)
          "01"                                  # seq_num 1
          "20" + V.D_ID +                       # backlink = id of D
          EXT_SEQ +
          "00")                                 # None body


def _live_ops():
    from pandascreen.core import operation
    d = operation.decode(h(V.D_HEADER), h(V.NEF_BODY))
    e = operation.decode(h(V.E_HEADER))
    return d, e


def test_live_golden_bytes_both_ways():
    from pandascreen.core.live import live_message, operation_from_live
    d, e = _live_ops()
    for op, want in ((d, LIVE_D), (e, LIVE_E)):
        payload = postcard.encode_message(live_message(op))
        assert payload == h(want)
        msg = decode_message(h(want))
        assert msg[0] == "live"
        back = operation_from_live(msg[1], msg[2])
        assert back.header_bytes == op.header_bytes and back.hash == op.hash and back.body == op.body
    assert frame_message(live_message(d))[:4] == len(h(LIVE_D)).to_bytes(4, "big")


def test_live_rejects_bad_headers():
    from pandascreen.core.live import operation_from_live
    from pandascreen.core.errors import OperationError
    bad_sig = bytearray(h(LIVE_E))
    bad_sig[40] ^= 1  # inside the signature
    with pytest.raises(OperationError, match="signature"):
        msg = decode_message(bytes(bad_sig))
        operation_from_live(msg[1], msg[2])
    with pytest.raises(PostcardError, match="header has 8 fields, expected 6 or 7"):
        decode_message(h("01 08") + h(LIVE_E)[2:])
    with pytest.raises(UnsupportedMessage, match="variant 1"):
        decode_message(h(LIVE_E.replace("05 01 00 20", "05 01 01 20")))
    with pytest.raises(PostcardError, match="invalid bool 2"):
        decode_message(h(LIVE_E[:-4] + "02 00"))
    with pytest.raises(PostcardError, match="trailing"):
        decode_message(h(LIVE_E + "00"))
