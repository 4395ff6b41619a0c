"""Careful file writing: atomic replace, secret files that are never readable by others."""

import errno
import os
import sys

from pandascreen_host.errors import UserError


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # FAT mounts and some platforms cannot fsync a directory
    finally:
        os.close(fd)


def _tmp_fd(directory, base, mode):
    """Create a fresh temp file next to the target with ``mode`` from the start (O_EXCL)."""
    for _ in range(100):
        name = os.path.join(directory, ".%s.%s.tmp" % (base, os.urandom(4).hex()))
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        try:
            os.fchmod(fd, mode)  # exact mode regardless of umask
        except OSError:
            pass  # FAT file systems have no Unix permissions
        return fd, name
    raise OSError(errno.EEXIST, "could not create a temporary file in %s" % directory)


def atomic_write(path, data, mode=0o644, overwrite=True, what="file"):
    """Write ``data`` to ``path`` so readers see either the old or the new file, never half of it.

    The content goes to a temp file in the same folder (created with ``mode``, O_EXCL), is
    fsync'ed, then renamed over ``path``. With ``overwrite=False`` an existing ``path`` is never
    replaced (raises UserError) -- done with a hard link where the file system allows it, so there
    is no window in which a concurrent writer could be clobbered.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(directory):
        raise UserError("folder %s does not exist" % directory)
    if not overwrite and os.path.lexists(path):
        raise UserError("%s %s already exists" % (what, path))
    try:
        _write_into_place(path, data, mode, overwrite, what, directory)
    except OSError as e:
        raise _cannot_write(path, e)


def _write_into_place(path, data, mode, overwrite, what, directory):
    """``atomic_write``'s steps: the temp file written and fsync'ed, then renamed (or linked) over
    ``path``; the temp file never stays behind."""
    fd, tmp = _tmp_fd(directory, os.path.basename(path), mode)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise UserError("%s %s already exists" % (what, path))
            except OSError:
                # vfat and friends have no hard links: check-then-rename instead.
                if os.path.lexists(path):
                    raise UserError("%s %s already exists" % (what, path))
                os.rename(tmp, path)
            else:
                os.unlink(tmp)
        tmp = None
        _fsync_dir(directory)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# what the disk says when it takes no more (full, over quota, read-only, failing): the user's to
# mend, said in one line; any other error is a fault of the tool and keeps its traceback
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)


def _cannot_write(path, error):
    if getattr(error, "errno", None) in DISK_ERRORS:
        return UserError("cannot write %s: %s; make room (or mount it writable) and run the command again"
                         % (path, error.strerror or error))
    return error


def write_secret(path, data, overwrite=False, what="secret file"):
    """Like :func:`atomic_write` with mode 0600 from the first byte on (no window where it is 0644)."""
    atomic_write(path, data, mode=0o600, overwrite=overwrite, what=what)


def is_private(path):
    """True if nobody but the owner may read ``path`` (always True where modes do not exist)."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    if os.name != "posix":
        return True
    return (st.st_mode & 0o077) == 0


def read_small(path, limit, what):
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise UserError("%s %s does not exist" % (what, path))
    except IsADirectoryError:
        raise UserError("%s %s is a folder, not a file" % (what, path))
    except PermissionError:
        raise UserError("no permission to read %s %s" % (what, path))
    if len(data) > limit:
        raise UserError("%s %s is larger than %d bytes" % (what, path, limit))
    return data


def load_seed(path, what="device key", private=True):
    """A key file: exactly 32 bytes, an Ed25519 seed (``what``: a device's or the organiser's).
    ``private``: the file is the laptop's own, so one that others may read is said on stderr (the
    key never is); a card's FAT partition, which has no modes, passes False."""
    data = read_small(path, 64, what)
    if len(data) != 32:
        raise UserError("%s %s must be exactly 32 bytes (an Ed25519 seed), it has %d" % (what, path, len(data)))
    if private and not is_private(path):
        sys.stderr.write("warning: %s %s is readable by other users; run: chmod 600 %s\n" % (what, path, path))
    return data
