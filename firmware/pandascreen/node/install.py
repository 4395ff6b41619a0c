"""Pi-side first-boot installer: move what `pandascreen-host provision` left on the boot partition
into place, idempotently (safe to run at every boot; the service runs it before starting).

    sudo pandascreen-install [--boot /boot/firmware] [--root /] [--enable-service] [--dry-run]

* ``BOOT/pandascreen/device.key`` -> ``ROOT/var/lib/pandascreen/device.key`` (dir 0700, file 0600);
  the copy is fsynced and compared before the FAT original is deleted.  A *different* key already
  installed is never overwritten: both are kept and the run fails with an explanation.
* ``BOOT/pandascreen/config.json`` -> ``ROOT/etc/pandascreen/config.json`` with ``key`` and
  ``store`` rewritten to the installed paths (a differing previous config is kept as ``.bak``),
  after the bundle: a refused bundle leaves the previous config with the venv it was made for.
* ``BOOT/pandascreen/pandascreen-wifi.nmconnection`` ->
  ``ROOT/etc/NetworkManager/system-connections/`` (mode 0600), then removed from FAT so the
  Wi-Fi key does not stay readable by every user; NetworkManager is asked to reload.
* ``BOOT/pandascreen/bundle/`` (``pandascreen-host provision --bundle``) -> ``ROOT/opt/pandascreen/venv``:
  Pi OS forbids pip in the system Python (PEP 668) and the field has no internet, so the wheels
  come from the card. Exactly the wheels MANIFEST.json lists are copied into a fresh folder only
  root can read (mkdtemp, 0700), the copies' sha256 checked, and pip installs those copies and
  nothing else (``pip install --no-index --no-deps --require-hashes -r`` a file naming each copy
  with its hash), into a ``python3 -m venv --system-site-packages`` (apt's python3-lgpio stays
  visible to gpiozero). Other files beside the bundle are named and ignored. The installed
  manifest is kept in the venv: the same bundle again does nothing, a different one upgrades.

A refused step (a damaged or partial bundle, a different key) never leaves the screen dark: with
``--keep-running`` (the unit's pre-start step) the run exits 0 when the venv still imports
pandascreen, so the screen keeps running what worked; the reason is recorded in
``ROOT/var/lib/pandascreen/upgrade-refused`` (shown in the screen's status line, removed by the
next run that succeeds). Without a working venv it exits 2.

Secrets are never printed. The service user owns /var/lib/pandascreen and anyone with the card owns
the boot partition, so reads and writes go through ``rootfs`` (no symlinks followed, no special
files opened, folders root trusts later must be root's alone).
"""

import argparse
import hashlib
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile

from pandascreen.core.errors import InstallError
from pandascreen.node.rootfs import (copy_regular, make_dir, open_dir, read_regular, require_trusted_dir,
                                     write_atomic)
from pandascreen.node.upgrade_refused import REFUSED_NAME  # why the last run refused (node/app.py shows it)

UNIT_NAME = "pandascreen.service"
SERVICE_USER = "pandascreen"
VENV = "opt/pandascreen/venv"          # under --root; the unit's ExecStart runs from here
BUNDLE_MANIFEST = "MANIFEST.json"      # written by host_tools/pandascreen_host/bundle.py
INSTALLED_MARK = "pandascreen-bundle.json"
SCRATCH_PREFIX = ".verified-wheels-"   # beside the venv: the copies pip installs from
PIP_TIMEOUT = 1800
APP_IMPORT_TIMEOUT = 120
KEY_READ_LIMIT = 4096                  # a device key is 32 bytes; anything far larger is not one
_WHEEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+!-]*\.whl$")   # a file name, never a path
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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


def unit_settings(section="Service"):
    """The unit's ``[section]``: each key's values in order (``DeviceAllow=``, ``Environment=``
    repeat); what the screen's tests and the idle bench take from it.  Only the syntax this unit
    uses: ``Key=value`` lines and ``#`` comments, no ``;`` comments, continuation lines, quoting or
    empty resets."""
    out, current = {}, None
    for line in _unit_data().decode().splitlines():
        line = line.strip()
        if line.startswith("["):
            current = line[1:-1]
        elif current == section and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def sha256_file(path):
    """The hex SHA-256 of a file, as MANIFEST.json lists each wheel (the bundle writes it with this too)."""
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


