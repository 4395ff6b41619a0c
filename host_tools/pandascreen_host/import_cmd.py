"""`pandascreen-host import`: turn a published schedule into signed festival operations.

    pandascreen-host import schedule.xml --store festival.db --key organiser.key

Re-importing an updated export publishes only what the file changed since its last import
(``importers.merge``: an edit made in the console or by another organiser stays unless the
file changed the same field, and then the organiser is told which side won; ``--keep-edits``
keeps the edit).  An import is one transaction: interrupted, it publishes nothing.

The festival's id and time zone are the ones its store holds (``festivals``): a renamed
calendar, a typo in ``--festival-id`` or a missing ``--timezone`` never start a second
festival or move every screen to UTC; ``--new-festival`` and ``--timezone`` change them on
purpose.  The organiser key is created on first use (a store with no festival yet; mode 0600)
and never printed; a missing key beside an existing festival is refused, never replaced.
"""

import argparse
import contextlib
import datetime
import json
import os
import sys
import time

from pandascreen_host import festivals
from pandascreen_host.errors import UserError
from pandascreen_host.fsutil import write_secret
from pandascreen_host.progress import Progress

BATCH = 200


def add_parser(sub):
    p = sub.add_parser("import", allow_abbrev=False, help="import a schedule file into a festival store as signed operations",
                       description="Turn a schedule file into signed p2panda operations in a store.")
    p.add_argument("schedule", help="schedule file (frab XML/JSON, pretalx JSON, iCal, voctosched CSV)")
    p.add_argument("--store", default="festival.db", help="store to write (default festival.db)")
    p.add_argument("--key", metavar="PATH", help="organiser key file (32-byte Ed25519 seed)")
    p.add_argument("--festival-id", help="festival id (default: from the schedule)")
    p.add_argument("--timezone", help="IANA time zone for times without an offset, e.g. Europe/Berlin")
    add_span_arguments(p)
    add_identity_arguments(p)
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    return p


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


def add_identity_arguments(p):
    """Flags that change what a re-import would otherwise keep: the festival, and edits made elsewhere."""
    p.add_argument("--new-festival", action="store_true",
                   help="start a second festival in this store under --festival-id (screens follow one id)")
    p.add_argument("--keep-edits", action="store_true",
                   help="where the file and an edit made elsewhere (console, other organisers) both changed a "
                        "field since the last import, keep the edit (default: the file wins)")
    p.add_argument("--allow-deletes", action="store_true",
                   help="publish an import that deletes most of the festival's events (refused otherwise: "
                        "the wrong file, or one cut short)")


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
    key_path = args.key or "organiser.key"
    fresh = not os.path.exists(args.store)
    committed = []  # set once the import's transaction commits: the store then holds the program
    try:
        return _import(args, _open_store(args), key_path, out, err, committed)
    except BaseException:
        if fresh and not committed:  # a first import that failed before publishing leaves no store
            _remove_store(args.store)
        raise


def _remove_store(path):
    """A store file made by an import that published nothing, and SQLite's files beside it."""
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            os.unlink(name)
        except OSError:
            pass


def _import(args, store, key_path, out, err, committed):
    from pandascreen.core import operation
    from pandascreen.core.crypto import public_key
    with contextlib.ExitStack() as opened:
        if store is not None:
            opened.callback(store.close)
        held = festivals.held(store) if store is not None else []
        seed = _existing_key(key_path, held, args.store)
        neutral = _read(args, held, None if seed is None else public_key(seed), out, err)
        fid = neutral["festival"]["id"]
        log_id = operation.log_id_for_festival(fid)
        created = seed is None
        if created:  # first use: a new store and no key yet (only now, after the schedule was read)
            seed = _create_key(key_path, args.dry_run, out)
        pk = public_key(seed)
        # the file's venues with the ids they had (import_venue_ids.py): what is published and recorded
        neutral, changes, bodies, held_events = _changes(args, store, neutral, log_id, pk, err)
        out.write("%s: festival %r, %d venues, %d events -> %s\n" % (
            args.schedule, fid, len(neutral["venues"]), len(neutral["events"]), _summary(changes)))
        too_many = None if getattr(args, "allow_deletes", False) else _too_many_deletes(args, changes, held_events)
        if args.dry_run:
            if too_many:
                out.write("this import would be refused: %s\n" % too_many)
            out.write("dry run: nothing written\n")
            return 0
        if too_many:
            raise UserError(too_many)
        try:
            with store.transaction():  # all or nothing: an interrupted import publishes nothing
                published = _publish(store, seed, log_id, bodies, err)
                store.set_meta(BASE_KEY % fid, json.dumps(_without_warnings(neutral), sort_keys=True))
            committed.append(published)
        except KeyboardInterrupt:
            err.write("\ninterrupted: nothing was published; run the import again to publish it\n")
            raise
    out.write("published %d operations to %s\n" % (published, args.store))
    out.write("festival id: %s\norganiser public key: %s\n" % (fid, pk.hex()))
    if created:
        out.write("screens trust this key when provisioned with --organiser %s\n" % pk.hex())
    return 0


def _open_store(args):
    """The store to import into; None for a dry run against a store that does not exist yet."""
    from pandascreen.core.store import IngestError
    from pandascreen.node.sqlite_store import SqliteStore
    if args.dry_run and not os.path.exists(args.store):
        return None
    try:  # the store first: what it holds decides whether a key may be made
        return SqliteStore(args.store)
    except IngestError as e:
        raise UserError(str(e))


