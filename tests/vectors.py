"""Golden vectors of the p2panda-core 0.7 header format, each derived, not copied.

How: tests/test_vectors_derived.py computes every value below again with cbor2 (minimal CBOR),
PyNaCl (Ed25519, deterministic) and the blake3 wheel -- none of them pandascreen's code -- from
the rules in shared/P2PANDA_FORMAT.md (§1.2 field order, §1.3 signed and hashed bytes, §1.7 the
Node Extensions Format) and these inputs: the signing key SEED; A = seq 0, no body; B = seq 0,
body "Hello, Sloth!"; C = seq 1, no body, backlink B's id; D = seq 0, body CBOR("Hello, Panda!")
with the extension [1, 0, BLAKE3(BLAKE3("shirokuma-cafe")), 1.7e15 µs, false]; E = seq 1, no
body, backlink D's id, the same extension.  (A–C use the inputs of p2panda-core's own serde
tests, so their bytes can also be compared with a p2panda-core build.)"""

SEED = "f47b55d7a1cc5ee3effd80a4e4a0c33112317d0432da9de6ae019ae7e78e16aa"
PUBLIC_KEY = "e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620"

A_UNSIGNED = "84015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b516200000"
A_HEADER = ("85015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620584011815a20d4e0"
            "4a8ddb52a02313cd5237f7cc799980cb7b666c5a3c17dfb0fb9af383b1368ed200e77d5ace1cf025b358c8f6"
            "b931f687f285807f1676176616020000")
A_ID = "fbc25eaaa999123a8655a6879bf5da1353977bf41d0a9740ab2f436bd1199250"

B_BODY = b"Hello, Sloth!"
B_BODY_HASH = "bf7f440de32bfc9b3194b002a2d9afab312cb5d74771d3c31d80c0a9058aa08e"
B_UNSIGNED = ("85015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b516200d5820bf7f440de32b"
              "fc9b3194b002a2d9afab312cb5d74771d3c31d80c0a9058aa08e00")
B_HEADER = ("86015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b516205840bb599da5c516"
            "4f91e374e2cbe7d5e1fdc5fdf09310e0ba925e7e4fb9965466106d38f1e4a4bf992f8ebd0c479f8f51cc6c7c16"
            "27de7a58c67b7d02d31cc45a000d5820bf7f440de32bfc9b3194b002a2d9afab312cb5d74771d3c31d80c0a905"
            "8aa08e00")
B_ID = "442bfafb2f97793a1e901881ab235938a1704b5ba8c9c379a99b5568813c8da1"

C_UNSIGNED = ("85015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b5162000015820442bfafb2f"
              "97793a1e901881ab235938a1704b5ba8c9c379a99b5568813c8da1")
C_HEADER = ("86015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b5162058405af1dbb37160"
            "cff5c10373a654b1ecbfc28622d675b6827961096eaa232c9bcd93b4eabc11276d928e44b5ba77c5472df5f620"
            "8b2ec5960cff6e8663058bdf0d00015820442bfafb2f97793a1e901881ab235938a1704b5ba8c9c379a99b5568"
            "813c8da1")
C_ID = "232288a6d97adbbc090eb760335ee925d190822635bd1e1a667d31afd57ab542"

# Node Extensions Format (derived, §2.2): topic = BLAKE3("shirokuma-cafe"), ts = 1.7e18 µs.
NEF_TOPIC = "2131f8735f02ef2cee50c926ca8d587982beca62b6b84c1c900a9de00c9dcafe"
NEF_LOG_ID = "3514e15f421647f31c6fd01222b34ec0cc0edc5b8f041cb1dde228968fccdc6a"
NEF_TIMESTAMP = 1700000000000000
NEF_EXT = "85010058203514e15f421647f31c6fd01222b34ec0cc0edc5b8f041cb1dde228968fccdc6a1b00060a24181e4000f4"
NEF_BODY = "6d48656c6c6f2c2050616e646121"
D_HEADER = ("87015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b5162058404123456af5c1"
            "20874ac1b3792f139388ef1a61af2c71e1f3fcc2f64e1732f6ce8e33a23a157382b097bc1a7c8e2bb27ae78099"
            "0243133464e2c0eabc59b9a2060e5820c6208537343f375abecc6811528fe87ed3b51f344765e7586f645bd05e"
            "d27e900085010058203514e15f421647f31c6fd01222b34ec0cc0edc5b8f041cb1dde228968fccdc6a1b00060a"
            "24181e4000f4")
