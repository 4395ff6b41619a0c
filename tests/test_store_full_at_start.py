"""A screen that starts on a full SD card or a read-only one shows the program it holds and says
why nothing new arrives ("disk full", "cannot store"): its store is neither taken for corrupt
and moved aside (an empty program after the disk frees) nor a traceback.  The disk is a small
tmpfs in a private mount namespace (``unshare -rm``), filled up or remounted read-only."""
import os
import subprocess
import sys

import pytest

from pandascreen.core import operation
from pandascreen.core.crypto import public_key
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.testing import festival as demofest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORG = bytes([9] * 32)

# run inside the namespace: the screen's folder is copied onto the small disk, which is then
# filled (or made read-only), and the store is opened as the screen opens it
# both scripts: the screen's folder copied onto the small disk, and how to fill that disk up
ON_THE_DISK = r"""
import os, shutil, sys
src, disk = sys.argv[1], sys.argv[2]
for name in os.listdir(src):
    shutil.copy(os.path.join(src, name), disk)


def fill(disk):
    with open(os.path.join(disk, "filler"), "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
"""

OPEN = ON_THE_DISK + r"""
sys.path[:0] = [sys.argv[3]]
how = sys.argv[4]
if how == "none yet, full":
    os.remove(os.path.join(disk, "festival.db"))
    fill(disk)
    from pandascreen.core.errors import CannotStore
    from pandascreen.node import snapshot
    for _ in range(3):  # systemd restarts the screen
        try:
            snapshot.open_store(os.path.join(disk, "festival.db"))
        except CannotStore as e:
            print("refused", e)
    print(sorted(n for n in os.listdir(disk) if "corrupt" in n))
    sys.exit(0)
if how == "damaged, read-only":
    with open(os.path.join(disk, "festival.db"), "r+b") as f:
        f.write(b"not a database" * 100)
    os.system("mount -o remount,ro %s" % disk)
    from pandascreen.core.errors import IngestError
    from pandascreen.node import snapshot
    try:
        snapshot.open_store(os.path.join(disk, "festival.db"))
    except IngestError as e:
        print("refused", e)
    sys.exit(0)
if how.startswith("full"):
    fill(disk)
else:
    os.system("mount -o remount,ro %s" % disk)
from pandascreen.node import snapshot
said = []
store, notice = snapshot.open_store(os.path.join(disk, "festival.db"), log=said.append)
print(store.count(), store.write_failed, notice, said, sorted(n for n in os.listdir(disk) if "corrupt" in n))
if how == "full, then freed":
    from pandascreen.core import operation, schema
    os.remove(os.path.join(disk, "filler"))
    store._writable_again_at = 0  # its next try is due (every WRITABLE_AGAIN_EVERY seconds)
    body = schema.make_body("venue", "create", "late", {"name": "Late Hall", "order": 99})
    store.publish(bytes([9] * 32), body, operation.log_id_for_festival(sys.argv[5]), 2 ** 60)
    print("then", store.count(), store.write_failed)
"""


def _screen_folder(tmp_path):
    folder = tmp_path / "screen"
    folder.mkdir()
    store = SqliteStore(str(folder / "festival.db"))
    ops = store.publish_many(ORG, demofest.bodies(), operation.log_id_for_festival(demofest.FESTIVAL_ID),
                             demofest.DAY_START * 1000000)
    store.close()
    return folder, len(ops)


def _screen_to_run(tmp_path):
    """``_screen_folder`` with its device key and config: what the app is started with."""
    import json
    folder, _ = _screen_folder(tmp_path)
    (folder / "device.key").write_bytes(bytes(range(32)))
    os.chmod(str(folder / "device.key"), 0o600)
    (folder / "config.json").write_text(json.dumps({
        "festival_id": demofest.FESTIVAL_ID, "organisers": [public_key(ORG).hex()], "store": "festival.db",
        "key": "device.key", "listen_port": 0, "feed_port": 0, "program_page_port": 0}))
    return folder


def _in_a_small_disk(script, *args):
    disk = "/mnt"
    line = 'mount -t tmpfs -o size=4m tmpfs %s && exec "$@"' % disk
    argv = ["unshare", "-rm", "sh", "-c", line, "sh", sys.executable, "-c", script, args[0], disk] + list(args[1:])
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def _can_make_a_disk():
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.parametrize("how, failed", [("full", "full"), ("read-only", "cannot")])
def test_a_store_on_a_disk_that_cannot_write_opens_with_its_program_and_says_why(tmp_path, how, failed):
    assert _can_make_a_disk(), "unshare -rm is needed (user and mount namespaces)"
    folder, n = _screen_folder(tmp_path)
    p = _in_a_small_disk(OPEN, str(folder), os.path.join(ROOT, "firmware"), how)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.stdout.split()[:3] == [str(n), failed, "None"], p.stdout + p.stderr[-500:]
    assert p.stdout.rstrip().endswith("[]"), p.stdout  # nothing moved aside as corrupt


APP = ON_THE_DISK + r"""
import subprocess
root, png = sys.argv[3], sys.argv[4]
fill(disk)
env = dict(os.environ, PYTHONPATH=os.path.join(root, "firmware"))
p = subprocess.run([sys.executable, "-m", "pandascreen.node.app", "--config", os.path.join(disk, "config.json"),
                    "--emulate", png, "--once"], capture_output=True, text=True, env=env, timeout=60)
print(p.returncode, sorted(os.listdir(disk)))
print(p.stdout + p.stderr)
"""


