"""Benchmark section: what a Pico W pays to check signed data, measured on MicroPython 1.27.

The board has no PyNaCl or blake3 wheel, so it runs the pure-Python Ed25519/BLAKE3 of
``pandascreen.core``.  This section runs them on MicroPython (testing/micropython.py: a 32-bit unix
build with the Pico W's heap as a hard cap, ``-X heapsize=180K``, where
$PANDASCREEN_MICROPYTHON_UNIX32 names one; else the npm WebAssembly port, also 32-bit) and
prints, beside each figure, its floor measured in the same run: the same work on CPython with
the PyNaCl/blake3 wheels (CPU time, median of batches).

- time per Ed25519 verification, per full operation check (decode + signature + payload
  hash) and per BLAKE3 of 1 KiB, two ways: wall time of each call inside MicroPython (median,
  min..max over repeats after warm-up), and CPU time per call, from the child's rusage over a
  batch minus a run of the same script without the batch (min of 3).  On a machine busy with
  other work the wall times spread; the CPU time is what a board, running nothing else, pays;
- heap: bytes kept live by importing the core (gc.collect(); gc.mem_alloc()); with a 32-bit unix
  build, also the smallest ``-X heapsize`` (bisected) that still imports the core and checks one
  operation -- the honest peak, since MicroPython only collects when an allocation fails;
- an RP2040 estimate, labelled as one: CPU time here x a fixed factor per port and kind of work
  (``RP2040_FACTORS``), each the time an emulated RP2040 took (MicroPython 1.27's rp2 port at
  125 MHz in rp2040js: one Ed25519 verify 1.24 s, a feed update check 1.08 s, one 128x64 frame
  0.2 s, the first screen 2.8 s) over the CPU time the same work took on that port here (median
  of batches, a 2.0 GHz x86-64 shared by other jobs: unix32 verify 20.1 ms, update check 22.6 ms,
  frame 5.4 ms; WebAssembly 17.8, 26.1 and 20.8 ms).  The factors differ by kind because the two
  ports do: the WebAssembly port runs big-integer code (Ed25519) about as fast as the unix port
  but small-integer Python (drawing, BLAKE3) about 4x slower (frame 3.9x, BLAKE3 of 1 KiB 4.3x).
  BLAKE3 is counted as small-integer work, like the frame.  On a faster or slower host the
  estimates scale with it.  Why not a CoreMark ratio (the RP2040's 228 at 125 MHz against ~5
  CoreMark/MHz for a desktop core): it says 0.41-0.47 s per verify, about 2.5x too little, since
  pure-Python big-integer code gains less from a desktop core than CoreMark does.
"""

import resource
import time

from pandascreen.testing import micropython as ports
from pandascreen.bench import timed

PICO_W_HEAP_KB = 180
CORE_MODULES = "cbor, crypto, operation, schema, store, schedule, layout, font, config"
# measured on an emulated RP2040 (MicroPython 1.27 rp2 port, 125 MHz, rp2040js), seconds
RP2040_EMULATED = {"verify_us": 1.24, "update_us": 1.08, "frame_us": 0.2, "first_screen": 2.8}
# RP2040 seconds per CPU second on each port, by kind of work: the emulated figure over this
# host's CPU time for the same work (module doc)
RP2040_FACTORS = {
    "unix32": {"big_int": 1.24 / 0.0201, "feed": 1.08 / 0.0226, "small_int": 0.2 / 0.0054},
    "wasm": {"big_int": 1.24 / 0.0178, "feed": 1.08 / 0.0261, "small_int": 0.2 / 0.0208},
}
KIND = {"verify_us": "big_int", "op_check_us": "big_int", "blake3_1k_us": "small_int",
        "update_us": "feed", "first_us": "feed", "frame_us": "small_int",
        "boot_us": "small_int"}  # imports, the saved feed's structure walk and SHA-256, a frame: no big integers


def rp2040_seconds(port, key, cpu_us):
    """The RP2040 estimate for ``cpu_us`` of work ``key`` on ``port`` (see the module doc)."""
    return cpu_us / 1e6 * RP2040_FACTORS[port][KIND[key]]


def factors_line(port):
    f = RP2040_FACTORS[port]
    return ("RP2040 estimate (not a measurement): CPU here x %.0f (big-integer work), x %.0f (feed check), x %.0f "
            "(small-integer work: drawing, BLAKE3) = an emulated RP2040 (rp2 port at 125 MHz, rp2040js) over the "
            "same work on this port on a 2.0 GHz x86-64 (bench/board.py)" % (f["big_int"], f["feed"], f["small_int"]))


def run_port(code, heapsize="%dK" % PICO_W_HEAP_KB, libs=None, dirs=(), timeout=600):
    """``code`` on the bench's port (testing/micropython.py ``run``); the CompletedProcess."""
    return ports.run(code, libs=libs, dirs=dirs, heapsize=heapsize, timeout=timeout)


