"""Offline install on Raspberry Pi OS: ``provision --bundle`` and the first boot.

The bundle's resolution is pip's; what is ours is the command we give it, reading which wheels it
chose, the manifest, the error for a missing aarch64 wheel, and the installer's venv step. Those are
tested with a fake pip (an injected ``run``) that answers like pip does, with real wheel file names
and tags from PyPI, so no test touches the network. One test then does it for real: a real venv in a
tmp folder, the repo's own wheel (built like tests/test_wheel.py builds it) installed with --no-index.
"""

import configparser
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from pandascreen.core.errors import InstallError
from pandascreen.node import install
from pandascreen_host import boards, bundle, cli
from pandascreen_host.errors import UserError

# Real aarch64 wheel names (PyPI) for pandascreen[oled,gpio]'s dependency tree.
AARCH64_311 = [
    "PyNaCl-1.5.0-cp36-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.manylinux_2_24_aarch64.whl",
    "blake3-1.0.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "pillow-11.1.0-cp311-cp311-manylinux_2_28_aarch64.whl",
    "iroh-1.2.0-py3-none-manylinux_2_28_aarch64.whl",
    "zeroconf-0.146.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "ifaddr-0.2.0-py3-none-any.whl",
    "cffi-1.17.1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "pycparser-2.22-py3-none-any.whl",
    "luma.oled-3.14.0-py3-none-any.whl",
    "luma.core-2.4.2-py3-none-any.whl",
    "smbus2-0.5.0-py2.py3-none-any.whl",
    "gpiozero-2.0.1-py3-none-any.whl",
    "colorzero-2.0-py2.py3-none-any.whl",
]


class FakePip:
    """Answers ``pip download`` like pip: writes the wheels into -d and prints Saved/already lines."""

    def __init__(self, wheels_by_python=None, missing=None):
        self.wheels = wheels_by_python or {}
        self.missing = missing or {}
        self.calls = []

    def __call__(self, cmd, **kw):
        self.calls.append(list(cmd))
        if "wheel" in cmd:  # building our own wheel
            dest = cmd[cmd.index("-w") + 1]
            os.makedirs(dest, exist_ok=True)
            open(os.path.join(dest, "pandascreen-0.1.0-py3-none-any.whl"), "wb").write(b"own")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        py = cmd[cmd.index("--python-version") + 1]
        dest = cmd[cmd.index("-d") + 1]
        if py in self.missing:
            name = self.missing[py]
            err = ("ERROR: Could not find a version that satisfies the requirement %s (from pandascreen) "
                   "(from versions: none)\nERROR: No matching distribution found for %s\n" % (name, name))
            return subprocess.CompletedProcess(cmd, 1, "", err)
        lines = []
        for w in self.wheels.get(py, []):
            path = os.path.join(dest, w)
            if os.path.exists(path):
                lines.append("File was already downloaded %s" % path)
            else:
                open(path, "wb").write(w.encode())
                lines.append("Saved ./%s" % w)
        return subprocess.CompletedProcess(cmd, 0, "\n".join(lines) + "\nSuccessfully downloaded\n", "")


def _boot(tmp_path):
    boot = tmp_path / "bootfs"
    (boot / "pandascreen").mkdir(parents=True)
    (boot / "config.txt").write_text("")
    return boot


def _own_wheel(tmp_path):
    w = tmp_path / "pandascreen-0.1.0-py3-none-any.whl"
    w.write_bytes(b"our wheel")
    return str(w)


def test_extras_follow_the_board():
    assert bundle.extras_for_board(boards.load_board("pi-zero-2w-ssd1306")) == ["oled", "gpio"]
    assert bundle.extras_for_board(boards.load_board("pi-4-inky-what")) == ["inky", "gpio"]
    assert bundle.extras_for_board(boards.load_board("pi-zero-2w-sh1106"))[0] == "oled"


def test_download_command_asks_pip_for_aarch64_binaries_of_that_python():
    cmd = bundle.download_command("3.13", (2, 41), "pandascreen[oled]", "/c")
    assert cmd[cmd.index("--only-binary") + 1] == ":all:"
    assert cmd[cmd.index("--python-version") + 1] == "3.13"
    plats = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--platform"]
    assert "manylinux2014_aarch64" in plats and "manylinux_2_28_aarch64" in plats
    assert "manylinux_2_41_aarch64" in plats and "manylinux_2_42_aarch64" not in plats
    assert not any("x86_64" in p for p in plats)
    assert bundle.pythons_for(None) == {"3.11": (2, 36), "3.13": (2, 41)}
    assert list(bundle.pythons_for(["bookworm"])) == ["3.11"]


