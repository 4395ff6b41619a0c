"""Benchmark section: the field test at full size (node/fieldtest.py): real app processes, each in
its own network namespace on a bridge, mDNS only, 38c3 shifted so that it is on now.

Figures: cold start to the whole program on every screen, change to pixel, the time from the
heal of a cut of half the screens to the change on their displays, and each idle screen's CPU
and RSS while linked to its peers (a lone screen's idle cost over 10 minutes, and what wakes it,
is the ``idle`` section).  A step not every screen finished says "N of M screens within T s" and
the p50 / p99 of those that did.

Three runs: on a quiet machine, a 30 s cut, then a 5-minute cut; with both cores loaded by a
busy loop each, ``PANDASCREEN_BENCH_HEAL_RUNS`` 30 s cuts in turn (default 10, as the
requirement counts them: at 50 screens each cut with its heal takes about a minute on this
2-core machine with the hog; fewer make ``make bench`` shorter); and a fifth of the screens with no cut, whose
organiser load is printed beside the full count's (screens relay to each other, so it should
stay flat).  In the quiet spell, the live links torn down per link-hour (at most 1 wanted).

The quiet run also says each screen's CPU seconds until it held the program and the floor
of its cold start, which its row shows: one screen alone first (three times, the median), its
CPU seconds times N over the cores.

Floors, measured in the same run: the start-up of one app process (Python, imports, no network:
``pandascreen --help``), the 38c3 program ingested into one SQLite store in-process (decode,
verify, store), and one 128x64 frame rendered and written as PNG.  A screen's cold start cannot
beat start-up + ingest (the cold start's floor where the alone runs did not finish); change to
pixel and a heal cannot beat one frame.

Sizes: ``PANDASCREEN_BENCH_SCREENS`` (default 50) and ``PANDASCREEN_BENCH_LINKED_IDLE`` seconds of
quiet with peers (default 120); ``--quick``: 4 screens, cuts of 5 and 10 s, 10 s of quiet.
Needs root (``ip netns``); it runs inside ``unshare -rnm`` with a private /run, so no namespace
outlives it.
"""

import json
import os
import subprocess
import sys
import tempfile
import time


def _field(screens, cuts, idle, hog, timeout, repeat=1):
    script = 'mount -t tmpfs tmpfs /run && exec "$@"'
    argv = ["unshare", "-rnm", "sh", "-c", script, "sh", sys.executable, "-m", "pandascreen.node.fieldtest",
            "--screens", str(screens), "--idle", str(idle), "--timeout", str(timeout), "--repeat", str(repeat)]
    for seconds in cuts:
        argv += ["--partition", str(seconds)]
    if not cuts:
        argv.append("--no-cut")
    if hog:
        argv.append("--hog")
    budget = timeout * (3 + len(cuts) * repeat) + (sum(cuts) + 40) * repeat + idle + 300
    out, err = run_to_the_end(argv, budget)
    lines = out.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"error": (out + err)[-2000:]}


