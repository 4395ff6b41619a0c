"""Pure-Python BLAKE3 / Ed25519 / SHA-512 against the native wheels, RFC 8032 and MicroPython."""
import hashlib
import os
import random

import blake3 as blake3_native
import pytest
from nacl.signing import SigningKey

from pandascreen.testing.micropython import run_micropython
from pandascreen.core import _ed25519_py as ed
from pandascreen.core._blake3_py import blake3

LENGTHS = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 3072, 4097, 10000, 31744, 33 * 1024 + 5]


@pytest.mark.parametrize("n", LENGTHS)
def test_blake3_matches_native(n):
    data = os.urandom(n)
    assert blake3(data) == blake3_native.blake3(data).digest()


def test_blake3_known_values():
    assert blake3(bytes([1, 2, 3])).hex() == "b177ec1bf26dfb3b7010d473e6d44713b29b765b99c6e60ecbfae742de496543"
    assert blake3(b"A very important message.").hex() == (
        "8d3ca6d66651182cd6a9c1fc5dad0260a0ee29fe9ed494734e60d259430ae8a4")


@pytest.mark.parametrize("n", [0, 3, 111, 112, 127, 128, 239, 240, 1000])
def test_sha512_fallback_matches_hashlib(n):
    data = os.urandom(n)
    assert ed._sha512_py(data) == hashlib.sha512(data).digest()


def test_sha512_of_parts_never_needs_their_concatenation():
    rnd = random.Random(2)
    for _ in range(60):
        parts = [os.urandom(rnd.choice([0, 1, 31, 32, 64, 127, 128, 129, 300])) for _ in range(rnd.randrange(1, 5))]
        want = hashlib.sha512(b"".join(parts)).digest()
        assert ed._sha512_py(*parts) == want
        assert ed._sha512_py(*[bytearray(p) for p in parts]) == want
        assert ed.sha512(*[memoryview(p) for p in parts]) == want


# RFC 8032 section 7.1, tests 1-3 and "SHA(abc)"
RFC = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]


@pytest.mark.parametrize("seed,pk,msg,sig", RFC)
def test_rfc8032_vectors(seed, pk, msg, sig):
    seed, pk, msg, sig = (bytes.fromhex(x) for x in (seed, pk, msg, sig))
    assert ed.public_key(seed) == pk
    assert ed.sign(seed, msg) == sig
    assert ed.verify(pk, msg, sig)


def test_matches_pynacl_on_random_keys():
    rnd = random.Random(7)
    for i in range(25):
        seed = bytes(rnd.getrandbits(8) for _ in range(32))
        msg = bytes(rnd.getrandbits(8) for _ in range(i * 13))
        sk = SigningKey(seed)
        assert ed.public_key(seed) == bytes(sk.verify_key)
        assert ed.sign(seed, msg) == sk.sign(msg).signature


L = ed.L


def test_strict_verification():
    seed = bytes(range(32))
    pk = ed.public_key(seed)
    msg = b"festival"
    sig = ed.sign(seed, msg)
    assert ed.verify(pk, msg, sig)
    assert not ed.verify(pk, msg + b"!", sig)
    tampered = bytearray(sig)
    tampered[0] ^= 1
    assert not ed.verify(pk, msg, bytes(tampered))
    # S + L verifies under a lax check but is not canonical
    s = int.from_bytes(sig[32:], "little") + L
    assert s < 2 ** 256
    assert not ed.verify(pk, msg, sig[:32] + s.to_bytes(32, "little"))
    # small-order public key (identity) and R
    identity = (1).to_bytes(32, "little")
    assert not ed.verify(identity, msg, sig)
    assert not ed.verify(pk, msg, identity + sig[32:])
    # non-canonical y (>= p)
    assert not ed.verify((ed.P + 1).to_bytes(32, "little"), msg, sig)
    # wrong lengths never raise
    assert not ed.verify(pk[:31], msg, sig)
    assert not ed.verify(pk, msg, sig[:63])
    assert not ed.verify(b"", b"", b"")


def test_same_answers_under_micropython():
    rnd = random.Random(3)
    cases = []
    for n in (0, 5, 64, 1025, 3000):
        cases.append(bytes(rnd.getrandbits(8) for _ in range(n)))
    expected = [blake3_native.blake3(c).digest().hex() for c in cases]
    seed = bytes(range(32))
    sig = SigningKey(seed).sign(b"hello").signature
    out = run_micropython("""
from pandascreen.core._blake3_py import blake3
from pandascreen.core import _ed25519_py as ed
from pandascreen.core.util import hexlify, unhexlify
cases = %r
for c in cases:
    print("b3", hexlify(blake3(unhexlify(c))))
seed = bytes(range(32))
pk = ed.public_key(seed)
print("pk", hexlify(pk))
print("sig", hexlify(ed.sign(seed, b"hello")))
print("verify", ed.verify(pk, b"hello", unhexlify(%r)), ed.verify(pk, b"hellO", unhexlify(%r)))
print("sha", hexlify(ed._sha512_py(b"abc")))
""" % ([c.hex() for c in cases], sig.hex(), sig.hex()))
    for e in expected:
        assert "b3 " + e in out
    assert "pk " + bytes(SigningKey(seed).verify_key).hex() in out
    assert "sig " + sig.hex() in out
    assert "verify True False" in out
    assert "sha " + hashlib.sha512(b"abc").hexdigest() in out


