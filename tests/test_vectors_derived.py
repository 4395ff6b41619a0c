"""Every byte vector in tests/vectors.py, derived here again with independent libraries -- cbor2
(minimal CBOR), PyNaCl (Ed25519, RFC 8032: deterministic signatures) and the blake3 wheel -- from
the inputs and rules written down in shared/P2PANDA_FORMAT.md (§1.2 field order, §1.3 what is
signed and hashed, §1.7 the Node Extensions Format), never through pandascreen's own encoder.

So the vectors are facts anyone can recompute, not bytes taken from another project: a vector
that differs from its derivation fails here.
"""
import cbor2
from blake3 import blake3
from nacl.signing import SigningKey

import vectors


def h(b):
    return b.hex()


def header(pk, payload=b"", seq=0, backlink=None, ext=None, sign_with=None):
    """(unsigned CBOR, signed CBOR) of a p2panda-core 0.7 header: [version 1, verifying key,
    signature (signed form only), payload size, payload hash iff size > 0, seq num, backlink iff
    seq > 0, extensions iff any]."""
    def fields(sig):
        f = [1, pk] + ([sig] if sig is not None else []) + [len(payload)]
        if payload:
            f.append(blake3(payload).digest())
        f.append(seq)
        if seq:
            f.append(backlink)
        if ext is not None:
            f.append(ext)
        return f

    unsigned = cbor2.dumps(fields(None))
    sig = sign_with.sign(unsigned).signature
    return unsigned, cbor2.dumps(fields(sig))


def test_every_vector_is_derived_from_documented_inputs():
    key = SigningKey(bytes.fromhex(vectors.SEED))
    pk = bytes(key.verify_key)
    assert h(pk) == vectors.PUBLIC_KEY
    # A: seq 0, no body, no extensions
    a_unsigned, a = header(pk, sign_with=key)
    assert (h(a_unsigned), h(a), blake3(a).hexdigest()) == (vectors.A_UNSIGNED, vectors.A_HEADER, vectors.A_ID)
    # B: seq 0, the 13-byte body "Hello, Sloth!"
    assert blake3(vectors.B_BODY).hexdigest() == vectors.B_BODY_HASH
    b_unsigned, b = header(pk, vectors.B_BODY, sign_with=key)
    assert (h(b_unsigned), h(b), blake3(b).hexdigest()) == (vectors.B_UNSIGNED, vectors.B_HEADER, vectors.B_ID)
    # C: seq 1, no body, backlink = B's id
    c_unsigned, c = header(pk, seq=1, backlink=blake3(b).digest(), sign_with=key)
    assert (h(c_unsigned), h(c), blake3(c).hexdigest()) == (vectors.C_UNSIGNED, vectors.C_HEADER, vectors.C_ID)
    # D, E: the Node Extensions Format "Basic" [1, 0, log_id, timestamp_us, prune] with
    # topic = BLAKE3("shirokuma-cafe"), log_id = BLAKE3(topic), body = CBOR("Hello, Panda!")
    topic = blake3(b"shirokuma-cafe").digest()
    log_id = blake3(topic).digest()
    assert (h(topic), h(log_id)) == (vectors.NEF_TOPIC, vectors.NEF_LOG_ID)
    ext = [1, 0, log_id, vectors.NEF_TIMESTAMP, False]
    assert h(cbor2.dumps(ext)) == vectors.NEF_EXT
    body = cbor2.dumps("Hello, Panda!")
    assert h(body) == vectors.NEF_BODY
    _, d = header(pk, body, ext=ext, sign_with=key)
    assert (h(d), blake3(d).hexdigest()) == (vectors.D_HEADER, vectors.D_ID)
    _, e = header(pk, seq=1, backlink=blake3(d).digest(), ext=ext, sign_with=key)
    assert (h(e), blake3(e).hexdigest()) == (vectors.E_HEADER, vectors.E_ID)


def test_the_derivation_notices_a_changed_byte():
    key = SigningKey(bytes.fromhex(vectors.SEED))
    _, a = header(bytes(key.verify_key), b"x", sign_with=key)
    assert h(a) != vectors.A_HEADER


def test_rfc8032_vectors_are_what_pynacl_computes():
    """tests/test_pure_crypto.py's RFC 8032 §7.1 vectors (a published standard, not a repository):
    PyNaCl computes the same public keys and signatures from the same seeds and messages."""
    from test_pure_crypto import RFC

    for seed, pk, msg, sig in RFC:
        key = SigningKey(bytes.fromhex(seed))
        assert h(bytes(key.verify_key)) == pk
        assert h(key.sign(bytes.fromhex(msg)).signature) == sig
