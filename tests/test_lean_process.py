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
