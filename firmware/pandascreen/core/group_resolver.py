"""The festival group's resolver: p2panda-auth's strong removal over the DAG of group operations.

Why a module of its own: it is the one part of the rights that replays history (a removed
manager's concurrent operations are invalidated, mutual removals both apply), and it runs only
when a group operation arrives.  Its functions take the ``core.auth.Authorizer`` whose DAG they
read (``_ops``, ``_by_group``, ``_positions``) and whose ``_groups`` they rebuild.
"""

from pandascreen.core import quota
from pandascreen.core.errors import GroupOpError
from pandascreen.core.group_model import MANAGE, NOBODY, SELF_ORGANISED, WRITE, Group
from pandascreen.core.group_wire import parse_group_body


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


def resolve_all(authorizer, new=None):
    """Recompute every group's state; ``new``: the group operation just added, appended
    in O(its group) instead of a full replay when it follows everything its group holds
    (the usual case: one organiser publishing one operation after another)."""
    previous = authorizer._groups
    groups = {}
    fast = new is not None and _append(authorizer, new)
    # the festival group first: a venue group's Create needs festival Write
    order = [authorizer.group_id] + sorted(g for g in authorizer._by_group if g != authorizer.group_id)
    for gid in order:
        authorizer._groups = groups
        if fast and gid == new.group_id:
            groups[gid] = previous[gid]
        else:
            groups[gid] = _resolve(authorizer, gid)
    authorizer._groups = groups


def add_op(authorizer, op):
    """Parse a stored group operation into the authorizer's DAG; the GroupOp, or None if it
    is malformed or known."""
    if op.hash in authorizer._ops:
        return None
    try:
        gid, action, deps = parse_group_body(op.body)
    except GroupOpError:
        return None
    g = GroupOp(op.hash, op.public_key, op.seq_num, gid, action, deps)
    authorizer._ops[g.hash] = g
    authorizer._by_group.setdefault(g.group_id, []).append(g.hash)
    for d in deps:
        authorizer._referenced.add(d)
    return g


def _append(authorizer, op):
    """Apply ``op`` to its group's resolved state in place if it is causally after every
    operation the group holds and nothing waits: then it is last in the topological order,
    concurrent with nothing, and its causal state is the current state (the full replay
    would give the same result).  False: a full replay is needed."""
    g = authorizer._groups.get(op.group_id)
    if g is None or g.pending or g.order is None or len(authorizer._by_group[op.group_id]) != len(g.order) + 1:
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
        elif d not in authorizer._positions:
            return False  # unknown: pending
    g.ancestors[op.hash] = anc
    g.order.append(op)
    g.heads = [op.hash]
    if _allowed(authorizer, op.group_id, op, g):
        _effect(authorizer, g, op)
        g.valid.add(op.hash)
    g.nested = [k for k in g.members if g.members[k][1]]
    return True


def _ready(authorizer, gid):
    """Operations of ``gid`` whose dependencies are all known, in topological order
    (ties by hash) with each one's set of ancestors (within the group)."""
    ops = authorizer._ops
    ready = {}
    pending = sorted(authorizer._by_group.get(gid, ()))
    progress = True
    while pending and progress:
        progress = False
        rest = []
        for h in pending:
            ok = True
            for d in ops[h].deps:
                if d in ready or d in authorizer._positions:
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


def _start(authorizer, gid):
    g = Group()
    if gid == authorizer.group_id:
        for k in authorizer.organisers:
            g.members[k] = (MANAGE, False, None)
        g.created = True
    return g


def _effect(authorizer, g, op):
    """Apply an accepted operation to a state (tolerant: the state may have moved on)."""
    action = op.action
    kind = action[0]
    if kind == "Create":
        for key, level, is_group in action[1]:
            g.members[key] = (level, is_group, None)
        if op.group_id != authorizer.group_id:
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
        _cut(authorizer, g, op, key, have[0])
    else:  # Promote / Demote
        g.members[key] = (level, have[1], limits)
        if level < WRITE <= have[0]:
            _cut(authorizer, g, op, key, have[0])
    return have


def _allowed(authorizer, gid, op, before):
    """Is ``op`` valid in ``before``, the state formed by its accepted ancestors?"""
    action = op.action
    kind = action[0]
    if kind == "Create":
        if before.created and gid != authorizer.group_id:
            return False
        if gid == authorizer.group_id:
            return op.author == gid and gid != NOBODY
        return authorizer.mode == SELF_ORGANISED and authorizer.level(authorizer.group_id, op.author) >= WRITE
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
        return action[3] > have[0] or (action[3] == have[0] and _quota_change(authorizer, action, have) == 1)
    if kind == "Demote":
        return action[3] < have[0] or (action[3] == have[0] and _quota_change(authorizer, action, have) == -1)
    return True


def _quota_change(authorizer, action, have):
    # p2panda-auth orders Access<C> by its conditions at an equal level; no conditions compare
    # as quota.DEFAULT (not "unlimited": every member is limited), a constant, so every peer
    # resolves the group alike whatever default it applies at ingest
    return quota.compare(action[4] or quota.DEFAULT, have[2] or quota.DEFAULT)


def _replay(authorizer, gid, order, ancestors, invalid):
    """Accept each operation whose author may make it in the state of its accepted
    ancestors (so two concurrent mutual removals both apply), then apply it to the running
    state in topological order.  Returns (state, [(removal op, removed key, level before)])."""
    g = _start(authorizer, gid)
    accepted = []
    removals = []
    for op in order:
        anc = ancestors[op.hash]
        if op.hash in invalid or any(a in invalid for a in anc):
            continue
        before = _start(authorizer, gid)
        for past in accepted:
            if past.hash in anc:
                _effect(authorizer, before, past)
        if not _allowed(authorizer, gid, op, before):
            continue
        accepted.append(op)
        had = _effect(authorizer, g, op)
        g.valid.add(op.hash)
        if op.action[0] in ("Remove", "Demote") and had is not None:
            removals.append((op, op.action[1], had[0]))
    return g, removals


def _cut(authorizer, g, op, key, before):
    cut = None
    for d in op.deps:
        pos = authorizer._positions.get(d)
        if pos is not None and pos[0] == key:
            cut = d
    g.cutoffs[key] = (cut, before)


def _resolve(authorizer, gid):
    """Strong removal: replay, invalidate the removed managers' operations concurrent with
    their removal (not mutual removals), replay again until nothing more is invalidated
    (bounded: the invalid set only grows)."""
    order, ancestors = _ready(authorizer, gid)
    invalid = set()
    for _ in range(len(order) + 1):
        g, removals = _replay(authorizer, gid, order, ancestors, invalid)
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
    g.pending = len(authorizer._by_group.get(gid, ())) - len(order)
    named = set()
    for op in order:
        for d in op.deps:
            named.add(d)
    g.heads = [op.hash for op in order if op.hash not in named]
    return g
