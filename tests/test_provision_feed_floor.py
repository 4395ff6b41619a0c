"""provision of a MicroPython satellite with ``--store``: the board's config carries ``feed_floor``,
the newest program the organiser's laptop knew (the newest signed timestamp a writer of the festival
group holds in the store, never past the laptop's clock), so a freshly flashed board refuses an
older, validly signed feed (tests/test_board_feed_floor.py runs that on MicroPython).  Without
``--store`` the board has no floor, and provisioning says so; re-provisioning keeps a floor."""
import json
import time

import pytest

import fake_serial
from pandascreen.core import config as configmod, operation, schema
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen_host import provision_micropython, wifi
from pandascreen_host.cli import main

FID = "pandafest-2026"
LOG = operation.log_id_for_festival(FID)
ORGANISER = bytes(range(1, 33))
STRANGER = bytes(range(40, 72))
T1 = 1780000000  # the organiser's import
T2 = T1 + 3 * 86400  # its last edit before the board was provisioned


@pytest.fixture(autouse=True)
def no_psk_env(monkeypatch):
    monkeypatch.delenv(wifi.ENV_PSK, raising=False)


@pytest.fixture
def board(tmp_path, monkeypatch):
    dev = fake_serial.FakeMicroPython(str(tmp_path / "flash"), running=True)
    fake_serial.install(monkeypatch, {"/dev/ttyACM0": dev})
    return dev


@pytest.fixture
def store_path(tmp_path):
    path = str(tmp_path / "festival.db")
    s = SqliteStore(path)
    s.publish(ORGANISER, schema.make_body("festival", "create", FID, {"name": "Pandafest"}), LOG, T1 * 10**6)
    s.publish(ORGANISER, schema.make_body("venue", "create", "main", {"name": "Main"}), LOG, T2 * 10**6 + 999)
    # a key outside the festival group, its clock a day ahead: not the program, never the floor
    s.publish(STRANGER, schema.make_body("venue", "create", "beer", {"name": "FREE BEER"}), LOG,
              (T2 + 86400) * 10**6)
    s.close()
    return path


def pico_args(tmp_path, *extra):
    return ["provision", "--board", "pico-w-ssd1306", "--port", "/dev/ttyACM0", "--festival-id", FID,
            "--peer", "192.168.4.1:2026", "--organiser", public_key(ORGANISER).hex(), "--no-flash",
            "--build-dir", str(tmp_path / "build")] + list(extra)


def board_config(board):
    return configmod.validate(json.loads(board.read_file("/config.json")))


def test_the_store_gives_a_fresh_board_its_feed_floor(board, store_path, tmp_path, capsys):
    assert main(pico_args(tmp_path, "--store", store_path)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert board_config(board)["feed_floor"] == T2
    assert "refuses feeds issued before 2026-05-31 20:26" in out and "UTC" in out, out

    # re-provisioned without the store: the floor stays
    assert main(pico_args(tmp_path)) == 0, capsys.readouterr().err
    assert board_config(board)["feed_floor"] == T2
    assert "kept the board's feed floor" in capsys.readouterr().out


def test_a_board_provisioned_without_a_store_has_no_floor(board, tmp_path, capsys):
    assert main(pico_args(tmp_path)) == 0, capsys.readouterr().err
    assert "feed_floor" not in board_config(board)
    assert "no feed floor" in capsys.readouterr().out


def test_a_store_without_the_festival_or_no_store_at_all_is_one_line(board, tmp_path, capsys):
    missing = str(tmp_path / "nothing.db")
    assert main(pico_args(tmp_path, "--store", missing)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nothing.db" in err and "Traceback" not in err, err
    assert not (tmp_path / "nothing.db").exists()
    other = str(tmp_path / "other.db")
    s = SqliteStore(other)
    s.publish(ORGANISER, schema.make_body("festival", "create", "other", {"name": "Other"}),
              operation.log_id_for_festival("other"), T1 * 10**6)
    s.close()
    assert main(pico_args(tmp_path, "--store", other)) == 2
    assert "holds no festival 'pandafest-2026'" in capsys.readouterr().err
    assert "/config.json" not in board.files()


def test_the_floor_never_passes_the_laptops_clock(store_path):
    cfg = configmod.validate({"festival_id": FID, "organisers": [public_key(ORGANISER).hex()]})
    assert provision_micropython.feed_floor(store_path, cfg, now=T2 + 60) == T2
    assert provision_micropython.feed_floor(store_path, cfg, now=T2 - 60) == T2 - 60
    anyone = configmod.validate({"festival_id": FID, "trust_anyone": True})
    assert provision_micropython.feed_floor(store_path, anyone, now=time.time()) == T2 + 86400


def test_the_provisioned_board_refuses_what_was_signed_before_the_floor(board, store_path, tmp_path, capsys):
    """The config provisioning wrote, as the board's loop takes it (board/board.py on CPython; on
    MicroPython: tests/test_board_feed_floor.py): a feed the organiser signed before its last change
    is refused by the fresh board, one signed after is taken."""
    from pandascreen.board.board import Satellite
    from pandascreen.core.crypto import SigningKey
    from pandascreen.core.schedule import Schedule
    from pandascreen.node import feed_sign
    from pandascreen.testing.canvas import VLSBCanvas
    from pandascreen.testing.sockets import BytesConn, http_ok

    assert main(pico_args(tmp_path, "--store", store_path)) == 0, capsys.readouterr().err
    cfg = board_config(board)
    cfg["feed_addrs"] = [("pi", 8026)]
    s = SqliteStore(store_path)
    try:
        sch = Schedule.from_store(s, LOG, authors=[public_key(ORGANISER)])
        feeds = dict((name, feed_sign.build(sch, s, LOG, FID, SigningKey(ORGANISER), None, at))
                     for name, at in (("before", T2 - 600), ("after", T2 + 600)))
    finally:
        s.close()
    served = ["before"]
    canvas = VLSBCanvas(128, 64)
    sat = Satellite(cfg, canvas, lambda: None, 128, 64, clock=lambda: T2 + 900, synced=lambda: False,
                    connect=lambda h, p: BytesConn(http_ok(feeds[served[0]])))
    sat.step()
    assert sat.feed_count == 0 and sat.rejected == 1
    served[0] = "after"
    sat.step(T2 + 960)
    assert sat.feed_count == 1 and sat.view_source.info.issued_at == T2 + 600
