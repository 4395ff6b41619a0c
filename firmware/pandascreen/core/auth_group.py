"""The heavy half of core/auth.py: the p2panda-auth wire form and the group resolver.

WHY a module of its own: a screen whose festival has no group operations yet (the organiser
keys come from provisioning) never needs the DAG resolver or the CBOR wire form, and on a
Pico W every kilobyte of bytecode counts; core/auth.py loads this on the first group
operation.  The functions that take ``self`` are the Authorizer's resolver, kept here as
plain functions; see core/auth.py for the model and docs/AUTH.md for the mapping.
"""

from pandascreen.core import cbor, quota
from pandascreen.core.group_model import (LEVEL_NAMES, LIMITS, MANAGE, MAX_DEPENDENCIES, MAX_MEMBERS,
                                          SELF_ORGANISED, WRITE, NOBODY as _NOBODY, Group as _Group)
from pandascreen.core.errors import GroupOpError, SchemaError, Unauthorized
from pandascreen.core.util import hexlify, unhexlify


# -- wire form -------------------------------------------------------------------------------
def _key(b, what):
    b = bytes(b)
    if len(b) != 32:
        raise GroupOpError("%s must be 32 bytes, got %d" % (what, len(b)))
    return b


def create(initial):
    """Action: ``initial`` is a list of ``(key, level)`` or ``(key, level, is_group)``."""
    return ("Create", [(_key(m[0], "member"), m[1], bool(m[2]) if len(m) > 2 else False) for m in initial])


def add(member, level, group=False, quota=None):
    """Action; ``quota``: ``(bytes, operations, events)`` for the member's access conditions
    (core/quota.py), None for the screens' default."""
    return ("Add", _key(member, "member"), bool(group), level, _quota(quota))


def remove(member, group=False):
    return ("Remove", _key(member, "member"), bool(group), None, None)


def promote(member, level, group=False, quota=None):
    """Action: a higher level, or the same level with a larger ``quota`` (see add)."""
    return ("Promote", _key(member, "member"), bool(group), level, _quota(quota))


def demote(member, level, group=False, quota=None):
    """Action: a lower level, or the same level with a smaller ``quota`` (see add)."""
    return ("Demote", _key(member, "member"), bool(group), level, _quota(quota))


def _quota(q):
    if q is None:
        return None
    try:
        return quota.parse(dict(zip(quota.NAMES, q)))
    except SchemaError as e:
        raise GroupOpError(str(e))


def _text(s, out):
    out.extend(cbor.dumps(s))


def _bstr(b, out):
    out.extend(cbor.dumps(bytes(b)))


def _array_head(n, out):
    # the generic encoder would need the items; lists here hold at most MAX_MEMBERS
    if n < 24:
        out.append(0x80 | n)
    elif n < 0x100:
        out.extend(bytes((0x98, n)))
    else:
        out.extend(bytes((0x99, n >> 8, n & 0xFF)))


def _member(member, is_group, out):
    out.append(0xA1)
    _text("Group" if is_group else "Individual", out)
    _bstr(_key(member, "member"), out)


def _access(level, out, limits=None):
    out.append(0xA2)
    _text("conditions", out)
    if limits is None:
        out.append(0xF6)
    else:  # Access<Quota>: the struct's fields in declaration order
        out.append(0xA3)
        for name, n in zip(quota.NAMES, limits):
            _text(name, out)
            out.extend(cbor.dumps(n))
    _text("level", out)
    _text(LEVEL_NAMES[level], out)