def _read(args, held, pk, out, err):
    """The schedule file as a neutral dict, for the festival and time zone this store holds."""
    from pandascreen_host import importers
    fid, stored = _festival(args, held, pk)
    zone = args.timezone or (stored or {}).get("timezone") or None
    neutral = importers.load(args.schedule, timezone=zone, festival_id=fid, span=_span(args))
    if neutral.pop("name_guessed", False) and stored is not None and stored.get("name"):
        neutral["festival"]["name"] = stored["name"]  # a file that names no festival renames none
    for w in neutral.get("warnings", ()):
        err.write("warning: %s\n" % w)
    if stored is not None and args.timezone and args.timezone != stored.get("timezone"):
        out.write("time zone changes from %s to %s: every screen shows times in %s\n"
                  % (stored.get("timezone") or "UTC", args.timezone, args.timezone))
    return neutral


MOST = 0.5          # an import that deletes more than this share of the festival's events ...
MANY = 3            # ... and at least this many is refused without --allow-deletes


def _too_many_deletes(args, changes, held_events):
    """Why an import that deletes most of the program is refused (None: it is not): the wrong
    festival's export, or a file cut short at a row's end, would otherwise empty every screen."""
    gone = sum(1 for kind, action, _id, _fields in changes if (kind, action) == ("event", "delete"))
    if gone < MANY or gone <= MOST * held_events:
        return None
    return ("%s deletes %d of the festival's %d events: is it the right file, and complete? Nothing was "
            "published; pass --allow-deletes to publish it" % (args.schedule, gone, held_events))


def _changes(args, store, neutral, log_id, pk, err):
    """(the file's schedule with its venues' ids kept, changes, their operation bodies, the events
    the festival held before): what the file changed since its last import, merged with edits made
    elsewhere, every body built (and so validated) before anything is signed."""
    from pandascreen.core import schema
    from pandascreen.core.schedule import Schedule
    from pandascreen_host import importers
    current = None
    if store is not None:
        current = importers.from_schedule(Schedule.from_store(store, log_id, authors=[pk]))
        if current["festival"] is None and not current["venues"] and not current["events"]:
            current = None
    base = _base(store, neutral["festival"]["id"])
    from pandascreen_host.import_venue_ids import keep_venue_ids
    neutral, renamed = keep_venue_ids(neutral, base, current)
    for line in renamed:
        err.write("venue: %s\n" % line)
    changes, conflicts = importers.merge(base, current, neutral, keep_edits=getattr(args, "keep_edits", False))
    for line in conflicts:
        err.write("conflict: %s\n" % line)
    bodies = []  # all or nothing on bad data
    for kind, action, doc_id, fields in changes:
        try:
            bodies.append(schema.make_body(kind, action, doc_id, fields))
        except schema.SchemaError as e:
            raise UserError("%s: %s %s %r cannot be published: %s" % (args.schedule, action, kind, doc_id, e))
    return neutral, changes, bodies, len(current["events"]) if current is not None else 0


BASE_KEY = "import-base:%s"  # the neutral form of the last import of each festival, in the store's meta


def _base(store, fid):
    """What the file said at the last import (None before the first): a re-import changes only
    what the file changed since, so edits made elsewhere stay."""
    raw = None if store is None else store.get_meta(BASE_KEY % fid)
    return None if raw is None else json.loads(raw)


def _without_warnings(neutral):
    return dict((k, v) for k, v in neutral.items() if k != "warnings")


def _existing_key(path, held, store_path):
    """The organiser seed at ``path``; None when there is none and the store holds no festival
    yet (the first import makes it).  A missing key beside a festival is a typo, never a new key."""
    from pandascreen_host.fsutil import load_seed
    if os.path.exists(path):
        return load_seed(path, "organiser key")
    if held:
        raise UserError("no key at %s; %s holds festival %s signed by %s: pass that key with --key"
                        % (path, store_path, festivals.describe(held), _signers(held)))
    return None


def _signers(held):
    return ", ".join(sorted(set(author.hex()[:16] + "..." for _fid, _f, author in held)))


def _festival(args, held, pk):
    """(festival id or None to take the file's, the stored festival dict or None) for this import."""
    mine = [(fid, fest) for fid, fest, author in held if pk is not None and author == pk]
    wanted = args.festival_id
    new = getattr(args, "new_festival", False)
    if wanted and wanted in festivals.ids(held):
        return wanted, next((f for fid, f in mine if fid == wanted), None)
    if wanted and held and not new:
        raise UserError("%s holds festival %s, not '%s': screens provisioned for it would never see '%s'; "
                        "pass --new-festival to start a second festival" % (
                            args.store, festivals.describe(held), wanted, wanted))
    if wanted or new:
        return wanted, None
    if held and not mine:
        raise UserError("%s holds festival %s signed by another key (%s), not by %s: wrong --key?"
                        % (args.store, festivals.describe(held), _signers(held), args.key or "organiser.key"))
    if len(mine) > 1:
        raise UserError("%s holds several festivals of this key (%s): choose one with --festival-id"
                        % (args.store, ", ".join(fid for fid, _f in mine)))
    return (mine[0][0], mine[0][1]) if mine else (None, None)


def _create_key(path, dry_run, out):
    seed = os.urandom(32)
    if dry_run:
        return seed
    write_secret(path, seed, overwrite=False, what="organiser key")
    out.write("created organiser key %s (mode 600) - keep it safe, it signs your schedule\n" % path)
    return seed


def _publish(store, seed, log_id, bodies, err):
    """Sign and store ``bodies`` (the key pair derived once, one durable transaction per BATCH)."""
    if not bodies:
        return 0
    bar = Progress("signing operations", len(bodies), unit="ops", stream=err)
    store.publish_many(seed, bodies, log_id, int(time.time() * 1000000), batch=BATCH, progress=bar.update)
    bar.done()
    return len(bodies)
