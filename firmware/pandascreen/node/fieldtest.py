"""[CPython, root] Field test: one organiser and N screens in Linux network namespaces on one bridge.

    sudo python -m pandascreen.node.fieldtest --screens 20

Why: the festival has no typed addresses and no internet; this checks, on one machine, that
screens find the organiser and each other by mDNS alone, sync a 38c3-size festival, get a change
within seconds, keep everything when the organiser leaves, and converge after half lose their link.

Isolation: a "hub" namespace holds the bridge; every node gets its own namespace and a veth whose
other end is on the bridge.  No namespace has a route off the bridge, so nothing (mDNS multicast
included) leaves the machine.  All namespaces are deleted at the end, also on failure.

What "reaches the frame" means here: the screen process has the changed operation in its store
and has rebuilt its Schedule from the store (what the frame is drawn from); drawing pixels for 20
screens on 2 cores would measure the CPU, not the network.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
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
TITLE = "38C3: Opening Ceremony"
PORT = 2026


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

    def add(self, i):
        ns = "%s%d" % (self.prefix, i)
        _ip("netns", "add", ns)
        self.spaces.append(ns)
        _ip("link", "add", "ps%s%d" % (self.prefix[-3:], i), "netns", self.hub, "type", "veth",
            "peer", "name", "eth0", "netns", ns)
        hub_end = "ps%s%d" % (self.prefix[-3:], i)
        _ip("-n", self.hub, "link", "set", hub_end, "master", "br0")
        _ip("-n", self.hub, "link", "set", hub_end, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", "10.77.%d.%d/16" % (i // 250, i % 250 + 2), "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
        return ns, "10.77.%d.%d" % (i // 250, i % 250 + 2)

    def link(self, i, up):
        _ip("-n", self.hub, "link", "set", "ps%s%d" % (self.prefix[-3:], i), "up" if up else "down")

    def close(self):
        for ns in self.spaces + [self.hub]:
            _ip("netns", "del", ns, check=False)


class Proc:
    """One child in a namespace; its JSON lines go to ``events``."""

    def __init__(self, ns, argv, name, events):
        self.name = name
        self.p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
        self.last = {}
        self.seen = set()
        self.lines = []
        threading.Thread(target=self._read, args=(events,), daemon=True).start()

    def _read(self, events):
        for line in self.p.stdout:
            self.lines.append(line.rstrip())
            del self.lines[:-50]
            if line.startswith("{"):
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                self.last.update(msg)
                if "seen" in msg:
                    self.seen.add(msg["seen"])
                events.append((self.name, msg))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)




# ------------------------------------------------------------------ the screen child
def screen_child(args):
    """A screen with no configured peer: iroh node + mDNS, reports store count, links and when
    each marker title reached its Schedule."""
    from pandascreen.core import operation
    from pandascreen.core.schedule import Schedule
    from pandascreen.node.discovery import start_for_node
    from pandascreen.node.iroh_transport import IrohNode
    from pandascreen.node.sqlite_store import SqliteStore
    store = SqliteStore(args.store)
    topic = operation.festival_topic(args.festival)
    log_id = operation.log_id_for_topic(topic)
    org = bytes.fromhex(args.organiser)
    markers = [m.encode() for m in args.marker]
    seen = {}
    changed = threading.Event()
    node = IrohNode(store, topic, bytes.fromhex(args.seed), bind="0.0.0.0:%d" % PORT, max_links=args.max_links,
                    on_change=changed.set, say=lambda line: None, timeout=5.0, connect_timeout=3.0).start()
    mdns = start_for_node(node, say=lambda line: None, max_peers=args.max_peers, dial_timeout=5.0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    version = None
    last_report = 0
    while not stop.is_set():
        changed.wait(0.5)
        changed.clear()
        now = time.time()
        if store.version != version:
            new = store.operations_since(version, log_id=log_id) if version is not None else None
            version = store.version
            if new is None:
                new = list(store.all_operations(log_id))
            hits = [m for m in markers if m not in seen and any(op.body and m in op.body for op in new)]
            if hits:
                sch = Schedule.from_store(store, log_id, authors=[org])  # what the frame is drawn from
                titles = {e.title for e in sch.all_events()}
                for m in hits:
                    if m.decode() in titles:
                        seen[m] = time.time()
                        print(json.dumps({"seen": m.decode(), "at": seen[m]}), flush=True)
        if now - last_report > 0.5:
            last_report = now
            links = [l for l in node.status() if not l.get("error") and l.get("live")]
            print(json.dumps({"count": store.count(), "links": len(links)}), flush=True)
    if mdns is not None:
        mdns.stop()
    node.stop(grace=0.3)
    store.close()


# ------------------------------------------------------------------ the parent
def _percentile(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def run(n_screens, schedule=SCHEDULE, timeout=60.0, max_peers=4, max_links=8, out=print):
    """The whole scenario; returns a dict of results (raises AssertionError on a failed step)."""
    if os.geteuid() != 0:
        raise SystemExit("the field test needs root (ip netns)")
    work = tempfile.mkdtemp(prefix="pandascreen-field-")
    prefix = "psf%d" % (os.getpid() % 10000)
    lab = Lab(prefix)
    procs = []
    events = []
    res = {"screens": n_screens}
    py = [sys.executable, "-m"]
    try:
        sched = os.path.join(work, "schedule.xml")
        text = open(schedule, encoding="utf-8").read()
        with open(sched, "w", encoding="utf-8") as fh:
            fh.write(text)
        key = os.path.join(work, "org.key")
        org_db = os.path.join(work, "org.db")
        subprocess.run(py + ["pandascreen_host", "import", sched, "--store", org_db, "--key", key],
                       check=True, capture_output=True, text=True)
        from pandascreen.core.crypto import public_key
        from pandascreen.node.sqlite_store import SqliteStore
        with open(key, "rb") as fh:
            org_pk = public_key(fh.read())
        s = SqliteStore(org_db)
        total = s.count()
        s.close()
        res["operations"] = total
        m1, m2 = TITLE + " (moved)", TITLE + " (moved again)"

        def start_org(i=0):
            ns, _ = (lab.add(0) if i == 0 else (prefix + "0", None))
            return Proc(ns, py + ["pandascreen_host", "serve", "--store", org_db, "--key", key, "--watch", sched,
                                  "--listen", "0.0.0.0:%d" % PORT], "org", events)

        def start_screen(i):
            ns, _ = lab.add(i)
            argv = py + ["pandascreen.node.fieldtest", "--child-screen", "--seed", ("%02x" % (i + 100)) * 32,
                         "--store", os.path.join(work, "s%d.db" % i), "--festival", "38c3",
                         "--organiser", org_pk.hex(), "--marker", m1, "--marker", m2,
                         "--max-peers", str(max_peers), "--max-links", str(max_links)]
            return Proc(ns, argv, "s%d" % i, events)

        org = start_org()
        procs.append(org)
        screens = [start_screen(i) for i in range(1, n_screens + 1)]
        procs.extend(screens)
        t0 = time.monotonic()
        ok = until(lambda: all(p.last.get("count") == total for p in screens), timeout)
        res["initial_sync_s"] = round(time.monotonic() - t0, 2)
        out("initial sync of %d operations to %d screens: %s in %.1fs" % (total, n_screens, "ok" if ok else "FAILED",
                                                                         res["initial_sync_s"]))
        assert ok, {p.name: p.last.get("count") for p in screens}

        # a change published by the organiser
        changed_at = time.time()
        with open(sched, "w", encoding="utf-8") as fh:
            fh.write(text.replace("<title>%s</title>" % TITLE, "<title>%s</title>" % m1, 1))
        ok = until(lambda: all(m1 in p.seen for p in screens), 30)
        delays = [e[1]["at"] - changed_at for e in list(events) if e[1].get("seen") == m1]
        assert ok and len(delays) == n_screens, (len(delays), n_screens)
        res["change_to_frame_s"] = {"p50": round(_percentile(delays, 50), 3), "p99": round(_percentile(delays, 99), 3),
                                    "max": round(max(delays), 3)}
        out("change to frame (incl. the organiser's 0.5 s file watch): p50 %.2fs p99 %.2fs max %.2fs"
            % (res["change_to_frame_s"]["p50"], res["change_to_frame_s"]["p99"], res["change_to_frame_s"]["max"]))
        res["max_links"] = max(p.last.get("links", 0) for p in screens)
        out("live links per screen: at most %d (bound %d)" % (res["max_links"], max_links))
        assert res["max_links"] <= max_links

        # the organiser leaves; a new screen joins and gets everything from the others
        org.stop()
        newcomer = start_screen(n_screens + 1)
        procs.append(newcomer)
        ok = until(lambda: newcomer.last.get("count", 0) >= total + 1, timeout)
        out("organiser gone, new screen got %s/%d operations from the screens: %s"
            % (newcomer.last.get("count"), total + 1, "ok" if ok else "FAILED"))
        assert ok
        screens.append(newcomer)

        # half the screens lose their link; the organiser comes back with a change; links return
        half = list(range(1, n_screens // 2 + 1))
        for i in half:
            lab.link(i, False)
        with open(sched, "w", encoding="utf-8") as fh:
            fh.write(text.replace("<title>%s</title>" % TITLE, "<title>%s</title>" % m2, 1))
        org2 = Proc(prefix + "0", py + ["pandascreen_host", "serve", "--store", org_db, "--key", key, "--watch",
                                        sched, "--listen", "0.0.0.0:%d" % PORT], "org", events)
        procs.append(org2)
        up = [p for p in screens if int(p.name[1:]) not in half]
        ok = until(lambda: all(m2 in p.seen for p in up), timeout)
        out("with half the links down, the other %d screens got the change: %s" % (len(up), "ok" if ok else "FAILED"))
        assert ok, ([p.name for p in up if m2 not in p.seen], org2.lines[-8:])
        back = time.monotonic()
        for i in half:
            lab.link(i, True)
        ok = until(lambda: all(m2 in p.seen for p in screens), timeout)
        res["converge_after_links_return_s"] = round(time.monotonic() - back, 2)
        out("links back: all %d screens converged: %s in %.1fs" % (len(screens), "ok" if ok else "FAILED",
                                                                  res["converge_after_links_return_s"]))
        assert ok, {p.name: (p.last, p.lines[-3:]) for p in screens if m2 not in p.seen}
        return res
    finally:
        for p in procs:
            p.stop()
        lab.close()
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pandascreen.node.fieldtest", description=__doc__.split("\n")[0])
    ap.add_argument("--screens", type=int, default=20)
    ap.add_argument("--schedule", default=SCHEDULE)
    ap.add_argument("--timeout", type=float, default=90.0)
    ap.add_argument("--child-screen", action="store_true", help=argparse.SUPPRESS)
    for a in ("--seed", "--store", "--festival", "--organiser"):
        ap.add_argument(a, help=argparse.SUPPRESS)
    ap.add_argument("--marker", action="append", default=[], help=argparse.SUPPRESS)
    ap.add_argument("--max-peers", type=int, default=4)
    ap.add_argument("--max-links", type=int, default=8)
    args = ap.parse_args(argv)
    if args.child_screen:
        return screen_child(args)
    res = run(args.screens, args.schedule, args.timeout, args.max_peers, args.max_links)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