def group_body(group_id, action, dependencies=()):
    """The body bytes of a group operation (ciborium's bytes for GroupsExtensionArgs).

    Written field by field, in Rust declaration order, because MicroPython dicts do not keep
    insertion order and the generic encoder would then not be byte-stable.
    """
    out = bytearray()
    out.append(0xA3)
    _text("group_id", out)
    _bstr(_key(group_id, "group_id"), out)
    _text("action", out)
    out.append(0xA1)
    kind = action[0]
    _text(kind, out)
    if kind == "Create":
        out.append(0xA1)
        _text("initial_members", out)
        _array_head(len(action[1]), out)
        for member, level, is_group in action[1]:
            out.append(0x82)
            _member(member, is_group, out)
            _access(level, out)
    else:
        out.append(0xA1 if kind == "Remove" else 0xA2)
        _text("member", out)
        _member(action[1], action[2], out)
        if kind != "Remove":
            _text("access", out)
            _access(action[3], out, action[4])
    _text("dependencies", out)
    _array_head(len(dependencies), out)
    for d in dependencies:
        _bstr(_key(d, "dependency"), out)
    return bytes(out)


def _one(d, what):
    if not isinstance(d, dict) or len(d) != 1:
        raise GroupOpError("%s must be a map with one entry" % what)
    for k in d:
        return k, d[k]


def _fields(d, names, what):
    if not isinstance(d, dict) or len(d) != len(names):
        raise GroupOpError("%s must be a map of %s" % (what, ", ".join(names)))
    for n in names:
        if n not in d:
            raise GroupOpError("%s lacks %r" % (what, n))
    return [d[n] for n in names]


def _parse_member(value):
    tag, key = _one(value, "member")
    if tag not in ("Individual", "Group") or not isinstance(key, bytes) or len(key) != 32:
        raise GroupOpError("member must be Individual or Group with a 32-byte key")
    return key, tag == "Group"


def _parse_access(value, conditions_allowed=True):
    """``(level, quota or None)``: the only conditions pandascreen knows are a quota."""
    conditions, level = _fields(value, ("conditions", "level"), "access")
    limits = None
    if conditions is not None:
        if not conditions_allowed:
            raise GroupOpError("access conditions in a Create are not used by pandascreen (must be null)")
        try:
            limits = quota.parse(conditions, "access conditions")
        except SchemaError as e:
            raise GroupOpError(str(e))
    if level not in LEVEL_NAMES:
        raise GroupOpError("unknown access level %r" % (level,))
    return LEVEL_NAMES.index(level), limits


def parse_group_body(data):
    """Bytes -> ``(group_id, action, dependencies)`` (action as built by add/remove/...).

    Raises only GroupOpError (CBOR errors included)."""
    if data is None or len(data) > LIMITS["group"]:
        raise GroupOpError("group operation body missing or over %d bytes" % LIMITS["group"])
    try:
        value = cbor.loads(data)
    except cbor.CBORError as e:
        raise GroupOpError("group operation is not valid CBOR: %s" % e)
    group_id, action, deps = _fields(value, ("group_id", "action", "dependencies"), "group operation")
    if not isinstance(group_id, bytes) or len(group_id) != 32:
        raise GroupOpError("group_id must be 32 bytes")
    if not isinstance(deps, list) or len(deps) > MAX_DEPENDENCIES:
        raise GroupOpError("dependencies must be a list of at most %d hashes" % MAX_DEPENDENCIES)
    for d in deps:
        if not isinstance(d, bytes) or len(d) != 32:
            raise GroupOpError("a dependency must be a 32-byte hash")
    kind, args = _one(action, "action")
    if kind == "Create":
        (initial,) = _fields(args, ("initial_members",), "Create")
        if not isinstance(initial, list) or len(initial) > MAX_MEMBERS:
            raise GroupOpError("initial_members must be a list of at most %d" % MAX_MEMBERS)
        members = []
        for pair in initial:
            if not isinstance(pair, list) or len(pair) != 2:
                raise GroupOpError("an initial member must be [member, access]")
            key, is_group = _parse_member(pair[0])
            members.append((key, _parse_access(pair[1], False)[0], is_group))
        parsed = ("Create", members)
    elif kind == "Remove":
        (member,) = _fields(args, ("member",), "Remove")
        key, is_group = _parse_member(member)
        parsed = ("Remove", key, is_group, None, None)
    elif kind in ("Add", "Promote", "Demote"):
        member, access = _fields(args, ("member", "access"), kind)
        key, is_group = _parse_member(member)
        level, limits = _parse_access(access)
        parsed = (kind, key, is_group, level, limits)
    else:
        raise GroupOpError("unknown group action %r" % (kind,))
    if group_body(group_id, parsed, deps) != bytes(data):
        raise GroupOpError("group operation is not in canonical form")
    return group_id, parsed, deps