def _sample_op():
    """One realistic signed festival operation (an event), made with the core on CPython."""
    from pandascreen.core import operation, schema

    body = schema.make_body("event", "create", "e1", {
        "venue": "v1", "title": "Talk about sloths and pandas", "start": 1784376000, "end": 1784377800,
        "speakers": ["Ada", "Kim"]})
    op = operation.create(bytes(range(7, 39)), body, 0, None,
                          operation.Extensions(operation.log_id_for_festival("bench"), 1784370000000000))
    return op


# Runs under MicroPython: the op, key and data every measurement uses.
_SETUP = """
# live: start
import gc, time
from pandascreen.core import %(core)s
from pandascreen.core.util import unhexlify
# live: imports
hdr = unhexlify(%(hdr)r)
body = unhexlify(%(body)r)
pk = unhexlify(%(pk)r)
msg = unhexlify(%(msg)r)
sig = unhexlify(%(sig)r)
kib = bytes(range(256)) * 4
assert crypto.verify(pk, msg, sig)
"""
# What each figure times, as MicroPython expressions.
_WORK = {
    "verify_us": "crypto.verify(pk, msg, sig)",
    "op_check_us": "operation.decode(hdr, body)",
    "blake3_1k_us": "crypto.blake3(kib)",
}
# Prints "name median min max" (microseconds of wall time per call).
_WALL = """
def each(name, fn):
    for _ in range(%(warmup)d):
        fn()
    ts = []
    for _ in range(%(repeats)d):
        t = time.ticks_us()
        fn()
        ts.append(time.ticks_diff(time.ticks_us(), t))
    ts.sort()
    print(name, ts[len(ts) // 2], ts[0], ts[-1])
"""
_BATCH = """
for _ in range(%(n)d):
    %(work)s
"""


# Runs under MicroPython: passes iff the imports and one full operation check fit the heap.
_FITS = """
from pandascreen.core import %(core)s
from pandascreen.core.util import unhexlify
operation.decode(unhexlify(%(hdr)r), unhexlify(%(body)r))
print("ok")
"""


def _fields(out):
    r = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
            r[parts[0]] = [int(x) for x in parts[1:]]
    return r


