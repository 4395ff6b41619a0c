"""The wheel is what organisers install, so test it as they get it.

Build the wheel from a clean copy of this working tree, install it with the ``host`` extra into a
fresh venv in a temporary folder, and run every command from a folder that is not the checkout:
only then does a file missing from the package data (board files, the systemd unit, the
MicroPython ``main.py``) show up as a failure instead of being found in the checkout by accident.

Dependency wheels (and setuptools for the build) are downloaded from PyPI once into
``build/wheelhouse`` and installed from there with ``--no-index`` afterwards, which keeps the
run fast and offline; the wheelhouse is refilled only when something is missing from it.
"""

import contextlib
import fcntl
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEELHOUSE = os.path.join(ROOT, "build", "wheelhouse")
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "firmware", "host_tools")
PACKAGE_DIRS = (("firmware", "pandascreen"), ("host_tools", "pandascreen_host"))
NOT_SHIPPED = re.compile(r"(^|/)(__pycache__|[^/]*\.egg-info)(/|$)|\.(pyc|mpy)$|(^|/)\.")
BUNDLED_BOARDS = os.path.join(ROOT, "host_tools", "pandascreen_host", "board_files")
PIP_TIMEOUT = 900
CMD_TIMEOUT = 180


def _pip(python, *args):
    return subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=PIP_TIMEOUT)


