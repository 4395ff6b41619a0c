"""The screen's unit lets lgpio start: the real lgpio, imported as the unit runs the screen.

lgpio (gpiozero's pin factory on Raspberry Pi OS Bookworm, the only one that works on a Pi 5)
makes a FIFO for its callbacks when it is imported, in ``$LG_WD`` or else the working directory.
A system service starts in ``/``, which ``ProtectSystem=strict`` makes read-only, so there the
import fails with "No such file or directory: '.lgd-nfy-3'" and gpiozero finds no pin factory.

The sandbox does what systemd does for those settings: a private mount namespace (in a user
namespace of its own when not run as root) whose ``/`` and ``/run`` are read-only but for the unit's
``RuntimeDirectory=``, the unit's ``Environment=`` and ``WorkingDirectory=`` (``/`` when unset).
It runs as root of that namespace, not as ``User=``: a read-only mount refuses root as well.
"""

import os
import subprocess
import sys

from pandascreen.node.install import unit_settings as service_settings

# the sandbox: argv[1] the working directory, then the runtime directories, then "--", the command
SANDBOX = r"""
set -e
mount --make-rprivate /
mount -o remount,bind,ro /
mount -t tmpfs -o mode=0755 tmpfs /run
workdir=$1; shift
while [ "$1" != -- ]; do mkdir -m 0700 "$1"; mount --bind "$1" "$1"; shift; done
mount -o remount,bind,ro /run
shift
cd "$workdir"
exec "$@"
"""

IMPORT_LGPIO = r"""
import os, stat
import lgpio
wd = os.environ.get("LG_WD", os.getcwd())
print(" ".join(sorted(n for n in os.listdir(wd) if stat.S_ISFIFO(os.stat(os.path.join(wd, n)).st_mode))))
"""


# root makes the namespace itself; anyone else in a user namespace of its own
UNSHARE = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]


def run_as_the_unit(code):
    s = service_settings()
    env = {"PATH": "/usr/bin:/bin"}
    for line in s.get("Environment", []):
        for pair in line.split():
            key, value = pair.split("=", 1)
            env[key] = value
    workdir = s.get("WorkingDirectory", ["/"])[-1]
    runtime = ["/run/" + d for line in s.get("RuntimeDirectory", []) for d in line.split()]
    return subprocess.run([*UNSHARE, "sh", "-c", SANDBOX, "sh", workdir, *runtime, "--",
                           sys.executable, "-c", code],
                          env=env, capture_output=True, text=True, timeout=60)


def test_the_sandbox_is_read_only_as_protect_system_strict_makes_it():
    assert service_settings()["ProtectSystem"] == ["strict"]
    for path in ("/.pandascreen-probe", "/run/.pandascreen-probe"):
        r = run_as_the_unit("open(%r, 'w')" % path)
        assert r.returncode != 0 and "Read-only file system" in r.stderr, path
    r = run_as_the_unit("open('/run/pandascreen/probe', 'w')")
    assert r.returncode == 0, r.stderr


def test_lgpio_imports_as_the_unit_runs_the_screen():
    r = run_as_the_unit(IMPORT_LGPIO)
    assert r.returncode == 0, r.stderr[-600:]
    assert r.stdout.split() == [".lgd-nfy0"]


def test_lgpios_fifo_is_in_a_directory_of_the_screen_alone():
    s = service_settings()
    lg_wd = [p.split("=", 1)[1] for line in s.get("Environment", []) for p in line.split()
             if p.startswith("LG_WD=")]
    assert lg_wd == ["/run/pandascreen"]
    assert s["RuntimeDirectory"] == ["pandascreen"]
    assert s["RuntimeDirectoryMode"] == ["0700"]  # no one else writes a button's edge into its FIFO
    assert os.path.dirname(lg_wd[0]) == "/run"
