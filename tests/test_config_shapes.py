"""A config a crew member wrote by hand, with a key of the wrong shape, stops the screen in one
line naming the key (exit 2), never a traceback: what `pandascreen` prints is all they see on a
Pi's console (core/config.py)."""
import json

import pytest

from pandascreen.node import app

GOOD = {"festival_id": "f", "organisers": ["ab" * 32]}


@pytest.mark.parametrize("key, value", [
    ("peers", 5), ("peers", None), ("peers", "10.0.0.2:2026"),
    ("organisers", 5), ("organisers", "ab" * 32),
    ("buttons", [17]), ("buttons", None),
    ("screen", [1]), ("screen", "i2c"),
    ("store", 5), ("store", ""), ("key", 5), ("key", ""),
    ("peers", ["nothex@127.0.0.1:2025"])])
def test_a_key_of_the_wrong_shape_is_one_line_and_exit_2(tmp_path, capsys, key, value):
    (tmp_path / "config.json").write_text(json.dumps(dict(GOOD, **{key: value})))
    code = app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(tmp_path / "s.png"), "--once"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and key.rstrip("s") in err, err


def test_a_config_nested_too_deeply_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "config.json").write_text("[" * 100000 + "]" * 100000)
    code = app.main(["--config", str(tmp_path / "config.json"), "--emulate", str(tmp_path / "s.png"), "--once"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
