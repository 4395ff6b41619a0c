"""Benchmark section: what a satellite board pays per feed update (core/feed.py), 38c3-sized.

A full peer derives the signed feed of a 72-venue, ~1000-event festival (38c3's Fahrplan
through the frab importer); MicroPython (testing/micropython.py: a named 32-bit unix build with
the Pico W's heap as a hard cap, else the WebAssembly port) then runs the board's check of it
(``feed.Checker.check``: structure, SHA-256, ONE Ed25519 verify; the grant already trusted, as on
every update after the first) and the first one (grant included: a second verify plus the
operation decode), and draws one frame from it.  Beside them, measured in the same run: the
floor, one raw Ed25519 verify on the same port, and the same feed check on CPython with the
PyNaCl wheel.

- time: wall time inside MicroPython (median, min..max over repeats after warm-up) and CPU
  time per call from the child's rusage (``board.cpu_us_per_call``);
- heap: the live heap at each step of the satellite loop (imports, first feed, update, frames;
  gc.collect(); gc.mem_alloc()) against the budget testing/micropython.py explains; with a 32-bit unix
  build also the peak, as the smallest ``-X heapsize`` (bisected) under which the loop still runs;
- RP2040, an estimate: CPU time here x ``board.RP2040_FACTORS`` (an emulated RP2040 over this
  host, per port and kind of work), printed beside what the emulated RP2040 took (update check
  1.08 s, one 128x64 frame 0.2 s, first screen 2.8 s); "first screen after Wi-Fi up" = first feed check + one
  frame, plus the transfer of the feed at an assumed 100 KB/s over the Pico W's Wi-Fi; "first
  frame from flash" = main.py's boot with Wi-Fi down: its imports (the flashed .mpy), the saved
  feed checked against the SHA-256 saved beside it, one frame (CPU of a run less the interpreter
  alone, times the small-integer factor: no signature is verified on this path).  On the
  WebAssembly port, whose small-integer factor is a quarter of its feed-check factor, this
  estimate is the less certain one; a 32-bit unix build (factors 37 and 48) narrows it.
"""

import os
import shutil
import tempfile
import time

from pandascreen.bench import board as board_bench
from pandascreen.testing import micropython as ports
from pandascreen.bench import timed

# the whole 38c3 Fahrplan, read from ../shared (test fixtures are made up and small)
FIXTURE = os.path.join(os.path.dirname(ports.ROOT), "shared", "schedules", "eventfahrplan_schedule-38c3-20251206.xml")
ORGANISER = bytes(range(1, 33))
SERVE = bytes(range(40, 72))
WIFI_BYTES_PER_S = 100 * 1024  # assumed, for the first-screen estimate
GOAL_FIRST_SCREEN_S = 10
GOAL_BOOT_FROM_FLASH_S = 2
GOAL_PEAK_KB = 120
LIVE_BUDGET_KB = ports.PICO_W_LIVE_BUDGET / 1024.0  # why this budget: testing/micropython.py


def festival(path=FIXTURE, seed=ORGANISER, feed_seed=SERVE):
    """(store, log_id, festival_id, grant) of a festival imported from ``path`` by the organiser
    ``seed``, with the serve key ``feed_seed`` added at Read level to the festival group."""
    from pandascreen_host import importers
    from pandascreen.core import auth, operation, schema
    from pandascreen.core.crypto import public_key
    from pandascreen.core.store import MemoryStore

    neutral = importers.load(path)
    fid = neutral["festival"]["id"]
    log_id = operation.log_id_for_festival(fid)
    bodies = [schema.make_body(k, a, i, f) for k, a, i, f in importers.diff(None, neutral)]
    store = MemoryStore()
    store.publish_many(seed, bodies, log_id, 1735000000 * 1000000)
    organiser = public_key(seed)
    grant_body = auth.group_body(organiser, auth.add(public_key(feed_seed), auth.READ), [])
    store.publish(seed, grant_body, log_id, 1735000001 * 1000000)
    return store, log_id, fid


def busiest(schedule, step=1800):
    """The issue time (on a half hour) with the most venues busy: the biggest feed."""
    best, best_n = None, -1
    starts = [e.start for e in schedule.all_events()]
    for t in range(min(starts) - min(starts) % step, max(starts), step):
        n = 0
        for v in schedule.venues():
            cur, nxt = schedule.now_next(v.id, t)
            n += (cur is not None) + (nxt is not None and nxt.start < t + 3 * 3600)
        if n > best_n:
            best, best_n = t, n
    return best


