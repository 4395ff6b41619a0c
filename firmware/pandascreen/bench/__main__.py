"""Run every benchmark section (see ``pandascreen.bench``)."""

import argparse
import json
import signal
import sys

from pandascreen.bench import SECTIONS, section


def stop_on_terminate():
    """SIGTERM (``kill``, a CI job's timeout) ends the run as Ctrl-C does: through each section's
    ``finally``, which stops the processes it started and removes its temporary folders; exit
    status 143."""
    def terminated(signum, frame):
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, terminated)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pandascreen.bench",
                                 description="pandascreen benchmarks: each figure beside its floor")
    ap.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = ap.parse_args(argv)
    stop_on_terminate()
    results = {}
    for name in args.only or SECTIONS:
        mod = section(name)
        r = mod.run(quick=args.quick)
        results[name] = r
        if not args.json:
            print(mod.report(r))
            print()
            sys.stdout.flush()
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
