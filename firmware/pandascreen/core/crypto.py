"""Hashing and signatures: BLAKE3-256, SHA-256 (the board feed's digest) and Ed25519.

Uses the PyNaCl and blake3 wheels when they can be imported (Raspberry Pi OS, laptops)
and falls back to pure-Python implementations elsewhere (MicroPython boards).  SHA-256 is
libsodium's where PyNaCl loads, since a screen loads libsodium for its signatures anyway and
hashlib would map OpenSSL's digests in beside it; elsewhere hashlib's (in C on every
MicroPython port).
"""

try:
    from blake3 import blake3 as _blake3_cls

    def blake3(data):
        return _blake3_cls(bytes(data)).digest()

    _B3 = "native"
except ImportError:
    from pandascreen.core._blake3_py import blake3  # noqa: F401  (crypto.blake3 is this module's interface)

    _B3 = "pure"

try:
    from nacl.bindings import crypto_hash_sha256 as _sha256

    def sha256(data):
        return _sha256(bytes(data))
except ImportError:
    def sha256(data):
        import hashlib  # here: a port without it still signs and hashes with BLAKE3

        return hashlib.sha256(data).digest()

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
    from pandascreen.core._ed25519_py import public_key, sign, verify  # noqa: F401  (crypto.verify, likewise)

    _ED = "pure"

BACKEND = "native" if (_B3 == "native" and _ED == "native") else ("pure" if _B3 == _ED else "mixed")


class SigningKey:
    """A seed with its key pair derived once, for signing many operations in a row
    (deriving it costs about as much as a signature).  Never printed: no repr of the seed."""

    def __init__(self, seed):
        self._seed = bytes(seed)
        if _ED == "native":
            self._sk = _SK(self._seed)
            self.public_key = bytes(self._sk.verify_key)
        else:
            self._sk = None
            self.public_key = public_key(self._seed)

    def sign(self, msg):
        if self._sk is not None:
            return self._sk.sign(bytes(msg)).signature
        return sign(self._seed, msg)

    def __repr__(self):
        return "<SigningKey>"


def signing_key(seed):
    """``seed`` (32 bytes) as a SigningKey; a SigningKey is returned as it is."""
    return seed if isinstance(seed, SigningKey) else SigningKey(seed)