def test_a_screen_started_on_a_full_disk_draws_its_program_and_leaves_no_half_written_file(tmp_path):
    assert _can_make_a_disk(), "unshare -rm is needed (user and mount namespaces)"
    folder = _screen_to_run(tmp_path)
    png = tmp_path / "screen.png"
    p = _in_a_small_disk(APP, str(folder), ROOT, str(png))
    first, _, said = p.stdout.partition("\n")
    code, files = first.split(" ", 1)
    assert code == "0" and "Traceback" not in said and "Traceback" not in p.stderr, p.stdout + p.stderr[-1000:]
    assert "corrupt" not in files and ".tmp" not in files, files
    assert png.exists(), p.stdout


def test_a_damaged_store_on_a_read_only_disk_is_one_line_not_a_traceback(tmp_path):
    assert _can_make_a_disk(), "unshare -rm is needed (user and mount namespaces)"
    folder, _ = _screen_folder(tmp_path)
    p = _in_a_small_disk(OPEN, str(folder), os.path.join(ROOT, "firmware"), "damaged, read-only")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.stdout.startswith("refused the store ") and "cannot be moved aside: Read-only file system" in p.stdout, \
        p.stdout


def test_a_store_opened_on_a_full_disk_writes_again_once_the_disk_has_room(tmp_path):
    assert _can_make_a_disk(), "unshare -rm is needed (user and mount namespaces)"
    folder, n = _screen_folder(tmp_path)
    p = _in_a_small_disk(OPEN, str(folder), os.path.join(ROOT, "firmware"), "full, then freed", demofest.FESTIVAL_ID)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.stdout.splitlines()[-1] == "then %d None" % (n + 1), p.stdout


def test_a_first_start_on_a_full_disk_moves_nothing_aside_and_says_why(tmp_path):
    """No store yet and no room to make one: one line naming the disk, and no empty file taken
    for a corrupt store (a new corrupt-N at every restart under systemd)."""
    assert _can_make_a_disk(), "unshare -rm is needed (user and mount namespaces)"
    folder, _ = _screen_folder(tmp_path)
    p = _in_a_small_disk(OPEN, str(folder), os.path.join(ROOT, "firmware"), "none yet, full")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert len(lines) == 4 and all("the disk is full (nothing was moved aside" in line for line in lines[:3]), p.stdout
    assert lines[3] == "[]", p.stdout


@pytest.mark.parametrize("where", ["folder", "device"])
def test_a_store_path_that_is_a_folder_or_a_device_is_said_as_such(tmp_path, where):
    """"store": "/tmp" or "/dev/null" said "... it opens once the disk takes writes": the disk was
    fine, the path was not a file."""
    from pandascreen.core.errors import ConfigError
    from pandascreen.node import snapshot
    path = str(tmp_path / "store") if where == "folder" else "/dev/null"
    if where == "folder":
        os.mkdir(path)
    for opening in (SqliteStore, snapshot.open_store):  # the screen opens it through the snapshot's check
        with pytest.raises(ConfigError) as e:
            opening(path)
        said = str(e.value)
        assert "disk takes writes" not in said and path in said
        assert ("is a folder" if where == "folder" else "is not a file") in said
    assert os.path.exists(path) and not os.path.exists(path + ".corrupt-0")  # nothing moved aside


WAITS = ON_THE_DISK + r"""
import json, signal, subprocess, time
root, png = sys.argv[3], sys.argv[4]
os.remove(os.path.join(disk, "festival.db"))
fill(disk)
env = dict(os.environ, PYTHONPATH=os.path.join(root, "firmware"))
p = subprocess.Popen([sys.executable, "-m", "pandascreen.node.app", "--config", os.path.join(disk, "config.json"),
                      "--emulate", png], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def status(within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and p.poll() is None:
        try:
            with open(png + ".json") as fh:
                said = json.load(fh).get("status")
            if said is not None and (first is None or said != first):
                return said
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    return None


first = None
first = status(30)
print("running" if p.poll() is None else "ended %s" % p.returncode, first)
os.remove(os.path.join(disk, "filler"))
print("then", status(30), os.path.exists(os.path.join(disk, "festival.db")))
p.send_signal(signal.SIGTERM)
try:
    out = p.communicate(timeout=30)[0]
except subprocess.TimeoutExpired:
    p.kill()
    out = p.communicate()[0]
print("stopped", p.returncode)
print(out)
"""


def test_a_first_start_on_a_full_disk_says_so_on_the_screen_and_starts_once_the_disk_has_room(tmp_path):
    """No store yet and no room to make one: the screen had exited 2, and systemd started it
    again every 5 s with nothing on the panel.  Now it shows "disk full" and waits, trying again,
    and opens the store once the disk takes writes; a stop ends it cleanly."""
    assert _can_make_a_disk(), "unshare -rm is needed (user and mount namespaces)"
    folder = _screen_to_run(tmp_path)
    png = tmp_path / "screen.png"
    line = ('ip link set lo up && mount -t tmpfs -o size=4m tmpfs /mnt && exec "$@"')
    p = subprocess.run(["unshare", "-rmn", "sh", "-c", line, "sh", sys.executable, "-c", WAITS, str(folder), "/mnt",
                        ROOT, str(png)], capture_output=True, text=True, timeout=150)
    lines = p.stdout.splitlines()
    assert lines[0] == "running disk full", p.stdout + p.stderr[-1000:]
    then = lines[1].split()
    assert then[0] == "then" and then[-1] == "True" and "disk" not in lines[1], p.stdout
    assert lines[2] == "stopped 0" and "Traceback" not in p.stdout, p.stdout
