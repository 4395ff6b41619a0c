"""A fake MicroPython board on a fake serial port, for driving mpremote without hardware.

:class:`FakeMicroPython` looks like a ``serial.Serial`` object to mpremote and speaks the
MicroPython REPL protocols:

* friendly REPL (``>>> ``): echoes input, runs a line on Enter, Ctrl-C clears the line,
  Ctrl-D on an empty line soft-resets (and then runs ``main.py`` if ``run_main`` is set),
  Ctrl-B prints the banner, Ctrl-A switches to the raw REPL;
* raw REPL: Ctrl-A answers ``raw REPL; CTRL-B to exit\\r\\n>``; code is collected until Ctrl-D,
  acknowledged with ``OK``, executed, and answered with ``stdout \\x04 traceback \\x04 >``;
  Ctrl-D on an empty buffer soft-resets (``OK\\r\\nMPY: soft reboot\\r\\n`` + raw prompt);
  Ctrl-C clears the buffer; Ctrl-B goes back to the friendly REPL;
* raw-paste request ``\\x05A\\x01``: answered ``R\\x00`` (unsupported) by default, or with
  ``raw_paste=True`` a working raw-paste mode with flow control;
* a "running program" state (``running=True``, or after a soft reset with ``run_main``)
  that ignores input until Ctrl-C, which raises KeyboardInterrupt like a real board.

Received code runs with CPython's ``exec`` in a sandbox-ish namespace: ``os``/``open`` are fakes
bound to a temp folder that plays the board's file system (paths cannot leave it), ``sys`` is a
fake reporting MicroPython's version and ``sys.implementation._mpy``. All processing happens
synchronously inside :meth:`write`, so the fake needs no threads and is deterministic.
"""

import builtins
import errno
import os
import posixpath
import struct
import sys
import time
import types

ARCH_ARMV6M = 4  # MP_NATIVE_ARCH_ARMV6M (RP2040)

BANNER = "MicroPython v{ver} on 2025-12-09; {machine}\r\nType \"help()\" for more information.\r\n"
RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"

PASSTHROUGH = {
    "hashlib": "hashlib", "binascii": "binascii", "ubinascii": "binascii", "json": "json",
    "ujson": "json", "struct": "struct", "ustruct": "struct", "errno": "errno", "uerrno": "errno",
    "io": "io", "uio": "io", "math": "math", "re": "re", "collections": "collections",
}


def mpy_tag(major=6, sub=3, arch=ARCH_ARMV6M):
    """The value MicroPython puts into ``sys.implementation._mpy``."""
    return major | ((sub | (arch << 2)) << 8)


class FakeSerialError(AssertionError):
    pass


class _Stdout:
    def __init__(self, dev):
        self._dev = dev
        self.buffer = self

    def write(self, s):
        if isinstance(s, str):
            s = s.encode("utf-8")
        self._dev._emit_cooked(bytes(s))
        return len(s)

    def flush(self):
        pass


