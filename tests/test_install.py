"""Pi-side installer: what provision put on the boot partition ends up private and in place."""
import configparser
import io
import json
import os
import signal
import stat

import pytest

from pandascreen.core import config as configmod
from pandascreen.node import install, rootfs
from pandascreen_host.cli import main as host

PASS = "correct horse battery staple"
ORGANISER = "ab" * 32


def mode(p):
    return stat.S_IMODE(os.stat(str(p)).st_mode)


@pytest.fixture
def card(tmp_path, monkeypatch):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text("console=tty1 root=PARTUUID=1-02 rootwait quiet\n")  # booted before
    (boot / "config.txt").write_text("dtparam=audio=on\n")
    psk = tmp_path / "psk"
    psk.write_text(PASS)
    psk.chmod(0o600)
    monkeypatch.delenv("PANDASCREEN_WIFI_PSK", raising=False)
    rc = host(["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(boot), "--festival-id", "fest",
               "--peer", "10.0.0.2:2026", "--wifi-ssid", "FestNet", "--wifi-country", "DE",
               "--wifi-psk-file", str(psk), "--key", str(tmp_path / "host.key"), "--organiser", ORGANISER])
    assert rc == 0
    root = tmp_path / "root"
    root.mkdir()
    return boot, root


def run(boot, root, *extra):
    out = io.StringIO()
    inst = install.Installer(str(boot), str(root), dry_run="--dry-run" in extra, out=out)
    inst.run(enable_service="--enable-service" in extra)
    return out.getvalue()


def test_first_boot_install(card):
    boot, root = card
    seed = (boot / "pandascreen" / "device.key").read_bytes()
    out = run(boot, root)
    key = root / "var/lib/pandascreen/device.key"
    assert key.read_bytes() == seed and mode(key) == 0o600 and mode(key.parent) == 0o700
    assert not (boot / "pandascreen" / "device.key").exists()
    nm = root / "etc/NetworkManager/system-connections/pandascreen-wifi.nmconnection"
    assert mode(nm) == 0o600 and "ssid=FestNet" in nm.read_text()
    assert not (boot / "pandascreen" / "pandascreen-wifi.nmconnection").exists()
    cfg = configmod.load(str(root / "etc/pandascreen/config.json"))
    assert cfg["key"] == "/var/lib/pandascreen/device.key" and cfg["store"] == "/var/lib/pandascreen/festival.db"
    assert cfg["festival_id"] == "fest"
    assert seed.hex() not in out and PASS not in out and "psk=" not in out
    # second run (every boot): nothing to do, nothing lost
    assert "nothing to do" in run(boot, root)
    assert key.read_bytes() == seed


def test_dry_run_changes_nothing(card):
    boot, root = card
    before = sorted(os.listdir(str(boot / "pandascreen")))
    out = run(boot, root, "--dry-run")
    assert "would move device key" in out
    assert sorted(os.listdir(str(boot / "pandascreen"))) == before and os.listdir(str(root)) == []


def test_conflicting_key_is_refused_and_both_kept(card):
    boot, root = card
    installed = root / "var/lib/pandascreen/device.key"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"\x01" * 32)
    with pytest.raises(install.InstallError, match="different device key"):
        run(boot, root)
    assert installed.read_bytes() == b"\x01" * 32 and (boot / "pandascreen" / "device.key").exists()
    assert install.main(["--boot", str(boot), "--root", str(root)]) == 2


def test_reprovisioned_config_keeps_backup(card):
    boot, root = card
    run(boot, root)
    cfg = json.loads((boot / "pandascreen" / "config.json").read_text())
    cfg["peers"] = ["10.0.0.9:2026"]
    (boot / "pandascreen" / "config.json").write_text(json.dumps(cfg))
    run(boot, root)
    assert configmod.load(str(root / "etc/pandascreen/config.json"))["peer_addrs"] == [("10.0.0.9", 2026)]
    assert "10.0.0.2" in (root / "etc/pandascreen/config.json.bak").read_text()


