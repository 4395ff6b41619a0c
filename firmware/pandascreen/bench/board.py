"""Benchmark section: what a Pico W pays to check signed data, measured on the 32-bit MicroPython.

The board has no PyNaCl or blake3 wheel, so it runs the pure-Python Ed25519/BLAKE3 of
``pandascreen.core``.  This section runs them on the 32-bit unix port of MicroPython with the
Pico W's heap as a hard cap (``-X heapsize=180K``; 31-bit small ints and 16-bit bignum digits
as on an RP2040) and prints, beside each figure, its floor measured in the same run: the same
work on CPython with the PyNaCl/blake3 wheels (CPU time, median of batches).

- time per Ed25519 verification, per full operation check (decode + signature + payload
  hash) and per BLAKE3 of 1 KiB, two ways: wall time of each call inside MicroPython (median,
  min..max over repeats after warm-up), and CPU time per call, from the child's rusage over a
  batch minus a run of the same script without the batch (min of 3).  On a machine busy with
  other work the wall times spread; the CPU time is what a board, running nothing else, pays;
- heap: bytes kept live by importing the core, and the smallest ``-X heapsize`` (bisected)
  that still imports the core and checks one operation -- the honest peak, since MicroPython
  only collects when an allocation fails;
- an RP2040 @ 133 MHz estimate = unix-port CPU time x FACTOR, where FACTOR is the single-core
  speed ratio of this host to the RP2040 from CoreMark: the RP2040 scores 227.96 at 125 MHz
  (arduino-pico, gcc -Os), i.e. 242.6 at 133 MHz, and a current x86 core ~5 CoreMark/MHz
  (4..7 gives the low..high bound) at this host's clock from /proc/cpuinfo.  It is an
  estimate, printed as such, until someone times a real board.

The binary is found by ``unix32_binary()`` (shared with tests/mpy.py): $PANDASCREEN_MICROPYTHON_UNIX32,
else <repo>/../shared/tools/micropython-unix32, else build/micropython-unix32 from
``make micropython-unix32 MICROPYTHON_DIR=...``.
"""

import os
import resource
import subprocess
import tempfile
import time

from pandascreen.bench import timed

HERE = os.path.dirname(os.path.abspath(__file__))
FIRMWARE = os.path.dirname(os.path.dirname(HERE))
ROOT = os.path.dirname(FIRMWARE)
UNIX32_CANDIDATES = (
    os.path.join(os.path.dirname(ROOT), "shared", "tools", "micropython-unix32"),
    os.path.join(ROOT, "build", "micropython-unix32"),  # make micropython-unix32 MICROPYTHON_DIR=...
)
PICO_W_HEAP_KB = 180
RP2040_COREMARK_125MHZ = 227.96
RP2040_MHZ = 133
HOST_COREMARK_PER_MHZ = (4.0, 5.0, 7.0)  # low, assumed, high
CORE_MODULES = "cbor, crypto, operation, schema, store, schedule, layout, font, config"


def unix32_binary():
    """Path of the 32-bit unix MicroPython; FileNotFoundError saying how to get one."""
    env = os.environ.get("PANDASCREEN_MICROPYTHON_UNIX32")
    candidates = (env,) if env else UNIX32_CANDIDATES
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "32-bit MicroPython not found (looked at %s); build it with "
        "`make micropython-unix32 MICROPYTHON_DIR=/path/to/micropython-v1.27.0` or set "
        "PANDASCREEN_MICROPYTHON_UNIX32" % ", ".join(p for p in candidates if p))


def run_unix32(code, heapsize="%dK" % PICO_W_HEAP_KB, libs=None, timeout=600):
    """Run ``code`` as a script under the 32-bit MicroPython with ``libs`` (default firmware/)
    as MICROPYPATH and a hard heap cap; returns the CompletedProcess (text output)."""
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(libs or [FIRMWARE]))
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "main.py")
        with open(script, "w") as fh:
            fh.write(code)
        return subprocess.run([unix32_binary(), "-X", "heapsize=%s" % heapsize, script],
                              capture_output=True, text=True, timeout=timeout, cwd=d, env=env)


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
import gc, time
gc.collect()
base = gc.mem_alloc()
from pandascreen.core import %(core)s
from pandascreen.core.util import unhexlify
gc.collect()
print("imports_live", gc.mem_alloc() - base)
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


