"""A configured peer's node id (node/iroh_address.py): 64 hex characters are not enough, they must
be an Ed25519 public key, as iroh reads them."""
import pytest

from pandascreen.core.crypto import public_key
from pandascreen.core.errors import ConfigError
from pandascreen.node.iroh_address import parse_peer

SEED = bytes(range(100, 132))


def test_a_configured_peer_whose_node_id_is_no_public_key_is_said_so():
    """64 hex characters that are not an Ed25519 point passed the config, and each sync said only
    "failed: IrohError"."""
    bad = "00" * 31 + "01"
    with pytest.raises(ConfigError, match="not an Ed25519 public key"):
        parse_peer("%s@127.0.0.1:2030" % bad)
    with pytest.raises(ConfigError, match="not an Ed25519 public key"):
        parse_peer(("%s@127.0.0.1" % bad, 2030))
    assert parse_peer("%s@127.0.0.1:2030" % public_key(SEED).hex()).node_ids == [public_key(SEED)]