def test_service_unit(card):
    boot, root = card
    out = run(boot, root, "--enable-service")
    unit = root / "etc/systemd/system/pandascreen.service"
    assert "then run: systemctl enable pandascreen.service" in out
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.read_string(unit.read_text())
    assert cp["Service"]["ExecStart"].endswith("pandascreen --config /etc/pandascreen/config.json")
    assert "pandascreen-install" in cp["Service"]["ExecStartPre"]
    assert cp["Service"]["User"] == "pandascreen" and "gpio" in cp["Service"]["SupplementaryGroups"]
    assert cp["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in cp["Unit"]["After"]


def _plant_symlinks(lib, victim):
    """What a compromised service user can do in the directory it owns: links under the old
    fixed temporary name and under the key's own name, both pointing at a file of root's."""
    lib.mkdir(parents=True, exist_ok=True)
    os.symlink(str(victim), str(lib / "device.key.tmp-install"))


def test_planted_symlink_cannot_redirect_the_key_write(card, tmp_path):
    boot, root = card
    victim = tmp_path / "shadow"
    victim.write_bytes(b"root:secret\n")
    victim.chmod(0o644)
    lib = root / "var/lib/pandascreen"
    _plant_symlinks(lib, victim)
    seed = (boot / "pandascreen" / "device.key").read_bytes()
    run(boot, root)
    key = lib / "device.key"
    assert victim.read_bytes() == b"root:secret\n" and mode(victim) == 0o644
    assert not key.is_symlink() and key.read_bytes() == seed and mode(key) == 0o600
    assert not [n for n in os.listdir(str(lib)) if n.endswith(".tmp")]  # random temp name, cleaned


def test_symlink_at_the_key_path_is_refused_not_followed(card, tmp_path):
    boot, root = card
    victim = tmp_path / "shadow"
    victim.write_bytes(b"x" * 32)
    lib = root / "var/lib/pandascreen"
    lib.mkdir(parents=True)
    os.symlink(str(victim), str(lib / "device.key"))
    with pytest.raises(install.InstallError, match="symbolic link"):
        run(boot, root)
    assert victim.read_bytes() == b"x" * 32 and (boot / "pandascreen" / "device.key").exists()


def test_key_is_private_from_the_first_byte(tmp_path, monkeypatch):
    """The temp file is created 0600 even under a permissive umask (no window at 0644)."""
    modes = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *a, **kw):
        fd = real_open(path, flags, mode, *a, **kw)
        if flags & os.O_CREAT:
            modes.append((flags, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    monkeypatch.setattr(rootfs.os, "open", spy)
    old = os.umask(0)
    try:
        rootfs.write_atomic(str(tmp_path / "device.key"), b"k" * 32, 0o600)
    finally:
        os.umask(old)
    assert len(modes) == 1
    flags, created = modes[0]
    assert created == 0o600 and flags & os.O_EXCL and flags & os.O_NOFOLLOW
    assert mode(tmp_path / "device.key") == 0o600


def test_a_file_planted_under_the_temp_name_is_not_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(rootfs.os, "urandom", lambda n: b"\x00" * n)
    planted = tmp_path / (".device.key.%s.tmp" % ("00" * 8))
    os.symlink(str(tmp_path / "elsewhere"), str(planted))
    with pytest.raises(FileExistsError):
        rootfs.write_atomic(str(tmp_path / "device.key"), b"k" * 32, 0o600)
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "device.key").exists()


@pytest.fixture
def bounded():
    """A blocked installer fails the test after 20 s instead of hanging the suite."""
    def blocked(signum, frame):
        raise AssertionError("the installer blocked")
    old = signal.signal(signal.SIGALRM, blocked)
    signal.setitimer(signal.ITIMER_REAL, 20)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_a_fifo_at_the_installed_key_is_refused_not_waited_on(card, bounded):
    """The service user owns /var/lib/pandascreen: a FIFO there must not hold the boot for 20 minutes."""
    boot, root = card
    lib = root / "var/lib/pandascreen"
    lib.mkdir(parents=True)
    os.mkfifo(str(lib / "device.key"))
    with pytest.raises(install.InstallError, match="is a FIFO, not a regular file") as e:
        run(boot, root)
    assert "\n" not in str(e.value) and (boot / "pandascreen" / "device.key").exists()


def test_a_fifo_or_a_huge_file_on_the_boot_partition_is_refused(card, bounded):
    boot, root = card
    cfg = boot / "pandascreen" / "config.json"
    cfg.unlink()
    os.mkfifo(str(cfg))
    with pytest.raises(install.InstallError, match="config.json is a FIFO"):
        run(boot, root)
    cfg.unlink()
    with open(str(cfg), "wb") as fh:
        fh.truncate(64 << 20)  # sparse: 64 MiB of nothing, never read whole
    with pytest.raises(install.InstallError, match="config.json is larger than"):
        run(boot, root)


def _reprovision(boot, peer):
    cfg = json.loads((boot / "pandascreen" / "config.json").read_text())
    cfg["peers"] = [peer]
    (boot / "pandascreen" / "config.json").write_text(json.dumps(cfg))


def test_a_symlink_at_the_config_backup_is_replaced_not_written_through(card, tmp_path):
    boot, root = card
    run(boot, root)
    victim = tmp_path / "shadow"
    victim.write_text("root:secret\n")
    bak = root / "etc/pandascreen/config.json.bak"
    os.symlink(str(victim), str(bak))
    _reprovision(boot, "10.0.0.9:2026")
    run(boot, root)
    assert victim.read_text() == "root:secret\n"
    assert not bak.is_symlink() and "10.0.0.2" in bak.read_text()


@pytest.mark.parametrize("folder", ["etc", "etc/pandascreen", "etc/NetworkManager/system-connections"])
def test_a_config_folder_someone_else_can_write_is_refused(card, folder):
    boot, root = card
    run(boot, root)
    os.chmod(str(root / folder), 0o777)
    before = {p: p.read_bytes() for p in (root / folder).iterdir() if p.is_file()}
    _reprovision(boot, "10.0.0.9:2026")
    (boot / "pandascreen" / "pandascreen-wifi.nmconnection").write_text("[wifi]\nssid=Other\n")
    with pytest.raises(install.InstallError, match="must belong to root and be writable by nobody else") as e:
        run(boot, root)
    assert str(root / folder) in str(e.value) and "\n" not in str(e.value)
    assert {p: p.read_bytes() for p in (root / folder).iterdir() if p.is_file()} == before


def test_a_config_folder_owned_by_another_user_is_refused(card, monkeypatch):
    """The check compares the owner with the installer's uid: here the installer is a uid the
    temporary folders do not belong to, as root is for a folder chowned to the service user."""
    boot, root = card
    run(boot, root)
    _reprovision(boot, "10.0.0.9:2026")
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 4242)
    with pytest.raises(install.InstallError, match="owned by uid %d" % os.getuid()):
        run(boot, root)
    monkeypatch.undo()
    assert "10.0.0.2" in (root / "etc/pandascreen/config.json").read_text()