@contextlib.contextmanager
def _wheelhouse_lock():
    """Several test runs may fill the wheelhouse at once; pip download is not safe against that."""
    os.makedirs(WHEELHOUSE, exist_ok=True)
    with open(os.path.join(WHEELHOUSE, ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pip_from_wheelhouse(python, args, needs):
    """Run ``pip ARGS`` offline against the wheelhouse; if that fails, download NEEDS (pip
    requirement strings) from the package index into the wheelhouse once and try again."""
    offline = list(args) + ["--no-index", "--find-links", WHEELHOUSE]
    with _wheelhouse_lock():
        r = _pip(python, *offline)
        if r.returncode != 0:
            d = _pip(python, "download", "-q", "-d", WHEELHOUSE, *needs)
            assert d.returncode == 0, "filling %s from the package index failed:\n%s%s" % (
                WHEELHOUSE, d.stdout, d.stderr)
            for own in os.listdir(WHEELHOUSE):  # never install a stale copy of ourselves
                if own.startswith("pandascreen-"):
                    os.unlink(os.path.join(WHEELHOUSE, own))
            r = _pip(python, *offline)
    assert r.returncode == 0, "pip %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def _build_requires():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        return tomllib.load(fh)["build-system"]["requires"]


def fill_wheelhouse():
    """Download what the wheel tests install (build backend, dependencies, the host extra) into the
    wheelhouse, so the suite itself can run with no network at all (``make test`` runs pytest in
    a network namespace of its own); a no-op when everything is there already."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)
    needs = list(project["build-system"]["requires"]) + list(project["project"]["dependencies"]) + \
        list(project["project"]["optional-dependencies"]["host"])
    with _wheelhouse_lock():
        r = _pip(sys.executable, "download", "-q", "-d", WHEELHOUSE, *needs)
    if r.returncode != 0:
        raise SystemExit("filling %s from the package index failed:\n%s%s" % (WHEELHOUSE, r.stdout, r.stderr))


def _copy_sources(dst):
    """The working tree's package sources without caches and build leftovers (a stale build/lib
    would otherwise put deleted files into the wheel)."""
    def ignore(folder, names):
        rel = os.path.relpath(folder, ROOT)
        return [n for n in names if NOT_SHIPPED.search(os.path.join(rel, n).replace(os.sep, "/"))]
    os.makedirs(dst)
    for name in SOURCES:
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dst, name), ignore=ignore)
        else:
            shutil.copy2(src, dst)


def _shipped_sources():
    """Every file of the two packages in this checkout, as its path inside the wheel."""
    out = set()
    for where, pkg in PACKAGE_DIRS:
        base = os.path.join(ROOT, where)
        for folder, dirs, files in os.walk(os.path.join(base, pkg)):
            for n in files:
                rel = os.path.relpath(os.path.join(folder, n), base).replace(os.sep, "/")
                if not NOT_SHIPPED.search(rel):
                    out.add(rel)
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("wheel")
    assert not os.path.realpath(str(d)).startswith(os.path.realpath(ROOT) + os.sep), \
        "the wheel must be tried outside the checkout"
    return d


@pytest.fixture(scope="module")
def wheel(work):
    src, dist = str(work / "src"), str(work / "dist")
    _copy_sources(src)
    _pip_from_wheelhouse(sys.executable, ["wheel", "-q", "--no-deps", "-w", dist, src], _build_requires())
    (name,) = os.listdir(dist)
    return os.path.join(dist, name)


@pytest.fixture(scope="module")
def venv(work, wheel):
    """bin/ folder of a fresh venv with the wheel and its host extra installed."""
    env_dir = str(work / "venv")
    r = subprocess.run([sys.executable, "-m", "venv", env_dir], capture_output=True, text=True,
                       timeout=CMD_TIMEOUT)
    assert r.returncode == 0, "python -m venv failed (Debian: apt-get install python3-venv):\n" + r.stderr
    python = os.path.join(env_dir, "bin", "python")
    _pip_from_wheelhouse(python, ["install", "-q", wheel + "[host]"], [wheel + "[host]"])
    return os.path.join(env_dir, "bin")


@pytest.fixture(scope="module")
def outside(work):
    d = work / "elsewhere"
    d.mkdir()
    return d


def run(venv, outside, *cmd, ok=True):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("PANDASCREEN_")}
    env["PATH"] = venv + os.pathsep + env.get("PATH", "")
    exe = os.path.join(venv, cmd[0])
    r = subprocess.run([exe] + list(cmd[1:]), cwd=str(outside), env=env, capture_output=True, text=True,
                       timeout=CMD_TIMEOUT)
    if ok:
        assert r.returncode == 0, "%s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr
    return r


def test_wheel_carries_every_package_file(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    missing = sorted(_shipped_sources() - names)
    assert not missing, "in the checkout but not in the wheel (add them to [tool.setuptools.package-data]): %s" \
        % missing
    for must in ("pandascreen/node/pandascreen.service", "pandascreen/board/main.py",
                 "pandascreen_host/board_files/pico-w-ssd1306.toml",
                 "pandascreen/node/program_page_static/publish.js"):
        assert must in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".mpy"))]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in meta and "Requires-Python: >=3.9" in meta


def test_installed_package_is_not_the_checkout(venv, outside):
    code = "import pandascreen, pandascreen_host; print(pandascreen.__file__); print(pandascreen_host.__file__)"
    r = run(venv, outside, "python", "-c", code)
    for path in r.stdout.split():
        assert os.path.dirname(venv) in path and ROOT not in path, path


def test_boards_lists_the_bundled_board_files(venv, outside):
    out = run(venv, outside, "pandascreen-host", "boards").stdout
    names = sorted(n[:-5] for n in os.listdir(BUNDLED_BOARDS) if n.endswith(".toml"))
    assert names
    for n in names:
        assert n in out
    assert "pico-w-ssd1306" in run(venv, outside, "pandascreen-host", "boards", "pico-w-ssd1306").stdout


MAKE_DEMO_STORE = """
import sys
from pandascreen.testing import festival as demofest
from pandascreen.core import operation
from pandascreen.node.sqlite_store import SqliteStore

store = SqliteStore(sys.argv[1])
log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
demofest.publish(store, bytes(range(32)), log)
store.close()
"""


@pytest.mark.parametrize("board", ["pi-4-inky-phat", "pico-w-ssd1306"])
def test_preview_renders_the_demo_festival(venv, outside, board):
    from PIL import Image
    store = outside / "demo.db"
    if not store.exists():
        run(venv, outside, "python", "-c", MAKE_DEMO_STORE, str(store))
    png = outside / ("%s.png" % board)
    run(venv, outside, "pandascreen-host", "preview", "--board", board, "--store", str(store),
        "--at", "2026-07-18T15:15", "-o", png.name)
    with Image.open(str(png)) as img:
        lo, hi = img.convert("L").getextrema()
    assert lo < hi, "the preview is a blank image"


def test_provision_and_first_boot_install_from_the_wheel(venv, outside):
    boot, root = outside / "bootfs", outside / "rootfs"
    boot.mkdir()
    root.mkdir()
    (boot / "config.txt").write_text("# For more options see http://rptl.io/configtxt\n")
    (boot / "cmdline.txt").write_text("console=serial0,115200 root=PARTUUID=1234-02 rootwait "
                                      "init=/usr/lib/raspberrypi-sys-mods/firstboot\n")
    psk = outside / "wifi.psk"
    fd = os.open(str(psk), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"not-a-real-passphrase\n")
    os.close(fd)
    r = run(venv, outside, "pandascreen-host", "provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(boot),
            "--festival-id", "pandafest-2026", "--peer", "10.0.0.2:2026", "--organiser", "ab" * 32,
            "--wifi-ssid", "FestivalNet",
            "--wifi-country", "DE", "--wifi-psk-file", str(psk))
    assert "not-a-real-passphrase" not in r.stdout + r.stderr
    key = boot / "pandascreen" / "device.key"
    assert stat.S_IMODE(os.stat(str(key)).st_mode) == 0o600 and len(key.read_bytes()) == 32
    assert (boot / "pandascreen" / "config.json").is_file()
    assert "dtparam=i2c_arm=on" in (boot / "config.txt").read_text()

    r = run(venv, outside, "pandascreen-install", "--dry-run", "--boot", str(boot), "--root", str(root),
            "--enable-service")
    assert os.path.join(str(root), "etc", "systemd", "system", "pandascreen.service") in r.stdout
    assert not (root / "etc").exists(), "--dry-run changed the root tree"


def test_flash_dry_run_compiles_the_core_and_main_py(venv, outside):
    build = outside / "mpy"
    r = run(venv, outside, "pandascreen-host", "flash", "--board", "pico-w-ssd1306", "--dry-run",
            "--build-dir", str(build))
    assert "main.py" in r.stdout, "a flashed board would not start without main.py:\n" + r.stdout
    compiled = [n for _, _, files in os.walk(str(build)) for n in files if n.endswith(".mpy")]
    assert compiled, "nothing compiled into %s" % build


if __name__ == "__main__":  # make test: python tests/test_wheel.py --fill-wheelhouse
    if sys.argv[1:] != ["--fill-wheelhouse"]:
        raise SystemExit("usage: python tests/test_wheel.py --fill-wheelhouse")
    fill_wheelhouse()