def _child_cpu_seconds(code):
    """User + system CPU seconds of one run of ``code`` under the 32-bit MicroPython."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run_unix32(code)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError("unix32 MicroPython failed:\n" + proc.stdout + proc.stderr)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_us_per_call(setup, work, n, tries=3):
    """CPU microseconds per ``work`` under MicroPython: (batch of n - setup alone) / n, min of tries."""
    batch = min(_child_cpu_seconds(setup + _BATCH % {"n": n, "work": work}) for _ in range(tries))
    alone = min(_child_cpu_seconds(setup) for _ in range(tries))
    return max(batch - alone, 0.0) / n * 1e6


def min_heap_kb(code, lo=8, hi=PICO_W_HEAP_KB, step=2, libs=None):
    """Smallest -X heapsize (KB, to ``step``) under which ``code`` prints "ok"; None if not even ``hi``.
    ``libs``: MICROPYPATH folders (default firmware/; bench/feed.py passes the flashed .mpy build)."""
    def fits(kb):
        p = run_unix32(code, heapsize="%dK" % kb, libs=libs)
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


def host_mhz():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1])
    except OSError:
        pass
    return None


def rp2040_factors(mhz):
    """(low, assumed, high) slowdown of an RP2040 @ 133 MHz against this host, from CoreMark."""
    rp = RP2040_COREMARK_125MHZ * RP2040_MHZ / 125.0
    return tuple(mhz * per_mhz / rp for per_mhz in HOST_COREMARK_PER_MHZ)


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


def run(quick=False):
    repeats, warmup = (3, 1) if quick else (15, 3)
    op = _sample_op()
    args = {"core": CORE_MODULES, "hdr": op.header_bytes.hex(), "body": bytes(op.body).hex(),
            "pk": bytes(op.public_key).hex(), "msg": op.header.unsigned_bytes().hex(),
            "sig": bytes(op.header.signature).hex(), "repeats": repeats, "warmup": warmup}
    t = time.perf_counter()
    setup = _SETUP % args
    wall = setup + _WALL % args + "".join("each(%r, lambda: %s)\n" % kv for kv in _WORK.items())
    proc = run_unix32(wall)
    if proc.returncode != 0:
        raise RuntimeError("unix32 MicroPython failed:\n" + proc.stdout + proc.stderr)
    f = _fields(proc.stdout)
    batch = {"verify_us": 5 if quick else 40, "op_check_us": 5 if quick else 40, "blake3_1k_us": 20 if quick else 200}
    mhz = host_mhz()
    r = {
        "header_bytes": len(op.header_bytes), "body_bytes": len(op.body), "repeats": repeats, "warmup": warmup,
        "heap_kb": PICO_W_HEAP_KB, "imports_live_bytes": f["imports_live"][0],
        "unix32": {k: {"median": f[k][0], "min": f[k][1], "max": f[k][2],
                       "cpu": cpu_us_per_call(setup, work, batch[k], tries=1 if quick else 3)}
                   for k, work in _WORK.items()},
        "cpython_floor": _cpython_floor(op, repeats, warmup),
        "host_mhz": mhz,
        "rp2040_factor": rp2040_factors(mhz) if mhz else None,
    }
    step = 8 if quick else 2
    r["min_heap_kb_core_and_op_check"] = min_heap_kb(_FITS % args, step=step)
    r["min_heap_kb_crypto_and_op_check"] = min_heap_kb(_FITS % dict(args, core="crypto, operation"), step=step)
    r["min_heap_step_kb"] = step
    r["seconds"] = time.perf_counter() - t
    return r


def report(r):
    lines = ["pandascreen board benchmark: pure-Python crypto on MicroPython 32-bit unix port, "
             "-X heapsize=%dK (op: %d-byte header, %d-byte body; median of %d after %d warm-up)"
             % (r["heap_kb"], r["header_bytes"], r["body_bytes"], r["repeats"], r["warmup"]), ""]
    fac = r["rp2040_factor"]
    lines.append("%-33s %9s %16s %18s %14s" % ("", "unix32 ms", "wall median", "RP2040@133 est. s", "CPython floor"))
    lines.append("%-33s %9s %16s %18s %14s" % ("", "CPU/call", "(min..max) ms", "(low..high)", "(wheels)"))
    names = (("verify_us", "Ed25519 verify (signature only)"), ("op_check_us", "operation check (decode+verify)"),
             ("blake3_1k_us", "BLAKE3 of 1 KiB"))
    for key, label in names:
        u = r["unix32"][key]
        est = "%.2f (%.2f..%.2f)" % tuple(u["cpu"] * x / 1e6 for x in (fac[1], fac[0], fac[2])) if fac else "?"
        lines.append("%-33s %9.2f %16s %18s %11.1f us" % (
            label, u["cpu"] / 1e3, "%.1f (%.1f..%.1f)" % (u["median"] / 1e3, u["min"] / 1e3, u["max"] / 1e3),
            est, r["cpython_floor"][key]))
    lines.append("")
    lines.append("heap: importing the core keeps %.1f KB live; smallest heap that imports the core and checks one "
                 "operation: %s KB (crypto+operation only: %s KB), to %d KB, against the Pico W's ~%d KB"
                 % (r["imports_live_bytes"] / 1024.0, r["min_heap_kb_core_and_op_check"],
                    r["min_heap_kb_crypto_and_op_check"], r["min_heap_step_kb"], r["heap_kb"]))
    if fac:
        lines.append("RP2040 estimate: x%.0f (x%.0f..x%.0f) = this host at %.0f MHz x %.0f (%.0f..%.0f) CoreMark/MHz "
                     "/ RP2040 CoreMark %.1f at %d MHz (227.96 at 125 MHz, scaled)"
                     % (fac[1], fac[0], fac[2], r["host_mhz"], HOST_COREMARK_PER_MHZ[1], HOST_COREMARK_PER_MHZ[0],
                        HOST_COREMARK_PER_MHZ[2], RP2040_COREMARK_125MHZ * RP2040_MHZ / 125.0, RP2040_MHZ))
    else:
        lines.append("RP2040 estimate: unknown host clock (no cpu MHz in /proc/cpuinfo)")
    return "\n".join(lines)