def test_literal_constants_are_the_curve_constants():
    P = 2 ** 255 - 19
    assert ed.P == P and ed.L == 2 ** 252 + 27742317777372353535851937790883648493
    assert ed.D == -121665 * pow(121666, P - 2, P) % P and ed.D2 == 2 * ed.D % P
    assert ed.SQRT_M1 == pow(2, (P - 1) // 4, P) and ed.SQRT_M1 ** 2 % P == P - 1
    assert ed.BY == 4 * pow(5, P - 2, P) % P
    assert ed._decode(bytes.fromhex("58" + "66" * 31)) == (ed.BX, ed.BY)
    assert ed._MASK255 == 2 ** 255 - 1
    assert ed._inv(12345) * 12345 % P == 1


def _add_points(*encodings):
    """Sum of decoded points, encoded (for building edge cases)."""
    terms = [(1, ed._odd_multiples(*ed._decode(e))) for e in encodings]
    return ed._encode(*ed._mul_sum(terms))


def test_small_order_encodings_are_the_8_torsion_points():
    assert len(set(ed.SMALL_ORDER)) == 8
    for enc in ed.SMALL_ORDER:
        x, y = ed._decode(enc)
        assert ed._encode(*ed._mul(8, x, y)) == ed.SMALL_ORDER[0]  # [8]T = identity
    # the torsion parts [L]Q of arbitrary points are exactly these 8
    found = set()
    for i in range(60):
        q = ed._decode(hashlib.sha256(bytes([i])).digest())
        if q is not None:
            found.add(ed._encode(*ed._mul(ed.L, *q)))
    assert found == set(ed.SMALL_ORDER)


def test_wnaf_digits():
    rnd = random.Random(11)
    for n in [0, 1, 15, 16, 17, 31, 2 ** 253 - 1, ed.L - 1] + [rnd.getrandbits(253) for _ in range(200)]:
        digits = ed._wnaf(n)
        assert sum(d << i for i, d in enumerate(digits)) == n
        for i, d in enumerate(digits):
            if d:
                assert d % 2 == 1 and -15 <= d <= 15
                assert not any(digits[i + 1:i + 5])


def test_strictness_agrees_with_pynacl_on_edge_cases():
    """Torsion-shifted A and R, every small-order A and R, S + L: same answers as libsodium."""
    from nacl.signing import VerifyKey

    def nacl_verify(pk, msg, sig):
        try:
            VerifyKey(pk).verify(msg, sig)
            return True
        except Exception:
            return False

    rnd = random.Random(5)
    checked = {True: 0, False: 0}
    for i in range(12):
        seed = bytes(rnd.getrandbits(8) for _ in range(32))
        msg = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(300)))
        pk, sig = ed.public_key(seed), ed.sign(seed, msg)
        t = ed.SMALL_ORDER[rnd.randrange(1, 8)]
        cases = [(pk, msg, sig), (_add_points(pk, t), msg, sig), (pk, msg, _add_points(sig[:32], t) + sig[32:])]
        s = int.from_bytes(sig[32:], "little")
        if s + L < 2 ** 256:
            cases.append((pk, msg, sig[:32] + (s + L).to_bytes(32, "little")))
        for t in ed.SMALL_ORDER:
            cases += [(t, msg, sig), (pk, msg, t + sig[32:])]
        for case in cases:
            want = nacl_verify(*case)
            assert ed.verify(*case) == want, case
            checked[want] += 1
    assert checked[True] >= 12 and checked[False] >= 12 * 17


def test_key_cache_never_mixes_keys():
    """verify keeps the last key's table: alternating keys, bad keys and hits all answer right."""
    seeds = [bytes([i]) * 32 for i in (1, 2)]
    pks = [ed.public_key(s) for s in seeds]
    sigs = [ed.sign(s, b"m") for s in seeds]
    bad_key = (ed.P + 3).to_bytes(32, "little")  # non-canonical: never cached
    for _ in range(2):
        assert ed.verify(pks[0], b"m", sigs[0]) and ed.verify(pks[0], b"m", sigs[0])
        assert not ed.verify(pks[1], b"m", sigs[0])
        assert not ed.verify(bad_key, b"m", sigs[0])
        assert ed.verify(pks[1], b"m", sigs[1]) and not ed.verify(pks[0], b"m", sigs[1])


SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2, appendix B.1


def test_sha256_is_libsodiums_on_cpython_and_agrees_with_hashlib_on_bytes_and_views():
    from pandascreen.core import crypto
    assert crypto.sha256.__module__ == crypto.__name__ and crypto._sha256.__module__.startswith("nacl")
    assert crypto.sha256(b"abc").hex() == SHA256_ABC
    for n in (0, 1, 55, 56, 64, 1000, 70000):
        data = os.urandom(n)
        assert crypto.sha256(data) == crypto.sha256(memoryview(data)) == hashlib.sha256(data).digest()


def test_sha256_on_micropython_is_its_hashlibs():
    out = run_micropython("""
from pandascreen.core import crypto
print(crypto.sha256(b"abc").hex(), crypto.sha256(memoryview(b"xabc")[1:]).hex())
""")
    assert out.split() == [SHA256_ABC, SHA256_ABC]