def signed_feed(path=FIXTURE, later=(60,)):
    """(feed bytes, organiser public key, festival id, log id, issued_at, counts, [feeds issued
    ``later`` seconds after the first]) for ``path``, at its busiest hour."""
    from pandascreen.core import auth
    from pandascreen.node import feed_sign
    from pandascreen.core.crypto import SigningKey, public_key
    from pandascreen.core.schedule import Schedule

    store, log_id, fid = festival(path)
    organiser = public_key(ORGANISER)
    authorizer = auth.guard(store, auth.for_authors([organiser]), log_id)
    sch = Schedule.from_store(store, log_id, authorizer=authorizer)
    issued = busiest(sch)
    key = SigningKey(SERVE)
    grant = feed_sign.find_grant(store, log_id, key.public_key, [organiser])
    data = feed_sign.build(sch, store, log_id, fid, key, grant, issued)
    updates = [feed_sign.build(sch, store, log_id, fid, key, grant, issued + dt) for dt in later]
    counts = {"venues": len(sch.venues()), "events": len(sch.all_events()), "ops": store.count()}
    return data, organiser, fid, log_id, issued, counts, updates


def flashed(folder):
    """Build what `pandascreen-host flash` puts on a board (.mpy from mpy-cross) into ``folder``;
    its /lib (the heap a board pays is that of the compiled modules, not of compiling them)."""
    import io
    from pandascreen_host.flash import compile_board
    compile_board(folder, stream=io.StringIO())
    return ports.add_fakes(os.path.join(folder, "lib"))


def write_feed(folder, data, name="feed.cbor"):
    """``folder``/``name`` and, beside it, ``name``.http: the HTTP response a full peer sends."""
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(data)
    with open(path + ".http", "wb") as fh:
        fh.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/cbor\r\nContent-Length: %d\r\n\r\n" % len(data))
        fh.write(data)
    return path


# Runs under MicroPython: the satellite's work on one feed.
_SETUP = """
import gc, time
from pandascreen.core import feed, crypto, layout
from pandascreen.core.util import unhexlify
import framebuf
data = bytearray(open(%(path)r, "rb").read())
org = unhexlify(%(org)r)
fid = %(fid)r
log_id = unhexlify(%(log)r)
fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
chk = feed.Checker(fid, [org], log_id)
info = chk.check(data, len(data))
pk = unhexlify(%(spk)r)
msg = b"x" * 52
sig = unhexlify(%(ssig)r)
def first():
    feed.Checker(fid, [org], log_id).check(data, len(data))
def update():
    chk.check(data, len(data))
def frame():
    v = feed.FeedView(data, info, 1)
    layout.draw_view(fb, 128, 64, layout.build_view(v, 5, info.issued_at + 600, "synced"))
def raw():
    crypto.verify(pk, msg, sig)
"""
_WORK = {"update_us": "update()", "first_us": "first()", "frame_us": "frame()", "verify_us": "raw()"}

# Runs under MicroPython: the satellite loop (imports, first feed, update, frames), one "# live:"
# line per step (the live heap there, testing/micropython.py); prints "ok" at the end.
_FITS = """
# live: start
from pandascreen.board.board import Satellite
from pandascreen.core.util import unhexlify
import framebuf
from pandascreen.testing.sockets import FileConn as Conn
# live: imports
fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": [("p", 80)],
       "sync_interval": 60}
t = [%(now)d]
served = [%(path)r]
s = Satellite(cfg, fb, lambda: None, 128, 64, clock=lambda: t[0], connect=lambda h, p: Conn(served[0]), log=print)
assert s.step() and s.feed_count == 1, s.status()
# live: first_feed
served[0] = %(path2)r
t[0] += 60
s.step()
assert s.feed_count == 2, s.status()
# live: update
s.press(7)
s.step()
# live: frame_venue_8
t[0] = 1000
s.step()
assert s.view(t[0])["clock"] == "--:--"
t[0] = %(now)d + 120
# live: frame_clock_not_set
print("ok")
"""


