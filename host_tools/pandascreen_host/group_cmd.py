"""`pandascreen-host group`: change who may write to a festival (its p2panda-auth group).

    pandascreen-host group show   --store festival.db --key organiser.key --festival-id 38c3
    pandascreen-host group add    --store ... --key ... --festival-id 38c3 PUBKEY --level write
    pandascreen-host group remove --store ... --key ... --festival-id 38c3 PUBKEY --lost
    pandascreen-host group remove --store ... --key ... --festival-id 38c3 PUBKEY --compromised [--last-good HASH]
    pandascreen-host group promote --store ... --key ... --festival-id 38c3 PUBKEY --level write --max-operations 20000

WHY a command: screens accept only operations of keys the festival group lets write
(core/auth.py); a second program signing key, a new organiser, a lost or a stolen key are
group operations signed by a Manage member and published into the festival log like any
other operation, so the next sync carries them to every screen.  ``--lost`` keeps everything
the key published so far (its latest operation in this store is the cut-off);
``--compromised`` drops everything after ``--last-good`` (or all of it).  ``--max-bytes``,
``--max-operations``, ``--max-events`` give a member a quota of its own (core/quota.py; the
others keep the default): a promote at the same level raises it, a demote lowers it.
"""

import os
import sys

from pandascreen.core import quota
from pandascreen_host.errors import UserError

LEVELS = ("pull", "read", "write", "manage")


def add_parser(sub):
    p = sub.add_parser("group", allow_abbrev=False, help="show or change who may write to a festival",
                       description=__doc__.split("\n")[0])
    p.add_argument("action", choices=("show", "add", "remove", "promote", "demote"))
    p.add_argument("member", nargs="?", metavar="PUBKEY", help="the member's public key, 64 hex")
    p.add_argument("--store", default="festival.db", help="festival store (default festival.db)")
    p.add_argument("--key", default="organiser.key", metavar="PATH", help="your organiser key file")
    p.add_argument("--festival-id", required=True, help="festival id, e.g. 38c3")
    p.add_argument("--organiser", action="append", default=[], metavar="PUBKEY",
                   help="the organiser keys screens were provisioned with (default: your key)")
    p.add_argument("--mode", choices=("curated", "self-organised"), default="curated")
    p.add_argument("--group", metavar="ID", help="a venue's group (64 hex) instead of the festival's")
    p.add_argument("--level", choices=LEVELS, help="access level for add/promote/demote")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--lost", action="store_true", help="remove: keep what the key published so far")
    how.add_argument("--compromised", action="store_true", help="remove: drop what it published after --last-good")
    p.add_argument("--last-good", metavar="HASH", help="with --compromised: its last operation known good")
    for name, default in zip(quota.NAMES, quota.DEFAULT):
        p.add_argument("--max-" + name, type=int, metavar="N",
                       help="add/promote/demote: the member's %s quota (default %d)" % (name, default))
    return p


def _limits(args, current):
    """The quota the --max-* options ask for (the rest from ``current``), or None without any."""
    asked = [getattr(args, "max_" + name, None) for name in quota.NAMES]
    if all(n is None for n in asked):
        return None
    return tuple(current[i] if asked[i] is None else asked[i] for i in range(len(asked)))


def _key(text, what):
    try:
        raw = bytes.fromhex(text or "")
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise UserError("%s must be 64 hex characters" % what)
    return raw