# -- resolver --------------------------------------------------------------------------------
class GroupOp:
    """One group operation as p2panda-auth sees it (``GroupsOperation``) plus its log position."""

    __slots__ = ("hash", "author", "seq", "group_id", "action", "deps")

    def __init__(self, op_hash, author, seq, group_id, action, deps):
        self.hash = bytes(op_hash)
        self.author = bytes(author)
        self.seq = seq
        self.group_id = bytes(group_id)
        self.action = action
        self.deps = deps


def resolve_all(self, new=None):
    """Recompute every group's state; ``new``: the group operation just added, appended
    in O(its group) instead of a full replay when it follows everything its group holds
    (the usual case: one organiser publishing one operation after another)."""
    previous = self._groups
    groups = {}
    fast = new is not None and _append(self, new)
    # the festival group first: a venue group's Create needs festival Write
    order = [self.group_id] + sorted(g for g in self._by_group if g != self.group_id)
    for gid in order:
        self._groups = groups
        if fast and gid == new.group_id:
            groups[gid] = previous[gid]
        else:
            groups[gid] = _resolve(self, gid)
    self._groups = groups


def add_op(self, op):
    """Parse a stored group operation into the authorizer's DAG; the GroupOp, or None if it
    is malformed or known."""
    if op.hash in self._ops:
        return None
    try:
        gid, action, deps = parse_group_body(op.body)
    except GroupOpError:
        return None
    g = GroupOp(op.hash, op.public_key, op.seq_num, gid, action, deps)
    self._ops[g.hash] = g
    self._by_group.setdefault(g.group_id, []).append(g.hash)
    for d in deps:
        self._referenced.add(d)
    return g


def _append(self, op):
    """Apply ``op`` to its group's resolved state in place if it is causally after every
    operation the group holds and nothing waits: then it is last in the topological order,
    concurrent with nothing, and its causal state is the current state (the full replay
    would give the same result).  False: a full replay is needed."""
    g = self._groups.get(op.group_id)
    if g is None or g.pending or g.order is None or len(self._by_group[op.group_id]) != len(g.order) + 1:
        return False
    deps = op.deps
    for h in g.heads:
        if h not in deps:
            return False
    anc = set()
    for d in deps:
        if d in g.ancestors:
            anc.add(d)
            anc |= g.ancestors[d]
        elif d not in self._positions:
            return False  # unknown: pending
    g.ancestors[op.hash] = anc
    g.order.append(op)
    g.heads = [op.hash]
    if _allowed(self, op.group_id, op, g):
        _effect(self, g, op)
        g.valid.add(op.hash)
    g.nested = [k for k in g.members if g.members[k][1]]
    return True

def _ready(self, gid):
    """Operations of ``gid`` whose dependencies are all known, in topological order
    (ties by hash) with each one's set of ancestors (within the group)."""
    ops = self._ops
    ready = {}
    pending = sorted(self._by_group.get(gid, ()))
    progress = True
    while pending and progress:
        progress = False
        rest = []
        for h in pending:
            ok = True
            for d in ops[h].deps:
                if d in ready or d in self._positions:
                    continue
                dep = ops.get(d)
                if dep is None or dep.group_id == gid:
                    ok = False  # unknown, or an op of this group not ready yet: wait
                    break
            if ok:
                ready[h] = ops[h]
                progress = True
            else:
                rest.append(h)
        pending = rest
    ancestors = {}
    order = []
    remaining = sorted(ready)
    while remaining:
        for i in range(len(remaining)):
            g = ready[remaining[i]]
            if all(d in ancestors or d not in ready for d in g.deps):
                anc = set()
                for d in g.deps:
                    if d in ancestors:
                        anc.add(d)
                        anc |= ancestors[d]
                ancestors[g.hash] = anc
                order.append(g)
                del remaining[i]
                break
        else:  # unreachable for real hashes (no cycles); never loop
            break
    return order, ancestors