def test_bundle_has_every_wheel_with_its_sha256_and_the_cache_is_reused(tmp_path):
    boot = _boot(tmp_path)
    pip = FakePip({"3.11": AARCH64_311, "3.13": [w.replace("cp311", "cp313") for w in AARCH64_311]})
    cache = str(tmp_path / "cache")
    out = io.StringIO()
    board = boards.load_board("pi-zero-2w-ssd1306")
    m = bundle.make_bundle(str(boot / "pandascreen"), board, None, cache, _own_wheel(tmp_path), run=pip, out=out)
    assert m["requirement"] == "pandascreen[oled,gpio]"
    assert sorted(m["pythons"]) == ["3.11", "3.13"]
    on_disk = json.loads((boot / "pandascreen" / "bundle" / "MANIFEST.json").read_text())
    assert on_disk == m
    for py, entries in m["pythons"].items():
        names = [e["name"] for e in entries]
        assert "pandascreen-0.1.0-py3-none-any.whl" in names and len(names) == len(AARCH64_311) + 1
        for e in entries:
            data = (boot / "pandascreen" / "bundle" / ("py" + py) / e["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == e["sha256"]
    assert any("--only-binary" in c for c in pip.calls) and "Python 3.13: 13 wheels" in out.getvalue()
    # a second board reuses the cache: pip reports the files as already downloaded, same bundle
    boot2 = tmp_path / "b2"
    (boot2 / "pandascreen").mkdir(parents=True)
    m2 = bundle.make_bundle(str(boot2 / "pandascreen"), board, None, cache, _own_wheel(tmp_path), run=pip)
    assert m2 == m


def test_a_missing_aarch64_wheel_is_named(tmp_path):
    pip = FakePip({"3.11": AARCH64_311}, missing={"3.13": "iroh<1.3,>=1.2"})
    with pytest.raises(UserError, match=r"^iroh has no aarch64 wheel for Python 3\.13"):
        bundle.make_bundle(str(_boot(tmp_path) / "pandascreen"), boards.load_board("pi-zero-2w-ssd1306"),
                           None, str(tmp_path / "c"), _own_wheel(tmp_path), run=pip)


def test_provision_bundle_option_reaches_make_bundle(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(bundle, "make_bundle", lambda folder, board, os_names, cache, wheel, out=None:
                        seen.update(folder=folder, os=os_names, cache=cache, wheel=wheel))
    boot = _boot(tmp_path)
    rc = cli.main(["provision", "--board", "pi-zero-2w-ssd1306", "--boot", str(boot), "--festival-id", "f",
                   "--trust-anyone", "--bundle", "--os", "trixie", "--bundle-cache", str(tmp_path / "c"),
                   "--bundle-wheel", "w.whl"])
    assert rc == 0
    assert seen == {"folder": str(boot / "pandascreen"), "os": ["trixie"], "cache": str(tmp_path / "c"),
                    "wheel": "w.whl"}


# -- first boot ------------------------------------------------------------------------------------
class FakeSystem:
    """Records the installer's commands; `python -m venv` makes a venv/bin/python, pip succeeds.
    For pip it also keeps the requirements file and how its folder was (it is gone afterwards)."""

    def __init__(self):
        self.calls = []
        self.requirements = []

    def __call__(self, cmd, **kw):
        self.calls.append(list(cmd))
        if cmd[1:3] == ["-m", "venv"]:
            os.makedirs(os.path.join(cmd[-1], "bin"))
            open(os.path.join(cmd[-1], "bin", "python"), "w").close()
        if "-r" in cmd:
            path = cmd[cmd.index("-r") + 1]
            st = os.stat(os.path.dirname(path))
            self.requirements.append((open(path).read(), os.path.dirname(path), st.st_uid, st.st_mode & 0o777,
                                      kw.get("env")))
        return subprocess.CompletedProcess(cmd, 0, "ok", "")


def _write_bundle(boot, wheels):
    """A bundle as provision --bundle leaves it: py3.11/ wheels + MANIFEST.json (replacing any)."""
    if (boot / "pandascreen" / "bundle").exists():
        shutil.rmtree(str(boot / "pandascreen" / "bundle"))
    folder = boot / "pandascreen" / "bundle" / "py3.11"
    folder.mkdir(parents=True)
    entries = []
    for w in wheels:
        (folder / w).write_bytes(w.encode())
        entries.append({"name": w, "sha256": hashlib.sha256(w.encode()).hexdigest()})
    manifest = {"format": 1, "requirement": "pandascreen[gpio]", "extras": ["gpio"], "pythons": {"3.11": entries}}
    (boot / "pandascreen" / "bundle" / "MANIFEST.json").write_text(json.dumps(manifest))
    return folder


def _provisioned(tmp_path, wheels=("pandascreen-0.1.0-py3-none-any.whl", "gpiozero-2.0.1-py3-none-any.whl")):
    boot = _boot(tmp_path)
    folder = _write_bundle(boot, wheels)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    return str(boot), str(root), folder


def test_first_boot_makes_the_venv_installs_offline_and_a_second_boot_does_nothing(tmp_path, monkeypatch):
    boot, root, folder = _provisioned(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.path.join(boot, "pandascreen", "bundle", "py3.11", "x.whl"))  # install.sh
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    fake = FakeSystem()
    out = io.StringIO()
    install.Installer(boot, root, out=out, py_version="3.11", run=fake).run()
    venv = os.path.join(root, "opt", "pandascreen", "venv")
    assert fake.calls[0] == ["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv]
    pip = fake.calls[1]
    assert pip[:2] == [venv + "/bin/python", "-m"]
    assert {"--no-index", "--no-deps", "--require-hashes", "--isolated"} <= set(pip) and "--find-links" not in pip
    # pip gets exactly the manifest's wheels, as copies in a fresh folder of ours (0700), with their hashes
    (text, scratch, uid, scratch_mode, env), = fake.requirements
    assert uid == os.geteuid() and scratch_mode == 0o700 and os.path.dirname(scratch) == os.path.dirname(venv)
    assert sorted(text.splitlines()) == sorted("%s --hash=sha256:%s" % (os.path.join(scratch, w),
                                                                        hashlib.sha256(w.encode()).hexdigest())
                                               for w in os.listdir(str(folder)))
    assert not os.path.exists(scratch) and not any(k.startswith(("PYTHON", "PIP_")) for k in env)
    assert "bundle verified: 2 wheels" in out.getvalue()
    n = len(fake.calls)
    again = io.StringIO()
    install.Installer(boot, root, out=again, py_version="3.11", run=fake).run()
    assert len(fake.calls) == n and "nothing to do" in again.getvalue()
    # a newer bundle upgrades the venv (no new venv)
    _write_bundle(tmp_path / "bootfs", ("pandascreen-0.2.0-py3-none-any.whl",))
    install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake).run()
    new = fake.calls[n:]
    assert new and not any(c[1:3] == ["-m", "venv"] for c in new) and "--force-reinstall" in new[0]
    assert "pandascreen-0.2.0-py3-none-any.whl --hash" in fake.requirements[-1][0]


def test_a_wheel_that_does_not_match_its_sha256_installs_nothing(tmp_path):
    boot, root, folder = _provisioned(tmp_path)
    (folder / "gpiozero-2.0.1-py3-none-any.whl").write_bytes(b"tampered")
    fake = FakeSystem()
    with pytest.raises(InstallError, match="sha256"):
        install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake).run()
    assert fake.calls == []
    with pytest.raises(InstallError, match="no wheels for Python 3.13"):
        install.Installer(boot, root, out=io.StringIO(), py_version="3.13", run=fake).run()


def test_the_unit_runs_from_the_venv():
    cp = configparser.ConfigParser(strict=False)
    cp.read_string(install._unit_data().decode())
    assert cp["Service"]["ExecStart"].startswith("/" + install.VENV + "/bin/pandascreen ")
    assert cp["Service"]["ExecStartPre"].startswith("+/" + install.VENV + "/bin/pandascreen-install ")


def test_real_venv_installs_the_repo_wheel_offline(tmp_path):
    """A real `python -m venv --system-site-packages` and `pip install --no-index --find-links`."""
    from tests import test_wheel
    src, dist, local = str(tmp_path / "src"), str(tmp_path / "dist"), str(tmp_path / "local")
    test_wheel._copy_sources(src)
    test_wheel._pip_from_wheelhouse(sys.executable, ["wheel", "-q", "--no-deps", "-w", dist, src],
                                    test_wheel._build_requires())
    (own,) = os.listdir(dist)
    own_path = os.path.join(dist, own)
    # the wheel and exactly its dependencies, from the wheelhouse (offline once it is filled)
    test_wheel._pip_from_wheelhouse(sys.executable, ["download", "-q", "-d", local, own_path], [own_path])
    boot, root, folder = _provisioned(tmp_path, wheels=())
    entries = []
    for name in sorted(os.listdir(local)):
        data = open(os.path.join(local, name), "rb").read()
        (folder / name).write_bytes(data)
        entries.append({"name": name, "sha256": hashlib.sha256(data).hexdigest()})
    pyv = "%d.%d" % sys.version_info[:2]
    os.rename(str(folder), str(folder.parent / ("py" + pyv)))
    manifest = {"format": 1, "requirement": "pandascreen", "extras": [], "pythons": {pyv: entries}}
    (folder.parent / "MANIFEST.json").write_text(json.dumps(manifest))
    out = io.StringIO()
    install.Installer(boot, root, out=out, python=sys.executable).run()
    vpy = os.path.join(root, install.VENV, "bin", "python")
    r = subprocess.run([vpy, "-c", "import pandascreen.node.install as m; print(m.__file__)"],
                       capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert os.path.realpath(r.stdout.strip()).startswith(os.path.realpath(os.path.join(root, install.VENV)))
    assert os.path.exists(os.path.join(root, install.VENV, "bin", "pandascreen-install"))
    again = io.StringIO()
    install.Installer(boot, root, out=again, python=sys.executable).run()
    assert "nothing to do" in again.getvalue()


# -- exactly the verified wheels, with a real pip ------------------------------------------------
def _wheel(folder, name, version, files):
    """A minimal wheel zip (METADATA, WHEEL, RECORD) pip installs like any other; returns its path."""
    import base64
    import zipfile
    dist = "%s-%s" % (name, version)
    files = dict(files)
    files[dist + ".dist-info/METADATA"] = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
    files[dist + ".dist-info/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                                       "Tag: py3-none-any\n")
    record = ["%s,sha256=%s,%d" % (p, base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b"=")
                                   .decode(), len(d.encode())) for p, d in files.items()]
    files[dist + ".dist-info/RECORD"] = "\n".join(record + [dist + ".dist-info/RECORD,,"]) + "\n"
    path = os.path.join(str(folder), dist + "-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
    return path


def _evil_wheel(folder, version, marker):
    """demo ``version`` with a .pth: Python runs it at every start of the venv's interpreter (as root)."""
    return _wheel(folder, "demo", version, {"demo.py": "X = 'evil'\n",
                                            "evil.pth": "import os; open(%r, 'w').close()\n" % str(marker)})


@pytest.fixture(scope="module")
def template_venv(tmp_path_factory):
    """One real venv (with this Python's own pip, offline); each test's installer gets a copy."""
    path = str(tmp_path_factory.mktemp("template") / "venv")
    subprocess.run([sys.executable, "-m", "venv", path], check=True, capture_output=True, timeout=300)
    return path


class RealPip:
    """The installer's commands for real, except `python -m venv` (a copy of the template);
    ``before_pip(cmd)`` runs just before pip does, to change files under its feet."""

    def __init__(self, template, before_pip=None):
        self.template = template
        self.before_pip = before_pip

    def __call__(self, cmd, **kw):
        if cmd[1:3] == ["-m", "venv"]:
            shutil.copytree(self.template, cmd[-1], symlinks=True)
            return subprocess.CompletedProcess(cmd, 0, "", "")
        if self.before_pip:
            self.before_pip(cmd)
        return subprocess.run(cmd, **kw)


def _demo_bundle(tmp_path, marker):
    """A bundle listing demo 1.0 only; returns boot, root, its wheel folder."""
    boot = _boot(tmp_path)
    pyv = "%d.%d" % sys.version_info[:2]
    folder = boot / "pandascreen" / "bundle" / ("py" + pyv)
    folder.mkdir(parents=True)
    listed = _wheel(folder, "demo", "1.0", {"demo.py": "X = 'listed'\n"})
    entries = [{"name": os.path.basename(listed), "sha256": bundle.sha256_file(listed)}]
    manifest = {"format": 1, "requirement": "demo", "extras": [], "pythons": {pyv: entries}}
    (boot / "pandascreen" / "bundle" / "MANIFEST.json").write_text(json.dumps(manifest))
    root = tmp_path / "root"
    root.mkdir()
    return str(boot), str(root), folder


def _installed_demo(root, tmp_path):
    vpy = os.path.join(root, install.VENV, "bin", "python")
    r = subprocess.run([vpy, "-c", "import demo; print(demo.X)"], capture_output=True, text=True, timeout=120,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_an_unlisted_wheel_beside_the_bundle_is_never_installed(tmp_path, template_venv):
    marker = tmp_path / "ran-as-root"
    boot, root, folder = _demo_bundle(tmp_path, marker)
    _evil_wheel(folder, "2.0", marker)  # a newer version pip would prefer from a --find-links folder
    out = io.StringIO()
    install.Installer(boot, root, out=out, python=sys.executable, run=RealPip(template_venv)).run()
    assert _installed_demo(root, tmp_path) == "listed" and not marker.exists()
    assert "ignoring 1 file(s) in %s not listed in MANIFEST.json: demo-2.0-py3-none-any.whl" % folder \
        in out.getvalue()


def test_a_wheel_swapped_after_the_check_is_never_installed(tmp_path, template_venv):
    marker = tmp_path / "ran-as-root"
    boot, root, folder = _demo_bundle(tmp_path, marker)
    evil = tmp_path / "evil"
    evil.mkdir()
    swapped = _evil_wheel(evil, "1.0", marker)

    def swap(cmd):
        shutil.copyfile(swapped, str(folder / os.path.basename(swapped)))

    install.Installer(boot, root, out=io.StringIO(), python=sys.executable, run=RealPip(template_venv, swap)).run()
    assert _installed_demo(root, tmp_path) == "listed" and not marker.exists()


def test_pip_itself_checks_the_hashes_of_what_it_installs(tmp_path, template_venv):
    """Even a change to the verified copy (which only root could make) is refused by pip."""
    marker = tmp_path / "ran-as-root"
    boot, root, folder = _demo_bundle(tmp_path, marker)
    evil = tmp_path / "evil"
    evil.mkdir()
    swapped = _evil_wheel(evil, "1.0", marker)
    copies = []

    def swap_the_copy(cmd):
        (line,) = open(cmd[cmd.index("-r") + 1]).read().splitlines()
        copies.append(line.split()[0])
        shutil.copyfile(swapped, copies[0])

    with pytest.raises(InstallError, match="(?s)^pip install failed.*Expected sha256"):
        install.Installer(boot, root, out=io.StringIO(), python=sys.executable,
                          run=RealPip(template_venv, swap_the_copy)).run()
    assert not marker.exists() and not os.path.exists(os.path.dirname(copies[0]))
    assert not os.path.exists(os.path.join(root, install.VENV, install.INSTALLED_MARK))


def test_a_venv_folder_someone_else_can_write_is_refused(tmp_path):
    boot, root, folder = _provisioned(tmp_path)
    venv = os.path.join(root, install.VENV)
    os.makedirs(venv)
    os.chmod(os.path.dirname(venv), 0o775)
    fake = FakeSystem()
    with pytest.raises(InstallError, match="pandascreen is owned by uid .* must belong to root"):
        install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake).run()
    assert fake.calls == []


@pytest.mark.parametrize("name", ["../../../etc/evil.whl", "/etc/evil.whl", ".hidden.whl", "a/b.whl", "x.pth"])
def test_a_manifest_entry_that_is_not_a_wheel_file_name_is_refused(tmp_path, name):
    boot, root, folder = _provisioned(tmp_path)
    manifest_path = os.path.join(boot, "pandascreen", "bundle", "MANIFEST.json")
    manifest = json.load(open(manifest_path))
    manifest["pythons"]["3.11"][0]["name"] = name
    open(manifest_path, "w").write(json.dumps(manifest))
    with pytest.raises(InstallError, match="is not a bundle manifest"):
        install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=FakeSystem()).run()


def test_copies_a_power_cut_left_behind_are_removed_and_a_dry_run_leaves_none(tmp_path):
    boot, root, folder = _provisioned(tmp_path)
    stale = os.path.join(root, "opt", "pandascreen", install.SCRATCH_PREFIX + "old")
    os.makedirs(stale)
    open(os.path.join(stale, "requirements.txt"), "w").close()
    out = io.StringIO()
    install.Installer(boot, root, out=out, py_version="3.11", dry_run=True, run=FakeSystem()).run()
    assert "would run: " in out.getvalue() and os.path.exists(stale)
    install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=FakeSystem()).run()
    assert not [n for n in os.listdir(os.path.dirname(stale)) if n.startswith(install.SCRATCH_PREFIX)]


def test_the_unit_is_read_before_the_bundle_is_installed(tmp_path, monkeypatch):
    """install.sh runs the installer from the boot partition's wheel, which may change once pip runs."""
    boot, root, folder = _provisioned(tmp_path)
    events = []
    real_get_data = install.pkgutil.get_data
    monkeypatch.setattr(install.pkgutil, "get_data", lambda *a: events.append("unit") or real_get_data(*a))
    fake = FakeSystem()
    recording = lambda cmd, **kw: events.append(cmd[1:3] == ["-m", "pip"] and "pip" or "venv") or fake(cmd, **kw)
    install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=recording).run(enable_service=True)
    assert events == ["unit", "venv", "pip"]


# -- install.sh: the first install by hand runs the listed, verified pandascreen wheel -------------
def _fake_own_wheel(folder, version, says):
    """A zip with just pandascreen.node.install, printing what it is and its arguments."""
    import zipfile
    path = os.path.join(str(folder), "pandascreen-%s-py3-none-any.whl" % version)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("pandascreen/__init__.py", "")
        z.writestr("pandascreen/node/__init__.py", "")
        z.writestr("pandascreen/node/install.py", "import sys\nprint(%r, __file__, *sys.argv[1:])\n" % says)
    return path


def _install_sh(tmp_path, tamper=False):
    base = getattr(sys, "_base_executable", sys.executable)  # a Python without pandascreen installed
    pyv = "%d.%d" % sys.version_info[:2]
    boot = _boot(tmp_path)
    folder = boot / "pandascreen" / "bundle" / ("py" + pyv)
    folder.mkdir(parents=True)
    listed = _fake_own_wheel(folder, "0.1.0", "listed-installer")
    _fake_own_wheel(folder, "0.0.1", "unlisted-installer")  # sorts first
    manifest = {"format": 1, "requirement": "pandascreen", "extras": [],
                "pythons": {pyv: [{"name": os.path.basename(listed), "sha256": bundle.sha256_file(listed)}]}}
    (boot / "pandascreen" / "bundle" / "MANIFEST.json").write_text(json.dumps(manifest))
    (boot / "pandascreen" / "bundle" / "install.sh").write_text(bundle.INSTALL_SH)
    if tamper:
        _fake_own_wheel(folder, "0.1.0", "swapped-installer")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(base, str(bin_dir / "python3"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), TMPDIR=str(scratch))
    env.pop("PYTHONPATH", None)
    script = str(boot / "pandascreen" / "bundle" / "install.sh")
    r = subprocess.run(["sh", script, "--root", str(tmp_path / "root")], capture_output=True, text=True,
                       timeout=60, env=env, cwd=str(tmp_path))
    return r, boot, scratch


def test_install_sh_runs_the_listed_wheel_from_a_verified_copy(tmp_path):
    r, boot, scratch = _install_sh(tmp_path)
    assert r.returncode == 0, r.stderr
    said, where, *args = r.stdout.split(" ")
    assert said == "listed-installer" and "unlisted" not in r.stdout
    assert where.startswith(str(scratch) + os.sep) and "pandascreen-0.1.0-py3-none-any.whl" in where
    assert args == ["--boot", str(boot), "--enable-service", "--root", str(tmp_path / "root") + "\n"]
    assert os.listdir(str(scratch)) == []  # the copy is gone afterwards


def test_install_sh_refuses_a_wheel_that_does_not_match_the_manifest(tmp_path):
    r, boot, scratch = _install_sh(tmp_path, tamper=True)
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "does not match its sha256 in MANIFEST.json" in r.stderr
    assert os.listdir(str(scratch)) == []


def test_folders_made_under_a_loose_umask_still_pass_the_next_start(tmp_path):
    boot, root, folder = _provisioned(tmp_path)
    old = os.umask(0o002)
    try:
        install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=FakeSystem()).run()
    finally:
        os.umask(old)
    _write_bundle(tmp_path / "bootfs", ("pandascreen-0.2.0-py3-none-any.whl",))
    install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=FakeSystem()).run()
    for made in ("opt", "opt/pandascreen", install.VENV, install.VENV + "/bin"):
        assert os.stat(os.path.join(root, made)).st_mode & 0o022 == 0, made


