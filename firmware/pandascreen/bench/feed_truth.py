"""Benchmark/report: does a satellite show what the Pi shows?  Every venue's now/next from the
signed feed (core/feed.py FeedView) against core/schedule.py ``now_next`` on the full schedule, at
a few issue times and on through each feed's valid_until, on the real schedules in
../shared/schedules and on synthetic festivals.  A venue the feed left out counts as agreeing only
when the board says so ("+N more at the Pi screen").  tests/test_feed_truth.py holds it to 0.
"""
import glob
import os

from pandascreen.core import feed
from pandascreen.core.crypto import SigningKey, public_key
from pandascreen.node import feed_sign
from pandascreen.testing import micropython as ports

SEED = bytes(range(7, 39))
SCHEDULES = sorted(glob.glob(os.path.join(os.path.dirname(ports.ROOT), "shared", "schedules", "*.*")))
SCHEDULES = [p for p in SCHEDULES if not p.endswith(".md")]
ZONES = {"giggity_fosdem_2021.xml": "Europe/Brussels", "aksw-lswt2019_schedule.xml": "Europe/Berlin"}


def real(path):
    from pandascreen_host import importers
    from pandascreen_host.preview import schedule_from_neutral
    neutral = importers.load(path, timezone=ZONES.get(os.path.basename(path)))
    return schedule_from_neutral(neutral), neutral["festival"]["id"]


def synthetic(venues, per_venue=30, seed=1):
    """A festival of ``venues`` stages, long titles, talks of 25-90 min with gaps, some overlaps."""
    from pandascreen.core.schedule import Schedule
    import random
    rnd = random.Random(seed)
    s = Schedule()
    n = [0]

    def apply(kind, doc_id, fields):
        n[0] += 1
        s.apply({"v": 1, "kind": kind, "action": "create", "id": doc_id, "fields": fields}, 1, n[0].to_bytes(4, "big"))

    t0 = 1767261600
    apply("festival", "syn", {"name": "Synthetic %d" % venues, "utc_offset": 60})
    for v in range(venues):
        apply("venue", "v%d" % v, {"name": "Stage %d" % v, "order": v})
        t = t0 + rnd.randrange(0, 4 * 3600)
        for e in range(per_venue):
            length = rnd.choice((25, 45, 60, 90)) * 60
            apply("event", "v%d-e%d" % (v, e), {
                "venue": "v%d" % v, "title": "Talk %d on stage %d about %s" % (e, v, "x" * rnd.randrange(5, 60)),
                "start": t, "end": t + length, "speakers": ["Speaker %d" % rnd.randrange(999)]})
            t += length + rnd.choice((0, 0, 15, 60, 5 * 60)) * 60 - (15 * 60 if rnd.random() < 0.1 else 0)
    return s, "syn"


def instants(sch):
    """Issue times across the festival: its start, busy middle hours, the last evening."""
    starts = sorted(e.start for e in sch.all_events())
    first, last = starts[0], starts[-1]
    return [first - 3600, first + 1800, (first + last) // 2, (first + 2 * last) // 3 + 1234, last - 600]


def signed(sch, fid, issued, version):
    items = feed_sign.payload(sch, fid, issued, [], public_key(SEED), None, version=version)
    data = bytearray(feed_sign.sign_payload(items, SigningKey(SEED)))
    return data, feed.Checker(fid, [public_key(SEED)]).check(data, len(data))


def _key(ev):
    """What a screen says of an event that a feed must keep: its times and whether it is cancelled
    (a cancelled talk and its replacement share their times)."""
    return None if ev is None else (int(ev.start), int(ev.end), ev.status == "cancelled")


def disagreements(sch, fid, issued, version=feed.VERSION):
    """(venue checks where the feed's now/next differs from the Pi's and the board does not say it
    left the venue out, venue checks made); checked at issue and on through valid_until."""
    data, info = signed(sch, fid, issued, version)
    if len(data) > feed.MAX_FEED_BYTES or info.valid_until <= info.issued_at:
        raise feed.FeedError("feed of %d bytes valid for %d s" % (len(data), info.valid_until - info.issued_at))
    view = feed.FeedView(data, info, 1)
    shown = dict((v.id, v) for v in view.venues())
    wrong = checks = 0
    span = info.valid_until - info.issued_at
    for t in sorted(set((issued, issued + span // 3, issued + span // 2, info.valid_until - 1))):
        for v in sch.venues():
            checks += 1
            pi = sch.now_next(v.id, t)
            fv = shown.get(v.id)
            if fv is None or getattr(fv, "left_out", int)():
                # left out: the board must say so, never "No more events" (unless the Pi has none either)
                said = fv is None and getattr(info, "venues_left_out", 0) > 0 or fv is not None
                if pi == (None, None) or said:
                    continue
                wrong += 1
                continue
            if tuple(map(_key, view.now_next(v.id, t))) != tuple(map(_key, pi)):
                wrong += 1
    return wrong, checks


def measure(quick=False):
    """{festival: (venue checks wrong, venue checks)} over the real schedules (quick: 38c3 only)
    and synthetic festivals of 60 and 200 venues."""
    out = {}
    paths = [p for p in SCHEDULES if "38c3" in p] if quick else SCHEDULES
    cases = [(os.path.basename(p), lambda p=p: real(p)) for p in paths]
    cases += [("synthetic %d venues" % n, lambda n=n: synthetic(n)) for n in (60, 200)]
    for name, load in cases:
        sch, fid = load()
        wrong = checks = 0
        for issued in instants(sch):
            w, c = disagreements(sch, fid, issued)
            wrong += w
            checks += c
        out[name] = (wrong, checks)
    return out


def report_line(result):
    wrong = sum(w for w, c in result.values())
    checks = sum(c for w, c in result.values())
    return ("satellite vs Pi now/next: %d of %d venue checks differ (%s)"
            % (wrong, checks, ", ".join("%s %d/%d" % (k, w, c) for k, (w, c) in sorted(result.items()))))