def run_to_the_end(argv, timeout, grace=60):
    """(stdout, stderr) of ``argv`` run to its end within ``timeout`` seconds.  Out of time, or
    when this run is stopped (Ctrl-C, SIGTERM: KeyboardInterrupt), the child is asked to stop
    (SIGTERM) and has ``grace`` seconds to end what it started before it is killed, and the stop
    or the timeout goes on up: ``subprocess.run`` kills it at once, and the field test's screens,
    each in a network namespace of its own, would run on."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        return p.communicate(timeout=timeout)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        p.terminate()
        try:
            p.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        raise


def _floors():
    from pandascreen.bench import timed
    from pandascreen.node.fieldtest import SCHEDULE
    start, _ = timed(lambda: subprocess.run([sys.executable, "-m", "pandascreen.node.app", "--help"],
                                            capture_output=True, check=True), repeats=3)
    with tempfile.TemporaryDirectory() as d:
        db, key = os.path.join(d, "org.db"), os.path.join(d, "org.key")
        subprocess.run([sys.executable, "-m", "pandascreen_host", "import", SCHEDULE, "--store", db, "--key", key],
                       capture_output=True, check=True)
        from pandascreen.node.sqlite_store import SqliteStore
        src = SqliteStore(db)
        items = [(op.header_bytes, op.body) for op in src.all_operations()]
        src.close()
        n = [0]

        def ingest():
            n[0] += 1
            s = SqliteStore(os.path.join(d, "copy%d.db" % n[0]))
            s.ingest_many(items)
            s.close()
        ingest_s, _ = timed(ingest, repeats=3)
        frame_s = _frame_png_seconds(os.path.join(d, "copy1.db"), os.path.join(d, "frame.png"))
    return {"startup_s": round(start, 3), "ingest_s": round(ingest_s, 3), "operations": len(items),
            "frame_s": round(frame_s, 4)}


def _frame_png_seconds(db, png):
    """One 128x64 now/next frame of the first venue, rendered and written as PNG (what a screen
    does after a change reached its schedule)."""
    from pandascreen.bench import timed
    from pandascreen.core import layout, operation
    from pandascreen.core.schedule import Schedule
    from pandascreen.node import display
    from pandascreen.node.fieldtest import FESTIVAL
    from pandascreen.node.sqlite_store import SqliteStore
    s = SqliteStore(db)
    sch = Schedule.from_store(s, operation.log_id_for_festival(FESTIVAL))
    s.close()
    at = sch.bounds()[0] + 3600

    def frame():
        display.render_view_image(layout.build_view(sch, 0, at), "ssd1306_128x64").save(png)
    return timed(frame, repeats=5)[0]


def run(quick=False):
    if os.geteuid() != 0:
        return {"skipped_reason": "needs root (ip netns)"}
    screens = 4 if quick else int(os.environ.get("PANDASCREEN_BENCH_SCREENS", "50"))
    idle = 10 if quick else int(os.environ.get("PANDASCREEN_BENCH_LINKED_IDLE", "120"))
    cuts = (5, 10) if quick else (30, 300)
    heal_runs = 1 if quick else int(os.environ.get("PANDASCREEN_BENCH_HEAL_RUNS", "10"))
    t = time.time()
    out = {"floors": _floors(), "quiet": _field(screens, cuts, idle, False, 180),
           "loaded": _field(screens, cuts[:1], 0, True, 180, repeat=heal_runs),
           "fewer": _field(max(2, screens // 5), (), idle, False, 180)}
    out["seconds"] = round(time.time() - t)
    return out


def _row(label, spread, floor=None):
    from pandascreen.node.fieldtest import said
    if not spread:
        return "%-56s %s" % (label, "not measured")
    if floor is None:
        return "%-56s %s" % (label, said(spread))
    return "%-56s %s   floor %s" % (label, said(spread), "%.1f ms" % (floor * 1000) if floor < 0.1 else "%.2f s" % floor)


def _heals(cuts):
    """The heal delays of all cuts of one length as one spread (each screen of each run counts)."""
    from pandascreen.node.fieldtest import spread
    by_length = {}
    for c in cuts:
        s = c["heal_to_pixel_s"]
        runs = by_length.setdefault(c["seconds"], {"delays": [], "within_s": s["within_s"], "runs": 0, "all": 0})
        runs["runs"] += 1
        runs["all"] += s["n"] == s["of"]
        runs["delays"] += c["heal_delays"]
    return {length: (spread(r["delays"], r["within_s"]), r["runs"], r["all"]) for length, r in by_length.items()}


def _cpu_lines(res):
    """Each screen's CPU seconds until it held the program, and the floor of that run: one
    screen's cold start alone, its CPU seconds times the screens, over the cores."""
    cpu, alone = res.get("cold_start_cpu_s"), res.get("alone") or {}
    if not cpu or cpu.get("p50") is None:
        return ["  cold start CPU per screen: not measured"]
    lines = ["    CPU per screen until it held the program: p50 %.2f s, p99 %.2f s, sum %.1f CPU-s"
             % (cpu["p50"], cpu["p99"], res.get("cold_start_cpu_total_s", 0.0))]
    swarm = res.get("cold_start_cpu_swarm_s")
    if swarm:
        lines.append("    until the last screen held it: screens %.1f CPU-s, serve %.1f CPU-s"
                     % (swarm["screens"], swarm["serve"]))
    if alone.get("floor_s") is not None:
        p99 = (res.get("cold_start_s") or {}).get("p99")
        lines.append("    one screen alone: %.2f CPU-s (median of %d: %s; %.2f s); x %d screens / %d cores = floor %.2f s%s"
                     % (alone["cpu_s"], len(alone["cpu_runs_s"]), ", ".join("%.2f" % c for c in alone["cpu_runs_s"]),
                        alone["cold_start_s"], res["screens"], alone["cores"], alone["floor_s"],
                        "" if p99 is None else "; cold start p99 %.2f s" % p99))
    return lines


