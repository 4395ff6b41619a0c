"""The screen's device key as read at start (node/device_key.py): a key others may read is
tightened to 0600 and said in one line, as ssh and gpg say of a private key with loose modes;
the screen still starts (it must stay up at its gate), and the key itself is never logged."""
import logging
import os
import stat
import threading
from types import SimpleNamespace

from pandascreen.core.crypto import public_key
from pandascreen.node.device_key import device_seed

SEED = bytes(range(100, 132))


def _key(tmp_path, mode):
    path = tmp_path / "device.key"
    path.write_bytes(SEED)
    os.chmod(path, mode)
    return path


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _said(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "pandascreen.node.device_key"]


def test_a_key_others_may_read_is_tightened_to_0600_and_said_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, "pandascreen.node.device_key")
    path = _key(tmp_path, 0o777)
    assert device_seed({}, str(tmp_path)) == SEED
    assert _mode(path) == 0o600
    said = _said(caplog)
    assert len(said) == 1 and str(path) in said[0] and "0777" in said[0] and "0600" in said[0]
    assert SEED.hex() not in said[0] and repr(SEED) not in said[0]
    assert device_seed({}, str(tmp_path)) == SEED  # read again (the iroh node reads it too): nothing more said
    assert len(_said(caplog)) == 1


def test_a_key_of_mode_0600_or_0400_is_read_without_a_word(tmp_path, caplog):
    caplog.set_level(logging.INFO, "pandascreen.node.device_key")
    for mode in (0o600, 0o400):
        path = _key(tmp_path, mode)
        assert device_seed({"key": str(path)}, "/nowhere") == SEED
        assert _mode(path) == mode
    assert _said(caplog) == []


def test_a_loose_key_that_cannot_be_tightened_is_still_read_and_said(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.INFO, "pandascreen.node.device_key")
    path = _key(tmp_path, 0o644)

    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "fchmod", refused)
    assert device_seed({}, str(tmp_path)) == SEED
    said = _said(caplog)
    assert len(said) == 1 and "0644" in said[0] and "Operation not permitted" in said[0]
    assert "chmod 600 %s" % path in said[0]


def test_the_feed_server_reads_the_key_as_the_screen_does(tmp_path):
    """The satellites' feed is signed with the same key: read the same way, so a loose one is
    tightened whichever reads it first."""
    from pandascreen.node.feed_server import start_for_screen
    from pandascreen.core.store import MemoryStore
    path = _key(tmp_path, 0o644)
    device = SimpleNamespace(controller=SimpleNamespace(schedule=None), _lock=threading.RLock())
    said = []
    server = start_for_screen({"festival_id": "keyfest", "organiser_keys": [public_key(SEED)]}, MemoryStore(),
                              str(tmp_path), device, said.append, port=0)
    try:
        assert server is not None, said
        assert _mode(path) == 0o600
    finally:
        server.stop()
    path.write_bytes(b"short")
    assert start_for_screen({"festival_id": "keyfest", "organiser_keys": [public_key(SEED)]}, MemoryStore(),
                            str(tmp_path), device, said.append, port=0) is None
    assert said[-1].startswith("no feed for satellite boards: the device key %s is not a 32-byte" % path)

