import json

import pytest

from pandascreen.bench import ingest as bench
from pandascreen.core import config


GOOD = {"festival_id": "pandafest-2026", "organisers": ["ab" * 32], "peers": ["127.0.0.1:2026", "[::1]:9"],
        "buttons": {"next": 17, "prev": 27}}


def test_valid_config_gets_defaults(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(GOOD))
    cfg = config.load(str(p))
    assert cfg["organiser_keys"] == [b"\xab" * 32]
    assert cfg["peer_addrs"] == [("127.0.0.1", 2026), ("::1", 9)]
    assert cfg["display"] == "ssd1306_128x64" and cfg["sync_interval"] == 60


@pytest.mark.parametrize("patch,msg", [
    ({"festival_id": ""}, "festival_id"),
    ({"organisers": ["abcd"]}, "64 hex"),
    ({"peers": ["localhost"]}, "host:port"),
    ({"peers": ["h:x"]}, "not a number"),
    ({"peers": ["h:70000"]}, "1 to 65535"),
    ({"display": "crt"}, "unknown display 'crt'"),
    ({"buttons": {"up": 3}}, "unknown button"),
    ({"sync_interval": -1}, "sync_interval"),
])
def test_bad_config_is_explained(patch, msg):
    cfg = dict(GOOD)
    cfg.update(patch)
    with pytest.raises(config.ConfigError, match=msg):
        config.validate(cfg)


def test_unreadable_and_broken_json(tmp_path):
    with pytest.raises(config.ConfigError, match="cannot read"):
        config.load(str(tmp_path / "missing.json"))
    p = tmp_path / "c.json"
    p.write_text("{nope")
    with pytest.raises(config.ConfigError, match="not valid JSON"):
        config.load(str(p))


def test_benchmark_runs_in_one_go():
    r = bench.run(n=60, sqlite_single=10)
    assert r["pynacl_verify_per_s"] > 0 and r["ingest_memory_per_s"] > 0
    assert 0 < r["ingest_memory_vs_verify"] < 5
    text = bench.report(r)
    assert "raw PyNaCl Ed25519 verify" in text and "vs verify" in text
