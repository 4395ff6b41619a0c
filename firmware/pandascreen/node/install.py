"""Pi-side first-boot installer: move what `pandascreen-host provision` left on the boot partition
into place, idempotently (safe to run at every boot; the service runs it before starting).

    sudo pandascreen-install [--boot /boot/firmware] [--root /] [--enable-service] [--dry-run]

* ``BOOT/pandascreen/device.key`` -> ``ROOT/var/lib/pandascreen/device.key`` (dir 0700, file 0600);
  the copy is fsynced and compared before the FAT original is deleted.  A *different* key already
  installed is never overwritten: both are kept and the run fails with an explanation.
* ``BOOT/pandascreen/config.json`` -> ``ROOT/etc/pandascreen/config.json`` with ``key`` and
  ``store`` rewritten to the installed paths (a differing previous config is kept as ``.bak``).
* ``BOOT/pandascreen/pandascreen-wifi.nmconnection`` ->
  ``ROOT/etc/NetworkManager/system-connections/`` (mode 0600), then removed from FAT so the
  Wi-Fi key does not stay readable by every user; NetworkManager is asked to reload.
* ``BOOT/pandascreen/bundle/`` (``pandascreen-host provision --bundle``) -> ``ROOT/opt/pandascreen/venv``:
  Pi OS forbids pip in the system Python (PEP 668) and the field has no internet, so the wheels
  come from the card: sha256 checked against MANIFEST.json first, then ``python3 -m venv
  --system-site-packages`` (apt's python3-lgpio stays visible to gpiozero) and ``pip install
  --no-index --find-links``. The installed manifest is kept in the venv: the same bundle again does
  nothing, a different one upgrades.
Secrets are never printed.
"""

import argparse
import binascii
import errno
import hashlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pandascreen.core.errors import InstallError

UNIT_NAME = "pandascreen.service"
SERVICE_USER = "pandascreen"
VENV = "opt/pandascreen/venv"          # under --root; the unit's ExecStart runs from here
BUNDLE_MANIFEST = "MANIFEST.json"      # written by host_tools/pandascreen_host/bundle.py
INSTALLED_MARK = "pandascreen-bundle.json"
PIP_TIMEOUT = 1800


def _unit_data():
    """The unit file shipped beside this module; through pkgutil also when this module runs
    straight from the bundled wheel (install.sh puts the .whl on PYTHONPATH before any venv exists)."""
    try:
        data = pkgutil.get_data("pandascreen.node", UNIT_NAME)
    except OSError:
        data = None
    if not data:
        raise InstallError("cannot find %s next to the pandascreen package" % UNIT_NAME)
    return data


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _owner():
    try:
        import pwd
        pw = pwd.getpwnam(SERVICE_USER)
        return pw.pw_uid, pw.pw_gid
    except (ImportError, KeyError):
        return None


def _read(path):
    """Read a file the service user may have replaced: a symlink is refused, not followed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InstallError("%s is a symbolic link; refusing to follow it (remove it and run again)"
                               % path)
        raise
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def _open_dir(path):
    """A descriptor of directory ``path`` itself (never a symlink's target)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def _write_atomic(path, data, mode, owner=None):
    """Write ``data`` to ``path`` as root, safe against a planted symlink.

    The installer runs as root inside directories the service user may own, so every step
    goes through a descriptor of the directory: the temporary file gets a random name and is
    created with O_CREAT|O_EXCL|O_NOFOLLOW (a symlink or file planted under any name makes
    the open fail instead of writing through it), mode ``mode`` from its first byte (the
    umask is cleared around the open, fchmod repeats it), then renamed over ``path``; a
    rename replaces a symlink at ``path`` itself, never its target.
    """
    directory, name = os.path.split(path)
    dfd = _open_dir(directory)
    try:
        tmp = ".%s.%s.tmp" % (name, binascii.hexlify(os.urandom(8)).decode("ascii"))
        old_umask = os.umask(0o077)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=dfd)
        finally:
            os.umask(old_umask)
        try:
            try:
                os.fchmod(fd, mode)
                if owner is not None and os.geteuid() == 0:
                    os.fchown(fd, owner[0], owner[1])
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _mkdir(path, mode, owner=None):
    os.makedirs(path, exist_ok=True)
    dfd = _open_dir(path)  # chmod/chown the directory itself, not what a symlink points to
    try:
        os.fchmod(dfd, mode)
        if owner is not None and os.geteuid() == 0:
            os.fchown(dfd, owner[0], owner[1])
    finally:
        os.close(dfd)


