"""Which group operations a participant's phone may send (node/phone_inbox.py), and the one line
that says why not, as a key of node/i18n.py's words.

WHY a phone is narrower than the group rules: core/auth_group.py lets any ``Manage`` member make
any group operation, and the store keeps one that resolves to nothing (an ``Add`` of a member
already there).  A phone's participant needs the actions docs/AUTH.md names for a
self-organised festival, each one that changes something, and a reason it understands when it
does not: a member creates a venue (invite-only, or open: the festival group its member with
``Write``) and so stewards it; a steward opens it, makes it invite-only, invites a key with
``Write`` or takes the invite back; an organiser (festival ``Manage``) invites a member.  The
operation still passes the same guard as sync afterwards (``authorizer.check_store``).
"""

from pandascreen.core.auth import MANAGE, SELF_ORGANISED, WRITE
from pandascreen.core.auth_group import venue_group
from pandascreen.core.util import hexlify

ACTIONS = ("Create", "Add", "Remove")


def members(authorizer, gid):
    """``{key: (level, is_group, quota)}`` of a resolved group ({} when unknown).

    The authorizer names no public reader of a group's members; this is the one place that looks."""
    g = authorizer._groups.get(bytes(gid))
    return {} if g is None else g.members


def is_open(authorizer, vg):
    """A venue is open when the festival group is a member of its group with Write."""
    if vg is None:
        return False
    got = members(authorizer, vg).get(authorizer.group_id)
    return got is not None and got[1] and got[0] >= WRITE


def why_not(authorizer, op, gid, action, deps):
    """None when a phone may send this group operation, else ``(status, word key)``."""
    a = authorizer
    author = op.public_key
    if a.mode != SELF_ORGANISED:
        return 403, "refused_curated"
    kind = action[0]
    if kind not in ACTIONS:
        return 403, "refused_group_action"
    if kind == "Create":
        return _create(a, author, gid, action, deps)
    if gid == a.group_id:
        if a.level(gid, author) < MANAGE:
            return 403, "refused_festival_group"
        if action[2] or (kind == "Add" and action[3] != WRITE) or action[4] is not None:
            return 403, "refused_member"
    else:
        if venue_group(a, hexlify(gid)) is None:
            return 403, "refused_no_venue"
        if a.level(gid, author) < MANAGE:
            return 403, "refused_not_steward"
        festival = action[2] and action[1] == a.group_id
        if (action[2] and not festival) or (kind == "Add" and action[3] != WRITE) or action[4] is not None:
            return 403, "refused_member"
    have = members(a, gid).get(action[1])
    if kind == "Add" and have is not None:
        return 409, "refused_already"
    if kind == "Remove" and have is None:
        return 409, "refused_not_member"
    if sorted(deps) != a.heads(gid):
        return 409, "refused_stale"
    return None


def _create(a, author, gid, action, deps):
    if gid == a.group_id:
        return 403, "refused_festival_group"
    if gid in a._groups:
        return 403, "refused_venue_exists"
    if a.level(a.group_id, author) < WRITE:
        return 403, "refused_not_invited"
    initial = action[1]
    if deps or not (initial == [] or initial == [(a.group_id, WRITE, True)]):
        return 403, "refused_new_venue"
    return None


def why_not_document(authorizer, op, body):
    """The word key of the line a participant reads when the festival's rules refuse ``body``."""
    author = op.public_key
    fest = authorizer.level(authorizer.group_id, author, op.seq_num)
    kind = body["kind"]
    if authorizer.mode != SELF_ORGANISED:
        return "refused_curated"
    if kind == "festival":
        return "refused_festival"
    if kind == "venue":
        return "refused_venue"
    parts = body["id"].split("/", 2)
    if len(parts) != 3:
        return "refused_event_id"
    venue, owner = parts[0], parts[1]
    fields = body.get("fields") or {}
    if "venue" in fields and fields["venue"] != venue:
        return "refused_venue_fixed"
    if owner != hexlify(author):
        return "refused_not_yours"
    vg = venue_group(authorizer, venue)
    if vg is None and fest < WRITE:
        return "refused_not_invited"
    if vg is not None and authorizer.level(vg, author, op.seq_num) < WRITE:
        # an open venue lets in the festival's members: the author is not one
        return "refused_not_invited" if is_open(authorizer, vg) else "refused_invite_only"
    return "refused_rules"