def _start(self, gid):
    g = _Group()
    if gid == self.group_id:
        for k in self.organisers:
            g.members[k] = (MANAGE, False, None)
        g.created = True
    return g

def _effect(self, g, op):
    """Apply an accepted operation to a state (tolerant: the state may have moved on)."""
    action = op.action
    kind = action[0]
    if kind == "Create":
        for key, level, is_group in action[1]:
            g.members[key] = (level, is_group, None)
        if op.group_id != self.group_id:
            g.members[op.author] = (MANAGE, False, None)  # the creator stewards it
        g.created = True
        return None
    key, is_group, level, limits = action[1], action[2], action[3], action[4]
    have = g.members.get(key)
    if kind == "Add":
        g.members[key] = (level, is_group, limits)
        g.cutoffs.pop(key, None)
    elif have is None:
        return None
    elif kind == "Remove":
        del g.members[key]
        _cut(self, g, op, key, have[0])
    else:  # Promote / Demote
        g.members[key] = (level, have[1], limits)
        if level < WRITE <= have[0]:
            _cut(self, g, op, key, have[0])
    return have

def _allowed(self, gid, op, before):
    """Is ``op`` valid in ``before``, the state formed by its accepted ancestors?"""
    action = op.action
    kind = action[0]
    if kind == "Create":
        if before.created and gid != self.group_id:
            return False
        if gid == self.group_id:
            return op.author == gid and gid != _NOBODY
        return self.mode == SELF_ORGANISED and self.level(self.group_id, op.author) >= WRITE
    if not before.created:
        return False
    mine = before.members.get(op.author)
    if mine is None or mine[1] or mine[0] < MANAGE:
        return False  # only Manage members change a group
    have = before.members.get(action[1])
    if kind == "Add":
        return have is None
    if have is None:
        return False
    if kind == "Promote":
        return action[3] > have[0] or (action[3] == have[0] and _quota_change(self, action, have) == 1)
    if kind == "Demote":
        return action[3] < have[0] or (action[3] == have[0] and _quota_change(self, action, have) == -1)
    return True


def _quota_change(self, action, have):
    # p2panda-auth orders Access<C> by its conditions at an equal level; no conditions compare
    # as quota.DEFAULT (not "unlimited": every member is limited), a constant, so every peer
    # resolves the group alike whatever default it applies at ingest
    return quota.compare(action[4] or quota.DEFAULT, have[2] or quota.DEFAULT)

def _replay(self, gid, order, ancestors, invalid):
    """Accept each operation whose author may make it in the state of its accepted
    ancestors (so two concurrent mutual removals both apply), then apply it to the running
    state in topological order.  Returns (state, [(removal op, removed key, level before)])."""
    g = _start(self, gid)
    accepted = []
    removals = []
    for op in order:
        anc = ancestors[op.hash]
        if op.hash in invalid or any(a in invalid for a in anc):
            continue
        before = _start(self, gid)
        for past in accepted:
            if past.hash in anc:
                _effect(self, before, past)
        if not _allowed(self, gid, op, before):
            continue
        accepted.append(op)
        had = _effect(self, g, op)
        g.valid.add(op.hash)
        if op.action[0] in ("Remove", "Demote") and had is not None:
            removals.append((op, op.action[1], had[0]))
    return g, removals

def _cut(self, g, op, key, before):
    cut = None
    for d in op.deps:
        pos = self._positions.get(d)
        if pos is not None and pos[0] == key:
            cut = d
    g.cutoffs[key] = (cut, before)