class Installer:
    def __init__(self, boot, root, dry_run=False, out=None, python="/usr/bin/python3", py_version=None,
                 run=subprocess.run):
        self.boot = boot
        self.root = root
        self.dry_run = dry_run
        self.out = out or sys.stdout
        self.src = os.path.join(boot, "pandascreen")
        self.lib = os.path.join(root, "var", "lib", "pandascreen")
        self.etc = os.path.join(root, "etc", "pandascreen")
        self.nm_dir = os.path.join(root, "etc", "NetworkManager", "system-connections")
        self.actions = []
        self.python = python            # the system Python the venv is made from
        self.py_version = py_version or "%d.%d" % sys.version_info[:2]
        self.venv_dir = os.path.join(root, VENV)
        self.run_cmd = run              # injectable: tests record the commands

    def say(self, msg):
        self.actions.append(msg)
        self.out.write(("would " if self.dry_run else "") + msg + "\n")

    def key(self):
        src = os.path.join(self.src, "device.key")
        dst = os.path.join(self.lib, "device.key")
        if not os.path.exists(src):
            return
        data = _read(src)
        if len(data) != 32:
            raise InstallError("%s is %d bytes, not a 32-byte device key; left in place" % (src, len(data)))
        if os.path.exists(dst):
            if _read(dst) != data:
                raise InstallError(
                    "a different device key is already installed at %s; kept both (the new one stays at %s). "
                    "Remove one of them to choose." % (dst, src))
            self.say("remove duplicate device key %s (already installed)" % src)
            if not self.dry_run:
                os.remove(src)
            return
        self.say("move device key to %s (mode 600)" % dst)
        if not self.dry_run:
            owner = _owner()
            _mkdir(self.lib, 0o700, owner)
            _write_atomic(dst, data, 0o600, owner)
            if _read(dst) != data:
                raise InstallError("copy of the device key to %s did not verify; original kept" % dst)
            os.remove(src)

    def config(self):
        src = os.path.join(self.src, "config.json")
        if not os.path.exists(src):
            return
        try:
            cfg = json.loads(_read(src).decode("utf-8"))
        except ValueError as e:
            raise InstallError("%s is not valid JSON (%s); left in place" % (src, e))
        if not isinstance(cfg, dict):
            raise InstallError("%s must hold a JSON object" % src)
        cfg["key"] = "/" + os.path.relpath(os.path.join(self.lib, "device.key"), self.root)
        cfg["store"] = "/" + os.path.relpath(os.path.join(self.lib, "festival.db"), self.root)
        data = (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode("utf-8")
        dst = os.path.join(self.etc, "config.json")
        if os.path.exists(dst) and _read(dst) == data:
            return
        if os.path.exists(dst):
            self.say("keep previous config as %s.bak" % dst)
            if not self.dry_run:
                shutil.copy2(dst, dst + ".bak")
        self.say("install config %s" % dst)
        if not self.dry_run:
            _mkdir(self.etc, 0o755)
            _write_atomic(dst, data, 0o644)

    def wifi(self):
        src = os.path.join(self.src, "pandascreen-wifi.nmconnection")
        if not os.path.exists(src):
            return False
        dst = os.path.join(self.nm_dir, "pandascreen-wifi.nmconnection")
        self.say("install Wi-Fi profile %s (mode 600) and remove it from the boot partition" % dst)
        if not self.dry_run:
            data = _read(src)
            _mkdir(self.nm_dir, 0o700)
            _write_atomic(dst, data, 0o600)
            if _read(dst) != data:
                raise InstallError("copy of the Wi-Fi profile did not verify; original kept")
            os.remove(src)
        return True

    def reload_nm(self):
        if self.root != "/" or shutil.which("nmcli") is None:
            return
        self.say("run: nmcli connection reload")
        if not self.dry_run:
            try:
                subprocess.run(["nmcli", "connection", "reload"], check=True, capture_output=True, timeout=30)
            except (OSError, subprocess.SubprocessError) as e:
                self.out.write("warning: nmcli connection reload failed (%s); reboot to apply Wi-Fi\n" % e)

    def _pip_like(self, cmd):
        self.say("run: %s" % " ".join(cmd))
        if self.dry_run:
            return
        try:
            r = self.run_cmd(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as e:
            raise InstallError("%s failed: %s" % (cmd[0], e))
        if r.returncode != 0:
            tail = "\n".join(((r.stdout or "") + (r.stderr or "")).strip().splitlines()[-8:])
            raise InstallError("%s failed (exit %d):\n%s" % (" ".join(cmd[:4]), r.returncode, tail))

    def venv(self):
        """Install the bundle into the venv (see the module docstring); False if there is none."""
        bundle = os.path.join(self.src, "bundle")
        manifest_path = os.path.join(bundle, BUNDLE_MANIFEST)
        if not os.path.exists(manifest_path):
            return False
        try:
            manifest = json.loads(_read(manifest_path).decode("utf-8"))
            entries = manifest["pythons"].get(self.py_version)
            requirement = manifest["requirement"]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InstallError("%s is not a bundle manifest (%s)" % (manifest_path, e))
        if not entries:
            raise InstallError("the bundle has no wheels for Python %s (this Pi OS); run provision --bundle "
                               "with --os bookworm (3.11) or --os trixie (3.13)" % self.py_version)
        wanted = (json.dumps({"requirement": requirement, "wheels": entries}, sort_keys=True) + "\n").encode()
        mark = os.path.join(self.venv_dir, INSTALLED_MARK)
        if os.path.exists(mark) and _read(mark) == wanted:
            return False
        folder = os.path.join(bundle, "py" + self.py_version)
        own = None
        for e in entries:
            path = os.path.join(folder, e["name"])
            if not os.path.isfile(path) or _sha256(path) != e["sha256"]:
                raise InstallError("bundle wheel %s is missing or its sha256 does not match MANIFEST.json; "
                                   "nothing installed (copy the bundle again)" % path)
            if e["name"].startswith("pandascreen-"):
                own = path
        self.out.write("bundle verified: %d wheels for Python %s (sha256)\n" % (len(entries), self.py_version))
        vpython = os.path.join(self.venv_dir, "bin", "python")
        if not os.path.exists(vpython):
            self._pip_like([self.python, "-m", "venv", "--system-site-packages", self.venv_dir])
        pip = [vpython, "-m", "pip", "--disable-pip-version-check", "install", "--no-index", "--find-links", folder]
        self._pip_like(pip + ["--upgrade", requirement])
        if own:  # a rebuilt wheel of the same version: pip --upgrade alone would keep the old one
            self._pip_like(pip + ["--no-deps", "--force-reinstall", own])
        self.say("record installed bundle %s" % mark)
        if not self.dry_run:
            _write_atomic(mark, wanted, 0o644)
        return True

    def service(self):
        dst_dir = os.path.join(self.root, "etc", "systemd", "system")
        dst = os.path.join(dst_dir, UNIT_NAME)
        data = _unit_data()
        if not (os.path.exists(dst) and _read(dst) == data):
            self.say("install %s" % dst)
            if not self.dry_run:
                _mkdir(dst_dir, 0o755)
                _write_atomic(dst, data, 0o644)
        cmds = [["systemctl", "daemon-reload"], ["systemctl", "enable", UNIT_NAME]]
        for cmd in cmds:
            live = self.root == "/" and shutil.which("systemctl") is not None
            self.say("run: %s" % " ".join(cmd) if live else "then run: %s" % " ".join(cmd))
            if live and not self.dry_run:
                subprocess.run(cmd, check=False, timeout=60)

    def run(self, enable_service=False):
        self.key()
        self.config()
        if self.wifi():
            self.reload_nm()
        self.venv()
        if enable_service:
            self.service()
        if not self.actions:
            self.out.write("nothing to do: everything from %s is installed\n" % self.src)
        return self.actions


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pandascreen-install", description=__doc__.split("\n")[0])
    ap.add_argument("--boot", default="/boot/firmware", help="boot partition (default /boot/firmware)")
    ap.add_argument("--root", default="/", help="root of the installed system (default /)")
    ap.add_argument("--enable-service", action="store_true", help="install and enable the systemd unit")
    ap.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.boot):
        print("error: boot partition %s does not exist (is the SD card mounted? pass --boot DIR)" % args.boot,
              file=sys.stderr)
        return 2
    try:
        Installer(args.boot, args.root, args.dry_run).run(args.enable_service)
    except (InstallError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
