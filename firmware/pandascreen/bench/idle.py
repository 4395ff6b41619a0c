"""Benchmark section: what an idle screen costs -- CPU (% of one core) and RSS of the real
``pandascreen`` app, with an emulated display once with the 38c3 program shifted so that it is on
now and once with a made-up 20,000-event festival, and with 38c3 once as on a Pi (below), over a
quiet window with no changes.

Beside them, the floors, measured in the same window: a bare ``python3`` that only sleeps; one
that only imports ``iroh`` (the native library every screen loads) and sleeps; one that binds an
iroh endpoint as a screen does and sleeps (binding touches most of iroh's code, which then counts
in its RSS); and one that imports every module a running screen has loaded (read from a 38c3
screen before the window: ``loaded_modules``), binds an endpoint and sleeps: a screen's code with
nothing running.  Every floor that loads asyncio keeps ``ssl`` out, and every floor past the bare
one gives back what malloc holds free, as a screen does (node/lean_process.py).  A screen cannot
cost less than its code; what it holds above that is its data and what it runs (threads, sockets,
caches, the code pages running touches).  And the
stack a screen is built on (``STACK``: iroh with an endpoint bound, zeroconf, Pillow's drawing,
PyNaCl, blake3, sqlite3) with none of pandascreen's code: above it are pandascreen's code and
data and what it has those libraries hold while it runs.

A screen on a Pi runs what an emulated one does not: its OLED through luma and smbus2, OLED care
(node/oled_care.py), and its buttons through gpiozero.  ``PI_SCREEN`` is the 38c3 screen run as on
a Pi, with the unit's environment (node/pandascreen.service): smbus2's bus with no device behind it
(``PI_RUNNER``: what luma sends goes nowhere, where a Pi has /dev/i2c-1) and two buttons on a Pi's
GPIO chip as the kernel's character device answers (pandascreen/testing/gpiochip_shim.c,
preloaded), read as a Pi's screen reads them (node/gpiod_pins.py).  ``PI_SCREEN_LGPIO`` is the same
screen with its buttons through lgpio, gpiozero's own choice on Raspberry Pi OS, on the same fake
chip: what the screen would cost without gpiod.  The report (bench/idle_report.py) sets them beside
the emulated 38c3 screen, which writes a PNG a Pi does not, and beside their own floor: the stack
with luma's OLED device, gpiozero and gpiod (``PI_STACK``), again with no pandascreen code.

RSS is split as the kernel counts it: ``anon`` (the process's own memory: Python objects, heaps,
stacks) and ``files`` (pages of mapped files: the interpreter's, iroh's and the other native
libraries' code, shared with every process that maps them, dropped and read again by the kernel
when memory runs short).

What wakes a process: the context switches of each of its threads over the window
(``/proc/<pid>/task/*/status``), named by the thread's name (``comm``), per minute.  A thread
that sleeps in one long wait costs one switch per wake-up.

Each process runs alone in a network namespace of its own (``unshare -rn``) with only loopback,
multicast on, so the screen's iroh node and mDNS start as on a Pi but nothing leaves the machine
and no two screens find each other.

Sizes: ``PANDASCREEN_BENCH_IDLE`` seconds of window (default 600, as the requirement is stated);
``--quick``: 20 s.  Every process starts together and settles ``SETTLE`` seconds (imports,
first frames, mDNS probing) before the window opens.
"""

import datetime
import os
import subprocess
import sys
import tempfile
import time

from pandascreen.bench.idle_report import (IMPORTS_FLOOR, PI_SCREEN, PI_SCREEN_LGPIO, PI_STACK_FLOOR, SCREEN_20K,
                                           SCREEN_38C3, STACK_FLOOR, report)

__all__ = ["run", "report"]  # the section's two entry points (bench/__main__.py)

SETTLE = 40.0
IDLE_FESTIVAL = "idlefest"
IDLE_SEED = bytes(range(7, 39))
NETNS = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$@"'


def namespaced(argv):
    """``argv`` run alone in a new network namespace with loopback only (the pid stays the
    child's: unshare and sh exec in place)."""
    return ["unshare", "-rn", "sh", "-c", NETNS, "sh"] + list(argv)


