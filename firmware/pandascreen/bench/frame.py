"""Benchmark section: one new signed operation -> a new frame, and the RAM a 20k schedule takes.

What a screen does when sync delivers one operation: ingest it into SQLite (decode, verify,
commit), hand the new operations to the ONE schedule it keeps (``operations_since`` +
``Schedule.apply``), build the view and draw it on the SSD1306 128x64 and the Inky 212x104
canvases the Pi uses (``node.display.render_view_image``).  Beside it, in the same run, the
floors: drawing the same view alone, a raw PyNaCl verify of one operation and one fsync (the
store commits durably: ``synchronous=FULL``); and the old way, a full rebuild of the schedule
from the store.  The figure, its parts and its floors take turns round by round, so a busy
machine slows them alike instead of skewing one against the other.

RSS is measured in a fresh interpreter (this one holds the benchmark's own garbage): after
importing what a screen imports (the floor), after loading the schedule from a 20k store,
and the peak.
"""

import os
import subprocess
import sys
import tempfile
import time

from pandascreen.bench import timed
from pandascreen.core import layout, operation, schema
from pandascreen.core.schedule import Schedule
from pandascreen.node import display
from pandascreen.node.sqlite_store import SqliteStore

SEED = bytes(range(7, 39))
LOG = operation.log_id_for_festival("bench")
DAY0 = 1784376000  # 2026-07-18 12:00 UTC
SLOT = 3600  # each venue: a 30-minute talk every hour
SCREENS = ("ssd1306_128x64", "inky_phat_212x104")
# the screen looks at venue 0, in the middle of its 6th talk
NOW = DAY0 + 5 * SLOT + 600


