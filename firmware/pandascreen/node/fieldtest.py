"""Field test: the real screen app, N times, each in its own network namespace on one bridge.

    sudo python -m pandascreen.node.fieldtest --screens 20 [--partition 30 --partition 300] [--repeat 3] [--hog]

Why: what a festival needs is that every screen that is up shows the truth.  This runs what a
festival runs: one ``pandascreen-host serve --watch`` and N ``pandascreen`` processes (the app,
emulated displays), finding each other by mDNS alone (no peer is configured), on the real 38c3
program shifted so that it is on now.  It measures:

* cold start: from starting the screens (all at once, their namespaces made before) until each
  holds the whole program (its store), and
  each screen's CPU seconds until then (``/proc/PID/stat``), beside the floor measured in the
  same run: one screen's cold start alone (the median of three), its CPU seconds times N, over
  the machine's cores (N screens starting at once cannot finish sooner on this machine);
* change to pixel: from serve's "published" line after a re-import until each screen's
  emulated display shows the changed title (the view written beside the PNG: what is drawn);
* recovery: half the screens lose their link for ``--partition`` seconds while a change is
  made, then the link returns; the time from the heal until each shows the change (each cut
  in turn, all of them ``--repeat`` times);
* idle cost: CPU time and RSS of each screen process over a quiet spell (``--idle``);
* with ``--hog``, two busy loops keep both cores loaded from the first cut to the end.

A step that not every screen finished is reported as "N of M screens within T s", with the
p50 and p99 of those that did.

Isolation: a "hub" namespace holds the bridge; every node gets its own namespace and a veth whose
other end is on the bridge.  No namespace has a route off the bridge, so nothing (mDNS multicast
included) leaves the machine.  All namespaces and processes end at the end, also on failure.
"""

import argparse
import contextlib
import datetime
import html
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import escape as xml_escape

from pandascreen.node.field_lab import Lab, Proc, compile_project
from pandascreen.node.stop_signals import stop_like_ctrl_c
from pandascreen.node.poll import until

# the real 38c3 export, where the tests find real schedules (beside the clone, or $PANDASCREEN_SCHEDULES)
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEDULE = os.path.join(os.environ.get("PANDASCREEN_SCHEDULES", os.path.join(os.path.dirname(_REPO), "shared", "schedules")),
                        "eventfahrplan_schedule-38c3-20251206.xml")
FESTIVAL = "38c3"
PORT = 2026
SHIFT_TO = datetime.date(2024, 12, 28)  # the festival day that becomes today
ALONE_RUNS = 3  # one screen's cold start alone, measured this many times for the floor (the median)


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
        self.whole_cpu = None  # the process's CPU seconds then
        self._db = None  # its store, read-only, once it has one

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
        """How many operations of ``log_id`` its store holds (0 before it has one).  The store
        is opened once: the cold-start clock asks every screen five times a second, and opening
        50 files each time cost this process 50 ms of every second the screens were busy."""
        try:
            if self._db is None:
                self._db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir, "festival.db"), uri=True,
                                           timeout=1)
            return self._db.execute("SELECT COUNT(*) FROM operations WHERE log_id=?", (log_id,)).fetchone()[0]
        except sqlite3.Error:
            self.close()  # not there yet, or not readable now: opened afresh next time
            return 0

    def close(self):
        if self._db is not None:
            self._db.close()
            self._db = None


def shifted(text, today):
    """The schedule with every date moved so that SHIFT_TO falls on ``today``."""
    delta = today - SHIFT_TO

    def move(m):
        return (datetime.date.fromisoformat(m.group(0)) + delta).isoformat()
    return re.sub(r"(?<!\d)20\d\d-\d\d-\d\d(?!\d)", move, text)


def quiet_links(procs, start, end):
    """Live links torn down between ``start`` and ``end`` while nothing failed: every line of a
    screen's log in that window that ends a session past its topic handshake for a reason (a peer
    that stopped answering, a lost connection, a refusal, an eviction), counted against the live
    links the screens held (distinct peers each had a live sync with).  An upper bound: a plain
    resync round lost on the way counts too.  Sessions that never carried a link (a topic the peer
    did not take up, a crossed dial's twin) are counted apart, as ``not_taken_up``."""
    links = sum(len(p.live_peers) for p in procs)
    torn = sum(1 for p in procs for at in list(p.torn_down) if start <= at <= end)
    other = sum(1 for p in procs for at in list(p.not_taken_up) if start <= at <= end)
    hours = max(end - start, 1e-9) / 3600.0
    return {"links": links, "torn_down": torn, "seconds": round(end - start), "not_taken_up": other,
            "per_link_hour": round(torn / (max(links, 1) * hours), 2)}