def made_up_now(events=20000, venues=40, now=None):
    """Operation bodies of a festival of ``events`` talks in ``venues`` venues over four days
    around ``now`` (from yesterday 08:00 UTC), 20-50 min long with 5-15 min gaps, so that
    something is on now in every venue."""
    from pandascreen.core import schema
    now = time.time() if now is None else now
    day0 = int(now // 86400) * 86400 - 86400 + 8 * 3600
    bodies = [schema.make_body("festival", "create", IDLE_FESTIVAL, {"name": "Idlefest", "utc_offset": 0})]
    bodies += [schema.make_body("venue", "create", "v%d" % v, {"name": "Hall %d" % v, "order": v})
               for v in range(venues)]
    per = events // venues
    for v in range(venues):
        t = day0
        for i in range(per):
            length = (20 + (i * 7 + v * 3) % 31) * 60
            bodies.append(schema.make_body("event", "create", "e%d_%d" % (v, i), {
                "venue": "v%d" % v, "title": "Talk %d in hall %d" % (i, v), "start": t, "end": t + length}))
            t += length + (5 + (i * 11 + v) % 11) * 60
    return bodies


# Started in a screen's process (``loaded_modules``): waits, bounded, until the last part a screen
# starts (mDNS) runs and its first frame is on the emulated screen, writes what it has loaded and
# ends the process.
LOADED_RUNNER = r"""
import json, os, sys, threading, time
OUT, PNG = sys.argv[1], sys.argv[2]

def look():
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = {t.name for t in threading.enumerate()}
        if os.path.exists(PNG) and "pandascreen-discovery" in names:
            break
        time.sleep(0.1)
    time.sleep(2.0)  # the loop's first turn after start-up and the servers' first looks
    with open(OUT + ".tmp", "w") as fh:
        json.dump({"modules": sorted(n for n, m in sys.modules.items() if m is not None),  # None: kept out
                    "threads": sorted(t.name for t in threading.enumerate())}, fh)
    os.replace(OUT + ".tmp", OUT)
    os._exit(0)

threading.Thread(target=look, daemon=True).start()
from pandascreen.node import app
sys.exit(app.main(sys.argv[3:]))
"""


def loaded_modules(config, png, wrap=list, env=None, timeout=120):
    """``{"modules": [...], "threads": [...]}`` of the ``pandascreen`` app run with ``config`` and
    an emulated screen at ``png`` (``wrap``: how its argv is run, e.g. ``namespaced``), read in
    its process once everything it starts is up; None when it did not come up within ``timeout``
    (its stderr's end then in ``"error"``)."""
    out = png + ".loaded.json"
    p = subprocess.run(wrap([sys.executable, "-c", LOADED_RUNNER, out, png, "--config", config, "--emulate", png]),
                       capture_output=True, text=True, env=env, timeout=timeout)
    if not os.path.exists(out):
        return {"modules": None, "threads": None, "error": p.stderr[-2000:]}
    import json
    with open(out) as fh:
        return json.load(fh)


# A floor's first line: ssl kept out of the process as a screen keeps it (node/lean_process.py), or
# asyncio, which iroh's binding loads, would map OpenSSL in (about 4 MB) where no screen does.
KEEP_OUT = "import sys; sys.modules.setdefault('ssl', None)\n"

# a floor's lines that give back what malloc holds free, as a quiet screen does (node/lean_process.py)
GIVE_BACK = """import ctypes, gc
gc.collect()
getattr(ctypes.CDLL(None), "malloc_trim", lambda pad: 0)(0)
"""

# a process that binds an iroh endpoint as a screen does (node/iroh_transport.py ``_bind``), gives
# back what malloc holds free, then sleeps
ENDPOINT = """import asyncio, os, iroh
async def main():
    await iroh.Endpoint.bind(iroh.EndpointOptions(preset=iroh.preset_minimal(),
        relay_mode=iroh.RelayMode.disabled(), bind_addr="0.0.0.0:2026", alpns=[bytes(32)], secret_key=os.urandom(32)))
""" + "\n".join("    " + line for line in GIVE_BACK.splitlines()) + """
    await asyncio.sleep(%s)
asyncio.run(main())
"""

# a process's first lines: import the modules named in the file argv[1] (one a line)
IMPORTING = KEEP_OUT + """import importlib, sys
for name in open(sys.argv[1]).read().split():
    try:
        importlib.import_module(name)
    except Exception:  # a module the runner made (__main__) or one that needs its parent's state
        pass
"""

# a process that imports the modules named in the file argv[1], binds an iroh endpoint as a screen
# does, then sleeps: a screen's code with nothing running and no data
IMPORTS = IMPORTING + ENDPOINT

# The parts a screen is built on, by the project's choice: iroh (its binding loads asyncio, ssl kept
# out), zeroconf, Pillow's drawing (luma's on a Pi, the emulated display's here), PyNaCl, blake3 and
# sqlite3.  A process that imports them, binds an iroh endpoint as a screen does, then sleeps.
STACK_IMPORTS = "import iroh, zeroconf, PIL.ImageDraw, nacl.signing, blake3, sqlite3\n"
STACK = KEEP_OUT + STACK_IMPORTS + ENDPOINT
# ... and with what a Pi's screen adds to it: luma's OLED device on I2C (smbus2), gpiozero and gpiod;
# run with the unit's environment, as the screen as on a Pi is
PI_STACK = (KEEP_OUT + STACK_IMPORTS + "import luma.oled.device, luma.core.interface.serial, smbus2, gpiozero, gpiod\n"
            + ENDPOINT)


def unit_environment():
    """The ``Environment=`` settings of the screen's systemd unit (node/pandascreen.service)."""
    from pandascreen.node.install import unit_settings
    return [pair for line in unit_settings().get("Environment", []) for pair in line.split()]


PI_BUTTONS = {"next": 17, "prev": 27}  # the pins of core/config.py's example
PI_ENVIRONMENT = unit_environment()  # as the unit runs a screen
# A screen's process as on a Pi (``PI_SCREEN``): the app, its display through luma and smbus2 on a
# bus with no device behind it; its buttons on the fake GPIO chip preloaded into it.
PI_RUNNER = r"""
import sys
import smbus2


class NoDeviceBus(smbus2.SMBus):
    writes = 0

    def open(self, bus):
        self.fd = None
        self.funcs = smbus2.I2cFunc(0)

    def write_i2c_block_data(self, i2c_addr, register, data, force=None):
        NoDeviceBus.writes += 1

    def i2c_rdwr(self, *i2c_msgs):
        NoDeviceBus.writes += 1


smbus2.SMBus = NoDeviceBus
from pandascreen.node import app
sys.exit(app.main(sys.argv[1:]))
"""


def screen_argv(folder):
    """The argv of the app with the screen folder ``folder``, emulated: its frames in a PNG."""
    return [sys.executable, "-m", "pandascreen.node.app", "--config", os.path.join(folder, "config.json"),
            "--emulate", os.path.join(folder, "screen.png")]


def pi_screen(folder, shim, suffix="-pi", environment=()):
    """A copy of the screen folder ``folder`` beside it (``folder`` + ``suffix``), made before either
    runs (a store copied while it is written reads as damaged), its config with two buttons and
    OLED care as a Pi's defaults have it; the argv that runs it as on a Pi (``PI_RUNNER``), the
    fake GPIO chip ``shim`` preloaded, with ``environment`` ("NAME=value") after the unit's.  The
    screens then have the same key: each runs in a network namespace of its own, where it is the
    only one."""
    import json
    import shutil
    copy = folder + suffix
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("*.png*", "*.log"))
    config = os.path.join(copy, "config.json")
    with open(config) as fh:
        cfg = json.load(fh)
    cfg["buttons"] = dict(PI_BUTTONS)
    cfg.pop("oled_care", None)
    with open(config, "w") as fh:
        json.dump(cfg, fh)
    return (["env"] + PI_ENVIRONMENT + ["LD_PRELOAD=" + shim] + list(environment)
            + [sys.executable, "-c", PI_RUNNER, "--config", config])


