"""The screen's device key, read where the screen needs it: its iroh node id, before anything listens.

WHY a module of its own: the screen's network start (node/screen_network.py) checks it before any
listener opens, so a screen that cannot be reached says so in one line; the iroh node
(node/iroh_transport.py) and the satellites' feed (node/feed_server.py) sign with it.  All read
it here.

A key others may read (a copy made by hand, a restore from a backup) is made 0600 as it is read,
and said in one WARNING line, as ssh and gpg say of a private key with loose modes; the screen
still starts, for it must stay up at its gate.  The key itself is never logged.
"""

import logging
import os
import stat

from pandascreen.core.errors import ConfigError

log = logging.getLogger("pandascreen.node.device_key")


def device_seed(cfg, config_dir):
    """The screen's device key (``cfg["key"]``, relative to the config's folder): its 32-byte
    Ed25519 seed, or ConfigError naming the file and what to do."""
    path = cfg.get("key") or "device.key"
    if not os.path.isabs(path):
        path = os.path.join(config_dir, path)
    try:
        with open(path, "rb") as fh:
            seed = fh.read(33)
            _keep_private(fh.fileno(), path)
    except OSError as e:
        raise ConfigError("cannot read the device key %s: %s (provision the screen again: "
                          "pandascreen-host provision)" % (path, e.strerror or e))
    if len(seed) != 32:
        raise ConfigError("the device key %s is not a 32-byte Ed25519 seed (provision the screen again: "
                          "pandascreen-host provision)" % path)
    return seed


def _keep_private(fd, path):
    """The open key ``fd`` (at ``path``) readable by its owner only: made 0600 when others may
    read it, said in one line either way."""
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if not mode & 0o077:
        return
    try:
        os.fchmod(fd, 0o600)
    except OSError as e:
        log.warning("the device key %s can be read by others (mode %04o) and could not be made 0600 (%s): "
                    "chmod 600 %s", path, mode, e.strerror or e, path)
        return
    log.warning("the device key %s could be read by others (mode %04o): made 0600", path, mode)