def _bodies(events, venues):
    out = [schema.make_body("festival", "create", "bench", {"name": "Benchfest", "utc_offset": 60})]
    for v in range(venues):
        out.append(schema.make_body("venue", "create", "v%d" % v, {"name": "Venue %d" % v, "order": v}))
    for i in range(events):
        start = DAY0 + (i // venues) * SLOT
        out.append(schema.make_body("event", "create", "e%d" % i, {
            "venue": "v%d" % (i % venues), "title": "Talk %d: on sloths, slowness and speed" % i,
            "start": start, "end": start + SLOT // 2, "speakers": ["Ada Lovelace", "Kim %d" % (i % 40)],
            "track": "Track %d" % (i % 9), "lang": "en"}))
    return out


def build_store(path, events, venues):
    store = SqliteStore(path)
    store.publish_many(SEED, _bodies(events, venues), LOG, DAY0 * 1000000 - 10 ** 9)
    return store


def _signed_updates(store, venues, count):
    """``count`` signed updates continuing the organiser's log, each changing what venue 0
    shows: the running talk's title (k % 4 = 0, 1), or the next talk moving to venue 1 and
    back (k % 4 = 2, 3), so every other one (those the frame step takes) changes the frame."""
    from pandascreen.core.crypto import signing_key
    key = signing_key(SEED)
    past = store.latest(key.public_key, LOG)
    seq, backlink, ts = past.seq_num + 1, past.hash, past.timestamp + 1
    running, following = "e%d" % (5 * venues), "e%d" % (6 * venues)
    out = []
    for k in range(count):
        if k % 4 >= 2:
            fields = {"venue": "v%d" % ((k // 4 + 1) % 2)}
            doc = following
        else:
            fields = {"title": "Talk, revision %d" % k}
            doc = running
        op = operation.create(key, schema.make_body("event", "update", doc, fields), seq, backlink,
                              operation.Extensions(LOG, ts))
        out.append(op)
        seq, backlink, ts = seq + 1, op.hash, ts + 1
    return out


def _draw(view):
    for kind in SCREENS:
        display.render_view_image(view, kind)


def _rounds(steps, repeats, warmup):
    """Median and max of each ``(name, fn)`` step, the steps taking turns round by round so a
    figure and its floors meet the same machine load; names starting "_" run untimed."""
    samples = {}
    for r in range(warmup + repeats):
        for name, fn in steps:
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            if r >= warmup and not name.startswith("_"):
                samples.setdefault(name, []).append(dt)
    out = {}
    for name in samples:
        xs = sorted(samples[name])
        out[name] = (xs[len(xs) // 2], xs[-1])
    return out


def _measure(store, venues, directory, repeats, warmup):
    """"1 op -> frame" beside its floors and its parts, all measured in the same rounds."""
    from nacl.signing import VerifyKey

    schedule = Schedule.from_store(store, LOG)
    state = {"seen": store.version, "fresh": []}
    chain = iter(_signed_updates(store, venues, 2 * (repeats + warmup)))  # frame, part, frame, ...
    status = "synced 14:10"
    view = layout.build_view(schedule, 0, NOW, status)
    last = store.latest(_public_key(), LOG)
    msg, sig, vk = last.header.unsigned_bytes(), last.header.signature, VerifyKey(last.public_key)
    fd = os.open(os.path.join(directory, "fsync.probe"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def frame():  # what a screen does when sync hands it one operation
        op = next(chain)
        store.ingest(op.header_bytes, op.body)
        for new in store.operations_since(state["seen"], log_id=LOG):
            schedule.apply(new)
        state["seen"] = store.version
        _draw(layout.build_view(schedule, 0, NOW, status))

    def ingest():
        op = next(chain)
        store.ingest(op.header_bytes, op.body)

    def fetch():
        state["fresh"] = store.operations_since(state["seen"], log_id=LOG)
        state["seen"] = store.version

    def apply():
        for op in state["fresh"]:
            schedule.apply(op)

    def build():
        view.update(layout.build_view(schedule, 0, NOW, status))

    def fsync():  # 4 KB appended + fsync beside the database, as a WAL commit does
        os.write(fd, b"x" * 4096)
        os.fsync(fd)

    try:
        out = _rounds([("frame", frame), ("ingest", ingest), ("_fetch", fetch), ("apply", apply),
                       ("build_view", build), ("draw", lambda: _draw(view)),
                       ("verify", lambda: vk.verify(msg, sig)), ("fsync", fsync)], repeats, warmup)
    finally:
        os.close(fd)
    out["view_has_now_next"] = view["now"] is not None and view["next"] is not None
    return out


def _public_key():
    from pandascreen.core.crypto import public_key
    return public_key(SEED)


# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the forked parent
# (this benchmark, ~50 MB) into the child, which then reports the parent's peak as its own
_RSS_CHILD = """
import sys
def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
from pandascreen.bench import frame
before = status("VmRSS:")
store = frame.SqliteStore(sys.argv[1])
schedule = frame.Schedule.from_store(store, frame.LOG)
after = status("VmRSS:")
print(before, after, status("VmHWM:"), len(schedule.all_events()))
"""


def measure_rss(path):
    """(RSS after imports, RSS holding store + schedule, peak RSS, events) of a fresh interpreter."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, path], capture_output=True, text=True,
                         env=env, timeout=600, check=True).stdout.split()
    return tuple(int(x) for x in out[:4])


def run(quick=False):
    sizes = [("small", 300, 12)] if quick else [("38c3", 1000, 72), ("20k", 20000, 100)]
    repeats, warmup = (5, 2) if quick else (25, 5)
    results = {"sizes": [], "screens": list(SCREENS)}
    with tempfile.TemporaryDirectory() as d:
        for name, events, venues in sizes:
            path = os.path.join(d, name + ".db")
            store = build_store(path, events, venues)
            r = {"name": name, "events": events, "venues": venues, "operations": store.count()}
            r.update(_measure(store, venues, d, repeats, warmup))
            r["rebuild"] = timed(lambda: Schedule.from_store(store, LOG), 1 if quick else 3, 1)
            store.close()
            r["rss"] = measure_rss(path)
            results["sizes"].append(r)
    return results


def _ms(t):
    return "%.2f / %.2f ms" % (t[0] * 1000, t[1] * 1000)


def report(r):
    lines = ["pandascreen frame benchmark: 1 new signed op -> new frame (%s), median / max"
             % " + ".join(r["screens"]), ""]
    for s in r["sizes"]:
        lines.append("%s: %d events, %d venues, %d operations in SQLite" % (
            s["name"], s["events"], s["venues"], s["operations"]))
        rows = [
            ("1 op -> frame (ingest+apply+view+draw)", _ms(s["frame"])),
            ("  floor: draw the same view alone", _ms(s["draw"])),
            ("  floor: PyNaCl verify of one op", _ms(s["verify"])),
            ("  part: ingest into SQLite (verify, commit)", _ms(s["ingest"])),
            ("    floor: append 4 KB + fsync beside the db", _ms(s["fsync"])),
            ("  part: Schedule.apply", _ms(s["apply"])),
            ("  part: layout.build_view", _ms(s["build_view"])),
            ("old: full rebuild from the store", _ms(s["rebuild"])),
        ]
        for label, value in rows:
            lines.append("  %-46s %s" % (label, value))
        before, after, peak, events = s["rss"]
        mb = 1024.0 * 1024
        lines.append("  %-46s %.1f MB after load (floor: %.1f MB imports only), peak %.1f MB, +%.0f B/event"
                     % ("RSS, fresh interpreter, store + schedule", after / mb, before / mb, peak / mb,
                        (after - before) / max(1, events)))
        lines.append("")
    return "\n".join(lines).rstrip()


if __name__ == "__main__":
    print(report(run(quick="--quick" in sys.argv)))
