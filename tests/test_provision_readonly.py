"""provision --read-only-root against a fake boot/root tree (overlayroot + the store's data partition)."""

from pandascreen_host import provision_pi, wifi
from pandascreen_host.cli import main
from test_provision import FRESH_CMDLINE, ORGANISER


def _tree(tmp_path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text(FRESH_CMDLINE)
    (boot / "config.txt").write_text("dtparam=audio=on\n")
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "fstab").write_text("proc /proc proc defaults 0 0\n"
                                        "PARTUUID=4e639091-02 / ext4 defaults,noatime 0 1\n")
    return boot, root


def _args(boot, *extra):
    return ["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(boot), "--festival-id", "pandafest-2026",
            "--peer", "10.0.0.2:2026", "--organiser", ORGANISER] + list(extra)


def test_read_only_root_sets_overlayroot_and_mounts_the_store_partition_once(tmp_path, monkeypatch):
    monkeypatch.delenv(wifi.ENV_PSK, raising=False)
    boot, root = _tree(tmp_path)
    for _ in range(2):  # provisioning twice stacks nothing
        assert main(_args(boot, "--read-only-root", "--root", str(root), "--force")) == 0
    cmdline = (boot / "cmdline.txt").read_text()
    assert cmdline.count("overlayroot=") == 1 and cmdline.startswith(provision_pi.OVERLAYROOT + " ")
    assert cmdline.endswith("splash\n") and cmdline.count("\n") == 1
    assert "init=/usr/lib/raspberrypi-sys-mods/firstboot" in cmdline  # first boot still runs
    fstab = (root / "etc" / "fstab").read_text().splitlines()
    assert fstab[:2] == ["proc /proc proc defaults 0 0", "PARTUUID=4e639091-02 / ext4 defaults,noatime 0 1"]
    assert fstab.count("LABEL=pandadata /var/lib/pandascreen ext4 defaults,noatime,nofail 0 2") == 1
    assert len(fstab) == 3
    assert (root / "var" / "lib" / "pandascreen").is_dir()


def test_without_the_flag_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.delenv(wifi.ENV_PSK, raising=False)
    boot, root = _tree(tmp_path)
    assert main(_args(boot, "--root", str(root))) == 0
    assert "overlayroot" not in (boot / "cmdline.txt").read_text()
    assert "pandadata" not in (root / "etc" / "fstab").read_text()