def _percentile(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def spread(values, limit):
    """The delays of the screens that got there (None: not within ``limit`` seconds): how many of
    how many, and p50 / p99 / max of those that did (None when none did)."""
    done = [v for v in values if v is not None]
    out = {"n": len(done), "of": len(values), "within_s": limit, "p50": None, "p99": None, "max": None}
    if done:
        out.update(p50=round(_percentile(done, 50), 3), p99=round(_percentile(done, 99), 3),
                   max=round(max(done), 3))
    return out


def said(s):
    """One line for a spread: "p50 …, p99 …" of all, or "N of M screens within T s; p99 … of those"."""
    if s["n"] == s["of"]:
        return "p50 %.2f s, p99 %.2f s, max %.2f s" % (s["p50"], s["p99"], s["max"])
    text = "%d of %d screens within %.0f s" % (s["n"], s["of"], s["within_s"])
    return text + ("; of those p50 %.2f s, p99 %.2f s" % (s["p50"], s["p99"]) if s["n"] else "")


def retitled(text, old, new):
    """The schedule file ``text`` with the first event titled ``old`` retitled ``new``; its title
    is found however the file escapes it ("&amp;", "&quot;", "&#39;", a raw ">"); ValueError when
    no such title is in it."""
    for m in _TITLE.finditer(text):
        if html.unescape(m.group(1)) == old:
            return text[:m.start()] + "<title>%s</title>" % xml_escape(new) + text[m.end():]
    raise ValueError("no event titled %r in the schedule file" % old)


_TITLE = re.compile(r"<title>([^<]*)</title>")


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


class Field:
    """One scenario's moving parts: the lab, the organiser, the screens and the schedule file
    whose re-import makes the changes; every part it starts is left on ``stack`` to stop."""

    def __init__(self, stack, n_screens, schedule, timeout, out, keep_logs=None):
        from pandascreen.core import operation
        self.stack, self.timeout, self.out = stack, timeout, out
        self.work = tempfile.mkdtemp(prefix="pandascreen-field-")
        stack.callback(shutil.rmtree, self.work, ignore_errors=True)
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs)
        if keep_logs:  # every process's log, copied out after all of them stopped
            stack.callback(shutil.copytree, self.logs, keep_logs, dirs_exist_ok=True)
        self.lab = Lab("psf%d" % (os.getpid() % 10000))
        stack.callback(self.lab.close)
        self.log_id = operation.log_id_for_festival(FESTIVAL)
        self.sched = os.path.join(self.work, "schedule.xml")
        with open(schedule, encoding="utf-8") as fh:
            self.text = shifted(fh.read(), datetime.date.today())
        with open(self.sched, "w", encoding="utf-8") as fh:
            fh.write(self.text)
        self.screens = [Screen(i, self.work) for i in range(1, n_screens + 1)]
        compile_project()
        self.procs = []
        self.changes = 0

    def _start(self, ns, argv, name):
        proc = Proc(ns, argv, name, self.logs)
        self.procs.append(proc)
        self.stack.callback(proc.stop)
        return proc

    def organiser(self, res):
        """Import the program as the organiser, start ``serve --watch``; pick the event to change."""
        from pandascreen.core.crypto import public_key
        key, org_db = os.path.join(self.work, "org.key"), os.path.join(self.work, "org.db")
        subprocess.run([sys.executable, "-m", "pandascreen_host", "import", self.sched, "--store", org_db,
                        "--key", key], check=True, capture_output=True, text=True)
        with open(key, "rb") as fh:
            self.org_pk = public_key(fh.read())
        db = sqlite3.connect(org_db)
        self.total = db.execute("SELECT COUNT(*) FROM operations WHERE log_id=?", (self.log_id,)).fetchone()[0]
        db.close()
        self.venue, self.event = _on_now(org_db, self.log_id, self.org_pk, time.time())
        res["operations"], res["venue"] = self.total, self.venue.name
        self.org = self._start(self.lab.add(0), [sys.executable, "-m", "pandascreen_host", "serve", "--store", org_db,
                                                 "--key", key, "--watch", self.sched, "--listen", "0.0.0.0:%d" % PORT],
                               "org")

    def _network(self, s):
        """``s``'s configuration and its namespace on the bridge (a few `ip` processes)."""
        s.configure(self.org_pk.hex(), self.venue.id)
        return self.lab.add(s.i)

    def _launch(self, s, ns):
        s.start(ns, self.logs)
        self.procs.append(s.proc)
        self.stack.callback(s.proc.stop)
        self.stack.callback(s.close)

    def _whole(self, s):
        """Whether ``s`` holds the whole program; the first time, when and at what CPU time."""
        if s.whole_at is None and s.operations(self.log_id) >= self.total:
            s.whole_at = time.time()
            try:
                s.whole_cpu = s.proc.cpu_seconds()
            except OSError:  # it ended meanwhile
                pass
        return s.whole_at is not None

    def alone(self, res, runs=ALONE_RUNS):
        """The floor of the cold start: one screen alone with the organiser takes the program;
        its CPU seconds until then, times the screens, over the cores.  Measured ``runs`` times,
        one screen after another, each stopped once it holds the program: the median, as one
        measurement on a noisy machine can be far off either way."""
        cpu, walls = [], []
        for k in range(runs):
            s = Screen(len(self.screens) + 1 + k, self.work)
            ns = self._network(s)
            t0 = time.time()
            self._launch(s, ns)
            until(lambda: self._whole(s), self.timeout, every=0.2)
            s.proc.stop()
            self.lab.link(s.i, False)  # gone for the others: no one dials it
            if s.whole_cpu is None or s.whole_at is None:
                self.out("one screen alone: no whole program within %.0f s" % self.timeout)
                res["alone"] = {"ok": False, "cold_start_s": None, "cpu_s": None, "cpu_runs_s": cpu, "floor_s": None}
                return
            cpu.append(round(s.whole_cpu, 3))
            walls.append(round(s.whole_at - t0, 3))
        cores = os.cpu_count() or 1
        median = statistics.median(cpu)
        res["alone"] = a = {"ok": True, "cold_start_s": statistics.median(walls), "cpu_s": median, "cpu_runs_s": cpu,
                            "cores": cores, "floor_s": round(median * len(self.screens) / cores, 3)}
        self.out("one screen alone: the whole program in %.2f s, %.2f CPU-s (median of %d: %s); floor for %d screens "
                 "on %d cores: %.2f s" % (a["cold_start_s"], median, runs, ", ".join("%.2f" % c for c in cpu),
                                          len(self.screens), cores, a["floor_s"]))

    def _cpu_now(self, procs):
        return sum(p.cpu_seconds() for p in procs if p.p.poll() is None)  # the ones still running

    def cold_start(self, res):
        """Every screen starts at once, as a venue's screens power on, into a network that is
        there already: the namespaces are made first (on a loaded machine their `ip` processes
        took 20 s for 50 screens, which counted into the last screens' cold start)."""
        spaces = [self._network(s) for s in self.screens]
        t0 = time.time()
        org_before = self.org.cpu_seconds()
        for s, ns in zip(self.screens, spaces):
            self._launch(s, ns)
        res["ok"]["cold_start"] = until(lambda: all([self._whole(s) for s in self.screens]), self.timeout, every=0.2)
        # what the whole swarm spent until the last screen held the program: the screens that
        # had it went on relaying meanwhile, and serve served
        res["cold_start_cpu_swarm_s"] = {"screens": round(self._cpu_now(s.proc for s in self.screens), 3),
                                         "serve": round(self.org.cpu_seconds() - org_before, 3)}
        res["cold_start_s"] = spread([None if s.whole_at is None else s.whole_at - t0 for s in self.screens],
                                     self.timeout)
        cpu = [s.whole_cpu for s in self.screens if s.whole_cpu is not None]
        res["cold_start_cpu_s"] = spread(cpu, self.timeout)
        res["cold_start_cpu_total_s"] = round(sum(cpu), 3)
        floor = (res.get("alone") or {}).get("floor_s")
        self.out("cold start, %d screens to the whole program (%d operations): %s%s"
                 % (len(self.screens), self.total, said(res["cold_start_s"]),
                    "" if floor is None else " (floor %.2f s)" % floor))
        if cpu:
            swarm = res["cold_start_cpu_swarm_s"]
            self.out("cold start CPU per screen: p50 %.2f s, p99 %.2f s, sum %.1f CPU-s; until the last one held it, "
                     "screens %.1f CPU-s, serve %.1f CPU-s"
                     % (res["cold_start_cpu_s"]["p50"], res["cold_start_cpu_s"]["p99"], sum(cpu), swarm["screens"],
                        swarm["serve"]))

    def change(self):
        """Retitle the event the screens show; (the new title, when serve published it)."""
        self.changes += 1
        title = "%s (moved, change %d)" % (self.event.title, self.changes)
        before = time.time()
        with open(self.sched, "w", encoding="utf-8") as fh:
            fh.write(retitled(self.text, self.event.title, title))
        until(lambda: self.org.when(r"published \d+ operations", before) is not None, self.timeout, every=0.05)
        return title, self.org.when(r"published \d+ operations", before) or before

    def pixel_delays(self, screens, title, since, limit):
        """Per screen, seconds from ``since`` until its display showed ``title`` (None: not within ``limit``)."""
        seen, needle = {}, json.dumps(title)[1:-1]

        def look():
            for s in screens:
                if s.name not in seen and needle in s.shows():
                    seen[s.name] = time.time() - since
            return len(seen) == len(screens)
        ok = until(look, limit, every=0.02)
        return ok, [seen.get(s.name) for s in screens]

    def live_change(self, res):
        title, published = self.change()
        ok, delays = self.pixel_delays(self.screens, title, published, 30)
        res["ok"]["change"], res["change_to_pixel_s"] = ok, spread(delays, 30)
        self.out("change to pixel (from serve's published line): %s" % said(res["change_to_pixel_s"]))

    def idle(self, res, seconds):
        before = [(s.proc.cpu_seconds(), s) for s in self.screens]
        org_before = self.org.cpu_seconds()
        start = time.time()
        time.sleep(seconds)
        res["idle_links"] = quiet_links([s.proc for s in self.screens], start, time.time())
        cpu = [100.0 * (s.proc.cpu_seconds() - c) / seconds for c, s in before]
        res["idle"] = {"seconds": seconds, "cpu_percent_of_a_core": spread(cpu, seconds),
                       "rss_mb": spread([s.proc.rss_mb() for s in self.screens], seconds),
                       "serve_cpu_percent": round(100.0 * (self.org.cpu_seconds() - org_before) / seconds, 2)}
        i, q = res["idle"], res["idle_links"]
        # at most one reconnect per link per hour while nothing fails
        res["ok"]["quiet_links"] = q["torn_down"] <= q["links"] * seconds / 3600.0
        self.out("quiet links: %d torn down among %d live links in %d s: %.2f per link-hour (at most 1 wanted); "
                 "%d sessions not taken up (topics refused, crossed dials)"
                 % (q["torn_down"], q["links"], seconds, q["per_link_hour"], q["not_taken_up"]))
        self.out("idle %ds: screen CPU p50 %.2f%% max %.2f%% of a core, RSS p50 %.0f MB max %.0f MB; serve %.2f%%"
                 % (seconds, i["cpu_percent_of_a_core"]["p50"], i["cpu_percent_of_a_core"]["max"],
                    i["rss_mb"]["p50"], i["rss_mb"]["max"], i["serve_cpu_percent"]))

    def cut(self, seconds, hog):
        """Half the screens lose their link while a change is made; then the link returns.
        Returns this cut's figures and whether every step held (a cut of ``ALONE_SAID_WITHIN``
        seconds or more: each cut screen's display says "alone since" at its end)."""
        half = self.screens[:max(1, len(self.screens) // 2)]
        up = [s for s in self.screens if s not in half]
        for s in half:
            self.lab.link(s.i, False)
        cut_at = time.time()
        self.out("%s cut %s" % (time.strftime("%H:%M:%S"), " ".join(s.name for s in half)))
        title, published = self.change()
        cut = {"seconds": seconds, "hog": hog, "ok": {}}
        if up:
            ok, delays = self.pixel_delays(up, title, published, 30)
            cut["ok"]["change_during_cut"], cut["linked_to_pixel_s"] = ok, spread(delays, 30)
        time.sleep(max(0.0, seconds - (time.time() - cut_at)))
        cut["cut_screens_say"] = sorted(set(_status_word(s.shows()) for s in half))
        from pandascreen.core.clock import ALONE
        from pandascreen.node.liveness import ALONE_SAID_WITHIN
        if seconds >= ALONE_SAID_WITHIN:  # cut off that long, each cut screen says so on its display
            cut["ok"]["alone_said"] = all(w.startswith(ALONE + " ") for w in cut["cut_screens_say"])
        healed = time.time()
        for s in half:
            self.lab.link(s.i, True)
        self.out("%s healed" % time.strftime("%H:%M:%S"))
        ok, delays = self.pixel_delays(half, title, healed, self.timeout)
        cut["ok"]["heal"], cut["heal_to_pixel_s"] = ok, spread(delays, self.timeout)
        cut["heal_delays"] = [None if d is None else round(d, 3) for d in delays]
        self.out("%d screens cut for %.0f s%s: from the heal to the change on their display: %s"
                 % (len(half), seconds, " (both cores loaded)" if hog else "", said(cut["heal_to_pixel_s"])))
        return cut

    def tracebacks(self):
        """Tracebacks and task errors left unretrieved in every process's whole log."""
        return sum(p.tracebacks for p in self.procs)


def _hog(stack, n=2):
    """Two busy loops (both cores of this machine), killed when ``stack`` closes."""
    code = "import time\nend = time.time() + 3600\nwhile time.time() < end:\n    pass\n"
    for _ in range(n):
        h = subprocess.Popen([sys.executable, "-c", code])
        stack.callback(h.wait)
        stack.callback(h.kill)


def run(n_screens, schedule=SCHEDULE, timeout=60.0, partition=(30.0,), hog=False, idle=0.0, repeat=1, out=print,
        keep_logs=None):
    """The whole scenario; returns a dict of results (the figures; ``ok`` says whether each step
    held).  ``partition``: the lengths of the cuts made in turn, each ``repeat`` times; ``hog``
    loads both cores from the first cut on."""
    if os.geteuid() != 0:
        raise SystemExit("the field test needs root (ip netns)")
    res = {"screens": n_screens, "ok": {}, "cuts": []}
    with contextlib.ExitStack() as stack:
        field = Field(stack, n_screens, schedule, timeout, out, keep_logs)
        field.organiser(res)
        field.alone(res)
        field.cold_start(res)
        field.live_change(res)
        if idle:
            field.idle(res, idle)
        if hog:
            _hog(stack)
        for seconds in list(partition) * repeat:
            cut = field.cut(seconds, hog)
            res["cuts"].append(cut)
            for step, ok in cut.pop("ok").items():
                res["ok"][step] = res["ok"].get(step, True) and ok
        res["tracebacks"] = field.tracebacks()
        res["ok"]["no_tracebacks"] = res["tracebacks"] == 0
    return res


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
    ap.add_argument("--partition", type=float, action="append",
                    help="seconds half the screens are cut off (repeat for cuts in turn; default 30)")
    ap.add_argument("--no-cut", action="store_true", help="no cut: cold start, a change and the quiet spell only")
    ap.add_argument("--repeat", type=int, default=1, help="make the cuts this many times")
    ap.add_argument("--idle", type=float, default=0.0, help="seconds of quiet to measure idle CPU and RSS")
    ap.add_argument("--hog", action="store_true", help="load both cores from the first cut to the end")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy every process's log here at the end")
    args = ap.parse_args(argv)
    try:
        # a caller's timeout (SIGTERM) or a closed terminal (SIGHUP) stops it as Ctrl-C does: the
        # scenario unwinds, its processes are stopped and its namespaces removed
        with stop_like_ctrl_c():
            res = run(args.screens, args.schedule, args.timeout, [] if args.no_cut else (args.partition or [30.0]),
                      args.hog, args.idle, args.repeat, keep_logs=args.keep_logs)
    except KeyboardInterrupt:
        print("stopped: every process started was stopped", file=sys.stderr)
        return 130
    print(json.dumps(res))
    return 0 if all(res["ok"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