class FakeMicroPython:
    def __init__(self, root, version=(1, 27, 0), mpy=(6, 3, ARCH_ARMV6M), raw_paste=False,
                 machine="Raspberry Pi Pico W with RP2040", platform="rp2", running=False,
                 run_main=False, rename_overwrites=True, window=128):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)
        self.version = tuple(version)
        self.mpy = mpy
        self.raw_paste = raw_paste
        self.machine = machine
        self.platform = platform
        self.run_main = run_main
        self.rename_overwrites = rename_overwrites
        self.window = window
        # pyserial-ish attributes
        self.port = None
        self.is_open = False
        self.timeout = None
        self.dtr = True
        self.rts = True
        # device state
        self.mode = "running" if running else "friendly"
        self.line = bytearray()
        self.out = bytearray()
        self.cwd = "/"
        self.executed = []      # code strings run through the raw REPL, in order
        self.soft_resets = 0
        self.interrupts = 0
        self.paste_remaining = 0
        self.written = bytearray()  # everything the host sent (for assertions)
        self._reset_namespace()

    # -- pyserial API used by mpremote --------------------------------------------------------
    def open(self):
        self.is_open = True

    def isOpen(self):
        return self.is_open

    def close(self):
        self.is_open = False

    def inWaiting(self):
        return len(self.out)

    @property
    def in_waiting(self):
        return len(self.out)

    def reset_input_buffer(self):
        del self.out[:]

    def read(self, n=1):
        if not self.is_open:
            raise FakeSerialError("read from a closed fake serial port")
        if len(self.out) < n:
            raise FakeSerialError(
                "host waits for %d byte(s) but the fake board has only %r to say (mode %s)"
                % (n, bytes(self.out), self.mode))
        data = bytes(self.out[:n])
        del self.out[:n]
        return data

    def write(self, data):
        if not self.is_open:
            raise FakeSerialError("write to a closed fake serial port")
        data = bytes(data)
        self.written += data
        for b in data:
            self._rx(b)
        return len(data)

    def flush(self):
        pass

    # -- output helpers -----------------------------------------------------------------------
    def _emit(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.out += data

    def _emit_cooked(self, data):
        self.out += data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    def banner(self):
        return BANNER.format(ver=".".join(str(x) for x in self.version), machine=self.machine)

    # -- input state machine ------------------------------------------------------------------
    def _rx(self, b):
        mode = self.mode
        if mode == "running":
            if b == 0x03:
                self.interrupts += 1
                self._emit('Traceback (most recent call last):\r\n  File "main.py", line 7, in <module>\r\n'
                           "KeyboardInterrupt: \r\n")
                self.mode = "friendly"
                self._emit(self.banner() + ">>> ")
            return
        if mode == "paste":
            self._rx_paste(b)
            return
        if mode == "raw":
            self._rx_raw(b)
            return
        self._rx_friendly(b)

    def _rx_friendly(self, b):
        if b == 0x01:
            self._emit("\r\n")
            self._enter_raw()
        elif b == 0x02:
            self._emit("\r\n" + self.banner() + ">>> ")
            del self.line[:]
        elif b == 0x03:
            self.interrupts += 1
            del self.line[:]
            self._emit("\r\n>>> ")
        elif b == 0x04:
            if not self.line:
                self._emit("\r\n")
                self._soft_reset(friendly=True)
        elif b == 0x0D:
            src = self.line.decode("utf-8", "replace")
            del self.line[:]
            self._emit("\r\n")
            if src.strip():
                out, err = self._run(src, interactive=True)
                self._emit_cooked(out)
                self._emit(err)
            self._emit(">>> ")
        elif b == 0x0A:
            pass
        else:
            self.line.append(b)
            self._emit(bytes([b]))

    def _enter_raw(self):
        self.mode = "raw"
        del self.line[:]
        self._emit(RAW_PROMPT)

    def _rx_raw(self, b):
        if b == 0x01:
            if len(self.line) == 2 and self.line[0] == 0x05:
                cmd = self.line[1]
                del self.line[:]
                if cmd == ord("A") and self.raw_paste:
                    self._emit(b"R\x01" + struct.pack("<H", self.window))
                    self.mode = "paste"
                    self.paste_remaining = self.window
                else:
                    self._emit(b"R\x00")
                return
            self._emit("\r\n")
            self._enter_raw()
        elif b == 0x02:
            del self.line[:]
            self.mode = "friendly"
            self._emit("\r\n" + self.banner() + ">>> ")
        elif b == 0x03:
            self.interrupts += 1
            del self.line[:]
        elif b == 0x04:
            self._emit(b"OK")
            if not self.line:
                self._emit("\r\n")
                self._soft_reset(friendly=False)
                return
            src = bytes(self.line)
            del self.line[:]
            self._execute_raw(src)
        else:
            self.line.append(b)

    def _rx_paste(self, b):
        if b == 0x04:
            src = bytes(self.line)
            del self.line[:]
            self.mode = "raw"
            self._emit(b"\x04")
            self._execute_raw(src)
            return
        self.line.append(b)
        self.paste_remaining -= 1
        if self.paste_remaining == 0:
            self.paste_remaining = self.window
            self._emit(b"\x01")

    def _execute_raw(self, src):
        text = src.decode("utf-8", "replace")
        self.executed.append(text)
        out, err = self._run(text)
        self._emit_cooked(out)
        self._emit(b"\x04")
        self._emit(err)
        self._emit(b"\x04>")

    def _soft_reset(self, friendly):
        self.soft_resets += 1
        self._emit("MPY: soft reboot\r\n")
        self._reset_namespace()
        if friendly:
            self.mode = "friendly"
            if self.run_main and os.path.isfile(os.path.join(self.root, "main.py")):
                self.mode = "running"
                self._emit("pandascreen starting\r\n")
                return
            self._emit(self.banner() + ">>> ")
        else:
            self._enter_raw()

    # -- execution ----------------------------------------------------------------------------
    def _reset_namespace(self):
        self.cwd = "/"
        self.modules = self._make_modules()
        bi = dict(builtins.__dict__)
        bi["print"] = self._print
        bi["open"] = self._open
        bi["__import__"] = self._import
        bi["input"] = None
        bi["exit"] = bi["quit"] = None
        self.globals = {"__name__": "__main__", "__builtins__": bi}

    def _run(self, src, interactive=False):
        """Run source text; returns (stdout bytes, traceback bytes in MicroPython's format)."""
        start = len(self.out)
        err = b""
        try:
            code = None
            if interactive:
                try:
                    code = compile(src, "<stdin>", "eval")
                except SyntaxError:
                    code = None
            if code is not None:
                value = eval(code, self.globals)
                if value is not None:
                    self._print(repr(value))
            else:
                exec(compile(src, "<stdin>", "exec"), self.globals)
        except SyntaxError as e:
            err = ('Traceback (most recent call last):\r\n  File "<stdin>", line %d\r\n'
                   "SyntaxError: invalid syntax\r\n" % (e.lineno or 1)).encode()
        except BaseException as e:  # noqa: B902 - the board reports everything, even SystemExit
            err = self._format_exception(e).encode("utf-8", "replace")
        out = bytes(self.out[start:])
        del self.out[start:]
        return out, err

    def _format_exception(self, e):
        lines = ["Traceback (most recent call last):"]
        tb = e.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == "<stdin>":
                lines.append('  File "<stdin>", line %d, in %s' % (tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        name = type(e).__name__
        if isinstance(e, OSError) and e.errno is not None:
            name = "OSError"
            msg = "[Errno %d] %s" % (e.errno, errno.errorcode.get(e.errno, str(e.errno)))
        elif isinstance(e, KeyError) and e.args:
            msg = repr(e.args[0])
        else:
            msg = " ".join(str(a) for a in e.args) if e.args else ""
        lines.append("%s: %s" % (name, msg))
        return "\r\n".join(lines) + "\r\n"

    def _print(self, *args, sep=" ", end="\n", file=None):
        text = sep.join(str(a) for a in args) + end
        self._emit_cooked(text.encode("utf-8"))

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        base = name.split(".")[0]
        if base in self.modules:
            return self.modules[base]
        if base in PASSTHROUGH:
            return builtins.__import__(PASSTHROUGH[base], globals, locals, fromlist, level)
        raise ImportError("no module named '%s'" % name)

    # -- the board's file system --------------------------------------------------------------
    def device_path(self, path):
        if not isinstance(path, str):
            raise TypeError("path must be str")
        p = path if path.startswith("/") else posixpath.join(self.cwd, path)
        p = posixpath.normpath(p)
        if p.startswith("//"):
            p = p[1:]
        return p

    def host_path(self, path):
        p = self.device_path(path)
        host = os.path.join(self.root, p.lstrip("/")) if p != "/" else self.root
        real = os.path.realpath(host)
        root = os.path.realpath(self.root)
        if real != root and not real.startswith(root + os.sep):
            raise OSError(errno.EPERM, "EPERM")
        return host

    def _open(self, path, mode="r", *args, **kwargs):
        return builtins.open(self.host_path(path), mode)

    def _stat(self, path):
        st = os.stat(self.host_path(path))
        mode = 0x4000 if os.path.isdir(self.host_path(path)) else 0x8000
        size = 0 if mode == 0x4000 else st.st_size
        t = int(st.st_mtime)
        return (mode, 0, 0, 0, 0, 0, size, t, t, t)

    def _make_modules(self):
        dev = self

        def ilistdir(path=None):
            host = dev.host_path(path if path else dev.cwd)
            names = sorted(os.listdir(host))
            out = []
            for n in names:
                full = os.path.join(host, n)
                if os.path.isdir(full):
                    out.append((n, 0x4000, 0, 0))
                else:
                    out.append((n, 0x8000, 0, os.path.getsize(full)))
            return iter(out)

        def listdir(path=None):
            return [e[0] for e in ilistdir(path)]

        def mkdir(path):
            os.mkdir(dev.host_path(path))

        def rmdir(path):
            os.rmdir(dev.host_path(path))

        def remove(path):
            host = dev.host_path(path)
            if os.path.isdir(host):
                raise OSError(errno.EISDIR, "EISDIR")
            os.remove(host)

        def rename(old, new):
            src, dst = dev.host_path(old), dev.host_path(new)
            if not os.path.exists(src):
                raise OSError(errno.ENOENT, "ENOENT")
            if os.path.exists(dst) and not dev.rename_overwrites:
                raise OSError(errno.EEXIST, "EEXIST")
            os.replace(src, dst)

        def chdir(path):
            p = dev.device_path(path)
            if not os.path.isdir(dev.host_path(p)):
                raise OSError(errno.ENOENT, "ENOENT")
            dev.cwd = p

        def getcwd():
            return dev.cwd

        def stat(path):
            return dev._stat(path)

        def statvfs(path):
            return (4096, 4096, 212, 180, 180, 0, 0, 0, 0, 255)

        def uname():
            return ("rp2", "rp2", ".".join(str(x) for x in dev.version), "v" + ".".join(
                str(x) for x in dev.version), dev.machine)

        def sync():
            pass

        fake_os = types.ModuleType("os")
        for fn in (ilistdir, listdir, mkdir, rmdir, remove, rename, chdir, getcwd, stat, statvfs,
                   uname, sync):
            setattr(fake_os, fn.__name__, fn)
        fake_os.sep = "/"

        stdout = _Stdout(self)
        fake_sys = types.ModuleType("sys")
        impl = types.SimpleNamespace(name="micropython", version=self.version + ("",),
                                     _machine=self.machine)
        if self.mpy is not None:
            impl._mpy = mpy_tag(*self.mpy)
        fake_sys.implementation = impl
        fake_sys.version = "3.4.0; MicroPython v%s" % ".".join(str(x) for x in self.version)
        fake_sys.version_info = (3, 4, 0)
        fake_sys.platform = self.platform
        fake_sys.path = ["", ".frozen", "/lib"]
        fake_sys.modules = {}
        fake_sys.stdout = stdout
        fake_sys.stderr = stdout
        fake_sys.maxsize = 2 ** 31 - 1
        fake_sys.byteorder = "little"
        fake_sys.print_exception = lambda e, f=None: stdout.write(self._format_exception(e))

        def exit(code=0):
            raise SystemExit(code)
        fake_sys.exit = exit

        fake_gc = types.ModuleType("gc")
        fake_gc.collect = lambda: None
        fake_gc.mem_free = lambda: 150000
        fake_gc.mem_alloc = lambda: 50000

        fake_mp = types.ModuleType("micropython")
        fake_mp.const = lambda x: x
        fake_mp.alloc_emergency_exception_buf = lambda n: None
        fake_mp.mem_info = lambda *a: None

        fake_machine = types.ModuleType("machine")
        fake_machine.unique_id = lambda: b"\xe6\x61\x38\x52\x83\x4f\x2a\x21"
        fake_machine.freq = lambda *a: 125000000

        fake_time = types.ModuleType("time")
        fake_time.time = lambda: int(time.time())
        fake_time.sleep = lambda s: None
        fake_time.sleep_ms = lambda s: None
        fake_time.ticks_ms = lambda: int(time.monotonic() * 1000) & 0x3FFFFFFF
        fake_time.ticks_diff = lambda a, b: a - b
        fake_time.localtime = time.gmtime
        fake_time.gmtime = time.gmtime

        modules = {"os": fake_os, "uos": fake_os, "sys": fake_sys, "usys": fake_sys, "gc": fake_gc,
                   "micropython": fake_mp, "machine": fake_machine, "time": fake_time,
                   "utime": fake_time}
        fake_sys.modules.update(modules)
        return modules

    # -- test conveniences --------------------------------------------------------------------
    def files(self):
        """Every file on the fake board, as sorted device paths."""
        out = []
        for dirpath, _dirs, names in os.walk(self.root):
            for n in names:
                rel = os.path.relpath(os.path.join(dirpath, n), self.root)
                out.append("/" + rel.replace(os.sep, "/"))
        return sorted(out)

    def read_file(self, path):
        with builtins.open(self.host_path(path), "rb") as fh:
            return fh.read()


class _FastTime:
    """Stand-in for mpremote's ``time`` module: no 10 ms pauses between 256-byte writes."""
    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)

    @staticmethod
    def sleep(seconds):
        time.sleep(0)


def install(monkeypatch, boards, fast=True):
    """Make ``serial.serial_for_url(port)`` return the fake board registered for ``port``.

    ``boards``: ``{port: FakeMicroPython}`` (or one FakeMicroPython, used for every port).
    Unknown ports fail like a missing device. No real serial port is ever opened.
    """
    import serial

    def factory(url, *args, **kwargs):
        dev = boards if isinstance(boards, FakeMicroPython) else boards.get(url)
        if dev is None:
            raise serial.SerialException("[Errno 2] could not open port %s: No such file or directory" % url)
        dev.port = url
        dev.is_open = not kwargs.get("do_not_open", False)
        dev.timeout = kwargs.get("timeout")
        return dev

    def no_real_ports(*args, **kwargs):
        raise AssertionError("a test tried to open a real serial port")

    monkeypatch.setattr(serial, "serial_for_url", factory)
    monkeypatch.setattr(serial, "Serial", no_real_ports)
    if fast:
        import mpremote.transport_serial as ts
        monkeypatch.setattr(ts, "time", _FastTime)
    return boards


if __name__ == "__main__":  # tiny manual check: python tests/fake_serial.py
    import tempfile
    d = FakeMicroPython(tempfile.mkdtemp())
    d.open()
    d.write(b"\r\x03\r\x01")
    sys.stdout.write(repr(bytes(d.out)) + "\n")