# Runs under MicroPython: a board that fetched the feed once and saved it on its flash
# (/last_feed and /feed_state, here files in the bench's folder).
_SAVE = """
from pandascreen.board.board import Satellite
from pandascreen.board.saved_feed import FeedFile, FeedState
from pandascreen.core.util import unhexlify
import framebuf
from pandascreen.testing.sockets import FileConn as Conn
fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": [("p", 80)]}
s = Satellite(cfg, fb, lambda: None, 128, 64, clock=lambda: %(now)d, connect=lambda h, p: Conn(%(path)r),
              feed_file=FeedFile(%(saved)r), state_file=FeedState(%(state)r))
assert s.step() and s.feed_count == 1, s.status()
print("saved")
"""

# Runs under MicroPython: main.py's boot with Wi-Fi down, up to the first frame on screen: the
# imports main.py makes, the saved feed checked against its SHA-256 (no signature), one frame.
_BOOT = '''
BOOT = """
import framebuf
from pandascreen.core import config, feed
from pandascreen.core.clock import TimeFile
from pandascreen.board.board import Satellite
from pandascreen.board.saved_feed import FeedFile, FeedState
from pandascreen.board.ssd1306 import SSD1306
from pandascreen.core.util import unhexlify
fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
cfg = {"festival_id": %(fid)r, "organiser_keys": [unhexlify(%(org)r)], "peer_addrs": [("p", 80)]}
def down(host, port):
    raise OSError("no Wi-Fi")
s = Satellite(cfg, fb, lambda: None, 128, 64, clock=lambda: %(now)d + 60, connect=down,
              feed_file=FeedFile(%(saved)r), state_file=FeedState(%(state)r))
s.step()
assert s.from_flash and s.view(%(now)d + 60)["now"] is not None, s.status()
"""
'''


def _boot_from_flash_us(args, lib, tmp, tries):
    """CPU microseconds on the port from a cold interpreter to the first frame of the saved feed,
    Wi-Fi down (``_BOOT``), less the interpreter alone; the saved files come from ``_SAVE``."""
    saved = ports.run(_SAVE % args, libs=[lib], dirs=[tmp])
    if saved.returncode != 0 or "saved" not in saved.stdout:
        raise RuntimeError("saving the feed on MicroPython failed:\n" + saved.stdout + saved.stderr)
    return board_bench.cpu_us_per_call(_BOOT % args, "exec(BOOT)", 1, tries=tries, dirs=[tmp], libs=[lib])


def _cpython_floor(data, org, fid, log_id, repeats, warmup):
    from pandascreen.core import feed

    chk = feed.Checker(fid, [org], log_id)
    chk.check(data, len(data))
    n = 20
    per = timed(lambda: [chk.check(data, len(data)) for _ in range(n)], repeats, warmup,
                clock=time.process_time)[0] / n
    return per * 1e6


def run(quick=False):
    from pandascreen.core import crypto

    repeats, warmup = (3, 1) if quick else (11, 2)
    t0 = time.perf_counter()
    data, org, fid, log_id, issued, counts, (update,) = signed_feed()
    msg = b"x" * 52
    tmp = tempfile.mkdtemp()
    path = write_feed(tmp, data)
    args = {"path": path, "path2": write_feed(tmp, update, "update.cbor"), "org": org.hex(), "fid": fid, "log": log_id.hex(),
            "spk": crypto.public_key(SERVE).hex(), "ssig": crypto.sign(SERVE, msg).hex(),
            "now": issued + 300, "repeats": repeats, "warmup": warmup,
            "saved": os.path.join(tmp, "last_feed"), "state": os.path.join(tmp, "feed_state")}
    setup = _SETUP % args
    proc = ports.run(setup + board_bench._WALL % args
                     + "".join("each(%r, lambda: %s)\n" % kv for kv in _WORK.items()), dirs=[tmp])
    if proc.returncode != 0:
        raise RuntimeError("MicroPython failed:\n" + proc.stdout + proc.stderr)
    f = board_bench._fields(proc.stdout)
    tries = 1 if quick else 3
    batch = 3 if quick else 20
    r = {"port": ports.port_name(), "feed_bytes": len(data), "counts": counts, "repeats": repeats,
         "warmup": warmup, "heap_kb": board_bench.PICO_W_HEAP_KB,
         "micropython": {k: {"median": f[k][0], "min": f[k][1], "max": f[k][2],
                             "cpu": board_bench.cpu_us_per_call(setup, work, batch, tries=tries, dirs=[tmp])}
                         for k, work in _WORK.items()},
         "cpython_check_us": _cpython_floor(data, org, fid, log_id, repeats, warmup)}
    lib = flashed(tmp)
    loop = ports.run_wasm(_FITS % args, libs=[lib], dirs=[tmp])
    if loop.returncode != 0 or "ok" not in loop.stdout:
        raise RuntimeError("the satellite loop failed on MicroPython:\n" + loop.stdout + loop.stderr)
    r["live_kb"] = board_bench.live_kb(loop.stdout)
    r["boot_us"] = _boot_from_flash_us(args, lib, tmp, tries)
    step = 8 if quick else 2
    r["peak_heap_kb"] = board_bench.min_heap_kb(_FITS % args, lo=60, step=step, libs=[lib])
    r["peak_heap_step_kb"] = step
    shutil.rmtree(tmp, ignore_errors=True)
    from pandascreen.bench import feed_truth
    r["truth"] = feed_truth.measure(quick)
    r["seconds"] = time.perf_counter() - t0
    return r


