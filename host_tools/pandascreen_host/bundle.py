"""``provision --bundle``: carry pandascreen and every aarch64 wheel it needs onto the boot partition.

A festival field has no internet, and Raspberry Pi OS (PEP 668) forbids ``pip install`` into the
system Python, so the screen installs into its own venv from files the organiser's laptop left on
the SD card::

    bootfs/pandascreen/bundle/MANIFEST.json    requirement, extras, per Python: wheel names + sha256
    bootfs/pandascreen/bundle/py3.11/*.whl     Bookworm (Python 3.11)
    bootfs/pandascreen/bundle/py3.13/*.whl     Trixie (Python 3.13)
    bootfs/pandascreen/bundle/install.sh       the first, by-hand install (runs the installer from the wheel)

Resolution is pip's own (``pip download --only-binary :all: --platform ... --python-version ...``):
no hand-written resolver. Downloads go to a cache folder (``--bundle-cache``, reused for the next
twenty boards); which files belong to this resolution is read from pip's output ("Saved ..." /
"File was already downloaded ..."). The pip call is injectable (``run=``) so tests use a fake pip.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from pandascreen.core import screens
from pandascreen.node.install import sha256_file
from pandascreen_host.errors import UserError
from pandascreen_host.fsutil import atomic_write

BUNDLE_DIR = "bundle"
MANIFEST = "MANIFEST.json"
# Raspberry Pi OS release -> (its python3, its glibc): wheels tagged for a newer glibc would not load.
OS_RELEASES = {"bookworm": ("3.11", (2, 36)), "trixie": ("3.13", (2, 41))}
PIP_TIMEOUT = 1800
_SAVED = re.compile(r"^\s*(?:Saved|File was already downloaded)\s+(.+\.whl)\s*$")
_MISSING = re.compile(r"(?:Could not find a version that satisfies the requirement|"
                      r"No matching distribution found for)\s+([A-Za-z0-9_.\-]+)")

INSTALL_SH = """#!/bin/sh
# Written by pandascreen-host provision --bundle. Run once on the Pi, offline:
#   sudo sh /boot/firmware/pandascreen/bundle/install.sh
# It runs pandascreen-install from the pandascreen wheel MANIFEST.json lists (a zip Python can
# import), after copying it into a fresh folder of root's and checking the copy's sha256; other
# files beside it are ignored. The installer creates /opt/pandascreen/venv, installs the bundle
# into it and enables pandascreen.service.
set -e
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
whl=$(python3 -c '
import hashlib, json, os, shutil, sys
here, tmp = sys.argv[1:]
py = "%d.%d" % sys.version_info[:2]
try:
    with open(os.path.join(here, "MANIFEST.json")) as fh:
        own = [e for e in json.load(fh)["pythons"].get(py) or () if e["name"].startswith("pandascreen-")]
except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
    sys.exit("error: %s/MANIFEST.json is not a bundle manifest (%s)" % (here, e))
if len(own) != 1 or os.path.basename(own[0]["name"]) != own[0]["name"]:
    sys.exit("error: %s/MANIFEST.json lists no pandascreen wheel for Python %s" % (here, py))
name, digest = own[0]["name"], own[0]["sha256"]
copy = os.path.join(tmp, name)
shutil.copyfile(os.path.join(here, "py" + py, name), copy)
with open(copy, "rb") as fh:
    if hashlib.sha256(fh.read()).hexdigest() != digest:
        sys.exit("error: %s/py%s/%s does not match its sha256 in MANIFEST.json (copy the bundle again)"
                 % (here, py, name))
print(copy)
' "$here" "$tmp")
PYTHONPATH="$whl" python3 -m pandascreen.node.install --boot "$(dirname "$(dirname "$here")")" \\
    --enable-service "$@"
"""


def extras_for_board(board):
    """The pyproject extras a board needs: its screen's driver (core/screens.py), gpiozero when it
    has buttons."""
    screen = screens.info(board.get("screen", {}).get("kind")) or {}
    extras = [screen["extra"]] if screen.get("extra") else []
    if any(k.startswith("button") for k in board.get("pins", {})):
        extras.append("gpio")
    return extras


def pythons_for(os_names):
    """{python version: glibc} for the Pi OS releases asked for (both when none is)."""
    names = os_names or sorted(OS_RELEASES)
    out = {}
    for n in names:
        if n not in OS_RELEASES:
            raise UserError("--os %r: choose from %s" % (n, ", ".join(sorted(OS_RELEASES))))
        py, glibc = OS_RELEASES[n]
        out[py] = glibc
    return out


def platforms(glibc):
    """pip ``--platform`` tags an aarch64 Pi OS with this glibc accepts (manylinux2014 = 2.17)."""
    return ["manylinux2014_aarch64"] + ["manylinux_2_%d_aarch64" % m for m in range(17, glibc[1] + 1)]


def download_command(python_version, glibc, requirement, dest):
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "download",
           "--only-binary", ":all:", "--python-version", python_version, "--implementation", "cp",
           "--abi", "cp" + python_version.replace(".", ""), "--abi", "abi3", "--abi", "none", "-d", dest]
    for p in platforms(glibc):
        cmd += ["--platform", p]
    return cmd + [requirement]


def explain_failure(output, python_version):
    """pip's 'no matching distribution' as one sentence naming the package and the platform."""
    m = _MISSING.search(output)
    if m:
        name = re.split(r"[<>=!~;\[ ]", m.group(1))[0]
        return "%s has no aarch64 wheel for Python %s (pip download found none)" % (name, python_version)
    tail = "\n".join(output.strip().splitlines()[-5:])
    return "pip download for Python %s aarch64 failed:\n%s" % (python_version, tail)


def resolve(python_version, glibc, requirement, cache, run=subprocess.run):
    """The wheel paths (in ``cache``) pip chose for ``requirement`` on aarch64 Python ``python_version``."""
    os.makedirs(cache, exist_ok=True)
    cmd = download_command(python_version, glibc, requirement, cache)
    try:
        r = run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as e:
        raise UserError("could not run pip download: %s" % e)
    output = (r.stdout or "") + (r.stderr or "")
    if r.returncode != 0:
        raise UserError(explain_failure(output, python_version))
    wheels = []
    for line in output.splitlines():
        m = _SAVED.match(line)
        if m:
            path = m.group(1).strip()
            path = path if os.path.isabs(path) else os.path.join(cache, os.path.basename(path))
            if path not in wheels:
                wheels.append(path)
    if not wheels:
        raise UserError("pip download for Python %s named no wheels:\n%s" % (python_version, output[-400:]))
    for w in wheels:
        if not os.path.isfile(w):
            raise UserError("pip said it saved %s, but it is not there" % w)
    return wheels


def build_own_wheel(dest, run=subprocess.run):
    """pandascreen's own wheel, built from the checkout this module runs from."""
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if not os.path.isfile(os.path.join(src, "pyproject.toml")):
        raise UserError("pandascreen is installed, not a checkout: pass --bundle-wheel PATH "
                        "(the pandascreen-*.whl you installed from)")
    r = run([sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "-q", "--no-deps",
             "-w", dest, src], capture_output=True, text=True, timeout=PIP_TIMEOUT)
    built = [f for f in os.listdir(dest) if f.startswith("pandascreen-") and f.endswith(".whl")] \
        if os.path.isdir(dest) else []
    if r.returncode != 0 or not built:
        raise UserError("building the pandascreen wheel failed:\n%s" % ((r.stdout or "") + (r.stderr or ""))[-600:])
    return os.path.join(dest, built[0])


def _progress(items, label):
    """rich's progress bar where rich is installed (host extra), plain iteration otherwise."""
    try:
        from rich.progress import track
    except ImportError:
        return items
    return track(items, description=label, transient=True, console=None)


def make_bundle(boot_folder, board, os_names=None, cache=None, own_wheel=None, run=subprocess.run, out=None):
    """Fill ``boot_folder/bundle`` (boot_folder = BOOT/pandascreen); returns the manifest dict."""
    out = out or sys.stdout
    extras = extras_for_board(board)
    pythons = pythons_for(os_names)
    with tempfile.TemporaryDirectory(prefix="pandascreen-bundle-") as tmp:
        wheel = own_wheel or build_own_wheel(os.path.join(tmp, "own"), run=run)
        if not os.path.isfile(wheel):
            raise UserError("--bundle-wheel %s does not exist" % wheel)
        requirement = "pandascreen%s @ file://%s" % (
            "[%s]" % ",".join(extras) if extras else "", os.path.abspath(wheel))
        cache = cache or os.path.join(tmp, "cache")
        chosen = {}
        for py in _progress(sorted(pythons), "resolving aarch64 wheels"):
            chosen[py] = resolve(py, pythons[py], requirement, os.path.join(cache, "py" + py), run=run)
            out.write("Python %s: %d wheels\n" % (py, len(chosen[py])))
        bundle = os.path.join(boot_folder, BUNDLE_DIR)
        manifest = {"format": 1, "requirement": "pandascreen" + ("[%s]" % ",".join(extras) if extras else ""),
                    "extras": extras, "board": board.get("name"), "pythons": {}}
        if os.path.isdir(bundle):
            shutil.rmtree(bundle)
        for py, wheels in chosen.items():
            folder = os.path.join(bundle, "py" + py)
            os.makedirs(folder)
            entries = []
            # pip may or may not list the file:// source it was given; ship the built file itself
            wheels = [wheel] + [w for w in wheels if not os.path.basename(w).startswith("pandascreen-")]
            for w in _progress(wheels, "copying Python %s wheels" % py):
                name = os.path.basename(w)
                shutil.copyfile(w, os.path.join(folder, name))
                entries.append({"name": name, "sha256": sha256_file(os.path.join(folder, name))})
            manifest["pythons"][py] = sorted(entries, key=lambda e: e["name"])
    atomic_write(os.path.join(bundle, "install.sh"), INSTALL_SH.encode("ascii"))
    atomic_write(os.path.join(bundle, MANIFEST), (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    total = sum(len(v) for v in manifest["pythons"].values())
    out.write("wrote %s (%d wheels for Python %s; extras: %s)\n" % (
        bundle, total, ", ".join(sorted(manifest["pythons"])), ", ".join(extras) or "none"))
    return manifest