def _run_lines(name, res, f):
    if "error" in res:
        return ["  %s run failed: %s" % (name, res["error"][-300:])]
    tag = "%d screens, %s" % (res["screens"], "quiet machine" if name == "quiet" else "both cores loaded")
    lines = []
    if name == "quiet":
        # the floor of N screens starting at once: one screen's CPU alone, times N, over the cores;
        # where that was not measured, one screen's start-up and ingest
        swarm_floor = (res.get("alone") or {}).get("floor_s")
        lines.append(_row("  cold start to the whole program (%s)" % tag, res.get("cold_start_s"),
                          f["startup_s"] + f["ingest_s"] if swarm_floor is None else swarm_floor))
        lines += _cpu_lines(res)
        lines.append(_row("  change to pixel (%s)" % tag, res.get("change_to_pixel_s"), f["frame_s"]))
    for length, (heal, runs, held) in sorted(_heals(res.get("cuts", [])).items()):
        lines.append(_row("  heal of a %.0f s cut to the change on display (%s)" % (length, tag), heal, f["frame_s"]))
        lines.append("    every screen within %.0f s in %d of %d runs" % (heal["within_s"], held, runs))
    if res.get("idle_links"):
        q = res["idle_links"]
        lines.append("  quiet links (%s): %d torn down among %d live links in %d s, %.2f per link-hour (at most 1); "
                     "%d sessions not taken up (topics refused, crossed dials)"
                     % (tag, q["torn_down"], q["links"], q["seconds"], q["per_link_hour"], q.get("not_taken_up", 0)))
    if res.get("idle"):
        i = res["idle"]
        lines.append("  idle %d s, linked to peers: screen CPU p50 %.2f%% max %.2f%% of a core, RSS p50 %.0f MB "
                     "max %.0f MB; serve %.2f%%" % (i["seconds"], i["cpu_percent_of_a_core"]["p50"],
                                                    i["cpu_percent_of_a_core"]["max"], i["rss_mb"]["p50"],
                                                    i["rss_mb"]["max"], i["serve_cpu_percent"]))
    say = sorted(set(w for c in res.get("cuts", []) for w in c.get("cut_screens_say", [])))
    lines.append("  steps that held: %s; tracebacks in the logs: %d; cut screens said: %s"
                 % (", ".join("%s %s" % (k, "yes" if v else "NO") for k, v in sorted(res["ok"].items())),
                    res.get("tracebacks", 0), ", ".join(say) or "-"))
    return lines


def _organiser_lines(fewer, full):
    """The organiser's load with fewer screens beside the full count: screens relay to each
    other, so it should stay flat (cold-start CPU seconds and idle CPU)."""
    runs = [res for res in (fewer, full) if res and "error" not in res and res.get("idle")]
    if len(runs) < 2:
        return ["  organiser load at fewer screens: %s" % ((fewer or {}).get("error", "not measured")[-300:])]
    return ["  organiser (serve) load: " + "; ".join(
        "%d screens: %.1f CPU-s during the cold start, %.2f%% of a core idle"
        % (res["screens"], res.get("cold_start_cpu_swarm_s", {}).get("serve", float("nan")), res["idle"]["serve_cpu_percent"])
        for res in runs)]


def report(r):
    if "skipped_reason" in r:
        return "network (field test): not run: %s" % r["skipped_reason"]
    f = r["floors"]
    lines = ["network: real screens in namespaces, mDNS only, 38c3 on now (%d s)" % r["seconds"]]
    for name in ("quiet", "loaded"):
        lines += _run_lines(name, r[name], f)
    lines += _organiser_lines(r.get("fewer"), r["quiet"])
    lines.append("  floors: app start-up %.2f s, 38c3 ingest into SQLite %.2f s (%d ops), one frame + PNG %.1f ms"
                 % (f["startup_s"], f["ingest_s"], f["operations"], f["frame_s"] * 1000))
    return "\n".join(lines)
