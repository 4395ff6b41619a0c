"""[core] Hashing and signatures: BLAKE3-256 and Ed25519.

Uses the PyNaCl and blake3 wheels when they can be imported (Raspberry Pi OS, laptops)
and falls back to pure-Python implementations elsewhere (MicroPython boards).
"""

try:
    from blake3 import blake3 as _blake3_cls

    def blake3(data):
        return _blake3_cls(bytes(data)).digest()

    _B3 = "native"
except ImportError:
    from pandascreen.core._blake3_py import blake3

    _B3 = "pure"

try:
    from nacl.signing import SigningKey as _SK, VerifyKey as _VK
    from nacl.exceptions import BadSignatureError as _BadSig

    def public_key(seed):
        return bytes(_SK(bytes(seed)).verify_key)

    def sign(seed, msg):
        return _SK(bytes(seed)).sign(bytes(msg)).signature

    def verify(pk, msg, sig):
        if len(pk) != 32 or len(sig) != 64:
            return False
        try:
            _VK(bytes(pk)).verify(bytes(msg), bytes(sig))
            return True
        except (_BadSig, ValueError, TypeError):
            return False
        except Exception:
            return False

    _ED = "native"
except ImportError:
    from pandascreen.core._ed25519_py import public_key, sign, verify

    _ED = "pure"

BACKEND = "native" if (_B3 == "native" and _ED == "native") else ("pure" if _B3 == _ED else "mixed")
