import json

from PIL import Image

from pandascreen.node import app
from pandascreen import demofest
from pandascreen.core import operation
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.core.store import MemoryStore
from pandascreen.node.tcp import SyncServer

SEED = bytes(range(100, 132))


def organiser():
    s = MemoryStore()
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    for i, body in enumerate(demofest.bodies()):
        s.publish(SEED, body, log, demofest.DAY_START * 1000000 + i)
    return s, log


def test_device_syncs_and_renders_once(tmp_path, capsys):
    store, log = organiser()
    server = SyncServer(store, log, topic=operation.festival_topic(demofest.FESTIVAL_ID))
    server.start()
    try:
        cfg = {"festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(SEED).hex()],
               "peers": ["127.0.0.1:%d" % server.port, "127.0.0.1:1"], "store": "screen.db"}
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        png = tmp_path / "screen.png"
        assert app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(png), "--once"]) == 0
    finally:
        server.stop()
    assert Image.open(str(png)).size == (128, 64)
    assert "127.0.0.1:1" in capsys.readouterr().err  # the dead peer is reported, the live one used
    s = SqliteStore(str(tmp_path / "screen.db"))
    assert s.count() == store.count()


def test_device_flip_and_status(tmp_path):
    store, log = organiser()
    from pandascreen.core import config
    cfg = config.validate({"festival_id": demofest.FESTIVAL_ID, "display": "inky_phat_212x104"})
    shots = []

    class Screen:
        def show(self, img):
            shots.append(img.copy())

    dev = app.Device(cfg, store, Screen(), clock=lambda: demofest.DAY_START + 3600)
    dev.render()
    dev.flip(1)
    dev.flip(1)
    dev.flip(1)
    assert dev.venue_index == 0  # three venues: wrapped round
    dev.flip(-1)
    assert dev.venue_index == 2
    dev.flip(0)
    assert dev.venue_index == 0
    assert shots[0].size == (212, 104) and shots[0].tobytes() != shots[1].tobytes()
    assert dev.sync_once() == (0, []) and dev.status == "no peers"


def test_bad_config_exit_code(tmp_path, capsys):
    (tmp_path / "c.json").write_text("{}")
    assert app.main(["--config", str(tmp_path / "c.json"), "--once"]) == 2
    assert "festival_id" in capsys.readouterr().err