def run(args, out=None):
    out = out or sys.stdout
    from pandascreen.core import auth, operation
    from pandascreen.core.crypto import public_key
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen_host.fsutil import load_seed

    seed = load_seed(args.key, "organiser key")
    me = public_key(seed)
    log_id = operation.log_id_for_festival(args.festival_id)
    store = SqliteStore(args.store)
    try:
        a = _guarded(store, args.store, args.festival_id, args.organiser, me, args.mode)
        gid = _key(args.group, "--group") if args.group else a.group_id
        if args.action == "show":
            return _show(a, gid, out)
        member = _key(args.member, "PUBKEY")
        if a.level(gid, me) < auth.MANAGE:
            raise UserError("your key %s does not manage this group: only Manage members change it"
                            % me.hex()[:16])
        deps = a.heads(gid)
        if args.action == "remove":
            if not (args.lost or args.compromised):
                raise UserError("say why the key goes: --lost (keep what it published) or --compromised")
            cut = None
            if args.lost:
                latest = store.latest(member, log_id)
                cut = None if latest is None else latest.hash
            elif args.last_good:
                cut = _key(args.last_good, "--last-good")
                pos = store.position(cut)
                if pos is None or pos[0] != member:
                    raise UserError("--last-good is not an operation of that key in this store")
            if cut is not None:
                deps.append(cut)
            action = auth.remove(member)
        else:
            if args.level is None:
                raise UserError("%s needs --level (%s)" % (args.action, ", ".join(LEVELS)))
            have = a._groups.get(gid).members.get(member) if gid in a._groups else None
            limits = _limits(args, (have[2] if have else None) or a.default_quota)
            if args.action == "add" and a.level(gid, member) == LEVELS.index(args.level) and limits is None:
                out.write("%s is already a %s member: nothing published\n" % (member.hex()[:16], args.level))
                return 0
            try:
                action = getattr(auth, args.action)(member, LEVELS.index(args.level), quota=limits)
            except auth.GroupOpError as e:
                raise UserError(str(e))
        before = a.revision
        store.publish(seed, auth.group_body(gid, action, deps), log_id, _now_us())
        if a.revision == before:
            out.write("warning: published, but it changes nothing (already so?)\n")
        return _show(a, gid, out)
    finally:
        store.close()


def check_grant(store_path, key, festival_id, organisers, mode):
    """Refuse, in one line, what ``grant_screen`` would refuse (no such festival in the store, a
    key that does not manage the group ``organisers`` names), before provisioning writes a card."""
    from pandascreen.core import auth
    from pandascreen.core.crypto import public_key
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen_host.fsutil import load_seed
    if not os.path.isfile(store_path):  # opening it would make an empty one there
        raise UserError("no store at %s: give the festival store `import` wrote (--store)" % store_path)
    me = public_key(load_seed(key, "organiser key"))
    store = SqliteStore(store_path)
    try:
        a = _guarded(store, store_path, festival_id, organisers, me, mode)
        if a.level(a.group_id, me) < auth.MANAGE:
            raise UserError("your key %s (%s) does not manage the group --organiser names (%s...): check "
                            "--organiser and --organiser-key" % (me.hex()[:16], key, a.group_id.hex()[:16]))
    finally:
        store.close()


def _guarded(store, store_path, festival_id, organisers, me, mode):
    """The festival group's authorizer over ``store``, the group named by ``organisers`` (hex;
    none: ``me``), once a festival the store holds nothing of is refused (festivals.require)."""
    from pandascreen.core import auth, operation
    from pandascreen_host import festivals
    festivals.require(store, festival_id, store_path)
    named = [_key(k, "--organiser") for k in organisers] or [me]
    return auth.guard(store, auth.Authorizer(named, mode=mode), operation.log_id_for_festival(festival_id))


def grant_screen(store, key, festival_id, screen_key_hex, organisers, mode, out):
    """Provisioning's step: the organiser (``key``, a Manage member) adds a screen's device key
    to the festival group at Pull, in ``store``; ``serve`` then carries it to every screen, so
    the screen's status (core/fleet.py) is accepted everywhere.  Pull: a screen writes no program.
    ``organisers`` (hex, the first names the group) and ``mode`` as the screen was provisioned."""
    import argparse
    return run(argparse.Namespace(action="add", member=screen_key_hex, store=store, key=key,
                                  festival_id=festival_id, organiser=list(organisers), mode=mode, group=None,
                                  level="pull", lost=False, compromised=False, last_good=None), out)


def _now_us():
    import time
    return int(time.time() * 1000000)


def _show(a, gid, out):
    from pandascreen.core import auth
    g = a._groups.get(gid)
    if g is None:
        raise UserError("no such group in this store")
    out.write("group %s (%s)\n" % (gid.hex(), a.mode))
    for key in sorted(g.members):
        level, is_group, limits = g.members[key]
        extra = "" if limits is None else "  quota %s" % ", ".join(
            "%d %s" % (n, name) for name, n in zip(quota.NAMES, limits))
        out.write("  %s %-6s %s%s\n" % ("group " if is_group else "member", auth.LEVEL_NAMES[level], key.hex(), extra))
    for key in sorted(g.cutoffs):
        cut = g.cutoffs[key][0]
        out.write("  removed %s (keeps %s)\n" % (key.hex(), "operations up to %s" % cut.hex()[:16]
                                                  if cut else "nothing"))
    for line in a.over_quota():
        out.write("  %s\n" % line)
    return 0