def _screen_dir(work, name, festival_id, organiser_hex):
    folder = os.path.join(work, name)
    os.makedirs(folder)
    fd = os.open(os.path.join(folder, "device.key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)
    import json
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump({"festival_id": festival_id, "organisers": [organiser_hex], "display": "ssd1306_128x64",
                   "peers": [], "oled_care": False}, fh)
    return folder


def screen_38c3(work):
    """A screen folder whose store holds 38c3 shifted to today, imported as the organiser does."""
    from pandascreen.core.crypto import public_key
    from pandascreen.node.fieldtest import FESTIVAL, SCHEDULE, shifted
    sched, key = os.path.join(work, "38c3.xml"), os.path.join(work, "org.key")
    with open(SCHEDULE, encoding="utf-8") as fh:
        text = shifted(fh.read(), datetime.date.today())
    with open(sched, "w", encoding="utf-8") as fh:
        fh.write(text)
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "org.db")
        subprocess.run([sys.executable, "-m", "pandascreen_host", "import", sched, "--store", db, "--key", key],
                       check=True, capture_output=True)
        with open(key, "rb") as fh:
            folder = _screen_dir(work, "screen-38c3", FESTIVAL, public_key(fh.read()).hex())
        os.replace(db, os.path.join(folder, "festival.db"))
    return folder


def screen_20k(work, events=20000):
    """A screen folder whose store holds a made-up festival of ``events`` talks on now."""
    from pandascreen.core import operation
    from pandascreen.core.crypto import public_key
    from pandascreen.node.sqlite_store import SqliteStore
    folder = _screen_dir(work, "screen-20k", IDLE_FESTIVAL, public_key(IDLE_SEED).hex())
    store = SqliteStore(os.path.join(folder, "festival.db"))
    try:
        store.publish_many(IDLE_SEED, made_up_now(events), operation.log_id_for_festival(IDLE_FESTIVAL),
                           int(time.time() - 3600) * 1000000)
    finally:
        store.close()
    return folder


class Sampled:
    """One child process and its counters from /proc (CPU ticks, RSS, context switches per thread)."""

    def __init__(self, label, argv, log_path):
        self.label = label
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def last_lines(self, n=3):
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip().splitlines()[-n:]

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.p.pid) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def rss_mb(self):
        """(RSS, of it anonymous, of it pages of mapped files), MB."""
        path = "/proc/%d/status" % self.p.pid
        return tuple(_status_field(path, name) / 1024.0 for name in ("VmRSS", "RssAnon", "RssFile"))

    def switches(self):
        """{thread name: context switches so far}, summed over threads of one name."""
        out = {}
        base = "/proc/%d/task" % self.p.pid
        for tid in os.listdir(base):
            try:
                with open(os.path.join(base, tid, "comm")) as fh:
                    name = fh.read().strip()
                path = os.path.join(base, tid, "status")
                n = _status_field(path, "voluntary_ctxt_switches") + _status_field(path, "nonvoluntary_ctxt_switches")
            except OSError:  # the thread ended meanwhile
                continue
            out[name] = out.get(name, 0) + n
        return out

    def stop(self):
        stop_all([self])