def test_a_damaged_bundle_keeps_the_working_venv_running_and_says_why(tmp_path):
    """A newer bundle with a truncated wheel: the unit's pre-start step (--keep-running) leaves the
    venv that works, exits 0 so the screen starts, and records why in upgrade-refused."""
    boot, root, folder = _provisioned(tmp_path)
    fake = FakeSystem()
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake),
                           keep_running=True) == 0
    mark = os.path.join(root, install.VENV, install.INSTALLED_MARK)
    working = open(mark).read()
    refused = os.path.join(root, "var", "lib", "pandascreen", install.REFUSED_NAME)
    assert not os.path.exists(refused)
    new = _write_bundle(tmp_path / "bootfs", ("pandascreen-0.2.0-py3-none-any.whl",))
    with open(str(new / "pandascreen-0.2.0-py3-none-any.whl"), "r+b") as fh:
        fh.truncate(10)
    n = len(fake.calls)
    err = io.StringIO()
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake),
                           keep_running=True, err=err) == 0
    assert not any("install" in c for c in fake.calls[n:])          # pip never touched the venv
    assert open(mark).read() == working
    reason = open(refused).read()
    assert "sha256" in reason and "pandascreen-0.2.0" in reason and len(reason.strip().splitlines()) == 1
    assert "keeps running" in err.getvalue()
    # run by hand (install.sh): the same refusal is an error, the reason is recorded too
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake),
                           err=io.StringIO()) == 2
    # the bundle copied again: the upgrade happens and the reason is gone
    _write_bundle(tmp_path / "bootfs", ("pandascreen-0.2.0-py3-none-any.whl",))
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake),
                           keep_running=True) == 0
    assert not os.path.exists(refused) and open(mark).read() != working


