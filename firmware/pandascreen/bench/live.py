"""Benchmark section: change-to-pixel latency of live mode over iroh on loopback.

The organiser edits a schedule file (voctosched CSV) and re-imports it with the code of
``pandascreen-host import`` (parse, diff, sign, store), then its node notifies the live sessions
(as ``pandascreen-host serve --watch`` does); each screen is a real Pi ``Device`` (core
Controller, display rendering, PNG written as the emulated screen) whose loop is woken by its
iroh node.  The figure is the time from the start of the re-import to the screen's ``show()`` of
a frame with the new title, for 1 and for 10 screens (every screen's latency is a sample: p50
and max).  Without the host tools installed the organiser publishes the changed event instead
(the one operation such a re-import writes); the report says which.

Floors, measured in the same run: one operation delivered organiser -> screen store over the
same iroh loopback session (no rendering), and one frame rendered and written as PNG.
change-to-pixel cannot beat floor 1 + floor 2.

iroh's port mapper probes the LAN even on 127.0.0.1 (see ``pandascreen.node.netns``), so unless
this process already is in a loopback-only namespace the section re-runs itself in one.
"""

import json
import os
import sys
import tempfile
import threading
import time

FESTIVAL_ID = "bench-live"
ORG = bytes([31] * 32)


def _pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def _body(kind, action, doc_id, fields):
    from pandascreen.core import schema
    return schema.make_body(kind, action, doc_id, fields)


class _Organiser:
    """Writes the schedule: re-imports an edited CSV file via import_cmd when the host tools are
    installed, else publishes the event update itself."""

    def __init__(self, directory, store, now):
        self.store = store
        self.dir = directory
        self.now = now
        try:
            from pandascreen_host import import_cmd
        except ImportError:
            import_cmd = None
        self.import_cmd = import_cmd
        self.how = "re-import of an edited CSV schedule" if import_cmd else "publish of the changed event"
        if import_cmd is None:
            self.log_id = _seed_schedule(store, now)
            return
        from pandascreen.core import operation
        fd, self.key = tempfile.mkstemp(prefix="org-", suffix=".key", dir=directory)  # 0600, a new name
        os.write(fd, ORG)
        os.close(fd)
        self.csv = os.path.join(directory, "schedule-%d.csv" % id(self))
        self.log_id = operation.log_id_for_festival(FESTIVAL_ID)
        self.edit("Talk v0")

    def edit(self, title):
        if self.import_cmd is None:
            self.store.publish(ORG, _body("event", "update", "talk", {"title": title}), self.log_id,
                               int(time.time() * 1e6))
            return
        import argparse
        import io
        start = time.gmtime(self.now - 600)
        with open(self.csv, "w") as fh:
            fh.write("Room,Date,Day,Start,Duration,Title,ID\n")
            fh.write("Main,%s,1,%s,02:00,%s,1\n" % (time.strftime("%Y-%m-%d", start),
                                                  time.strftime("%H:%M", start), title))
        ns = argparse.Namespace(schedule=self.csv, store=self.store.path, key=self.key, festival_id=FESTIVAL_ID,
                                timezone="UTC", dry_run=False)
        self.import_cmd.run(ns, out=io.StringIO(), err=io.StringIO())


def _seed_schedule(store, now):
    from pandascreen.core import operation
    log_id = operation.log_id_for_festival(FESTIVAL_ID)
    bodies = [_body("festival", "create", FESTIVAL_ID, {"name": "Bench Fest", "utc_offset": 0}),
              _body("venue", "create", "main", {"name": "Main", "order": 0}),
              _body("event", "create", "talk", {"venue": "main", "title": "Talk v0",
                                                "start": now - 600, "end": now + 3600})]
    store.publish_many(ORG, bodies, log_id, int(time.time() * 1e6))
    return log_id


