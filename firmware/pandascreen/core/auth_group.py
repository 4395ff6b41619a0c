"""The festival group's rules that only matter once there are group operations: who may store
a group operation, the self-organised festival's rules for venues and events, and the next
operation's dependencies.  Used by ``core.auth.Authorizer`` (see docs/AUTH.md for the model).
"""

from pandascreen.core.errors import GroupOpError, Unauthorized
from pandascreen.core.group_model import MANAGE, NOBODY, SELF_ORGANISED, WRITE
from pandascreen.core.group_wire import parse_group_body
from pandascreen.core.util import hexlify, unhexlify


def heads(authorizer, group_id):
    """Hashes of the group's operations no other operation names yet: the
    ``dependencies`` of the next group operation a tool publishes."""
    hashes = authorizer._by_group.get(bytes(group_id), ())
    named = set()
    for h in hashes:
        for d in authorizer._ops[h].deps:
            named.add(d)
    return sorted(h for h in hashes if h not in named)


def check_group_op(authorizer, op):
    """Raise Unauthorized unless group operation ``op`` may be stored."""
    try:
        gid, action, deps = parse_group_body(op.body)
    except GroupOpError as e:
        raise Unauthorized("refused group operation: %s" % e)
    author = op.public_key
    if authorizer.trust_anyone or op.hash in authorizer._referenced:
        return  # in the causal past of an operation we hold: needed to resolve it
    if op.hash in authorizer._ops:
        return  # held and applied already: relayed as it is (a Create of a group that now exists)
    if action[0] == "Create":
        if gid == authorizer.group_id and author == gid and gid != NOBODY:
            return
        if gid != authorizer.group_id and gid not in authorizer._groups and authorizer.mode == SELF_ORGANISED \
                and authorizer.level(authorizer.group_id, author) >= WRITE:
            return
        raise Unauthorized("author %s may not create group %s" % (hexlify(author)[:16], hexlify(gid)[:16]))
    if authorizer.level(gid, author) < MANAGE:
        raise Unauthorized("author %s does not manage group %s" % (hexlify(author)[:16], hexlify(gid)[:16]))


def self_organised_may_apply(authorizer, op, body, fest):
    """The authorizer-organised rules of Authorizer.may_apply (``fest``: the author's festival level)."""
    kind = body["kind"]
    doc_id = body["id"]
    author = op.public_key
    seq = op.seq_num
    if kind == "festival":
        return fest >= MANAGE
    if kind == "venue":
        vg = venue_group(authorizer, doc_id)
        return fest >= MANAGE or (vg is not None and authorizer.level(vg, author, seq) >= MANAGE)
    parts = doc_id.split("/", 2)
    if len(parts) != 3:
        return fest >= MANAGE  # not a member's event id: only the festival's managers
    venue, owner = parts[0], parts[1]
    fields = body.get("fields") or {}
    if "venue" in fields and fields["venue"] != venue:
        return False  # an event stays in the venue its id names
    vg = venue_group(authorizer, venue)
    where = authorizer.level(vg, author, seq) if vg is not None else fest
    if body["action"] == "delete" and (fest >= MANAGE or (vg is not None and where >= MANAGE)):
        return True  # a steward hides an event in its venue
    return owner == hexlify(author) and where >= WRITE


def hides(body, author):
    """True when ``body`` deletes a member's event ("<venue>/<author key hex>/<name>") and ``author``
    (the delete's signer) is someone else: the venue's steward or an organiser hid it, which is
    final for that event (core/schedule.py ``HIDE_STAMP``)."""
    parts = body["id"].split("/", 2)
    if body["kind"] != "event" or body["action"] != "delete" or len(parts) != 3 or len(parts[1]) != 64:
        return False
    try:  # a key's hex, in either case: an id that names no key is no member's event
        return unhexlify(parts[1].lower()) != bytes(author)
    except ValueError:
        return False


def venue_group(authorizer, venue_id):
    """The group id a authorizer-organised venue id names, if that group exists."""
    if len(venue_id) != 64:
        return None
    try:
        gid = unhexlify(venue_id)
    except ValueError:
        return None
    g = authorizer._groups.get(gid)
    return gid if g is not None and g.created and gid != authorizer.group_id else None
