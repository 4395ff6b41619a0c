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
