"""What a screen's process keeps out and gives back (node/lean_process.py), each in a process of
its own: keeping a module out and returning memory are both process-wide."""

import subprocess
import sys

from pandascreen.node import lean_process


def _run(code):
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def test_without_tls_marks_ssl_absent_and_leaves_one_already_loaded():
    modules = {}
    lean_process.without_tls(modules)
    assert modules == {"ssl": None}
    loaded = object()
    modules = {"ssl": loaded}
    lean_process.without_tls(modules)
    assert modules["ssl"] is loaded


def test_asyncio_serves_plain_tcp_without_tls_and_openssl_stays_unloaded():
    out = _run("""
import sys
from pandascreen.node import lean_process
lean_process.without_tls()
import asyncio
async def main():
    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    writer.write(b"now and next\\n")
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    server.close()
    return line
line = asyncio.run(main())
maps = open("/proc/self/maps").read()
print(line.decode().strip(), sys.modules.get("ssl"), "_ssl" in sys.modules, "libssl" in maps or "libcrypto" in maps)
""")
    assert out.split() == ["now", "and", "next", "None", "False", "False"], out


def test_give_back_returns_the_free_pages_inside_the_heap():
    """64 MB in 4 KB blocks (malloc's heap, not Python's small-object arenas), every 64th kept:
    the heap cannot shrink from its top, so its free pages stay resident until given back."""
    out = _run("""
from pandascreen.node import lean_process
def anon_kb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
blocks = [bytes(4096) for _ in range(16384)]
kept = blocks[::64]
del blocks
before = anon_kb()
gave = lean_process.give_back()
print(gave, before, anon_kb(), len(kept))
""")
    gave, before, after, _ = out.split()
    assert gave == "True"
    assert int(before) - int(after) > 40 * 1024, out


def test_give_back_is_nothing_where_the_c_library_has_no_malloc_trim(monkeypatch):
    class NoTrim:
        pass
    monkeypatch.setattr(lean_process, "_libc", lambda: NoTrim())
    assert lean_process.give_back() is False


def test_give_back_code_returns_read_only_file_pages_and_they_read_back_the_same(tmp_path):
    """A private read-only mapping of a file (how a library's code and constants are mapped),
    every page read: given back, its pages leave the process's RSS; read again, they come back
    from the file as they were.  The process's own memory (anon) stays where it is.  Run by a
    user who neither owns the file nor may write it, as a screen's user (``pandascreen``) runs
    code from root's venv and libraries."""
    data = tmp_path / "code.bin"
    data.write_bytes(bytes(range(256)) * (32 * 1024))  # 8 MB
    out = _run("""
import ctypes, hashlib, mmap, os  # ctypes loaded before the user changes, as on a screen (iroh's binding)
from pandascreen.node import lean_process
def rss():
    fields = {}
    for line in open("/proc/self/status"):
        if line.startswith(("RssFile:", "RssAnon:")):
            fields[line.split(":")[0]] = int(line.split()[1])
    return fields["RssFile"], fields["RssAnon"]
fd = os.open(%r, os.O_RDONLY)
size = os.fstat(fd).st_size
view = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
if os.getuid() == 0:  # root may do anything with any file: be the screen's kind of user
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
first = hashlib.sha256(view).hexdigest()
kept = bytearray(4 * 1024 * 1024)
kept[::4096] = b"x" * len(kept[::4096])
file_before, anon_before = rss()
gave = lean_process.give_back_code()
file_after, anon_after = rss()
again = hashlib.sha256(view).hexdigest()
print(gave, file_before - file_after, anon_before - anon_after, first == again)
""" % str(data))
    gave, file_freed, anon_freed, same = out.split()
    assert gave == "True", out
    assert int(file_freed) > 6 * 1024, out
    assert abs(int(anon_freed)) < 1024, out
    assert same == "True", out


def test_give_back_code_keeps_a_read_only_page_the_process_changed_before(tmp_path):
    """A library's relocated pointers are pages the loader wrote, then made read-only: a read-only
    private mapping whose pages are the process's own now, not the file's.  Read back from the
    file they would be wrong, so such a mapping is left as it is."""
    data = tmp_path / "relocated.bin"
    data.write_bytes(bytes(2 * 1024 * 1024))
    out = _run("""
import ctypes, mmap, os
from pandascreen.node import lean_process
fd = os.open(%r, os.O_RDONLY)
view = mmap.mmap(fd, 2 * 1024 * 1024, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
view[4096:4100] = b"moved"[:4]
start = [int(line.split("-")[0], 16) for line in open("/proc/self/maps") if %r in line][0]
libc = ctypes.CDLL(None)
libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
assert libc.mprotect(start, 2 * 1024 * 1024, mmap.PROT_READ) == 0
lean_process.give_back_code()
print(bytes(view[4096:4100]))
""" % (str(data), str(data)))
    assert out.strip() == "b'move'", out


SMAPS = """7f0000000000-7f0000002000 r-xp 00000000 fd:00 11 /usr/lib/libcode.so
Rss:                   8 kB
Anonymous:             0 kB
7f0000002000-7f0000003000 r--p 00002000 fd:00 11 /usr/lib/libcode.so
Rss:                   4 kB
Anonymous:             0 kB
7f0000003000-7f0000004000 r--p 00003000 fd:00 11 /usr/lib/libcode.so
Rss:                   4 kB
Anonymous:             4 kB
7f0000004000-7f0000005000 rw-p 00004000 fd:00 11 /usr/lib/libcode.so
Anonymous:             4 kB
7f0000005000-7f0000006000 r--s 00000000 fd:00 12 /var/lib/store.sqlite
Anonymous:             0 kB
7f0000006000-7f0000007000 rw-p 00000000 00:00 0 
Anonymous:             4 kB
7f0000007000-7f0000008000 rw-p 00000000 00:00 0                          [heap]
Anonymous:             4 kB
7f0000008000-7f0000009000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
"""


def test_give_back_code_asks_only_for_read_only_file_mappings_the_file_holds_as_they_are(monkeypatch):
    """A writable mapping holds the process's own changes, a shared one is written through to its
    file, a read-only one with pages of the process's own (relocations) would read back wrong,
    an anonymous one has no file to come back from."""
    asked = []
    monkeypatch.setattr(lean_process, "_unmap_pages", lambda start, length: asked.append((start, length)) or 0)
    assert lean_process.give_back_code(smaps=SMAPS) is True
    assert asked == [(0x7f0000000000, 0x2000), (0x7f0000002000, 0x1000)]


def test_give_back_code_is_nothing_where_the_kernel_refuses(monkeypatch):
    monkeypatch.setattr(lean_process, "_unmap_pages", lambda start, length: -1)
    assert lean_process.give_back_code(smaps=SMAPS) is False
