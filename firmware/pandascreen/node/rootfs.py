"""Reading and writing files as root in places another user may control.

The installer runs as root at every boot, while the service user owns ``/var/lib/pandascreen``
and anyone with the SD card owns the boot partition. Whatever such a user leaves there (a
symlink, a FIFO, a huge file, a file swapped between two reads) must not make root write
elsewhere, wait forever or read something other than what it checked. So:

* every read opens the name itself (``O_NOFOLLOW``) without waiting (``O_NONBLOCK``: opening a
  FIFO would block until someone writes), accepts only a regular file and reads a bounded size;
* every write goes to a fresh random name in the target folder (``O_CREAT|O_EXCL|O_NOFOLLOW``)
  and is renamed over the target, all through a descriptor of the folder;
* folders whose contents root trusts later (configuration, the unit, the venv) must be owned
  by root and writable by nobody else, as sshd's StrictModes and systemd ask of theirs.

Every refusal is one ``InstallError`` line naming the path and what to do.
"""

import binascii
import errno
import os
import stat

from pandascreen.core.errors import InstallError

READ_LIMIT = 1 << 20    # configuration, manifests, profiles, the unit: far below a mebibyte
_CHUNK = 1 << 20


def _kind(mode):
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path, dir_fd=None, shown=None):
    """A read descriptor of the regular file ``path`` itself (relative to folder ``dir_fd`` when
    given; errors name it ``shown``); a symlink or special file is refused."""
    shown = shown or path
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InstallError("%s is a symbolic link; refusing to follow it (remove it and run again)" % shown)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InstallError("%s is %s, not a regular file; refusing to read it (remove it and run again)"
                               % (shown, _kind(st.st_mode)))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path, limit=READ_LIMIT):
    """The bytes of the regular file ``path`` (at most ``limit``; a larger file is refused)."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InstallError("%s is larger than %d bytes; refusing to read it" % (path, limit))
    return data


def open_dir(path):
    """A descriptor of directory ``path`` itself (never a symlink's target)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def require_trusted_dir(path, top):
    """Refuse unless ``path`` and each existing folder from ``top`` down to it is owned by us
    (root) and not writable by group or others: files root reads back from there later are
    trusted, so nobody else may be able to add, swap or symlink them."""
    top = os.path.abspath(top)
    path = os.path.abspath(path)
    chain = [path]
    while chain[-1] != top and os.path.dirname(chain[-1]) != chain[-1]:
        chain.append(os.path.dirname(chain[-1]))
    for folder in reversed(chain):
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            raise InstallError("%s is a symbolic link; refusing to install through it" % folder)
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise InstallError("%s is owned by uid %d with mode %03o; it must belong to root and be writable "
                               "by nobody else (chown root: and chmod go-w it, then run again)"
                               % (folder, st.st_uid, stat.S_IMODE(st.st_mode)))


def make_dir(path, mode, owner=None):
    """Create ``path`` if needed and give the folder itself (not a symlink's target) ``mode``."""
    os.makedirs(path, exist_ok=True)
    dfd = open_dir(path)
    try:
        os.fchmod(dfd, mode)
        if owner is not None and os.geteuid() == 0:
            os.fchown(dfd, owner[0], owner[1])
    finally:
        os.close(dfd)


def write_atomic(path, data, mode, owner=None):
    """Write ``data`` to ``path``, safe against a planted symlink.

    Every step goes through a descriptor of the directory: the temporary file gets a random
    name and is created with O_CREAT|O_EXCL|O_NOFOLLOW (a symlink or file planted under any
    name makes the open fail instead of writing through it), mode ``mode`` from its first byte
    (the umask is cleared around the open, fchmod repeats it), then renamed over ``path``; a
    rename replaces a symlink at ``path`` itself, never its target.
    """
    directory, name = os.path.split(path)
    dfd = open_dir(directory)
    try:
        tmp = ".%s.%s.tmp" % (name, binascii.hexlify(os.urandom(8)).decode("ascii"))
        old_umask = os.umask(0o077)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=dfd)
        finally:
            os.umask(old_umask)
        try:
            try:
                os.fchmod(fd, mode)
                if owner is not None and os.geteuid() == 0:
                    os.fchown(fd, owner[0], owner[1])
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        os.fsync(dfd)
    finally:
        os.close(dfd)


def copy_regular(src_dir_fd, name, dst_dir, where):
    """Copy the regular file ``name`` of folder ``src_dir_fd`` into ``dst_dir`` (a folder only we
    can write) and return the copy's path; ``where`` names the source folder in errors. At most
    the size the file had when opened is copied, so a file that keeps growing cannot fill the disk."""
    fd = open_regular(name, dir_fd=src_dir_fd, shown=os.path.join(where, name))
    dst = os.path.join(dst_dir, name)
    try:
        left = os.fstat(fd).st_size
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            while left > 0:
                chunk = os.read(fd, min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
        finally:
            os.close(out)
    except OSError as e:
        raise InstallError("cannot copy %s from %s: %s" % (name, where, e.strerror or e))
    finally:
        os.close(fd)
    return dst