# -- provisioning names the festival group (no silent trust-all) -------------------
def _provision(tmp_path, *extra):
    boot = tmp_path / "bootfs"
    boot.mkdir(exist_ok=True)
    (boot / "cmdline.txt").write_text("console=tty1 root=PARTUUID=1-02 rootwait quiet\n")
    (boot / "config.txt").write_text("dtparam=audio=on\n")
    return host(["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(boot), "--festival-id", "fest",
                 "--peer", "10.0.0.2:2026"] + list(extra)), boot


def test_provisioning_without_a_group_is_refused(tmp_path, capsys):
    rc, boot = _provision(tmp_path)
    assert rc == 2 and "--organiser" in capsys.readouterr().err
    assert not (boot / "pandascreen").exists()
    rc, _ = _provision(tmp_path, "--organiser", ORGANISER, "--trust-anyone")
    assert rc == 2 and "contradict" in capsys.readouterr().err


def test_trust_anyone_is_loud_and_written_down(tmp_path, capsys):
    rc, boot = _provision(tmp_path, "--trust-anyone")
    err = capsys.readouterr().err
    assert rc == 0 and "WARNING" in err and "anyone" in err.lower()
    cfg = configmod.load(str(boot / "pandascreen" / "config.json"))
    assert cfg["trust_anyone"] is True and cfg["organiser_keys"] == []


def test_group_options_reach_the_config(tmp_path):
    rc, boot = _provision(tmp_path, "--organiser", ORGANISER, "--festival-mode", "self-organised",
                          "--venue", "tent", "--venue", "lab")
    cfg = configmod.load(str(boot / "pandascreen" / "config.json"))
    assert rc == 0 and cfg["festival_mode"] == "self-organised" and cfg["venues"] == ["tent", "lab"]
    assert cfg["organiser_keys"] == [bytes.fromhex(ORGANISER)] and cfg["trust_anyone"] is False


def test_missing_boot_partition_is_an_error_not_success(tmp_path, capsys):
    from pandascreen.node import install
    assert install.main(["--boot", str(tmp_path / "nosuchdir"), "--root", str(tmp_path / "root"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "nothing to do" not in err


def test_a_conflicting_key_keeps_the_working_screen_running(card):
    """The unit's pre-start step: a refused key leaves the installed key and venv running, says why."""
    import subprocess
    boot, root = card
    installed = root / "var/lib/pandascreen/device.key"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"\x01" * 32)
    vpython = root / install.VENV / "bin" / "python"
    vpython.parent.mkdir(parents=True)
    vpython.write_text("")
    calls = []

    def imports(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    inst = install.Installer(str(boot), str(root), out=io.StringIO(), run=imports)
    assert install.install(inst, keep_running=True, err=io.StringIO()) == 0
    assert calls == [[str(vpython), "-c", "import pandascreen.node.app"]]
    assert "different device key" in (root / "var/lib/pandascreen" / install.REFUSED_NAME).read_text()
    assert installed.read_bytes() == b"\x01" * 32 and (boot / "pandascreen" / "device.key").exists()