class _Screen:
    """A Pi screen: SqliteStore + iroh node + Device with an emulated (PNG) screen."""

    def __init__(self, directory, index, org_ticket):
        from pandascreen.core import config
        from pandascreen.core.crypto import public_key
        from pandascreen.node.app import Device, Screen
        from pandascreen.node.iroh_transport import IrohNode
        from pandascreen.node.sqlite_store import SqliteStore
        from pandascreen.core.operation import festival_topic
        seed = bytes([40 + index % 200] * 32)
        self.store = SqliteStore(os.path.join(directory, "screen%d.db" % index))
        cfg = config.validate({"festival_id": FESTIVAL_ID, "organisers": [public_key(ORG).hex()],
                               "peers": [org_ticket], "display": "ssd1306_128x64", "render_interval": 0,
                               "sync_interval": 3600})
        self.shown = []  # (perf_counter, view) of every frame shown
        bench = self

        class RecordingDevice(Device):
            def _show(self, view):
                Device._show(self, view)
                bench.shown.append((time.perf_counter(), view))

        self.device = RecordingDevice(cfg, self.store, Screen(cfg["display"], os.path.join(directory, "s%d.png" % index)))
        # each screen dials from its own loopback address, as screens on a LAN do: the organiser
        # admits at most a few sessions per address (a hostile Wi-Fi defence)
        self.node = IrohNode(self.store, festival_topic(FESTIVAL_ID), seed, bind="127.0.0.%d:0" % (2 + index % 250),
                             serve=False,
                             on_change=self.device.wake.set, timeout=5.0)
        self.node.start()
        self.device.controller.transport = self.node.sync
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.device.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def shown_with(self, title, after):
        for t, view in list(self.shown):
            if t >= after and title in repr(view):
                return t
        return None

    def close(self):
        self.stop.set()
        self.device.wake.set()
        self.thread.join(5)
        self.node.stop()
        self.store.close()


def _measure(n_screens, repeats, directory):
    from pandascreen.core.operation import festival_topic
    from pandascreen.node.iroh_transport import IrohNode
    from pandascreen.node.sqlite_store import SqliteStore
    org_store = SqliteStore(os.path.join(directory, "org-%d.db" % n_screens))
    org_store.path = os.path.join(directory, "org-%d.db" % n_screens)
    writer = _Organiser(directory, org_store, int(time.time()))
    org = IrohNode(org_store, festival_topic(FESTIVAL_ID), ORG, bind="127.0.0.1:0", reconnect=False, timeout=5.0)
    org.start()
    screens = []
    samples = []
    try:
        for i in range(n_screens):
            screens.append(_Screen(directory, i + 100 * n_screens, org.ticket()))
        for s in screens:  # first sync + first frame before measuring
            s.node.sync(org.ticket())
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(s.shown_with("Talk v0", 0) for s in screens):
            time.sleep(0.01)
        for k in range(1, repeats + 2):  # the first round warms up
            title = "Talk v%d" % k
            t0 = time.perf_counter()
            writer.edit(title)
            org.notify()
            deadline = time.monotonic() + 10
            got = {}
            while time.monotonic() < deadline and len(got) < len(screens):
                for i, s in enumerate(screens):
                    if i not in got:
                        t = s.shown_with(title, t0)
                        if t is not None:
                            got[i] = t - t0
                time.sleep(0.001)
            if len(got) < len(screens):
                raise RuntimeError("%d of %d screens did not show the change within 10 s"
                                   % (len(screens) - len(got), len(screens)))
            if k > 1:
                samples.extend(got.values())
            time.sleep(0.05)
    finally:
        for s in screens:
            s.close()
        org.stop()
        org_store.close()
    return samples, writer.how