def _child_cpu_seconds(code, dirs=(), libs=None):
    """User + system CPU seconds of one run of ``code`` under MicroPython."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run_port(code, dirs=dirs, libs=libs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError("MicroPython failed:\n" + proc.stdout + proc.stderr)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_us_per_call(setup, work, n, tries=3, dirs=(), libs=None):
    """CPU microseconds per ``work`` under MicroPython: (batch of n - setup alone) / n, min of tries.
    ``dirs``: folders of files the script reads (testing/micropython.py ``run_wasm``); ``libs``:
    MICROPYPATH folders (default firmware/)."""
    batch = min(_child_cpu_seconds(setup + _BATCH % {"n": n, "work": work}, dirs, libs) for _ in range(tries))
    alone = min(_child_cpu_seconds(setup, dirs, libs) for _ in range(tries))
    return max(batch - alone, 0.0) / n * 1e6


def min_heap_kb(code, lo=8, hi=PICO_W_HEAP_KB, step=2, libs=None):
    """Smallest -X heapsize (KB, to ``step``) under which ``code`` prints "ok"; None if not even ``hi``,
    or without a 32-bit unix build (only it has a hard cap).
    ``libs``: MICROPYPATH folders (default firmware/; bench/feed.py passes the flashed .mpy build)."""
    if not ports.unix32_binary():
        return None

    def fits(kb):
        p = ports.run_unix32(code, "%dK" % kb, libs=libs)
        return p.returncode == 0 and "ok" in p.stdout

    if not fits(hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _cpython_floor(op, repeats, warmup):
    from blake3 import blake3
    from nacl.signing import VerifyKey

    from pandascreen.core import operation

    msg, sig, pk = op.header.unsigned_bytes(), op.header.signature, op.public_key
    kib = bytes(range(256)) * 4
    vk = VerifyKey(pk)
    n = 200  # per timed call, so that the clock resolution does not matter
    cpu = time.process_time  # CPU time, like the MicroPython figures beside it

    def per_call(fn):
        return timed(lambda: [fn() for _ in range(n)], repeats, warmup, clock=cpu)[0] / n

    verify = per_call(lambda: vk.verify(msg, sig))
    check = per_call(lambda: operation.decode(op.header_bytes, op.body))
    b3 = per_call(lambda: blake3(kib).digest())
    return {"verify_us": verify * 1e6, "op_check_us": check * 1e6, "blake3_1k_us": b3 * 1e6}


def live_kb(out):
    """{step: KB} of the "# live:" lines in ``out``."""
    return dict((k, n / 1024.0) for k, n in ports.live_lines(out))


def run(quick=False):
    repeats, warmup = (3, 1) if quick else (15, 3)
    op = _sample_op()
    args = {"core": CORE_MODULES, "hdr": op.header_bytes.hex(), "body": bytes(op.body).hex(),
            "pk": bytes(op.public_key).hex(), "msg": op.header.unsigned_bytes().hex(),
            "sig": bytes(op.header.signature).hex(), "repeats": repeats, "warmup": warmup}
    t = time.perf_counter()
    setup = _SETUP % args
    wall = setup + _WALL % args + "".join("each(%r, lambda: %s)\n" % kv for kv in _WORK.items())
    proc = run_port(wall)
    if proc.returncode != 0:
        raise RuntimeError("MicroPython failed:\n" + proc.stdout + proc.stderr)
    f = _fields(proc.stdout)
    # a quick batch still does more work than a node process's start-up varies by (tens of ms): five
    # verifies (40 ms) could come out below the setup run alone, and 0 CPU per call
    batch = {"verify_us": 25 if quick else 40, "op_check_us": 25 if quick else 40, "blake3_1k_us": 100 if quick else 200}
    r = {
        "port": ports.port_name(), "header_bytes": len(op.header_bytes), "body_bytes": len(op.body),
        "repeats": repeats, "warmup": warmup, "heap_kb": PICO_W_HEAP_KB,
        "imports_live_kb": live_kb(proc.stdout)["imports"],
        "micropython": {k: {"median": f[k][0], "min": f[k][1], "max": f[k][2],
                            "cpu": cpu_us_per_call(setup, work, batch[k], tries=1 if quick else 3)}
                        for k, work in _WORK.items()},
        "cpython_floor": _cpython_floor(op, repeats, warmup),
    }
    step = 8 if quick else 2
    r["min_heap_kb_core_and_op_check"] = min_heap_kb(_FITS % args, step=step)
    r["min_heap_kb_crypto_and_op_check"] = min_heap_kb(_FITS % dict(args, core="crypto, operation"), step=step)
    r["min_heap_step_kb"] = step
    r["seconds"] = time.perf_counter() - t
    return r


def port_label(port):
    return ("MicroPython 32-bit unix port, -X heapsize=%dK" % PICO_W_HEAP_KB if port == "unix32"
            else "MicroPython WebAssembly port (npm; no %s, so no hard heap cap)" % ports.UNIX32_ENV)


def report(r):
    lines = ["pandascreen board benchmark: pure-Python crypto on %s (op: %d-byte header, %d-byte body; "
             "median of %d after %d warm-up)" % (port_label(r["port"]), r["header_bytes"], r["body_bytes"],
                                                 r["repeats"], r["warmup"]), ""]
    lines.append("%-33s %9s %16s %15s %10s %14s" % ("", "MPy ms", "wall median", "RP2040 est. s", "emulated",
                                                    "CPython floor"))
    lines.append("%-33s %9s %16s %15s %10s %14s" % ("", "CPU/call", "(min..max) ms", "(estimate)", "RP2040 s",
                                                    "(wheels)"))
    names = (("verify_us", "Ed25519 verify (signature only)"), ("op_check_us", "operation check (decode+verify)"),
             ("blake3_1k_us", "BLAKE3 of 1 KiB"))
    for key, label in names:
        u = r["micropython"][key]
        emulated = RP2040_EMULATED.get(key)
        lines.append("%-33s %9.2f %16s %15s %10s %11.1f us" % (
            label, u["cpu"] / 1e3, "%.1f (%.1f..%.1f)" % (u["median"] / 1e3, u["min"] / 1e3, u["max"] / 1e3),
            "%.2f" % rp2040_seconds(r["port"], key, u["cpu"]), "%.2f" % emulated if emulated else "-",
            r["cpython_floor"][key]))
    lines.append("")
    heap = "heap: importing the core keeps %.1f KB live" % r["imports_live_kb"]
    if r["min_heap_kb_core_and_op_check"] is not None:
        heap += ("; smallest heap that imports the core and checks one operation: %s KB (crypto+operation only: "
                 "%s KB), to %d KB, against the Pico W's ~%d KB" % (
                     r["min_heap_kb_core_and_op_check"], r["min_heap_kb_crypto_and_op_check"],
                     r["min_heap_step_kb"], r["heap_kb"]))
    elif r["port"] == "wasm":
        heap += "; smallest hard heap: not measured (needs %s)" % ports.UNIX32_ENV
    else:
        heap += "; the imports and one operation check do not fit %d KB" % r["heap_kb"]
    lines.append(heap)
    lines.append(factors_line(r["port"]))
    return "\n".join(lines)
