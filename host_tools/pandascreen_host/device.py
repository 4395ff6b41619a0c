"""A MicroPython board on a serial port, driven through mpremote's Python API (raw REPL).

``flash`` and ``provision`` both go through :class:`MicroPythonDevice`, so this is the only module
that knows about mpremote. Files are written to ``NAME.tmp`` first and renamed into place, so a
board unplugged half-way keeps its previous file.
"""

import posixpath

from pandascreen_host.errors import UserError

CHUNK = 512  # bytes of file content per raw-REPL round trip


class DeviceError(UserError):
    pass


def _transport_classes():
    try:
        from mpremote.transport import TransportError, TransportExecError
        from mpremote.transport_serial import SerialTransport
    except ImportError:
        raise UserError("talking to MicroPython boards needs mpremote: pip install 'mpremote>=1.27'")
    return SerialTransport, TransportError, TransportExecError


def _last_line(text):
    lines = [ln.strip() for ln in str(text).replace("\r", "").split("\n") if ln.strip()]
    return lines[-1] if lines else "unknown error"


def parse_mpy_tag(value):
    """Split ``sys.implementation._mpy`` into (major version, sub-version, native arch)."""
    value = int(value)
    return value & 0xFF, (value >> 8) & 3, value >> 10


class MicroPythonDevice:
    """Open with ``with MicroPythonDevice("/dev/ttyACM0") as dev: ...``."""

    def __init__(self, port, baudrate=115200, soft_reset=True):
        self.port = port
        self.baudrate = baudrate
        self.soft_reset = soft_reset
        self._t = None
        SerialTransport, self._TransportError, self._ExecError = _transport_classes()
        self._SerialTransport = SerialTransport

    # -- connection --------------------------------------------------------------------------
    def open(self):
        if self._t is not None:
            return self
        try:
            t = self._SerialTransport(self.port, baudrate=self.baudrate)
        except self._TransportError:
            raise DeviceError(
                "cannot open serial port %s: is the board plugged in, is the port right "
                "(`mpremote connect list` shows ports), and may you use it (Linux: dialout group)?"
                % self.port)
        try:
            t.enter_raw_repl(soft_reset=self.soft_reset)
        except self._TransportError as e:
            try:
                t.close()
            except Exception:
                pass
            raise DeviceError(
                "%s does not answer like MicroPython (%s); is MicroPython installed, and is no other "
                "program (Thonny, screen, another mpremote) using the port?" % (self.port, e))
        self._t = t
        return self

    def close(self):
        t, self._t = self._t, None
        if t is None:
            return
        try:
            t.exit_raw_repl()
        except Exception:
            pass
        try:
            t.close()
        except Exception:
            pass

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def transport(self):
        if self._t is None:
            self.open()
        return self._t

    # -- code --------------------------------------------------------------------------------
    def exec(self, code):
        """Run ``code`` on the board; returns what it printed (str). Errors become DeviceError."""
        try:
            out = self.transport.exec(code)
        except self._ExecError as e:
            raise DeviceError("the board reported: %s" % _last_line(e.error_output))
        except self._TransportError as e:
            raise DeviceError("lost contact with the board on %s: %s" % (self.port, e))
        return out.decode("utf-8", "replace")

    def eval(self, expression):
        import ast
        text = self.exec("print(repr(%s))" % expression).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise DeviceError("unexpected answer from the board: %r" % text[:80])

    def mpy_version(self):
        """(major, sub, arch) from ``sys.implementation._mpy``, or None if the board has no such field."""
        value = self.eval("getattr(__import__('sys').implementation, '_mpy', None)")
        if value is None:
            return None
        return parse_mpy_tag(value)

    def micropython_version(self):
        """e.g. "1.27.0" (from ``sys.implementation.version``)."""
        v = self.eval("tuple(__import__('sys').implementation.version)")
        return ".".join(str(x) for x in v[:3])

    # -- files -------------------------------------------------------------------------------
    def _fs(self, fn, path, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self._ExecError as e:
            raise DeviceError("%s: %s" % (path, _last_line(e.error_output)))
        except self._TransportError as e:
            raise DeviceError("lost contact with the board on %s: %s" % (self.port, e))
        except OSError as e:
            raise DeviceError("%s on the board: %s" % (path, e.strerror or e))

    def listdir(self, path="/"):
        entries = self._fs(self.transport.fs_listdir, path, path)
        return sorted(e.name for e in entries)

    def stat(self, path):
        """os.stat-like tuple or None if ``path`` does not exist."""
        try:
            return self.transport.fs_stat(path)
        except OSError:
            return None
        except self._TransportError as e:
            raise DeviceError("lost contact with the board on %s: %s" % (self.port, e))

    def exists(self, path):
        return self.stat(path) is not None

    def isdir(self, path):
        st = self.stat(path)
        return st is not None and (st[0] & 0x4000) != 0

    def mkdir(self, path):
        """Create ``path`` and missing parents; fine if it exists already."""
        path = posixpath.normpath(path)
        parts = [p for p in path.split("/") if p]
        cur = ""
        for part in parts:
            cur += "/" + part
            st = self.stat(cur)
            if st is None:
                self._fs(self.transport.fs_mkdir, cur, cur)
            elif not st[0] & 0x4000:
                raise DeviceError("%s on the board is a file, expected a folder" % cur)

    def remove(self, path):
        self._fs(self.transport.fs_rmfile, path, path)

    def read(self, path):
        return bytes(self._fs(self.transport.fs_readfile, path, path, chunk_size=CHUNK))

    def sha256(self, path):
        """SHA-256 of a file on the board (hashed on the board when it can), or None if missing."""
        if not self.exists(path):
            return None
        return bytes(self._fs(self.transport.fs_hashfile, path, path, "sha256"))

    def put_bytes(self, data, remote, progress=None, skip_same=True):
        """Write ``data`` to ``remote`` via ``remote.tmp`` + rename. Returns "written" or "unchanged"."""
        import hashlib
        data = bytes(data)
        if skip_same:
            st = self.stat(remote)
            if st is not None and st[6] == len(data) and self.sha256(remote) == hashlib.sha256(data).digest():
                if progress is not None:
                    progress(len(data), len(data))
                return "unchanged"
        parent = posixpath.dirname(remote)
        if parent and parent != "/":
            self.mkdir(parent)
        tmp = remote + ".tmp"
        self._fs(self.transport.fs_writefile, remote, tmp, data, chunk_size=CHUNK,
                 progress_callback=progress)
        if progress is not None and not data:
            progress(0, 0)
        self.exec(
            "import os\n"
            "try:\n"
            " os.rename(%r,%r)\n"
            "except OSError:\n"
            " os.remove(%r)\n"
            " os.rename(%r,%r)\n" % (tmp, remote, remote, tmp, remote))
        return "written"

    def put(self, local, remote, progress=None, skip_same=True):
        """Copy the host file ``local`` to ``remote`` on the board (see :meth:`put_bytes`)."""
        try:
            with open(local, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise UserError("cannot read %s: %s" % (local, e.strerror or e))
        return self.put_bytes(data, remote, progress=progress, skip_same=skip_same)