def _resolve(self, gid):
    """Strong removal: replay, invalidate the removed managers' operations concurrent with
    their removal (not mutual removals), replay again until nothing more is invalidated
    (bounded: the invalid set only grows)."""
    order, ancestors = _ready(self, gid)
    invalid = set()
    for _ in range(len(order) + 1):
        g, removals = _replay(self, gid, order, ancestors, invalid)
        more = set(invalid)
        for rop, key, before in removals:
            if before < MANAGE:
                continue  # only a manager's group operations can conflict
            for op in order:
                if op.author != key or op.hash in ancestors[rop.hash] or rop.hash in ancestors[op.hash]:
                    continue
                if op.action[0] in ("Remove", "Demote") and op.action[1] == rop.author:
                    continue  # a mutual removal: both apply
                more.add(op.hash)
        if more == invalid:
            break
        invalid = more
    g.nested = [k for k in g.members if g.members[k][1]]
    g.order = order
    g.ancestors = ancestors
    g.pending = len(self._by_group.get(gid, ())) - len(order)
    named = set()
    for op in order:
        for d in op.deps:
            named.add(d)
    g.heads = [op.hash for op in order if op.hash not in named]
    return g


# -- rules that only matter once there are group operations ------------------------------------
def heads(self, group_id):
    """Hashes of the group's operations no other operation names yet: the
    ``dependencies`` of the next group operation a tool publishes."""
    hashes = self._by_group.get(bytes(group_id), ())
    named = set()
    for h in hashes:
        for d in self._ops[h].deps:
            named.add(d)
    return sorted(h for h in hashes if h not in named)


def check_group_op(self, op):
    """Raise Unauthorized unless group operation ``op`` may be stored."""
    try:
        gid, action, deps = parse_group_body(op.body)
    except GroupOpError as e:
        raise Unauthorized("refused group operation: %s" % e)
    author = op.public_key
    if self.trust_anyone or op.hash in self._referenced:
        return  # in the causal past of an operation we hold: needed to resolve it
    if action[0] == "Create":
        if gid == self.group_id and author == gid and gid != _NOBODY:
            return
        if gid != self.group_id and gid not in self._groups and self.mode == SELF_ORGANISED \
                and self.level(self.group_id, author) >= WRITE:
            return
        raise Unauthorized("author %s may not create group %s" % (hexlify(author)[:16], hexlify(gid)[:16]))
    if self.level(gid, author) < MANAGE:
        raise Unauthorized("author %s does not manage group %s" % (hexlify(author)[:16], hexlify(gid)[:16]))


def self_organised_may_apply(self, op, body, fest):
    """The self-organised rules of Authorizer.may_apply (``fest``: the author's festival level)."""
    kind = body["kind"]
    doc_id = body["id"]
    author = op.public_key
    seq = op.seq_num
    if kind == "festival":
        return fest >= MANAGE
    if kind == "venue":
        vg = venue_group(self, doc_id)
        return fest >= MANAGE or (vg is not None and self.level(vg, author, seq) >= MANAGE)
    parts = doc_id.split("/", 2)
    if len(parts) != 3:
        return fest >= MANAGE  # not a member's event id: only the festival's managers
    venue, owner = parts[0], parts[1]
    fields = body.get("fields") or {}
    if "venue" in fields and fields["venue"] != venue:
        return False  # an event stays in the venue its id names
    vg = venue_group(self, venue)
    where = self.level(vg, author, seq) if vg is not None else fest
    if body["action"] == "delete" and (fest >= MANAGE or (vg is not None and where >= MANAGE)):
        return True  # a steward hides an event in its venue
    return owner == hexlify(author) and where >= WRITE


def venue_group(self, venue_id):
    """The group id a self-organised venue id names, if that group exists."""
    if len(venue_id) != 64:
        return None
    try:
        gid = unhexlify(venue_id)
    except ValueError:
        return None
    g = self._groups.get(gid)
    return gid if g is not None and g.created and gid != self.group_id else None