def stop_all(procs):
    """Ends every process of ``procs`` (``Sampled``): all are asked at once and have 10 s together."""
    from pandascreen.node.field_lab import stop_processes
    stop_processes([p.p for p in procs], 10.0)


def _status_field(path, name):
    with open(path) as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def measure(procs, window, settle):
    """Sleep ``settle``, then CPU %, peak RSS (with its anonymous and file parts at that sample)
    and wake-ups per minute per thread of each process over ``window`` seconds (RSS sampled
    every few seconds)."""
    time.sleep(settle)
    before = {p.label: (p.cpu_seconds(), p.switches()) for p in procs}
    t0 = time.monotonic()
    rss = {p.label: (0.0, 0.0, 0.0) for p in procs}
    while time.monotonic() - t0 < window:
        for p in procs:
            rss[p.label] = max(rss[p.label], p.rss_mb())
        time.sleep(min(5.0, max(0.1, window - (time.monotonic() - t0))))
    took = time.monotonic() - t0
    out = {}
    for p in procs:
        cpu0, sw0 = before[p.label]
        sw1 = p.switches()
        wakes = {name: round((n - sw0.get(name, 0)) * 60.0 / took, 1) for name, n in sw1.items()}
        peak = max(rss[p.label], p.rss_mb())
        out[p.label] = {"cpu_percent": round(100.0 * (p.cpu_seconds() - cpu0) / took, 3),
                        "rss_mb": round(peak[0], 1), "rss_anon_mb": round(peak[1], 1), "rss_file_mb": round(peak[2], 1),
                        "exited": None if p.p.poll() is None else p.last_lines(),
                        "wakeups_per_minute": dict(sorted(wakes.items(), key=lambda kv: -kv[1]))}
    return out


