"""Field test: the real screen app, N times, each in its own network namespace on one bridge.

    sudo python -m pandascreen.node.fieldtest --screens 20 [--partition 30] [--hog]

Why: what a festival needs is that every screen that is up shows the truth.  This runs what a
festival runs: one ``pandascreen-host serve --watch`` and N ``pandascreen`` processes (the app,
emulated displays), finding each other by mDNS alone (no peer is configured), on the real 38c3
program shifted so that it is on now.  It measures:

* cold start: from starting the screens until each holds the whole program (its store);
* change to pixel: from serve's "published" line after a re-import until each screen's
  emulated display shows the changed title (the view written beside the PNG: what is drawn);
* recovery: half the screens lose their link for ``--partition`` seconds while a change is
  made, then the link returns; the time from the heal until each shows the change;
* idle cost: CPU time and RSS of each screen process over a quiet spell (``--idle``);
* with ``--hog``, two busy loops keep both cores loaded during the partition and the heal.

Isolation: a "hub" namespace holds the bridge; every node gets its own namespace and a veth whose
other end is on the bridge.  No namespace has a route off the bridge, so nothing (mDNS multicast
included) leaves the machine.  All namespaces and processes end at the end, also on failure.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from pandascreen.node.poll import until

# the real 38c3 export, where the tests find real schedules (beside the clone, or $PANDASCREEN_SCHEDULES)
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEDULE = os.path.join(os.environ.get("PANDASCREEN_SCHEDULES", os.path.join(os.path.dirname(_REPO), "shared", "schedules")),
                        "eventfahrplan_schedule-38c3-20251206.xml")
FESTIVAL = "38c3"
PORT = 2026
SHIFT_TO = datetime.date(2024, 12, 28)  # the festival day that becomes today


def _ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), check=check, capture_output=True, text=True)


class Lab:
    """The namespaces and the bridge; ``close()`` removes all of them."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.hub = prefix + "hub"
        self.spaces = []
        _ip("netns", "add", self.hub)
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.hub, "link", "set", "br0", "up")
        _ip("-n", self.hub, "link", "set", "lo", "up")

    def _hub_end(self, i):
        return "ps%s%d" % (self.prefix[-3:], i)

    def add(self, i):
        ns = "%s%d" % (self.prefix, i)
        _ip("netns", "add", ns)
        self.spaces.append(ns)
        _ip("link", "add", self._hub_end(i), "netns", self.hub, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("-n", self.hub, "link", "set", self._hub_end(i), "master", "br0")
        _ip("-n", self.hub, "link", "set", self._hub_end(i), "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", "10.77.%d.%d/16" % (i // 250, i % 250 + 2), "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
        return ns

    def link(self, i, up):
        _ip("-n", self.hub, "link", "set", self._hub_end(i), "up" if up else "down")

    def close(self):
        for ns in self.spaces + [self.hub]:
            _ip("netns", "del", ns, check=False)


class Proc:
    """One child in a namespace; keeps its last lines and when each line came."""

    def __init__(self, ns, argv, name, log_dir):
        self.name = name
        self.log = open(os.path.join(log_dir, name + ".log"), "w")
        env = dict(os.environ, PYTHONUNBUFFERED="1")  # lines as they happen: their time is measured
        self.p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = []  # (time.time(), line)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append((time.time(), line.rstrip()))
            del self.lines[:-200]
            self.log.write(line)
            self.log.flush()

    def when(self, pattern, after=0.0):
        """Time of the first line matching ``pattern`` seen after ``after`` (None if none yet)."""
        for at, line in list(self.lines):
            if at >= after and re.search(pattern, line):
                return at
        return None

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.p.pid) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def rss_mb(self):
        with open("/proc/%d/status" % self.p.pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()


class Screen:
    """One screen: the app process, its store and the view its emulated display shows."""

    def __init__(self, i, work):
        self.i = i
        self.name = "s%d" % i
        self.dir = os.path.join(work, self.name)
        os.makedirs(self.dir)
        self.png = os.path.join(self.dir, "screen.png")
        self.proc = None
        self.whole_at = None  # when its store first held the whole program

    def configure(self, organiser_hex, venue_id):
        fd = os.open(os.path.join(self.dir, "device.key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32))
        os.close(fd)
        cfg = {"festival_id": FESTIVAL, "organisers": [organiser_hex], "display": "ssd1306_128x64",
               "venues": [venue_id], "peers": [], "listen_port": PORT, "oled_care": False}
        with open(os.path.join(self.dir, "config.json"), "w") as fh:
            json.dump(cfg, fh)

    def start(self, ns, log_dir):
        argv = [sys.executable, "-m", "pandascreen.node.app", "--config", os.path.join(self.dir, "config.json"),
                "--emulate", self.png]
        self.proc = Proc(ns, argv, self.name, log_dir)

    def shows(self):
        """The text of the view the display shows now ('' before the first frame)."""
        try:
            with open(self.png + ".json", encoding="utf-8") as fh:
                return fh.read()
        except OSError:
            return ""

    def operations(self, log_id):
        try:
            db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir, "festival.db"), uri=True, timeout=1)
            try:
                return db.execute("SELECT COUNT(*) FROM operations WHERE log_id=?", (log_id,)).fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            return 0


def shifted(text, today):
    """The schedule with every date moved so that SHIFT_TO falls on ``today``."""
    delta = today - SHIFT_TO

    def move(m):
        return (datetime.date.fromisoformat(m.group(0)) + delta).isoformat()
    return re.sub(r"(?<!\d)20\d\d-\d\d-\d\d(?!\d)", move, text)


def _percentile(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def _spread(values):
    return {"p50": round(_percentile(values, 50), 3), "p99": round(_percentile(values, 99), 3),
            "max": round(max(values), 3), "n": len(values)}


def _on_now(store_path, log_id, organiser, now):
    """A venue and the event its screen shows (on now for another half hour, else the soonest
    next one): the test changes that event's title, so the change moves pixels."""
    from pandascreen.core.schedule import Schedule
    from pandascreen.node.sqlite_store import SqliteStore
    s = SqliteStore(store_path)
    try:
        sch = Schedule.from_store(s, log_id, authors=[organiser])
        on_now, soonest = None, None
        for v in sch.venues():
            cur, nxt = sch.now_next(v.id, now)
            if cur is not None and cur.end - now > 1800 and on_now is None:
                on_now = (v, cur)
            if nxt is not None and (soonest is None or nxt.start < soonest[1].start):
                soonest = (v, nxt)
        return on_now or soonest
    finally:
        s.close()


def _hog(n=2):
    code = "import time\nend = time.time() + 3600\nwhile time.time() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def run(n_screens, schedule=SCHEDULE, timeout=60.0, partition=30.0, hog=False, idle=0.0, out=print):
    """The whole scenario; returns a dict of results (the figures; ``ok`` says whether each step held)."""
    if os.geteuid() != 0:
        raise SystemExit("the field test needs root (ip netns)")
    from pandascreen.core import operation
    from pandascreen.core.crypto import public_key
    work = tempfile.mkdtemp(prefix="pandascreen-field-")
    logs = os.path.join(work, "logs")
    os.makedirs(logs)
    prefix = "psf%d" % (os.getpid() % 10000)
    lab = Lab(prefix)
    procs, hogs = [], []
    res = {"screens": n_screens, "ok": {}}
    py = [sys.executable, "-m"]
    log_id = operation.log_id_for_festival(FESTIVAL)
    try:
        sched = os.path.join(work, "schedule.xml")
        text = shifted(open(schedule, encoding="utf-8").read(), datetime.date.today())
        with open(sched, "w", encoding="utf-8") as fh:
            fh.write(text)
        key = os.path.join(work, "org.key")
        org_db = os.path.join(work, "org.db")
        subprocess.run(py + ["pandascreen_host", "import", sched, "--store", org_db, "--key", key],
                       check=True, capture_output=True, text=True)
        with open(key, "rb") as fh:
            org_pk = public_key(fh.read())
        db = sqlite3.connect(org_db)
        total = db.execute("SELECT COUNT(*) FROM operations WHERE log_id=?", (log_id,)).fetchone()[0]
        db.close()
        res["operations"] = total
        venue, event = _on_now(org_db, log_id, org_pk, time.time())
        res["venue"] = venue.name
        org = Proc(lab.add(0), py + ["pandascreen_host", "serve", "--store", org_db, "--key", key, "--watch", sched,
                                     "--listen", "0.0.0.0:%d" % PORT], "org", logs)
        procs.append(org)
        screens = [Screen(i, work) for i in range(1, n_screens + 1)]
        t0 = time.time()
        for s in screens:
            s.configure(org_pk.hex(), venue.id)
            s.start(lab.add(s.i), logs)
            procs.append(s.proc)

        def whole(s):
            if s.whole_at is None and s.operations(log_id) >= total:
                s.whole_at = time.time()
            return s.whole_at is not None
        res["ok"]["cold_start"] = until(lambda: all([whole(s) for s in screens]), timeout, every=0.2)
        res["cold_start_s"] = _spread([(s.whole_at or float("inf")) - t0 for s in screens])
        out("cold start, %d screens to the whole program (%d operations): p50 %.1f s, p99 %.1f s%s"
            % (n_screens, total, res["cold_start_s"]["p50"], res["cold_start_s"]["p99"],
               "" if res["ok"]["cold_start"] else "  NOT ALL"))

        def change(title):
            """Retitle the event on now at the venue the screens show; when serve published it."""
            before = time.time()
            with open(sched, "w", encoding="utf-8") as fh:
                fh.write(text.replace("<title>%s</title>" % event.title, "<title>%s</title>" % title, 1))
            until(lambda: org.when(r"published \d+ operations", before) is not None, timeout, every=0.05)
            return org.when(r"published \d+ operations", before) or before

        def pixel_delays(screens_, title, since, limit):
            seen = {}

            def look():
                for s in screens_:
                    if s.name not in seen and json.dumps(title)[1:-1] in s.shows():
                        seen[s.name] = time.time() - since
                return len(seen) == len(screens_)
            ok = until(look, limit, every=0.02)
            return ok, [seen.get(s.name, float("inf")) for s in screens_]

        # a live change, everyone up
        m1 = "%s (moved to the big hall)" % event.title
        published = change(m1)
        ok, delays = pixel_delays(screens, m1, published, 30)
        res["ok"]["change"], res["change_to_pixel_s"] = ok, _spread(delays)
        out("change to pixel (from serve's published line): p50 %.2f s, p99 %.2f s, max %.2f s%s"
            % (res["change_to_pixel_s"]["p50"], res["change_to_pixel_s"]["p99"], res["change_to_pixel_s"]["max"],
               "" if ok else "  NOT ALL"))

        if idle:
            before = [(s.proc.cpu_seconds(), s) for s in screens]
            org_before = org.cpu_seconds()
            time.sleep(idle)
            cpu = [100.0 * (s.proc.cpu_seconds() - c) / idle for c, s in before]
            res["idle"] = {"seconds": idle, "cpu_percent_of_a_core": _spread(cpu),
                           "rss_mb": _spread([s.proc.rss_mb() for s in screens]),
                           "serve_cpu_percent": round(100.0 * (org.cpu_seconds() - org_before) / idle, 2)}
            out("idle %ds: screen CPU p50 %.2f%% max %.2f%% of a core, RSS p50 %.0f MB max %.0f MB; serve %.2f%%"
                % (idle, res["idle"]["cpu_percent_of_a_core"]["p50"], res["idle"]["cpu_percent_of_a_core"]["max"],
                   res["idle"]["rss_mb"]["p50"], res["idle"]["rss_mb"]["max"], res["idle"]["serve_cpu_percent"]))

        # half the screens lose their link while a change is made; then the link returns
        if hog:
            hogs = _hog()
        half = screens[:max(1, n_screens // 2)]
        for s in half:
            lab.link(s.i, False)
        cut_at = time.time()
        m2 = "%s (moved again)" % event.title
        published = change(m2)
        up = [s for s in screens if s not in half]
        if up:
            ok, delays = pixel_delays(up, m2, published, 30)
            res["ok"]["change_during_cut"] = ok
            out("during the cut, the %d screens still linked show the change: p99 %.2f s%s"
                % (len(up), _percentile(delays, 99), "" if ok else "  NOT ALL"))
        time.sleep(max(0.0, partition - (time.time() - cut_at)))
        res["cut_screens_say"] = sorted(set(_status_word(s.shows()) for s in half))
        healed = time.time()
        for s in half:
            lab.link(s.i, True)
        ok, delays = pixel_delays(half, m2, healed, timeout)
        res["ok"]["heal"], res["heal_to_pixel_s"] = ok, _spread(delays)
        out("%d screens cut for %.0f s%s: from the heal to the change on their display: p50 %.1f s, p99 %.1f s%s"
            % (len(half), partition, " (both cores loaded)" if hog else "", res["heal_to_pixel_s"]["p50"],
               res["heal_to_pixel_s"]["p99"], "" if ok else "  NOT ALL"))
        res["tracebacks"] = sum(1 for p in procs for _at, line in p.lines if "Traceback" in line
                                or "never retrieved" in line)
        return res
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        for p in procs:
            p.stop()
        lab.close()
        shutil.rmtree(work, ignore_errors=True)


def _status_word(view_text):
    try:
        return str(json.loads(view_text).get("status", ""))
    except ValueError:
        return ""


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pandascreen.node.fieldtest", description=__doc__.split("\n")[0])
    ap.add_argument("--screens", type=int, default=20)
    ap.add_argument("--schedule", default=SCHEDULE)
    ap.add_argument("--timeout", type=float, default=90.0)
    ap.add_argument("--partition", type=float, default=30.0, help="seconds half the screens are cut off")
    ap.add_argument("--idle", type=float, default=0.0, help="seconds of quiet to measure idle CPU and RSS")
    ap.add_argument("--hog", action="store_true", help="load both cores during the cut and the heal")
    args = ap.parse_args(argv)
    res = run(args.screens, args.schedule, args.timeout, args.partition, args.hog, args.idle)
    print(json.dumps(res))
    return 0 if all(res["ok"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