def report(r):
    u = r["micropython"]
    c = r["counts"]
    lines = ["pandascreen feed benchmark: a satellite's check of a %d-byte signed feed (%d venues, %d events, "
             "%d ops in the logs), %s, median of %d after %d warm-up"
             % (r["feed_bytes"], c["venues"], c["events"], c["ops"], board_bench.port_label(r["port"]),
                r["repeats"], r["warmup"]), ""]
    lines.append("%-44s %9s %18s %14s %10s" % ("", "MPy ms", "wall median ms", "RP2040 est. s", "emulated"))
    labels = (("update_us", "feed update check (1 verify)"), ("first_us", "first feed check (+ grant: 2 verifies)"),
              ("frame_us", "one 128x64 frame from the feed"),
              ("verify_us", "floor: one raw Ed25519 verify"))
    for key, label in labels:
        x = u[key]
        emulated = board_bench.RP2040_EMULATED.get(key)
        lines.append("%-44s %9.2f %18s %14s %10s" % (label, x["cpu"] / 1e3, "%.1f (%.1f..%.1f)" % (
            x["median"] / 1e3, x["min"] / 1e3, x["max"] / 1e3), "%.2f" % board_bench.rp2040_seconds(r["port"], key, x["cpu"]),
            "%.2f" % emulated if emulated else "-"))
    lines.append("%-44s %9.3f   (CPython + PyNaCl, same feed, CPU)" % ("floor: feed update check on CPython",
                                                                       r["cpython_check_us"] / 1e3))
    lines.append("")
    est = board_bench.rp2040_seconds
    first = (est(r["port"], "first_us", u["first_us"]["cpu"]) + est(r["port"], "frame_us", u["frame_us"]["cpu"])
             + r["feed_bytes"] / float(WIFI_BYTES_PER_S))
    lines.append("first screen after Wi-Fi up (RP2040 estimate: first check + frame + %d KB at %d KB/s): %.1f s "
                 "(emulated RP2040: %.1f s); goal <= %d s" % (
                     r["feed_bytes"] // 1024, WIFI_BYTES_PER_S // 1024, first,
                     board_bench.RP2040_EMULATED["first_screen"], GOAL_FIRST_SCREEN_S))
    if "boot_us" in r:
        lines.append("first frame from flash with Wi-Fi down (imports, saved feed against its SHA-256, one frame): "
                     "%.0f ms here, RP2040 estimate %.2f s; goal <= %d s" % (
                         r["boot_us"] / 1e3, est(r["port"], "boot_us", r["boot_us"]), GOAL_BOOT_FROM_FLASH_S))
    lines.append(board_bench.factors_line(r["port"]))
    live = r["live_kb"]
    lines.append("live heap of the satellite loop (WebAssembly port, gc.collect(); gc.mem_alloc()): %s; "
                 "largest %.1f KB against the budget of %.0f KB (testing/micropython.py)" % (
                     ", ".join("%s %.1f KB" % kv for kv in live.items()), max(live.values()), LIVE_BUDGET_KB))
    if r["peak_heap_kb"] is not None:
        lines.append("peak heap of the satellite loop (smallest -X heapsize): %s KB (to %d KB); goal <= %d KB"
                     % (r["peak_heap_kb"], r["peak_heap_step_kb"], GOAL_PEAK_KB))
    else:
        lines.append("peak heap (smallest -X heapsize): not measured, needs %s" % ports.UNIX32_ENV)
    if "truth" in r:
        from pandascreen.bench import feed_truth
        lines.append(feed_truth.report_line(r["truth"]))
    return "\n".join(lines)