D_ID = "bdb9895ad97b6984750aa61f0fc63b6384d42f70f0ca0e43944b8f4230981ee5"
E_HEADER = ("87015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b5162058408f0a88d715c8"
            "bd837c6e95da35677d345893b4366900670cb1fc74f559e9b0750ffff932a13aa32de8227f662f475211c90577"
            "1d8acb2518d4c5698b7d55680300015820bdb9895ad97b6984750aa61f0fc63b6384d42f70f0ca0e43944b8f42"
            "30981ee585010058203514e15f421647f31c6fd01222b34ec0cc0edc5b8f041cb1dde228968fccdc6a1b00060a"
            "24181e4000f4")
E_ID = "44984b8cb331f25e24798b6a6cb2bcc720e7d4991d14732c8c9091e10a1fa771"


def check_all(operation, unhexlify, hexlify, cbor, blake3):
    """Shared by the CPython and MicroPython tests: returns a list of failures."""
    bad = []
    seed = unhexlify(SEED)

    def eq(name, got, want):
        if got != want:
            bad.append("%s: got %s want %s" % (name, got, want))

    a = operation.create(seed)
    eq("A unsigned", hexlify(a.header.unsigned_bytes()), A_UNSIGNED)
    eq("A header", hexlify(a.header_bytes), A_HEADER)
    eq("A id", hexlify(a.hash), A_ID)
    b = operation.create(seed, B_BODY)
    eq("B body hash", hexlify(blake3(B_BODY)), B_BODY_HASH)
    eq("B unsigned", hexlify(b.header.unsigned_bytes()), B_UNSIGNED)
    eq("B header", hexlify(b.header_bytes), B_HEADER)
    eq("B id", hexlify(b.hash), B_ID)
    c = operation.create(seed, None, 1, b.hash)
    eq("C unsigned", hexlify(c.header.unsigned_bytes()), C_UNSIGNED)
    eq("C header", hexlify(c.header_bytes), C_HEADER)
    eq("C id", hexlify(c.hash), C_ID)
    # decode + validate round trip of the upstream bytes
    for name, hx, body in (("A", A_HEADER, None), ("B", B_HEADER, B_BODY), ("C", C_HEADER, None)):
        op = operation.decode(unhexlify(hx), body)
        eq(name + " pk", hexlify(op.public_key), PUBLIC_KEY)
    eq("topic", hexlify(blake3(b"shirokuma-cafe")), NEF_TOPIC)
    log_id = operation.log_id_for_topic(unhexlify(NEF_TOPIC))
    eq("log id", hexlify(log_id), NEF_LOG_ID)
    ext = operation.Extensions(log_id, NEF_TIMESTAMP, False)
    eq("NEF ext", hexlify(cbor.dumps(ext.to_cbor_value())), NEF_EXT)
    body = cbor.dumps("Hello, Panda!")
    eq("NEF body", hexlify(body), NEF_BODY)
    d = operation.create(seed, body, 0, None, ext)
    eq("D header", hexlify(d.header_bytes), D_HEADER)
    eq("D id", hexlify(d.hash), D_ID)
    e = operation.create(seed, None, 1, d.hash, ext)
    eq("E header", hexlify(e.header_bytes), E_HEADER)
    eq("E id", hexlify(e.hash), E_ID)
    return bad