def _child_env():
    """The environment for the venv's Python and pip: nothing that adds code or options to it
    (install.sh puts the boot partition's wheel on PYTHONPATH; PIP_* could add a find-links)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}


def _manifest_entries(manifest, py_version, where):
    """The manifest's requirement and its wheel list for ``py_version`` (None when there is none),
    each entry a plain wheel file name with a sha256; anything else is not a bundle manifest."""
    try:
        entries = manifest["pythons"].get(py_version)
        requirement = manifest["requirement"]
        names = set()
        for e in entries or ():
            name, digest = e["name"], e["sha256"]
            if not (_WHEEL_NAME.match(name) and _SHA256.match(digest)) or name in names:
                raise ValueError("wheel entry %r" % name)
            names.add(name)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InstallError("%s is not a bundle manifest (%s)" % (where, e))
    return requirement, entries


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

    def trusted(self, folder):
        """Refuse to write where someone else could add, swap or symlink what root reads later."""
        require_trusted_dir(folder, self.root)

    def key(self):
        src = os.path.join(self.src, "device.key")
        dst = os.path.join(self.lib, "device.key")
        if not os.path.lexists(src):
            return
        data = read_regular(src, KEY_READ_LIMIT)
        if len(data) != 32:
            raise InstallError("%s is %d bytes, not a 32-byte device key; left in place" % (src, len(data)))
        # the service user owns self.lib itself (it keeps its store there), not the folder above it
        self.trusted(os.path.dirname(self.lib))
        if os.path.lexists(dst):
            if read_regular(dst, KEY_READ_LIMIT) != data:
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
            make_dir(self.lib, 0o700, owner)
            write_atomic(dst, data, 0o600, owner)
            if read_regular(dst, KEY_READ_LIMIT) != data:
                raise InstallError("copy of the device key to %s did not verify; original kept" % dst)
            os.remove(src)

    def config(self):
        src = os.path.join(self.src, "config.json")
        if not os.path.lexists(src):
            return
        try:
            cfg = json.loads(read_regular(src).decode("utf-8"))
        except ValueError as e:
            raise InstallError("%s is not valid JSON (%s); left in place" % (src, e))
        if not isinstance(cfg, dict):
            raise InstallError("%s must hold a JSON object" % src)
        cfg["key"] = "/" + os.path.relpath(os.path.join(self.lib, "device.key"), self.root)
        cfg["store"] = "/" + os.path.relpath(os.path.join(self.lib, "festival.db"), self.root)
        data = (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode("utf-8")
        dst = os.path.join(self.etc, "config.json")
        previous = read_regular(dst) if os.path.lexists(dst) else None
        if previous == data:
            return
        self.trusted(self.etc)
        if previous is not None:
            self.say("keep previous config as %s.bak" % dst)
            if not self.dry_run:
                write_atomic(dst + ".bak", previous, 0o644)
        self.say("install config %s" % dst)
        if not self.dry_run:
            make_dir(self.etc, 0o755)
            write_atomic(dst, data, 0o644)

    def wifi(self):
        src = os.path.join(self.src, "pandascreen-wifi.nmconnection")
        if not os.path.lexists(src):
            return False
        dst = os.path.join(self.nm_dir, "pandascreen-wifi.nmconnection")
        self.trusted(self.nm_dir)
        self.say("install Wi-Fi profile %s (mode 600) and remove it from the boot partition" % dst)
        if not self.dry_run:
            data = read_regular(src)
            make_dir(self.nm_dir, 0o700)
            write_atomic(dst, data, 0o600)
            if read_regular(dst) != data:
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

    def _pip_like(self, what, cmd):
        self.say("run: %s" % " ".join(cmd))
        if self.dry_run:
            return
        try:
            r = self.run_cmd(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, env=_child_env())
        except (OSError, subprocess.SubprocessError) as e:
            raise InstallError("%s failed: %s" % (what, e))
        if r.returncode != 0:
            tail = "\n".join(((r.stdout or "") + (r.stderr or "")).strip().splitlines()[-8:])
            raise InstallError("%s failed (exit %d):\n%s" % (what, r.returncode, tail))

    def _verified_copies(self, folder, entries, scratch):
        """Copy exactly the manifest's wheels from ``folder`` into ``scratch`` (ours alone), check
        the copies' sha256 and return the pip requirements file naming them with those hashes.
        pip then reads only these copies and checks the hashes again: a file added to or swapped
        on the boot partition after this point is never installed."""
        try:
            dfd = open_dir(folder)
        except FileNotFoundError:
            raise InstallError("%s is missing; nothing installed (copy the bundle again)" % folder)
        try:
            listed = {e["name"] for e in entries}
            unlisted = sorted(set(os.listdir(dfd)) - listed)
            if unlisted:
                self.out.write("ignoring %d file(s) in %s not listed in %s: %s\n"
                               % (len(unlisted), folder, BUNDLE_MANIFEST, ", ".join(unlisted)))
            lines = []
            for e in entries:
                try:
                    copy = copy_regular(dfd, e["name"], scratch, folder)
                except FileNotFoundError:
                    copy = None
                if copy is None or sha256_file(copy) != e["sha256"]:
                    raise InstallError("bundle wheel %s is missing or its sha256 does not match %s; "
                                       "nothing installed (copy the bundle again)"
                                       % (os.path.join(folder, e["name"]), BUNDLE_MANIFEST))
                lines.append("%s --hash=sha256:%s\n" % (copy, e["sha256"]))
        finally:
            os.close(dfd)
        requirements = os.path.join(scratch, "requirements.txt")
        write_atomic(requirements, "".join(lines).encode("utf-8"), 0o600)
        return requirements

    def _scratch(self):
        """A fresh folder for the verified copies (mkdtemp: 0700, ours) beside the venv, in a folder
        that is root's alone (not $TMPDIR, which the caller chooses); copies a power cut left
        behind are removed first. A dry run copies to the temp folder and leaves no trace."""
        if self.dry_run:
            return tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
        parent = os.path.dirname(self.venv_dir)
        make_dir(parent, 0o755)
        for name in os.listdir(parent):
            if name.startswith(SCRATCH_PREFIX):
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        return tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=parent)

    def venv(self):
        """Install the bundle into the venv (see the module docstring); False if there is none."""
        bundle = os.path.join(self.src, "bundle")
        manifest_path = os.path.join(bundle, BUNDLE_MANIFEST)
        if not os.path.lexists(manifest_path):
            return False
        try:
            manifest = json.loads(read_regular(manifest_path).decode("utf-8"))
        except ValueError as e:
            raise InstallError("%s is not a bundle manifest (%s)" % (manifest_path, e))
        requirement, entries = _manifest_entries(manifest, self.py_version, manifest_path)
        if not entries:
            raise InstallError("the bundle has no wheels for Python %s (this Pi OS); run provision --bundle "
                               "with --os bookworm (3.11) or --os trixie (3.13)" % self.py_version)
        wanted = (json.dumps({"requirement": requirement, "wheels": entries}, sort_keys=True) + "\n").encode()
        mark = os.path.join(self.venv_dir, INSTALLED_MARK)
        if os.path.lexists(mark) and read_regular(mark) == wanted:
            return False
        self.trusted(self.venv_dir)
        scratch = self._scratch()
        try:
            requirements = self._verified_copies(os.path.join(bundle, "py" + self.py_version), entries, scratch)
            self.out.write("bundle verified: %d wheels for Python %s (sha256)\n" % (len(entries), self.py_version))
            vpython = os.path.join(self.venv_dir, "bin", "python")
            if not os.path.exists(vpython):
                self._pip_like("python3 -m venv",
                               [self.python, "-m", "venv", "--system-site-packages", self.venv_dir])
            # --no-deps: the manifest already is pip's resolution (made on the laptop); exactly its
            # wheels are installed, a same-version rebuild too (--force-reinstall)
            self._pip_like("pip install",
                           [vpython, "-m", "pip", "--isolated", "--disable-pip-version-check", "install",
                            "--no-index", "--no-deps", "--require-hashes", "--force-reinstall",
                            "--no-cache-dir", "-r", requirements])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.say("record installed bundle %s" % mark)
        if not self.dry_run:
            write_atomic(mark, wanted, 0o644)
        return True

    def working_venv(self):
        """True when the installed venv's Python imports the screen's app (what ExecStart runs)."""
        vpython = os.path.join(self.venv_dir, "bin", "python")
        if not os.path.exists(vpython):
            return False
        try:
            r = self.run_cmd([vpython, "-c", "import pandascreen.node.app"], capture_output=True, text=True,
                             timeout=APP_IMPORT_TIMEOUT, env=_child_env())
        except (OSError, subprocess.SubprocessError):
            return False
        return r.returncode == 0

    def record_refusal(self, reason):
        """Write why this run refused (one line) where the screen's app reads it; None clears it."""
        path = os.path.join(self.lib, REFUSED_NAME)
        if self.dry_run:
            return
        if reason is None:
            if os.path.lexists(path):
                os.remove(path)
            return
        self.trusted(os.path.dirname(self.lib))
        owner = _owner()
        make_dir(self.lib, 0o700, owner)
        line = " ".join(str(reason).split())[:500] + "\n"
        write_atomic(path, line.encode("utf-8"), 0o644, owner)

    def service(self, data):
        dst_dir = os.path.join(self.root, "etc", "systemd", "system")
        dst = os.path.join(dst_dir, UNIT_NAME)
        if not (os.path.lexists(dst) and read_regular(dst) == data):
            self.trusted(dst_dir)
            self.say("install %s" % dst)
            if not self.dry_run:
                make_dir(dst_dir, 0o755)
                write_atomic(dst, data, 0o644)
        cmds = [["systemctl", "daemon-reload"], ["systemctl", "enable", UNIT_NAME]]
        for cmd in cmds:
            live = self.root == "/" and shutil.which("systemctl") is not None
            self.say("run: %s" % " ".join(cmd) if live else "then run: %s" % " ".join(cmd))
            if live and not self.dry_run:
                subprocess.run(cmd, check=False, timeout=60)

    def run(self, enable_service=False):
        # read before anything else: install.sh runs this module from the boot partition's wheel,
        # which must not be read again after the venv step (it may have been swapped by then)
        unit = _unit_data() if enable_service else None
        # what we, venv and pip create is root's alone to change, whatever umask the caller had
        # (a group-writable folder would also fail require_trusted_dir at the next start)
        old_umask = os.umask(0o022)
        try:
            self.key()
            if self.wifi():
                self.reload_nm()
            # provision writes the config for the bundle beside it: a refused bundle leaves the old
            # venv running with the config it was made for
            self.venv()
            self.config()
            if enable_service:
                self.service(unit)
        finally:
            os.umask(old_umask)
        if not self.actions:
            self.out.write("nothing to do: everything from %s is installed\n" % self.src)
        return self.actions


