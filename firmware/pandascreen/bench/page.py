"""Benchmark section: the program page for phones (node/program_page.py) under 200 phones.

The page server runs in a process of its own (as on a Pi, where it shares the screen's process
with nothing this benchmark adds), with the demo festival.  200 phones, each from its own
loopback address (127.0.0.2 ...; the per-address limit applies as on the festival Wi-Fi), hold a
live-update stream open and load the page (``GET /`` accepting gzip, as phones do; a new
connection each time) ``rounds`` times at once; every load is a sample, from connect to the
last byte.  With ../shared's 38c3 Fahrplan at hand (and the host tools' importer), a row for a
1007-event program too.

Floor, measured in the same run: the same server class answering a fixed 200-byte page to
the same 200 phones (connections, threads, HTTP parsing; no rendering, no schedule).  Beside
them, the server's peak resident memory (VmHWM) after each run.

Goal: p99 page load <= 300 ms with 200 phones listening at once, memory bounded.
"""

import asyncio
import os
import subprocess
import sys
import time

GOAL_P99_MS = 300
PHONES = 200

_SERVER = r"""
import sys, threading
from pandascreen.bench import page
page._serve(sys.argv[1])
"""


def _pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


class _FixedSource:
    """A ProgramSource stand-in answering one fixed 200-byte page: the floor."""

    BODY = (b"<!doctype html><title>floor</title><main id=main data-key=0>" + b"x" * 200)[:200]

    clock = staticmethod(time.time)

    def version(self):
        return 0

    def pages(self):
        return "0", self.BODY, self.BODY

    def words(self):
        from pandascreen.node import i18n
        return i18n.labels(i18n.DEFAULT)


def _serve(kind):
    """In the server process: serve ``kind`` ("page" or "floor") on a free port, print it, and
    serve until stdin closes; then print the peak resident memory in KiB."""
    from pandascreen.testing import festival as demofest
    from pandascreen.core import operation
    from pandascreen.core.store import MemoryStore
    from pandascreen.node import program_page
    if kind == "floor":
        source = _FixedSource()
    elif kind == "38c3":
        from pandascreen.bench import feed
        store, log_id, _fid = feed.festival()
        sched = program_page.store_schedule(store, log_id)
        now = feed.busiest(sched())
        source = program_page.ProgramSource(sched, clock=lambda: now)
    else:
        store = MemoryStore()
        log_id = operation.log_id_for_festival(demofest.FESTIVAL_ID)
        demofest.publish(store, bytes(range(1, 33)), log_id)
        now = demofest.DAY_START + 3600
        source = program_page.ProgramSource(program_page.store_schedule(store, log_id), clock=lambda: now)
    page = program_page.ProgramPage(source, "127.0.0.1", 0).start()
    sys.stdout.write("%d\n" % page.port)
    sys.stdout.flush()
    sys.stdin.read()
    page.stop()
    sys.stdout.write("%d\n" % _peak_kib())
    sys.stdout.flush()


def _peak_kib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def _load(port, source_ip, timeout):
    """One page load from ``source_ip``: (ms from connect to the last byte, HTTP status)."""
    t = time.perf_counter()
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(source_ip, 0)), timeout)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n")
    data = await asyncio.wait_for(reader.read(-1), timeout)
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return (time.perf_counter() - t) * 1000, status


async def _listen(port, source_ip, ready, stop, timeout):
    """A phone's live-update stream, held open until ``stop``; True when it was admitted."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(source_ip, 0)), timeout)
    writer.write(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = await asyncio.wait_for(reader.readline(), timeout)
    ready.append(b" 200 " in head)
    await stop.wait()
    writer.close()


async def _phones(port, phones, rounds, listen, timeout=30):
    stop = asyncio.Event()
    ready = []
    ips = ["127.0.%d.%d" % (2 + i // 250, 2 + i % 250) for i in range(phones)]
    holders = [asyncio.ensure_future(_listen(port, ip, ready, stop, timeout)) for ip in ips] if listen else []
    deadline = time.monotonic() + timeout
    while listen and len(ready) < phones and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    samples, bad = [], 0
    for _ in range(rounds):
        for ms, status in await asyncio.gather(*[_load(port, ip, timeout) for ip in ips]):
            samples.append(ms)
            bad += status != 200
    stop.set()
    await asyncio.gather(*holders, return_exceptions=True)
    return samples, bad, sum(ready)


def _run_one(kind, phones, rounds, listen):
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        port = int(proc.stdout.readline())
        asyncio.run(_phones(port, min(phones, 20), 1, False))  # warm-up
        samples, bad, listening = asyncio.run(_phones(port, phones, rounds, listen))
        proc.stdin.close()
        peak = int(proc.stdout.readline() or 0)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return {"p50_ms": _pct(samples, 0.5), "p99_ms": _pct(samples, 0.99), "max_ms": max(samples),
            "loads": len(samples), "not_200": bad, "listening": listening, "peak_rss_mib": peak / 1024}


def run(quick=False, phones=None, rounds=None):
    phones = phones or (20 if quick else PHONES)
    rounds = rounds or (2 if quick else 5)
    out = {"phones": phones, "rounds": rounds, "cores": os.cpu_count(),
           "floor": _run_one("floor", phones, rounds, listen=True),
           "page": _run_one("page", phones, rounds, listen=True)}
    if not quick and _has_38c3():
        out["38c3"] = _run_one("38c3", phones, rounds, listen=True)
    return out


def _has_38c3():
    from pandascreen.bench import feed
    try:
        import pandascreen_host  # noqa: F401  (the frab importer)
    except ImportError:
        return False
    return os.path.exists(feed.FIXTURE)


def report(r):
    from pandascreen.node import program_page
    lines = ["pandascreen program page for phones: %d phones (own loopback addresses) each holding a live "
             "stream and loading the page %d times at once; %d CPU cores" % (r["phones"], r["rounds"], r["cores"]), ""]
    for key, label in (("floor", "floor: fixed 200-byte page, same server"),
                       ("page", "program page (demo festival)"),
                       ("38c3", "program page (38c3: 1007 events, gzip)")):
        x = r.get(key)
        if x is None:
            continue
        lines.append("%-42s p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (%d loads, %d not 200, %d streams)  "
                     "server peak RSS %.1f MiB" % (label, x["p50_ms"], x["p99_ms"], x["max_ms"], x["loads"],
                                                    x["not_200"], x["listening"], x["peak_rss_mib"]))
    lines.append("")
    lines.append("goal: p99 <= %d ms with %d phones listening.  Limits: %d connections in all, %d live streams, "
                 "%d per phone address, %d s per stalled read/write, streams end after %d s (the browser "
                 "reconnects)." % (GOAL_P99_MS, PHONES, program_page.MAX_CONNECTIONS, program_page.MAX_LISTENERS,
                                  program_page.MAX_PER_ADDRESS, program_page.TIMEOUT, program_page.STREAM_LIFETIME))
    return "\n".join(lines)
