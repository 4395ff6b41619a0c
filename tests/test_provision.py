"""provision: device keys, config, Wi-Fi on a Raspberry Pi OS boot partition and on a fake MicroPython board."""

import hashlib
import sys
import json
import os
import stat

import pytest

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

import fake_serial
from pandascreen.core import config as configmod
from pandascreen.core import crypto
from pandascreen_host import fsutil, provision, wifi
from pandascreen_host.cli import main
from pandascreen_host.errors import UserError

PASS = "correct horse battery staple"
FRESH_CMDLINE = ("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 "
                 "fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot splash\n")


@pytest.fixture(autouse=True)
def no_psk_env(monkeypatch):
    monkeypatch.delenv(wifi.ENV_PSK, raising=False)


@pytest.fixture
def bootfs(tmp_path):
    d = tmp_path / "bootfs"
    d.mkdir()
    (d / "cmdline.txt").write_text(FRESH_CMDLINE)
    (d / "config.txt").write_text("# For more options see http://rptl.io/configtxt\n#dtparam=i2c_arm=on\n"
                                  "dtparam=audio=on\n")
    return d


@pytest.fixture
def pskfile(tmp_path):
    p = tmp_path / "wifi.psk"
    p.write_text(PASS + "\n")
    p.chmod(0o600)
    return p


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def all_text(root):
    out = b""
    for dirpath, _dirs, names in os.walk(str(root)):
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as fh:
                out += fh.read()
    return out


ORGANISER = "ab" * 32  # the festival group must be named (core/auth.py); tests name it unless they do


def _group(extra):
    return [] if "--organiser" in extra or "--trust-anyone" in extra else ["--organiser", ORGANISER]


def pi_args(bootfs, *extra):
    return ["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(bootfs),
            "--festival-id", "pandafest-2026", "--peer", "10.0.0.2:2026"] + _group(extra) + list(extra)


# -- pieces -----------------------------------------------------------------------------------
def test_wpa_psk_matches_ieee_802_11i_test_vector():
    assert wifi.wpa_psk("IEEE", "password") == \
        "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"
    raw = "AB" * 32
    assert wifi.wpa_psk("x", raw) == raw.lower()


def test_passphrase_rules_never_echo_the_secret():
    with pytest.raises(UserError) as ei:
        wifi.check_passphrase("sesame")
    assert "sesame" not in str(ei.value) and "8 to 63" in str(ei.value)
    with pytest.raises(UserError) as ei:
        wifi.check_passphrase("pässwörter123")
    assert "pässwörter" not in str(ei.value)


def test_nmconnection_keyfile():
    text = wifi.nmconnection("Festival Net", wifi.wpa_psk("Festival Net", PASS), conn_uuid="u-1")
    assert "[wifi]\nmode=infrastructure\nssid=Festival Net\n" in text
    assert "key-mgmt=wpa-psk\npsk=%s\n" % wifi.wpa_psk("Festival Net", PASS) in text
    assert PASS not in text
    # SSIDs that a keyfile could misread are written as NM's byte list
    assert "ssid=59;97;" in wifi.nmconnection(";a")
    assert "ssid=49;50;51;" in wifi.nmconnection("123")
    assert "[wifi-security]" not in wifi.nmconnection("open")


def test_custom_toml_escaping():
    text = wifi.custom_toml('my "net" \\ x', "ab" * 32, "DE", hostname="stage-a")
    data = tomllib.loads(text)
    assert data["config_version"] == 1
    assert data["wlan"] == {"ssid": 'my "net" \\ x', "password": "ab" * 32, "password_encrypted": True,
                            "hidden": False, "country": "DE"}
    assert data["system"] == {"hostname": "stage-a"}