def install(installer, enable_service=False, keep_running=False, err=None):
    """Run ``installer``; the exit code. A refusal is recorded when a working venv remains, and
    with ``keep_running`` that venv keeps the screen running (exit 0) instead of a dark screen."""
    err = err or sys.stderr
    try:
        installer.run(enable_service)
    except (InstallError, OSError) as e:
        working = installer.working_venv()
        if working:
            try:
                installer.record_refusal("upgrade refused: %s" % e)
            except (InstallError, OSError) as e2:
                err.write("warning: cannot record the refusal: %s\n" % e2)
        if working and keep_running:
            err.write("error: %s\nthe installed pandascreen keeps running (reason in %s)\n"
                      % (e, os.path.join(installer.lib, REFUSED_NAME)))
            return 0
        err.write("error: %s\n" % e)
        return 2
    installer.record_refusal(None)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pandascreen-install", description=__doc__.split("\n")[0])
    ap.add_argument("--boot", default="/boot/firmware", help="boot partition (default /boot/firmware)")
    ap.add_argument("--root", default="/", help="root of the installed system (default /)")
    ap.add_argument("--enable-service", action="store_true", help="install and enable the systemd unit")
    ap.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    ap.add_argument("--keep-running", action="store_true",
                    help="exit 0 when a step is refused but the installed venv works (the unit's pre-start)")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.boot):
        print("error: boot partition %s does not exist (is the SD card mounted? pass --boot DIR)" % args.boot,
              file=sys.stderr)
        return 2
    return install(Installer(args.boot, args.root, args.dry_run), args.enable_service, args.keep_running)


if __name__ == "__main__":
    sys.exit(main())
