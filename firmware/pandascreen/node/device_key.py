"""The screen's device key, read where the screen needs it: its iroh node id, before anything listens.

WHY a module of its own: the screen's network start (node/screen_network.py) checks it before any
listener opens, so a screen that cannot be reached says so in one line; the iroh node
(node/iroh_transport.py) signs with it.  Both read it here.
"""

import os

from pandascreen.core.errors import ConfigError


def device_seed(cfg, config_dir):
    """The screen's device key (``cfg["key"]``, relative to the config's folder): its 32-byte
    Ed25519 seed, or ConfigError naming the file and what to do."""
    path = cfg.get("key") or "device.key"
    if not os.path.isabs(path):
        path = os.path.join(config_dir, path)
    try:
        with open(path, "rb") as fh:
            seed = fh.read(33)
    except OSError as e:
        raise ConfigError("cannot read the device key %s: %s (provision the screen again: "
                          "pandascreen-host provision)" % (path, e.strerror or e))
    if len(seed) != 32:
        raise ConfigError("the device key %s is not a 32-byte Ed25519 seed (provision the screen again: "
                          "pandascreen-host provision)" % path)
    return seed
