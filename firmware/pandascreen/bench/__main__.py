"""Run every benchmark section (see ``pandascreen.bench``)."""

import argparse
import json
import sys

from pandascreen.bench import SECTIONS, section
from pandascreen.node.stop_signals import stop_like_ctrl_c

STOPPED = 130  # the exit status of a run stopped by Ctrl-C or SIGTERM


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pandascreen.bench",
                                 description="pandascreen benchmarks: each figure beside its floor")
    ap.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = ap.parse_args(argv)
    results = {}
    # SIGTERM (``kill``, a CI job's timeout) stops a run as Ctrl-C does: through each section's
    # ``finally``, which ends the processes it started and removes its temporary folders; a second
    # signal does not cut that short (node/stop_signals.py)
    try:
        with stop_like_ctrl_c():
            for name in args.only or SECTIONS:
                mod = section(name)
                r = mod.run(quick=args.quick)
                results[name] = r
                if not args.json:
                    print(mod.report(r))
                    print()
                    sys.stdout.flush()
    except KeyboardInterrupt:
        print("bench: stopped", file=sys.stderr)
        return STOPPED
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
