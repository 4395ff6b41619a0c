"""The screen's device key for ``provision``: which seed to use, and writing it safely.

The device's private key is generated here (os.urandom), written with mode 0600 from the first
byte (O_EXCL temp file + rename) and never printed; only the public key is shown.  An existing
device key is never replaced without ``--force`` (and then kept as ``device.key.replaced-TIME``).
"""

import os
import time

from pandascreen.core import crypto
from pandascreen_host.errors import UserError
from pandascreen_host.fsutil import load_seed, read_small, write_secret


def _hex(b):
    return bytes(b).hex()


def public_key_hex(seed):
    return _hex(crypto.public_key(seed))


def new_seed():
    return os.urandom(32)


def stamp():
    return time.strftime("%Y%m%d-%H%M%S")


def backup_secret(path):
    """Keep a copy of an existing key before it is replaced (mode 0600)."""
    data = read_small(path, 4096, "device key")
    backup = "%s.replaced-%s" % (path, stamp())
    write_secret(backup, data, overwrite=False, what="key backup")
    return backup


class KeyChoice:
    """Which seed to use and what to do with the host-side key file."""

    def __init__(self, seed, source, host_path=None, write_host=False, backup_host=False):
        self.seed = seed
        self.source = source
        self.host_path = host_path
        self.write_host = write_host
        self.backup_host = backup_host


def choose_key(key_path, new_key, force, existing_target_seed):
    """Decide the device seed. Nothing is written here.

    * ``--key PATH`` that exists: use it (``--new-key`` replaces it, only with ``--force``);
    * ``--key PATH`` that does not exist, or ``--new-key``: generate one;
    * no ``--key``: keep the key already on the target, else generate one (kept only on the target).
    """
    if key_path:
        if os.path.isdir(key_path):
            raise UserError("--key %s is a folder; give a file name such as stage-a.key" % key_path)
        if os.path.exists(key_path):
            if new_key:
                if not force:
                    raise UserError("device key %s already exists; pass --force with --new-key to replace it "
                                    "(the old key is kept as %s.replaced-TIME)" % (key_path, key_path))
                return KeyChoice(new_seed(), "new", key_path, write_host=True, backup_host=True)
            return KeyChoice(load_seed(key_path), "file", key_path)
        parent = os.path.dirname(os.path.abspath(key_path))
        if not os.path.isdir(parent):
            raise UserError("folder %s for --key does not exist" % parent)
        return KeyChoice(new_seed(), "new", key_path, write_host=True)
    if existing_target_seed is not None and not new_key:
        return KeyChoice(existing_target_seed, "target")
    return KeyChoice(new_seed(), "new")


def target_conflict(choice, existing, where, force):
    """Refuse to replace a different key already on the device unless --force."""
    if existing is None or existing == choice.seed:
        return False
    if not force:
        raise UserError(
            "%s already holds a different device key (public key %s); replacing it gives the screen a "
            "new identity. Pass --force to replace it (the old key is kept as a backup next to it)"
            % (where, public_key_hex(existing)))
    return True


def write_host_key(choice, out):
    if not choice.write_host:
        return
    if choice.backup_host and os.path.exists(choice.host_path):
        backup = backup_secret(choice.host_path)
        out.write("kept the old key as %s\n" % backup)
        write_secret(choice.host_path, choice.seed, overwrite=True, what="device key")
    else:
        write_secret(choice.host_path, choice.seed, overwrite=False, what="device key")
    out.write("wrote device key %s (mode 600)\n" % choice.host_path)