def test_secret_file_is_never_readable_by_others(tmp_path, monkeypatch):
    seen = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *a, **kw):
        seen.append((path, flags, mode))
        return real_open(path, flags, mode, *a, **kw)

    monkeypatch.setattr(os, "open", spy)
    old = os.umask(0)  # even with the most permissive umask
    try:
        fsutil.write_secret(str(tmp_path / "k"), b"x" * 32)
    finally:
        os.umask(old)
    created = [s for s in seen if s[1] & os.O_CREAT]
    assert created and all(s[1] & os.O_EXCL and s[2] == 0o600 for s in created)
    assert mode(tmp_path / "k") == 0o600
    with pytest.raises(UserError, match="already exists"):
        fsutil.write_secret(str(tmp_path / "k"), b"y" * 32)
    assert (tmp_path / "k").read_bytes() == b"x" * 32
    assert [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")] == []


# -- Raspberry Pi OS ----------------------------------------------------------------------------
def test_provision_pi_fresh_image(bootfs, pskfile, tmp_path, capsys):
    key = tmp_path / "stage-a.key"
    rc = main(pi_args(bootfs, "--wifi-ssid", "Festival Net", "--wifi-country", "de",
                      "--wifi-psk-file", str(pskfile), "--key", str(key), "--hostname", "stage-a",
                      "--organiser", "11" * 32))
    out, err = capsys.readouterr()
    assert rc == 0, err
    seed = key.read_bytes()
    assert len(seed) == 32 and mode(key) == 0o600
    pub = crypto.public_key(seed).hex()
    assert "device public key: %s" % pub in out
    d = bootfs / "pandascreen"
    assert (d / "device.key").read_bytes() == seed and mode(d / "device.key") == 0o600
    cfg = json.loads((d / "config.json").read_text())
    checked = configmod.validate(cfg)  # the device accepts it
    assert checked["peer_addrs"] == [("10.0.0.2", 2026)]
    assert cfg["device_public_key"] == pub and cfg["display"] == "ssd1306_128x64"
    assert cfg["buttons"] == {"next": 17, "prev": 27} and cfg["screen"] == {"i2c_port": 1, "address": 0x3C}
    assert cfg["key"] == "device.key" and cfg["organisers"] == ["11" * 32]
    nm = (d / "pandascreen-wifi.nmconnection").read_text()
    psk = hashlib.pbkdf2_hmac("sha1", PASS.encode(), b"Festival Net", 4096, 32).hex()
    assert "psk=" + psk in nm and mode(d / "pandascreen-wifi.nmconnection") == 0o600
    custom = tomllib.loads((bootfs / "custom.toml").read_text())
    assert custom["wlan"]["password"] == psk and custom["wlan"]["country"] == "DE"
    assert custom["system"]["hostname"] == "stage-a"
    assert mode(bootfs / "custom.toml") == 0o600
    assert "\n[all]\n# added by pandascreen-host provision\ndtparam=i2c_arm=on\n" in (bootfs / "config.txt").read_text()
    assert (bootfs / "config.txt.pandascreen.bak").exists()
    # secrets never printed, passphrase never stored
    assert PASS not in out + err and psk not in out + err and seed.hex() not in out + err
    assert PASS.encode() not in all_text(bootfs)
    assert not [n for n in os.listdir(str(d)) if n.endswith(".tmp")]


def test_reprovision_keeps_key_and_refuses_a_different_one(bootfs, tmp_path, capsys):
    assert main(pi_args(bootfs)) == 0
    first = (bootfs / "pandascreen" / "device.key").read_bytes()
    pub = crypto.public_key(first).hex()
    assert pub in capsys.readouterr().out
    # again without --key: same identity, new peers
    assert main(pi_args(bootfs, "--peer", "10.0.0.3:2026")) == 0
    assert "kept" in capsys.readouterr().out
    assert (bootfs / "pandascreen" / "device.key").read_bytes() == first
    assert json.loads((bootfs / "pandascreen" / "config.json").read_text())["peers"] == \
        ["10.0.0.2:2026", "10.0.0.3:2026"]
    assert (bootfs / "pandascreen" / "config.json.bak").exists()
    # a different key is refused without --force, and nothing is written
    other = tmp_path / "other.key"
    assert main(pi_args(bootfs, "--key", str(other))) == 2
    err = capsys.readouterr().err
    assert "already holds a different device key" in err and pub in err and "--force" in err
    assert not other.exists()
    assert (bootfs / "pandascreen" / "device.key").read_bytes() == first
    # with --force the old key is kept as a backup
    assert main(pi_args(bootfs, "--key", str(other), "--force")) == 0
    new = (bootfs / "pandascreen" / "device.key").read_bytes()
    assert new != first and new == other.read_bytes()
    backups = [n for n in os.listdir(str(bootfs / "pandascreen")) if n.startswith("device.key.replaced-")]
    assert len(backups) == 1
    assert (bootfs / "pandascreen" / backups[0]).read_bytes() == first
    assert mode(bootfs / "pandascreen" / backups[0]) == 0o600


def test_host_key_reuse_and_new_key(bootfs, tmp_path, capsys):
    key = tmp_path / "dev.key"
    seed = os.urandom(32)
    fsutil.write_secret(str(key), seed)
    assert main(pi_args(bootfs, "--key", str(key))) == 0
    assert (bootfs / "pandascreen" / "device.key").read_bytes() == seed
    assert main(pi_args(bootfs, "--key", str(key), "--new-key")) == 2
    assert "pass --force with --new-key" in capsys.readouterr().err
    assert key.read_bytes() == seed
    assert main(pi_args(bootfs, "--key", str(key), "--new-key", "--force")) == 0
    assert key.read_bytes() != seed
    assert any(n.startswith("dev.key.replaced-") for n in os.listdir(str(tmp_path)))
    key.write_bytes(b"short")
    assert main(pi_args(bootfs, "--key", str(key))) == 2
    assert "exactly 32 bytes" in capsys.readouterr().err


def test_booted_card_gets_no_custom_toml(bootfs, pskfile, capsys):
    (bootfs / "cmdline.txt").write_text(FRESH_CMDLINE.replace(" init=/usr/lib/raspberrypi-sys-mods/firstboot", ""))
    assert main(pi_args(bootfs, "--wifi-ssid", "Net", "--wifi-country", "GB", "--wifi-psk-file", str(pskfile))) == 0
    out = capsys.readouterr().out
    assert main(pi_args(bootfs)) == 0  # re-provision without Wi-Fi options keeps it
    assert json.loads((bootfs / "pandascreen" / "config.json").read_text())["wifi"] == {"ssid": "Net", "country": "GB"}
    assert not (bootfs / "custom.toml").exists()
    assert (bootfs / "pandascreen" / "pandascreen-wifi.nmconnection").exists()
    assert "custom.toml would be ignored" in out


def test_foreign_custom_toml_needs_force(bootfs, pskfile, capsys):
    (bootfs / "custom.toml").write_text("config_version = 1\n[user]\nname = \"pi\"\n")
    args = pi_args(bootfs, "--wifi-ssid", "Net", "--wifi-country", "GB", "--wifi-psk-file", str(pskfile))
    assert main(args) == 2
    assert "custom.toml already exists" in capsys.readouterr().err
    assert not (bootfs / "pandascreen").exists()  # checked before writing anything
    assert main(args + ["--force"]) == 0
    assert any(n.startswith("custom.toml.replaced-") for n in os.listdir(str(bootfs)))


def test_passphrase_sources(bootfs, monkeypatch, capsys):
    base = pi_args(bootfs, "--wifi-ssid", "Net", "--wifi-country", "NL")
    # not interactive and no file / env: clear error
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert main(base) == 2
    assert "no Wi-Fi passphrase" in capsys.readouterr().err
    # environment variable
    monkeypatch.setenv(wifi.ENV_PSK, "from-the-environment")
    assert main(base) == 0
    nm = (bootfs / "pandascreen" / "pandascreen-wifi.nmconnection").read_text()
    assert wifi.wpa_psk("Net", "from-the-environment") in nm
    monkeypatch.delenv(wifi.ENV_PSK)
    # interactive prompt (asked twice)
    answers = iter(["typed-at-the-prompt", "typed-at-the-prompt"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    assert main(base) == 0
    assert wifi.wpa_psk("Net", "typed-at-the-prompt") in \
        (bootfs / "pandascreen" / "pandascreen-wifi.nmconnection").read_text()
    answers = iter(["typed-at-the-prompt", "typo-at-the-prompt"])
    assert main(base) == 2
    assert "differ" in capsys.readouterr().err


def test_passphrase_is_never_a_command_line_argument(bootfs, capsys):
    # not even as an abbreviation of --wifi-psk-file
    assert main(pi_args(bootfs, "--wifi-ssid", "Net", "--wifi-country", "NL", "--wifi-psk", "hunter2hunter2")) == 2
    err = capsys.readouterr().err
    assert "unrecognized option --wifi-psk" in err and "hunter2" not in err


def test_bad_input_is_reported_without_traceback(bootfs, tmp_path, pskfile, capsys):
    cases = [
        (pi_args(tmp_path / "nope"), "does not exist"),
        (pi_args(tmp_path), "does not look like a Raspberry Pi boot partition"),
        (pi_args(bootfs, "--wifi-ssid", "Net", "--wifi-psk-file", str(pskfile)), "--wifi-country"),
        (pi_args(bootfs, "--wifi-psk-file", str(pskfile)), "--wifi-psk-file needs --wifi-ssid"),
        (pi_args(bootfs, "--peer", "10.0.0.9"), "host:port"),
        (pi_args(bootfs, "--organiser", "abc"), "64 hex"),
        (pi_args(bootfs, "--port", "/dev/ttyACM0"), "--port is for MicroPython"),
        (pi_args(bootfs, "--hostname", "Stage_A"), "--hostname"),
        (["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(bootfs), "--festival-id", " "], "festival-id"),
        (["provision", "--board", "pico-w-ssd1306", "--festival-id", "f"], "needs --port"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err and "Traceback" not in err, (argv, err)
    assert not (bootfs / "pandascreen").exists()


def test_unexpected_errors_keep_their_traceback(monkeypatch, bootfs):
    # the CLI catches only PandascreenError; anything else is a bug and must not be disguised
    def boom(args):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(provision, "run", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(pi_args(bootfs))


# -- MicroPython --------------------------------------------------------------------------------
@pytest.fixture
def board(tmp_path, monkeypatch):
    dev = fake_serial.FakeMicroPython(str(tmp_path / "flash"), running=True)
    fake_serial.install(monkeypatch, {"/dev/ttyACM0": dev})
    return dev


def pico_args(tmp_path, *extra):
    return ["provision", "--board", "pico-w-ssd1306", "--port", "/dev/ttyACM0", "--festival-id",
            "pandafest-2026", "--peer", "192.168.4.1:2026", "--build-dir", str(tmp_path / "build")] + \
        _group(extra) + list(extra)


def test_provision_micropython_board(board, tmp_path, pskfile, capsys):
    rc = main(pico_args(tmp_path, "--wifi-ssid", "Festival Net", "--wifi-psk-file", str(pskfile)))
    out, err = capsys.readouterr()
    assert rc == 0, err
    files = board.files()
    for flashed in ("/lib/pandascreen/core/util.mpy", "/lib/pandascreen/core/cbor.mpy", "/lib/pandascreen/board/ssd1306.mpy",
                    "/main.py"):
        assert flashed in files
    seed = board.read_file("/device.key")
    assert len(seed) == 32
    pub = crypto.public_key(seed).hex()
    assert "device public key: %s" % pub in out
    cfg = json.loads(board.read_file("/config.json"))
    configmod.validate(cfg)
    assert cfg["device_public_key"] == pub and cfg["platform"] == "micropython"
    assert cfg["screen"] == {"i2c_port": 0, "address": 0x3C, "sda": 4, "scl": 5}
    assert cfg["buttons"] == {"next": 14, "prev": 15}
    assert cfg["wifi"] == {"ssid": "Festival Net", "country": None, "hidden": False, "psk": PASS}
    assert PASS not in out + err and seed.hex() not in out + err
    assert board.interrupts >= 1  # the running program was stopped first
    assert not [f for f in files if f.endswith(".tmp")]

    # again: same key kept, nothing re-flashed
    assert main(pico_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert board.read_file("/device.key") == seed and "kept /device.key" in out
    assert json.loads(board.read_file("/config.json"))["wifi"]["psk"] == PASS  # Wi-Fi kept
    assert "kept the Wi-Fi settings for 'Festival Net'" in out
    assert "0 file(s) written" in out
    # a different key needs --force
    other = tmp_path / "other.key"
    assert main(pico_args(tmp_path, "--no-flash", "--key", str(other))) == 2
    assert "already holds a different device key" in capsys.readouterr().err
    assert board.read_file("/device.key") == seed and not other.exists()
    assert main(pico_args(tmp_path, "--no-flash", "--key", str(other), "--force")) == 0
    assert board.read_file("/device.key") == other.read_bytes()
    assert any(f.startswith("/device.key.replaced-") for f in board.files())


def test_provision_micropython_unknown_port(board, tmp_path, capsys):
    argv = pico_args(tmp_path)
    argv[argv.index("/dev/ttyACM0")] = "/dev/ttyUSB7"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot open serial port /dev/ttyUSB7" in err and "Traceback" not in err


def test_provision_micropython_feed_peers(board, tmp_path, bootfs, capsys):
    """The satellite's feed servers land in its config: the --peer hosts on the feed port by
    default, --feed-peer (repeatable) when given; a bad one is a clear error, nothing written;
    the board turns them into the addresses it asks (core/feed.feed_addrs)."""
    from pandascreen.core import feed

    assert main(pico_args(tmp_path, "--no-flash", "--peer", "[fd00::7]:2026")) == 0, capsys.readouterr().err
    cfg = json.loads(board.read_file("/config.json"))
    assert cfg["feed_peers"] == ["192.168.4.1:8026", "[fd00::7]:8026"]
    assert feed.feed_addrs(configmod.validate(cfg)) == [("192.168.4.1", 8026), ("fd00::7", 8026)]
    del cfg["feed_peers"]  # a board provisioned before --feed-peer: its sync peers' hosts on the feed port
    cfg["peers"] = ["192.168.4.1:2026"]
    assert feed.feed_addrs(configmod.validate(cfg)) == [("192.168.4.1", feed.FEED_PORT)]

    assert main(pico_args(tmp_path, "--no-flash", "--feed-peer", "stage-a.local:8080",
                          "--feed-peer", "10.0.0.5:8026")) == 0, capsys.readouterr().err
    cfg = json.loads(board.read_file("/config.json"))
    assert cfg["feed_peers"] == ["stage-a.local:8080", "10.0.0.5:8026"]
    assert feed.feed_addrs(configmod.validate(cfg)) == [("stage-a.local", 8080), ("10.0.0.5", 8026)]
    capsys.readouterr()

    before = board.read_file("/config.json")
    for bad, needle in (("stage-a.local", "--feed-peer: peer 'stage-a.local' must look like host:port"),
                        ("10.0.0.5:99999", "--feed-peer: peer '10.0.0.5:99999' must look like host:port with a port"),
                        ("bad host:8026", "--feed-peer 'bad host:8026': the host name contains spaces")):
        assert main(pico_args(tmp_path, "--no-flash", "--feed-peer", bad)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err and "Traceback" not in err, err
    assert board.read_file("/config.json") == before
    assert main(pi_args(bootfs, "--feed-peer", "10.0.0.5:8026")) == 2
    assert "--feed-peer is for MicroPython satellites" in capsys.readouterr().err


def test_provision_with_the_store_adds_the_screen_key_to_the_festival_group(bootfs, tmp_path, capsys):
    """The root authorizes screen keys at provisioning, so a screen's signed status is
    accepted (core/fleet.may_report) wherever the festival log has travelled; re-provisioning the
    same card publishes nothing new; a wrong organiser key changes nothing and says why."""
    from pandascreen.core import auth, fleet, operation
    from pandascreen.node.sqlite_store import SqliteStore
    seed = bytes(range(1, 33))
    org_key = tmp_path / "organiser.key"
    fsutil.write_secret(str(org_key), seed, what="organiser key")
    org = crypto.public_key(seed).hex()
    db = str(tmp_path / "festival.db")
    args = pi_args(bootfs, "--organiser", org, "--wifi-open", "--wifi-ssid", "Open", "--wifi-country", "de",
                   "--store", db, "--organiser-key", str(org_key))
    SqliteStore(db).close()
    assert main(args) == 2  # the store holds no such festival yet: a typo in the id would follow an empty log
    assert "holds no festival 'pandafest-2026'" in capsys.readouterr().err
    from pandascreen.core import schema
    s = SqliteStore(db)
    s.publish(seed, schema.make_body("venue", "create", "v", {"name": "Main"}),
              operation.log_id_for_festival("pandafest-2026"), 1000)
    s.close()
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    screen = json.loads((bootfs / "pandascreen" / "config.json").read_text())["device_public_key"]
    assert "member Pull   %s" % screen in out
    log_id = operation.log_id_for_festival("pandafest-2026")
    store = SqliteStore(db)
    try:
        a = auth.guard(store, auth.Authorizer([bytes.fromhex(org)]), log_id)
        assert fleet.may_report(a, bytes.fromhex(screen))
        assert not fleet.may_report(a, bytes(32))
        count = store.count()
    finally:
        store.close()
    assert main(args) == 0  # the same card again: already a member, nothing published
    assert "already a pull member: nothing published" in capsys.readouterr().out
    store = SqliteStore(db)
    assert store.count() == count
    store.close()
    # an organiser key that does not manage the group: one line, nothing published
    other = tmp_path / "other.key"
    fsutil.write_secret(str(other), bytes(range(50, 82)), what="organiser key")
    bad = pi_args(bootfs, "--organiser", org, "--wifi-open", "--wifi-ssid", "Open", "--wifi-country", "de",
                  "--store", db, "--organiser-key", str(other), "--new-key", "--force")
    assert main(bad) == 2
    assert "does not manage the group --organiser names" in capsys.readouterr().err
    store = SqliteStore(db)
    assert store.count() == count
    store.close()


def test_provision_ntp_for_a_micropython_board(board, tmp_path, capsys):
    """`--ntp` on a board lands in its config; board/main.py asks those hosts first."""
    assert main(pico_args(tmp_path, "--no-flash", "--ntp", "10.42.0.1", "--ntp", "laptop.local")) == 0, \
        capsys.readouterr().err
    cfg = json.loads(board.read_file("/config.json"))
    assert configmod.validate(cfg)["ntp"] == ["10.42.0.1", "laptop.local"]
    assert "the board takes its time from 10.42.0.1, laptop.local" in capsys.readouterr().out
    assert main(pico_args(tmp_path, "--no-flash", "--ntp", "a b")) == 2
    assert "--ntp" in capsys.readouterr().err
    assert main(pico_args(tmp_path, "--no-flash", "--root", str(tmp_path))) == 2
    assert "--root" in capsys.readouterr().err
    with pytest.raises(configmod.ConfigError):
        configmod.validate(dict(cfg, ntp="10.42.0.1"))
def _first_boot(bootfs, tmp_path):
    """What the Pi's first boot does with the card: pandascreen-install moves device.key off it."""
    from pandascreen.node import install
    root = tmp_path / "pi-root"
    root.mkdir(exist_ok=True)
    install.Installer(str(bootfs), str(root), out=__import__("io").StringIO()).run()
    return root


def test_reprovisioning_a_booted_card_keeps_the_identity_the_pi_holds(bootfs, tmp_path, capsys):
    assert main(pi_args(bootfs)) == 0
    seed = (bootfs / "pandascreen" / "device.key").read_bytes()
    pub = crypto.public_key(seed).hex()
    root = _first_boot(bootfs, tmp_path)
    assert not (bootfs / "pandascreen" / "device.key").exists()
    capsys.readouterr()
    # again without --key (the route to new peers or a newer bundle): no new key anywhere
    assert main(pi_args(bootfs, "--peer", "10.0.0.3:2026")) == 0
    out = capsys.readouterr().out
    assert not (bootfs / "pandascreen" / "device.key").exists()
    cfg = json.loads((bootfs / "pandascreen" / "config.json").read_text())
    assert cfg["device_public_key"] == pub and "device public key: %s" % pub in out
    assert "10.0.0.3:2026" in cfg["peers"]
    # and the Pi takes the new config without a key conflict
    _first_boot(bootfs, tmp_path)
    assert (root / "var/lib/pandascreen/device.key").read_bytes() == seed
    # a new identity only on purpose: --new-key alone is refused in one line naming the way
    assert main(pi_args(bootfs, "--new-key")) == 2
    err = capsys.readouterr().err
    assert pub in err and "--new-key --force" in err and len(err.strip().splitlines()) == 1
    assert json.loads((bootfs / "pandascreen" / "config.json").read_text())["device_public_key"] == pub
    # a --key file of another identity is refused the same way
    other = tmp_path / "other.key"
    fsutil.write_secret(str(other), os.urandom(32))
    assert main(pi_args(bootfs, "--key", str(other))) == 2
    assert pub in capsys.readouterr().err
    assert not (bootfs / "pandascreen" / "device.key").exists()
    # the same identity's key file is fine
    same = tmp_path / "same.key"
    fsutil.write_secret(str(same), seed)
    assert main(pi_args(bootfs, "--key", str(same))) == 0
    capsys.readouterr()
    # on purpose: a new key, the config names it
    assert main(pi_args(bootfs, "--new-key", "--force")) == 0
    new = (bootfs / "pandascreen" / "device.key").read_bytes()
    assert new != seed
    assert json.loads((bootfs / "pandascreen" / "config.json").read_text())["device_public_key"] == \
        crypto.public_key(new).hex()


def test_a_home_venue_the_screen_cannot_show_is_refused_before_the_card_is_written(bootfs, tmp_path, capsys):
    """A typo in --home-venue had gone onto the card: the screen never went home, without a word.
    It must be one of the screen's --venue ids, and, with --store, a venue of the program there;
    refused in one line, and the card is left as it was."""
    from pandascreen.core import operation, schema
    from pandascreen.node.sqlite_store import SqliteStore
    seed = bytes(range(1, 33))
    org_key = tmp_path / "organiser.key"
    fsutil.write_secret(str(org_key), seed, what="organiser key")
    db = str(tmp_path / "festival.db")
    s = SqliteStore(db)
    for vid, name in (("main", "Main"), ("tent", "Tent")):
        s.publish(seed, schema.make_body("venue", "create", vid, {"name": name}),
                  operation.log_id_for_festival("pandafest-2026"), 1000)
    s.close()
    store_args = ("--organiser", crypto.public_key(seed).hex(), "--store", db, "--organiser-key", str(org_key))
    before = all_text(bootfs)
    for extra, needles in (
            (("--venue", "main", "--home-venue", "tent"), ("--home-venue tent is not one of", "(main)")),
            (("--home-venue", "mian") + store_args, ("--home-venue mian is not a venue of", "main, tent")),
            (("--venue", "main", "--venue", "bar") + store_args, ("--venue bar is not a venue of", "main, tent"))):
        assert main(pi_args(bootfs, *extra)) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("error: ") and all(n in err for n in needles) and err.count("\n") == 1, err
        assert all_text(bootfs) == before
    assert main(pi_args(bootfs, "--home-venue", "tent", *store_args)) == 0, capsys.readouterr().err
    assert json.loads((bootfs / "pandascreen" / "config.json").read_text())["home_venue"] == "tent"


def test_a_grant_that_would_be_refused_is_refused_before_the_card_is_written(bootfs, tmp_path, capsys):
    """``provision --store`` wrote the card and then found the store holds no such festival, or
    that the organiser key does not manage the group --organiser names: the card kept a config
    for the wrong festival.  Both are checked first, in one line, and the card is left as it was."""
    from pandascreen.core import operation, schema
    from pandascreen.node.sqlite_store import SqliteStore
    seed = bytes(range(1, 33))
    org_key = tmp_path / "organiser.key"
    fsutil.write_secret(str(org_key), seed, what="organiser key")
    db = str(tmp_path / "festival.db")
    s = SqliteStore(db)
    s.publish(seed, schema.make_body("venue", "create", "main", {"name": "Main"}),
              operation.log_id_for_festival("pandafest-2026"), 1000)
    s.close()
    me = crypto.public_key(seed).hex()
    before = all_text(bootfs)
    for extra, needle in (
            (["--organiser", me, "--festival-id", "pandafest-2062"], "holds no festival 'pandafest-2062'"),
            (["--organiser", "01" * 32], "does not manage the group --organiser names")):
        assert main(pi_args(bootfs, *extra, "--store", db, "--organiser-key", str(org_key))) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err
        assert all_text(bootfs) == before


FULL_CARD = r"""
import os, subprocess, sys
boot = "/mnt/bootfs"
os.mkdir(boot)
for name, text in (("cmdline.txt", sys.argv[1]), ("config.txt", "dtparam=audio=on\n")):
    with open(os.path.join(boot, name), "w") as fh:
        fh.write(text)
with open("/mnt/filler", "wb", buffering=0) as fh:  # the card is all but full
    try:
        while os.statvfs("/mnt").f_bavail > 2:
            fh.write(b"\0" * 2048)
    except OSError:
        pass
p = subprocess.run([sys.executable, "-m", "pandascreen_host", "provision", "--board", "pi-zero-2w-ssd1306",
                    "--boot", boot, "--festival-id", "fest", "--organiser", "ab" * 32, "--peer", "10.0.0.2:2026"],
                   capture_output=True, text=True, timeout=60)
print(p.returncode)
print(p.stderr)
"""


def test_a_full_boot_partition_is_one_line_naming_the_file(tmp_path):
    """A card with no room left had ended provision in a traceback (exit 1)."""
    import subprocess
    line = 'mount -t tmpfs -o size=64k tmpfs /mnt && exec "$@"'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    p = subprocess.run(["unshare", "-rm", "sh", "-c", line, "sh", sys.executable, "-c", FULL_CARD, FRESH_CMDLINE],
                       capture_output=True, text=True, timeout=120, env=env)
    code, _, err = p.stdout.partition("\n")
    assert code == "2" and "Traceback" not in err, p.stdout + p.stderr
    assert err.startswith("error: cannot write /mnt/bootfs/") and "No space left on device" in err, err
    assert err.strip().count("\n") == 0, err


@pytest.mark.parametrize("language, ok", [("de", True), ("en_US", True), ("fr-CA", True), ("es", False), ("xx", False)])
def test_a_language_the_screens_do_not_speak_is_refused(bootfs, capsys, language, ok):
    """--language es had been written to the card: the screen then spoke English without a word."""
    code = main(pi_args(bootfs, "--language", language))
    err = capsys.readouterr().err
    if ok:
        assert code == 0, err
        assert json.loads((bootfs / "pandascreen" / "config.json").read_text())["language"] == language
    else:
        assert code == 2 and err.startswith("error: --language %s" % language) and "en, de, fr" in err, err
        assert not (bootfs / "pandascreen" / "config.json").exists()


def test_the_provision_example_in_help_runs_as_written(bootfs, monkeypatch, capsys):
    """``pandascreen-host --help`` shows how to provision a Pi; copied with its placeholders filled
    in, it had failed ("name the festival group: --organiser PUBKEY")."""
    from pandascreen_host.cli import EXAMPLES
    text = EXAMPLES.replace("\\\n", " ")
    line = [x for x in text.splitlines() if x.strip().startswith("pandascreen-host provision ")][0]
    filled = (line.replace("/media/$USER/bootfs", str(bootfs))
              .replace("<node id>", crypto.public_key(bytes(range(40, 72))).hex())
              .replace("<organiser public key>", crypto.public_key(bytes(range(1, 33))).hex()))
    assert "<" not in filled, filled
    monkeypatch.setenv(wifi.ENV_PSK, PASS)
    assert main(filled.split()[1:]) == 0, capsys.readouterr().err


def test_a_misspelt_option_is_named_with_the_one_meant_and_its_value_is_never_echoed(bootfs, capsys):
    """`--organizer KEY` had been refused under the top-level usage with no hint, and an unknown
    option's value (a passphrase typed as --wifi-psk SECRET) was echoed back to the terminal."""
    assert main(pi_args(bootfs, "--organizer", "cd" * 32)) == 2
    err = capsys.readouterr().err
    assert "usage: pandascreen-host provision" in err and "--organizer (did you mean --organiser?)" in err, err
    assert "cd" * 32 not in err
    assert main(pi_args(bootfs, "--wifi-ssid", "Net", "--wifi-psk", "hunter2hunter2")) == 2
    err = capsys.readouterr().err
    assert "--wifi-psk (did you mean --wifi-psk-file?)" in err and "hunter2" not in err, err
    assert main(pi_args(bootfs, "--wifi-ssid", "Net", "--wifi-passphrase", "-Hunter2")) == 2
    err = capsys.readouterr().err
    assert "--wifi-passphrase" in err and "Hunter2" not in err, err


def test_a_store_path_that_holds_no_store_is_refused_and_not_made(bootfs, tmp_path, capsys):
    """A typo in --store had made an empty store there, and then said it holds no festival."""
    seed = bytes(range(1, 33))
    org_key = tmp_path / "organiser.key"
    fsutil.write_secret(str(org_key), seed, what="organiser key")
    missing = tmp_path / "festvial.db"
    assert main(pi_args(bootfs, "--organiser", crypto.public_key(seed).hex(), "--store", str(missing),
                        "--organiser-key", str(org_key))) == 2
    err = capsys.readouterr().err
    assert "no store at %s" % missing in err and not missing.exists(), err
