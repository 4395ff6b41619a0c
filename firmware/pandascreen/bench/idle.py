"""Benchmark section: what an idle screen costs -- CPU (% of one core) and RSS of the real
``pandascreen`` app with an emulated display, once with the 38c3 program shifted so that it is on
now and once with a made-up 20,000-event festival, over a quiet window with no changes.

Beside them, the floors, measured in the same window: a bare ``python3`` that only sleeps, and
one that only imports ``iroh`` (the native library every screen loads) and sleeps.  A screen
cannot cost less than the second.

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
        return _status_field("/proc/%d/status" % self.p.pid, "VmRSS") / 1024.0

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
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


def _status_field(path, name):
    with open(path) as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def measure(procs, window, settle):
    """Sleep ``settle``, then CPU %, peak RSS and wake-ups per minute per thread of each process
    over ``window`` seconds (RSS sampled every few seconds)."""
    time.sleep(settle)
    before = {p.label: (p.cpu_seconds(), p.switches()) for p in procs}
    t0 = time.monotonic()
    rss = {p.label: 0.0 for p in procs}
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
        out[p.label] = {"cpu_percent": round(100.0 * (p.cpu_seconds() - cpu0) / took, 3),
                        "rss_mb": round(max(rss[p.label], p.rss_mb()), 1),
                        "exited": None if p.p.poll() is None else p.last_lines(),
                        "wakeups_per_minute": dict(sorted(wakes.items(), key=lambda kv: -kv[1]))}
    return out


def run(quick=False):
    window = 20 if quick else int(os.environ.get("PANDASCREEN_BENCH_IDLE", "600"))
    settle = 15.0 if quick else SETTLE
    sleep_for = str(window + settle + 60)
    with tempfile.TemporaryDirectory(prefix="pandascreen-idle-") as work:
        folders = {"screen, 38c3": screen_38c3(work), "screen, 20k events": screen_20k(work, 2000 if quick else 20000)}
        procs = []
        try:
            sleeping = "import time; time.sleep(%s)" % sleep_for
            procs.append(Sampled("floor: python3, sleep", [sys.executable, "-c", sleeping],
                                 os.path.join(work, "floor.log")))
            procs.append(Sampled("floor: python3, import iroh, sleep", namespaced(
                [sys.executable, "-c", "import iroh; " + sleeping]), os.path.join(work, "floor-iroh.log")))
            for label, folder in folders.items():
                procs.append(Sampled(label, namespaced([
                    sys.executable, "-m", "pandascreen.node.app", "--config", os.path.join(folder, "config.json"),
                    "--emulate", os.path.join(folder, "screen.png")]), os.path.join(folder, "app.log")))
            res = measure(procs, window, settle)
        finally:
            for p in procs:
                p.stop()
    return {"window_s": window, "settle_s": settle, "processes": res}


def report(r):
    lines = ["idle: one screen process, no changes, %d s window after %d s to settle" % (r["window_s"], r["settle_s"])]
    for label, m in r["processes"].items():
        top = ", ".join("%s %.0f" % kv for kv in list(m["wakeups_per_minute"].items())[:4])
        lines.append("  %-38s CPU %6.3f%% of a core  RSS %5.1f MB  wake-ups/min: %s"
                     % (label, m["cpu_percent"], m["rss_mb"], top))
        if m["exited"] is not None:
            lines.append("    EXITED during the window: %s" % " / ".join(m["exited"]))
    return "\n".join(lines)