def test_a_damaged_bundle_without_a_working_venv_is_an_error(tmp_path):
    boot, root, folder = _provisioned(tmp_path)
    (folder / "gpiozero-2.0.1-py3-none-any.whl").write_bytes(b"trunc")
    err = io.StringIO()
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=FakeSystem()),
                           keep_running=True, err=err) == 2
    assert "sha256" in err.getvalue()
    # a venv whose pandascreen no longer imports is not a working one either
    inst = install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=FakeSystem())
    os.makedirs(os.path.join(root, install.VENV, "bin"))
    open(os.path.join(root, install.VENV, "bin", "python"), "w").close()
    inst.run_cmd = lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "ImportError")
    assert install.install(inst, keep_running=True, err=io.StringIO()) == 2


def test_the_unit_keeps_the_working_venv_when_an_upgrade_is_refused():
    cp = configparser.ConfigParser(strict=False)
    cp.read_string(install._unit_data().decode())
    assert "--keep-running" in cp["Service"]["ExecStartPre"].split()


def test_a_refused_bundle_leaves_the_config_it_came_with_uninstalled(tmp_path):
    """Provision writes the config and the bundle together: when the bundle is refused, the screen
    keeps running its old venv with its old config, never the old code with a config made for the new."""
    boot, root, folder = _provisioned(tmp_path)
    card_config = os.path.join(boot, "pandascreen", "config.json")
    with open(card_config, "w") as fh:
        json.dump({"festival_id": "fest", "peers": ["10.0.0.2:2026"]}, fh)
    fake = FakeSystem()
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake),
                           keep_running=True) == 0
    installed = os.path.join(root, "etc", "pandascreen", "config.json")
    before = open(installed).read()
    with open(card_config, "w") as fh:
        json.dump({"festival_id": "fest", "peers": ["10.0.0.9:2026"]}, fh)
    new = _write_bundle(tmp_path / "bootfs", ("pandascreen-0.2.0-py3-none-any.whl",))
    with open(str(new / "pandascreen-0.2.0-py3-none-any.whl"), "r+b") as fh:
        fh.truncate(10)
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake),
                           keep_running=True, err=io.StringIO()) == 0
    assert open(installed).read() == before
    # the good bundle again: the config it came with is installed with it
    _write_bundle(tmp_path / "bootfs", ("pandascreen-0.2.0-py3-none-any.whl",))
    assert install.install(install.Installer(boot, root, out=io.StringIO(), py_version="3.11", run=fake),
                           keep_running=True) == 0
    assert "10.0.0.9:2026" in open(installed).read()