def processes(work, folders, modules, sleep_for):
    """(label, argv, log path) of every process the window measures: the floors, the emulated
    screens of ``folders`` (label -> screen folder) and the 38c3 one as on a Pi, its buttons read
    through gpiod and through lgpio; ``modules``: the file naming the modules a running screen
    loads (None: no imports floor)."""
    from pandascreen.testing import gpiochip
    sleeping = "import time; time.sleep(%s)" % sleep_for
    shim = gpiochip.build(work)
    pi = pi_screen(folders[SCREEN_38C3], shim)  # copied before anything runs from the folder
    # lgpio's FIFO where the process may write it (the unit's runtime directory is not there)
    pi_lgpio = pi_screen(folders[SCREEN_38C3], shim, "-pi-lgpio", ["GPIOZERO_PIN_FACTORY=lgpio", "LG_WD=" + work])
    out = [("floor: python3, sleep", [sys.executable, "-c", sleeping], os.path.join(work, "floor.log")),
           ("floor: python3, import iroh, sleep", namespaced(
               [sys.executable, "-c", KEEP_OUT + "import iroh\n" + GIVE_BACK + sleeping]), os.path.join(work, "floor-iroh.log")),
           ("floor: python3, an iroh endpoint, sleep", namespaced(
               [sys.executable, "-c", KEEP_OUT + ENDPOINT % sleep_for]), os.path.join(work, "floor-endpoint.log"))]
    if modules:
        out.append((IMPORTS_FLOOR, namespaced([sys.executable, "-c", IMPORTS % sleep_for, modules]),
                    os.path.join(work, "floor-imports.log")))
    out.append((STACK_FLOOR, namespaced([sys.executable, "-c", STACK % sleep_for]), os.path.join(work, "floor-stack.log")))
    out.append((PI_STACK_FLOOR, namespaced(["env"] + PI_ENVIRONMENT + [sys.executable, "-c", PI_STACK % sleep_for]),
                os.path.join(work, "floor-pi-stack.log")))
    for label, folder in folders.items():
        out.append((label, namespaced(screen_argv(folder)), os.path.join(folder, "app.log")))
    out.append((PI_SCREEN, namespaced(pi), os.path.join(work, "pi-screen.log")))
    out.append((PI_SCREEN_LGPIO, namespaced(pi_lgpio), os.path.join(work, "pi-screen-lgpio.log")))
    return out


def run(quick=False):
    window = 20 if quick else int(os.environ.get("PANDASCREEN_BENCH_IDLE", "600"))
    settle = 15.0 if quick else SETTLE
    sleep_for = str(window + settle + 60)
    with tempfile.TemporaryDirectory(prefix="pandascreen-idle-") as work:
        folders = {SCREEN_38C3: screen_38c3(work), SCREEN_20K: screen_20k(work, 2000 if quick else 20000)}
        first = folders[SCREEN_38C3]
        loaded = loaded_modules(os.path.join(first, "config.json"), os.path.join(first, "loaded.png"), namespaced)
        for name in os.listdir(first):  # the listing run's frame and view: the measured run starts afresh
            if name.startswith("loaded.png"):
                os.remove(os.path.join(first, name))
        modules = [m for m in loaded["modules"] or () if m != "__main__"]
        with open(os.path.join(work, "modules.txt"), "w") as fh:
            fh.write("\n".join(modules))
        procs = []
        try:
            for label, argv, log in processes(work, folders, os.path.join(work, "modules.txt") if modules else None,
                                              sleep_for):
                procs.append(Sampled(label, argv, log))
            res = measure(procs, window, settle)
        finally:
            stop_all(procs)
    return {"window_s": window, "settle_s": settle, "modules": len(modules), "processes": res,
            "loaded_error": loaded.get("error"), "pi_environment": PI_ENVIRONMENT}
