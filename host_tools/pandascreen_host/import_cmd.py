"""`pandascreen-host import`: turn a published schedule into signed festival operations.

    pandascreen-host import schedule.xml --store festival.db --key organiser.key

Re-importing an updated export publishes only what changed (updates carry only the changed
fields, vanished talks become deletes), so screens stay small and nothing is lost: the store
keeps every earlier operation.  The organiser key is created on first use (mode 0600) and
never printed; only its public key is shown, for `provision --organiser`.
"""

import argparse
import datetime
import os
import sys
import time

from pandascreen_host.errors import UserError
from pandascreen_host.fsutil import write_secret
from pandascreen_host.progress import Progress

BATCH = 200


def _load_or_create_key(path, dry_run, out):
    from pandascreen_host.provision import load_seed
    if os.path.exists(path):
        return load_seed(path), False
    if dry_run:
        return os.urandom(32), True
    seed = os.urandom(32)
    write_secret(path, seed, overwrite=False, what="organiser key")
    out.write("created organiser key %s (mode 600) - keep it safe, it signs your schedule\n" % path)
    return seed, True


def add_span_arguments(p):
    """--from/--until: the festival's days (a calendar's recurring events are expanded over them)."""
    p.add_argument("--from", dest="span_from", metavar="YYYY-MM-DD", type=_day,
                   help="first day of the festival (default: the first day of the file's one-off events)")
    p.add_argument("--until", dest="span_until", metavar="YYYY-MM-DD", type=_day,
                   help="last day of the festival (default: the last day of the file's one-off events)")


def _day(text):
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a date (YYYY-MM-DD)" % text)


def _span(args):
    """(first day, last day) from --from/--until; one alone is an error."""
    first, last = getattr(args, "span_from", None), getattr(args, "span_until", None)
    if (first is None) != (last is None):
        raise UserError("--from and --until go together: give the festival's first and last day")
    return None if first is None else (first, last)


def _summary(changes):
    counts = {}
    for kind, action, _id, _fields in changes:
        counts[(kind, action)] = counts.get((kind, action), 0) + 1
    parts = []
    for kind in ("festival", "venue", "event"):
        for action in ("create", "update", "delete"):
            n = counts.get((kind, action))
            if n:
                parts.append("%d %s %s%s" % (n, kind, action, "s" if n != 1 else ""))
    return ", ".join(parts) if parts else "no changes"


def run(args, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    from pandascreen_host import importers
    from pandascreen.core import operation, schema
    from pandascreen.core.crypto import public_key
    from pandascreen.core.schedule import Schedule
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen.core.store import IngestError

    neutral = importers.load(args.schedule, timezone=args.timezone, festival_id=args.festival_id, span=_span(args))
    for w in neutral.get("warnings", ()):
        err.write("warning: %s\n" % w)
    fest = neutral["festival"]
    fid = fest["id"]
    log_id = operation.log_id_for_festival(fid)
    store = None
    if not (args.dry_run and not os.path.exists(args.store)):
        try:  # open the store first: a bad --store must not leave a new key behind
            store = SqliteStore(args.store)
        except IngestError as e:
            raise UserError(str(e))
    key_path = args.key or "organiser.key"
    try:
        seed, created = _load_or_create_key(key_path, args.dry_run, out)
    except BaseException:
        if store is not None:
            store.close()
        raise
    pk = public_key(seed)

    if store is None:
        current = None
    else:
        current = importers.from_schedule(Schedule.from_store(store, log_id, authors=[pk]))
        if args.dry_run:
            store.close()
        if current["festival"] is None and not current["venues"] and not current["events"]:
            current = None
    changes = importers.diff(current, neutral)
    # build (and so validate) every body before anything is signed: all or nothing on bad data
    bodies = []
    for kind, action, doc_id, fields in changes:
        try:
            bodies.append(schema.make_body(kind, action, doc_id, fields))
        except schema.SchemaError as e:
            raise UserError("%s: %s %s %r cannot be published: %s" % (args.schedule, action, kind, doc_id, e))
    out.write("%s: festival %r, %d venues, %d events -> %s\n" % (
        args.schedule, fid, len(neutral["venues"]), len(neutral["events"]), _summary(changes)))
    if args.dry_run:
        out.write("dry run: nothing written\n")
        return 0
    try:
        published = _publish(store, seed, log_id, bodies, err)
    finally:
        store.close()
    out.write("published %d operations to %s\n" % (published, args.store))
    out.write("festival id: %s\norganiser public key: %s\n" % (fid, pk.hex()))
    if created:
        out.write("screens trust this key when provisioned with --organiser %s\n" % pk.hex())
    return 0


def _publish(store, seed, log_id, bodies, err):
    """Sign and store ``bodies`` (the key pair derived once, one durable transaction per BATCH)."""
    if not bodies:
        return 0
    bar = Progress("signing operations", len(bodies), unit="ops", stream=err)
    store.publish_many(seed, bodies, log_id, int(time.time() * 1000000), batch=BATCH, progress=bar.update)
    bar.done()
    return len(bodies)
