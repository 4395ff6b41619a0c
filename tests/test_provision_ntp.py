"""provision --ntp: a systemd-timesyncd drop-in on a fake boot partition and a fake rootfs."""
import configparser

import pytest

from pandascreen_host.cli import main

FRESH_CMDLINE = ("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 "
                 "fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot splash\n")


@pytest.fixture
def tree(tmp_path):
    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "cmdline.txt").write_text(FRESH_CMDLINE)
    (boot / "config.txt").write_text("dtparam=audio=on\n")
    root = tmp_path / "rootfs"
    (root / "etc" / "systemd").mkdir(parents=True)
    return boot, root


def _args(boot, *extra):
    return ["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(boot), "--festival-id", "fest",
            "--organiser", "ab" * 32] + list(extra)


def _time_section(path):
    cp = configparser.ConfigParser()
    cp.read_string(path.read_text())
    return dict(cp["Time"])


def test_ntp_goes_to_boot_and_root_as_a_timesyncd_dropin(tree, capsys):
    boot, root = tree
    assert main(_args(boot, "--ntp", "10.42.0.1", "--ntp", "laptop.local", "--root", str(root))) == 0
    want = {"ntp": "10.42.0.1 laptop.local", "fallbackntp": "10.42.0.1 laptop.local"}
    assert _time_section(root / "etc/systemd/timesyncd.conf.d/pandascreen.conf") == want
    assert _time_section(boot / "pandascreen/timesyncd-pandascreen.conf") == want
    assert "time from 10.42.0.1, laptop.local" in capsys.readouterr().out


def test_without_ntp_nothing_is_written(tree):
    boot, root = tree
    assert main(_args(boot, "--root", str(root))) == 0
    assert not (root / "etc/systemd/timesyncd.conf.d").exists()
    assert not (boot / "pandascreen/timesyncd-pandascreen.conf").exists()


@pytest.mark.parametrize("bad", ["a b", "x\nNTP=evil", "", "h;rm"])
def test_a_bad_ntp_host_is_refused_before_writing(tree, bad, capsys):
    boot, root = tree
    assert main(_args(boot, "--ntp", bad, "--root", str(root))) == 2
    assert "--ntp" in capsys.readouterr().err
    assert not (boot / "pandascreen").exists()


def test_root_must_look_like_a_rootfs(tree, tmp_path, capsys):
    boot, _ = tree
    assert main(_args(boot, "--ntp", "10.42.0.1", "--root", str(tmp_path / "nothing"))) == 2
    assert "rootfs" in capsys.readouterr().err
    assert not (boot / "pandascreen").exists()