def _floor_delivery(repeats, directory):
    """One operation from the organiser's store into a screen's store over iroh loopback."""
    from pandascreen.core.operation import festival_topic
    from pandascreen.node.iroh_transport import IrohNode
    from pandascreen.node.sqlite_store import SqliteStore
    a = SqliteStore(os.path.join(directory, "floor-a.db"))
    b = SqliteStore(os.path.join(directory, "floor-b.db"))
    log_id = _seed_schedule(a, int(time.time()))
    arrived = threading.Event()
    na = IrohNode(a, festival_topic(FESTIVAL_ID), ORG, bind="127.0.0.1:0", reconnect=False)
    nb = IrohNode(b, festival_topic(FESTIVAL_ID), bytes([99] * 32), bind="127.0.0.1:0", serve=False,
                  on_change=arrived.set)
    out = []
    try:
        na.start()
        nb.start()
        nb.sync(na.ticket())
        for k in range(repeats + 1):
            arrived.clear()
            t0 = time.perf_counter()
            a.publish(ORG, _body("event", "update", "talk", {"title": "floor %d" % k}), log_id, int(time.time() * 1e6))
            na.notify()
            if not arrived.wait(5):
                raise RuntimeError("the floor operation did not arrive within 5 s")
            if k:
                out.append(time.perf_counter() - t0)
    finally:
        nb.stop()
        na.stop()
        a.close()
        b.close()
    return out


def _floor_render(repeats, directory):
    from pandascreen.core import layout
    from pandascreen.node import display
    from pandascreen.node.app import Screen
    view = layout.build_view(None, 0, int(time.time()), "synced")
    screen = Screen("ssd1306_128x64", os.path.join(directory, "floor.png"))
    out = []
    for k in range(repeats + 1):
        t0 = time.perf_counter()
        screen.show(display.render_view_image(view, "ssd1306_128x64"))
        if k:
            out.append(time.perf_counter() - t0)
    return out


def _run_here(quick):
    repeats = 2 if quick else 15
    many = 3 if quick else 10  # --quick is a smoke run
    with tempfile.TemporaryDirectory() as d:
        delivery = _floor_delivery(repeats * 2, d)
        render = _floor_render(repeats * 2, d)
        one, how = _measure(1, repeats, d)
        ten, _ = _measure(many, repeats, d)
    r = {"repeats": repeats, "screens": many, "samples_1": len(one), "samples_many": len(ten), "change": how}
    for name, xs in (("one_screen", one), ("ten_screens", ten), ("floor_delivery", delivery),
                     ("floor_render", render)):
        r[name + "_p50_ms"] = _pct(xs, 0.5) * 1000
        r[name + "_max_ms"] = max(xs) * 1000
    return r


def run(quick=False):
    from pandascreen.node.netns import loopback_only, run_loopback_only
    if loopback_only():
        return _run_here(quick)
    argv = [sys.executable, "-m", "pandascreen.bench", "--only", "live", "--json"] + (["--quick"] if quick else [])
    p = run_loopback_only(argv, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("the live benchmark failed in its network namespace: %s" % (p.stderr[-2000:],))
    return json.loads(p.stdout)["live"]


def report(r):
    floor = r["floor_delivery_p50_ms"] + r["floor_render_p50_ms"]
    lines = ["pandascreen live mode over iroh on loopback: organiser's %s -> screen frame shown "
             "(PNG written); %d rounds after a warm-up" % (r["change"], r["repeats"]), ""]
    lines.append("%-40s p50 %7.1f ms   max %7.1f ms" % ("floor: one op delivered (iroh Live)",
                                                          r["floor_delivery_p50_ms"], r["floor_delivery_max_ms"]))
    lines.append("%-40s p50 %7.1f ms   max %7.1f ms" % ("floor: one frame rendered + PNG",
                                                          r["floor_render_p50_ms"], r["floor_render_max_ms"]))
    for key, label in (("one_screen", "change-to-pixel, 1 screen"),
                       ("ten_screens", "change-to-pixel, %d screens" % r["screens"])):
        lines.append("%-40s p50 %7.1f ms   max %7.1f ms   (%.1fx the floor sum %.1f ms)"
                     % (label, r[key + "_p50_ms"], r[key + "_max_ms"], r[key + "_p50_ms"] / floor, floor))
    lines.append("")
    lines.append("goal: every connected screen within 1000 ms.  All screens share this one process (one "
                 "GIL), so the %d-screen row is pessimistic next to %d separate Pis." % (r["screens"], r["screens"]))
    return "\n".join(lines)
