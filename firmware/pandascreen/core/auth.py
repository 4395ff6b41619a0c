"""Who may write to a festival: p2panda-auth groups, carried in the festival's own log.

WHY: anyone on a festival Wi-Fi can sign operations; without this a screen stores, relays
and shows whatever a stranger's key signs (issue 13).  p2panda's answer ("radical
authorization": no accounts, roles decided by signed actions) is p2panda-auth: a group whose
members hold access levels Pull < Read < Write < Manage, changed only by Manage members
through signed group operations that form a DAG (each names the group operations it saw),
with concurrent removals resolved by "strong removal".  This module is that model in pure
Python for CPython and MicroPython (no dataclasses/typing; small groups, so the resolver
simply replays a group's operations after each change).

Wire form (byte-compatible with p2panda-auth 0.7)
-------------------------------------------------
p2panda-core 0.7 defines no group operation; p2panda-auth 0.7 defines
``GroupsExtensionArgs { group_id: VerifyingKey, action: GroupAction, dependencies: Vec<Hash> }``
with serde derives.  We put exactly what ciborium (p2panda-core's CBOR) writes for it into the
BODY of an ordinary operation of the festival log (p2panda-auth puts it into header
extensions; our headers keep the Node extensions, so the body carries it)::

    {"group_id": bstr32, "action": ACTION, "dependencies": [bstr32, ...]}
    ACTION  = {"Create":  {"initial_members": [[MEMBER, ACCESS], ...]}}
            | {"Add":     {"member": MEMBER, "access": ACCESS}}
            | {"Remove":  {"member": MEMBER}}
            | {"Promote": {"member": MEMBER, "access": ACCESS}}
            | {"Demote":  {"member": MEMBER, "access": ACCESS}}
    MEMBER  = {"Individual": bstr32} | {"Group": bstr32}
    ACCESS  = {"conditions": null, "level": "Pull" | "Read" | "Write" | "Manage"}

The ``GroupsOperation`` of p2panda-auth is then ``id`` = operation hash, ``author`` = header
public key, plus the body's three fields.  Conditions are always null (``C = ()``).

Mapping onto a festival (written down in docs/AUTH.md too)
---------------------------------------------------------
* The festival group's id is the first organiser key named at provisioning; the organiser
  keys are its initial Manage members (the out-of-band ``Create``).  A ``Create`` for that id
  signed by that key may add more initial members.
* Dependencies: a hash of a group operation is a DAG edge.  In a ``Remove``/``Demote`` it may
  also be the hash of one of the removed member's own operations: the CUT-OFF.  The member's
  operations up to that one (by seq_num of its log) stay valid (a lost key: name its last
  operation); everything after, and everything when no cut-off is named (a compromised key),
  is invalid and no longer stored, relayed or shown.  A dependency not yet known keeps the
  group operation pending until it arrives.
* Strong removal (p2panda-auth's default resolver): a removal or demotion of a member
  invalidates that member's group operations concurrent with it (neither before nor after it
  in the DAG), except a mutual removal; whatever depends on an invalidated operation is
  invalidated too.  Remaining operations replay in one deterministic topological order
  (ties by hash), so every screen reaches the same state.
* CURATED festival: organisers Manage, program signing keys Write, screens Pull; any Write
  member may write any document.
* SELF-ORGANISED festival: members invite members (any Manage member adds).  A venue is a
  group of its own (nested groups are p2panda-auth's): its id is the venue document id (64
  hex); whoever creates it (a festival Write member) is its Manage steward; it is open when the
  festival group is a member with Write, invite-only otherwise.  Event ids are
  ``<venue id>/<author key hex>/<anything>``, so owner and venue follow from the id alone
  (order-independent): the author edits its event, the venue's stewards may delete (hide) it,
  writing in a venue needs Write in its group.  The festival document needs festival Manage.
* Enforcement is two-tier because logs are chains (a refused op leaves a gap that blocks the
  rest of that log): ``may_store`` is per author (may this key write at all, body within the
  per-kind limit), used by the store for what it stores and relays; ``may_apply`` is per
  document, used by the schedule.  A screen may follow only some venues (``venues``).
"""

from pandascreen.core import cbor, schema
from pandascreen.core.errors import GroupOpError, SchemaError, Unauthorized
from pandascreen.core.util import hexlify

PULL, READ, WRITE, MANAGE = 0, 1, 2, 3
LEVEL_NAMES = ("Pull", "Read", "Write", "Manage")
ACTIONS = ("Create", "Add", "Remove", "Promote", "Demote")
CURATED = "curated"
SELF_ORGANISED = "self-organised"
MODES = (CURATED, SELF_ORGANISED)

# bytes of a body, per kind: a screen stores at most this much per operation
LIMITS = {"group": 2048, "festival": 4096, "venue": 2048, "event": 4096}
_NOBODY = b"\xff" * 32  # the group of a festival nobody may write to (no organisers named)
_SMALLEST = min(LIMITS[k] for k in schema.KINDS)
MAX_MEMBERS = 64  # members named in one Create (the 2 KB body limit allows ~24; more by Add)
MAX_DEPENDENCIES = 64
HOLD_OPS = 256  # refused operations kept for a retry when the group changes
HOLD_BYTES = 256 * 1024

_PREFIX = b"\xa3\x68group_id"  # a 3-field map whose first key is "group_id"


# -- wire form -------------------------------------------------------------------------------
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


def _access(level, out):
    out.append(0xA2)
    _text("conditions", out)
    out.append(0xF6)
    _text("level", out)
    _text(LEVEL_NAMES[level], out)


def _key(b, what):
    b = bytes(b)
    if len(b) != 32:
        raise GroupOpError("%s must be 32 bytes, got %d" % (what, len(b)))
    return b


def create(initial):
    """Action: ``initial`` is a list of ``(key, level)`` or ``(key, level, is_group)``."""
    return ("Create", [(_key(m[0], "member"), m[1], bool(m[2]) if len(m) > 2 else False) for m in initial])


def add(member, level, group=False):
    return ("Add", _key(member, "member"), bool(group), level)


def remove(member, group=False):
    return ("Remove", _key(member, "member"), bool(group), None)


def promote(member, level, group=False):
    return ("Promote", _key(member, "member"), bool(group), level)


def demote(member, level, group=False):
    return ("Demote", _key(member, "member"), bool(group), level)


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
            _access(action[3], out)
    _text("dependencies", out)
    _array_head(len(dependencies), out)
    for d in dependencies:
        _bstr(_key(d, "dependency"), out)
    return bytes(out)


def is_group_body(body):
    """Cheap test (no decoding) whether a body is meant as a group operation."""
    return body is not None and bytes(body[:len(_PREFIX)]) == _PREFIX


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


def _parse_access(value):
    conditions, level = _fields(value, ("conditions", "level"), "access")
    if conditions is not None:
        raise GroupOpError("access conditions are not used by pandascreen (must be null)")
    if level not in LEVEL_NAMES:
        raise GroupOpError("unknown access level %r" % (level,))
    return LEVEL_NAMES.index(level)


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
            members.append((key, _parse_access(pair[1]), is_group))
        parsed = ("Create", members)
    elif kind == "Remove":
        (member,) = _fields(args, ("member",), "Remove")
        key, is_group = _parse_member(member)
        parsed = ("Remove", key, is_group, None)
    elif kind in ("Add", "Promote", "Demote"):
        member, access = _fields(args, ("member", "access"), kind)
        key, is_group = _parse_member(member)
        parsed = (kind, key, is_group, _parse_access(access))
    else:
        raise GroupOpError("unknown group action %r" % (kind,))
    if group_body(group_id, parsed, deps) != bytes(data):
        raise GroupOpError("group operation is not in canonical form")
    return group_id, parsed, deps


# -- state -----------------------------------------------------------------------------------
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


class _Group:
    """Resolved state of one group: ``members`` {key: (level, is_group)}; ``cutoffs``
    {removed key: (cut-off hash or None, level held before)}; ``valid`` hashes applied."""

    __slots__ = ("members", "cutoffs", "valid", "created", "nested", "order", "ancestors", "heads",
                 "pending")

    def __init__(self):
        self.order = None  # the resolver's topological order, ancestors, DAG heads, waiting ops
        self.ancestors = {}
        self.heads = []
        self.pending = 0
        self.nested = ()
        self.members = {}
        self.cutoffs = {}
        self.valid = set()
        self.created = False


class Authorizer:
    """The festival group (and venue groups) as seen by one peer; see the module docstring.

    ``organisers``: public keys named at provisioning (initial Manage members; the first is
    the festival group id unless ``group_id`` is given).  ``trust_anyone``: a demo without
    authorization (every key may write; size limits still hold).  ``venues``: ids of the
    venues this screen follows (None: all).  ``lookup(hash) -> (author, seq) | None`` finds a
    stored operation (a removal's cut-off); the store hook passes the store's.
    """

    def __init__(self, organisers=(), mode=CURATED, group_id=None, trust_anyone=False, venues=None,
                 lookup=None):
        if mode not in MODES:
            raise GroupOpError("unknown festival mode %r (known: %s)" % (mode, ", ".join(MODES)))
        self.organisers = [bytes(k) for k in organisers]
        if not self.organisers and not trust_anyone and group_id != _NOBODY:
            raise Unauthorized("no festival group: name the organiser key(s), or trust anyone for a demo")
        self.group_id = bytes(group_id) if group_id is not None else (
            self.organisers[0] if self.organisers else b"\x00" * 32)
        self.mode = mode
        self.trust_anyone = bool(trust_anyone)
        self.venues = None if venues is None else set(venues)
        self.lookup = lookup
        self.revision = 0  # grows whenever resolved rights change: caches must rebuild
        self._ops = {}  # hash -> GroupOp (every group)
        self._by_group = {}  # group id -> [hash]
        self._referenced = set()  # every dependency named by a known group operation
        self._positions = {}  # hash -> (author, seq) of cut-off operations found
        self._groups = {}
        self._held = []  # [(op, size)] refused ops kept for one retry (see hold)
        self._held_hashes = set()
        self._held_bytes = 0
        self._resolve_all()

    # -- rights ---------------------------------------------------------------------------
    def level(self, group_id, key, seq=None, _depth=0):
        """Access level of ``key`` in a group (-1: none); with ``seq``, the level that one of
        its operations at that seq_num carries (a removed key keeps it up to its cut-off)."""
        if self.trust_anyone:
            return MANAGE if group_id == self.group_id else WRITE
        g = self._groups.get(bytes(group_id))
        if g is None:
            return -1
        key = bytes(key)
        best = -1
        got = g.members.get(key)
        if got is not None and not got[1]:
            best = got[0]
        if _depth == 0:  # nested groups, one level deep: the lower of the two levels
            for member in g.nested:
                level = g.members[member][0]
                if level > best:
                    inner = self.level(member, key, seq, 1)
                    if min(level, inner) > best:
                        best = min(level, inner)
        if seq is not None and key in g.cutoffs:
            cut, before = g.cutoffs[key]
            pos = self._positions.get(cut) if cut is not None else None
            if pos is not None and pos[0] == key and seq <= pos[1] and before > best:
                best = before
        return best

    def may_write(self, key, seq=None):
        """True if ``key`` holds Write in the festival group or in any venue group."""
        if self.level(self.group_id, key, seq) >= WRITE:
            return True
        for gid in self._groups:
            if gid != self.group_id and self.level(gid, key, seq) >= WRITE:
                return True
        return False

    def could_write(self, key):
        """True if some operation of ``key`` may count (now or up to a cut-off): logs of
        others need not even be read."""
        if self.may_write(key):
            return True
        key = bytes(key)
        for gid in self._groups:
            if key in self._groups[gid].cutoffs:
                return True
        return False

    def heads(self, group_id):
        """Hashes of the group's operations no other operation names yet: the
        ``dependencies`` of the next group operation a tool publishes."""
        hashes = self._by_group.get(bytes(group_id), ())
        named = set()
        for h in hashes:
            for d in self._ops[h].deps:
                named.add(d)
        return sorted(h for h in hashes if h not in named)

    # -- store side -------------------------------------------------------------------------
    def check_store(self, op):
        """Raise Unauthorized unless ``op`` may be stored (and so relayed) by this peer."""
        body = op.body
        group = is_group_body(body)
        if body is not None:
            limit = LIMITS["group"] if group else max(LIMITS["festival"], LIMITS["event"])
            if len(body) > limit:
                raise Unauthorized("body of %d bytes is over the %d byte limit" % (len(body), limit))
        if group:
            self._check_group_op(op)
            return
        if not self.may_write(op.public_key, op.seq_num):
            raise Unauthorized("author %s may not write to this festival"
                               % hexlify(op.public_key)[:16])
        if body is not None and len(body) > _SMALLEST:
            # only a body over the smallest limit needs its kind (decoding every body here
            # would double the ingest cost; a malformed one is the schedule's problem)
            try:
                kind = schema.parse_body(body)["kind"]
            except SchemaError as e:
                raise Unauthorized("refused body: %s" % e)
            if len(body) > LIMITS[kind]:
                raise Unauthorized("%s body of %d bytes is over the %d byte limit"
                                   % (kind, len(body), LIMITS[kind]))

    def may_store(self, op):
        try:
            self.check_store(op)
        except (Unauthorized, GroupOpError):
            return False
        return True

    may_relay = may_store

    def hold(self, op):
        """Keep a refused operation for a retry: sync may bring a program key's operations
        before the group operation that lets it write.  Bounded (``HOLD_OPS`` operations,
        ``HOLD_BYTES`` bytes; the oldest go first), so a flood costs at most that."""
        if op.hash in self._held_hashes:
            return
        size = len(op.header_bytes) + (len(op.body) if op.body is not None else 0)
        if size > HOLD_BYTES:
            return
        self._held.append((op, size))
        self._held_hashes.add(op.hash)
        self._held_bytes += size
        while len(self._held) > HOLD_OPS or self._held_bytes > HOLD_BYTES:
            old, n = self._held.pop(0)
            self._held_hashes.discard(old.hash)
            self._held_bytes -= n

    def release(self):
        """The held operations, by author and seq_num (chain order), and forget them."""
        held = [pair[0] for pair in self._held]
        self._held = []
        self._held_hashes = set()
        self._held_bytes = 0
        held.sort(key=lambda op: (op.public_key, op.seq_num))
        return held

    def relay_order(self, keys):
        """``keys`` with the festival's managers first: their logs carry the group operations
        that let the others write, so one sync session is enough for a fresh screen."""
        first = [k for k in keys if self.level(self.group_id, k) >= MANAGE]
        return first + [k for k in keys if self.level(self.group_id, k) < MANAGE]

    def _check_group_op(self, op):
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

    def observe(self, op):
        """Tell the authorizer about an operation just stored; True if rights changed."""
        if op.body is None or not is_group_body(op.body):
            if op.hash in self._referenced and op.hash not in self._positions:
                self._positions[op.hash] = (op.public_key, op.seq_num)
                return self._resolve_all()
            return False
        if op.hash in self._ops:
            return False
        try:
            gid, action, deps = parse_group_body(op.body)
        except GroupOpError:
            return False
        g = GroupOp(op.hash, op.public_key, op.seq_num, gid, action, deps)
        self._ops[g.hash] = g
        self._by_group.setdefault(g.group_id, []).append(g.hash)
        for d in deps:
            self._referenced.add(d)
            if self.lookup is not None and d not in self._ops and d not in self._positions:
                pos = self.lookup(d)  # a cut-off stored before the removal arrived
                if pos is not None:
                    self._positions[d] = (bytes(pos[0]), pos[1])
        return self._resolve_all(g)

    def load(self, operations):
        """Build the state from stored operations (any order, one pass: only group operations
        are kept; cut-offs are found through ``lookup`` when there is one); returns self."""
        ops = operations
        if self.lookup is None and not isinstance(ops, list):
            ops = list(ops)  # no lookup: a second pass finds the cut-offs
        for op in ops:
            if op.body is not None and is_group_body(op.body) and op.hash not in self._ops:
                try:
                    gid, action, deps = parse_group_body(op.body)
                except GroupOpError:
                    continue
                g = GroupOp(op.hash, op.public_key, op.seq_num, gid, action, deps)
                self._ops[g.hash] = g
                self._by_group.setdefault(g.group_id, []).append(g.hash)
                for d in deps:
                    self._referenced.add(d)
        if self.lookup is None:
            for op in ops:
                if op.hash in self._referenced and op.hash not in self._ops:
                    self._positions[op.hash] = (op.public_key, op.seq_num)
        else:
            for d in self._referenced:
                if d not in self._ops and d not in self._positions:
                    pos = self.lookup(d)
                    if pos is not None:
                        self._positions[d] = (bytes(pos[0]), pos[1])
        self._resolve_all()
        return self

    # -- schedule side -----------------------------------------------------------------------
    def may_apply(self, op, body):
        """May the schedule apply ``op`` (author, seq) with its parsed festival ``body``?"""
        kind = body["kind"]
        doc_id = body["id"]
        if self.venues is not None:
            if kind == "venue" and doc_id not in self.venues:
                return False
            if kind == "event":
                venue = self._event_venue(body)
                if venue is not None and venue not in self.venues:
                    return False
        if self.trust_anyone:
            return True
        author = op.public_key
        seq = op.seq_num
        fest = self.level(self.group_id, author, seq)
        if self.mode == CURATED:
            return fest >= WRITE
        if kind == "festival":
            return fest >= MANAGE
        if kind == "venue":
            vg = self._venue_group(doc_id)
            return fest >= MANAGE or (vg is not None and self.level(vg, author, seq) >= MANAGE)
        parts = doc_id.split("/", 2)
        if len(parts) != 3:
            return fest >= MANAGE  # not a member's event id: only the festival's managers
        venue, owner = parts[0], parts[1]
        fields = body.get("fields") or {}
        if "venue" in fields and fields["venue"] != venue:
            return False  # an event stays in the venue its id names
        vg = self._venue_group(venue)
        where = self.level(vg, author, seq) if vg is not None else fest
        if body["action"] == "delete" and (fest >= MANAGE or (vg is not None and where >= MANAGE)):
            return True  # a steward hides an event in its venue
        return owner == hexlify(author) and where >= WRITE

    def _event_venue(self, body):
        fields = body.get("fields") or {}
        if "venue" in fields:
            return fields["venue"]
        parts = body["id"].split("/", 2)
        return parts[0] if len(parts) == 3 else None

    def _venue_group(self, venue_id):
        if len(venue_id) != 64:
            return None
        try:
            from pandascreen.core.util import unhexlify
            gid = unhexlify(venue_id)
        except ValueError:
            return None
        g = self._groups.get(gid)
        return gid if g is not None and g.created and gid != self.group_id else None

    # -- resolver ------------------------------------------------------------------------------
    def _resolve_all(self, new=None):
        """Recompute every group's state; ``new``: the group operation just added, appended
        in O(its group) instead of a full replay when it follows everything its group holds
        (the usual case: one organiser publishing one operation after another)."""
        before = self._fingerprint()
        previous = self._groups
        groups = {}
        fast = new is not None and self._append(new)
        # the festival group first: a venue group's Create needs festival Write
        order = [self.group_id] + sorted(g for g in self._by_group if g != self.group_id)
        for gid in order:
            self._groups = groups
            if fast and gid == new.group_id:
                groups[gid] = previous[gid]
            else:
                groups[gid] = self._resolve(gid)
        self._groups = groups
        changed = self._fingerprint() != before
        if changed:
            self.revision += 1
        return changed

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
        if self._allowed(op.group_id, op, g):
            self._effect(g, op)
            g.valid.add(op.hash)
        g.nested = [k for k in g.members if g.members[k][1]]
        return True

    def _fingerprint(self):
        out = []
        for gid in sorted(getattr(self, "_groups", {}) or {}):
            g = self._groups[gid]
            out.append((gid, sorted(g.members.items()), sorted((k, g.cutoffs[k][0] or b"", g.cutoffs[k][1])
                                                                for k in g.cutoffs),
                        sorted(self._positions.get(g.cutoffs[k][0], (b"", -1)) for k in g.cutoffs if
                               g.cutoffs[k][0] is not None)))
        return out

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
                g.members[k] = (MANAGE, False)
            g.created = True
        return g

    def _effect(self, g, op):
        """Apply an accepted operation to a state (tolerant: the state may have moved on)."""
        action = op.action
        kind = action[0]
        if kind == "Create":
            for key, level, is_group in action[1]:
                g.members[key] = (level, is_group)
            if op.group_id != self.group_id:
                g.members[op.author] = (MANAGE, False)  # the creator stewards it
            g.created = True
            return None
        key, is_group, level = action[1], action[2], action[3]
        have = g.members.get(key)
        if kind == "Add":
            g.members[key] = (level, is_group)
            g.cutoffs.pop(key, None)
        elif have is None:
            return None
        elif kind == "Remove":
            del g.members[key]
            self._cut(g, op, key, have[0])
        else:  # Promote / Demote
            g.members[key] = (level, have[1])
            if level < WRITE <= have[0]:
                self._cut(g, op, key, have[0])
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
            return action[3] > have[0]
        if kind == "Demote":
            return action[3] < have[0]
        return True

    def _replay(self, gid, order, ancestors, invalid):
        """Accept each operation whose author may make it in the state of its accepted
        ancestors (so two concurrent mutual removals both apply), then apply it to the running
        state in topological order.  Returns (state, [(removal op, removed key, level before)])."""
        g = self._start(gid)
        accepted = []
        removals = []
        for op in order:
            anc = ancestors[op.hash]
            if op.hash in invalid or any(a in invalid for a in anc):
                continue
            before = self._start(gid)
            for past in accepted:
                if past.hash in anc:
                    self._effect(before, past)
            if not self._allowed(gid, op, before):
                continue
            accepted.append(op)
            had = self._effect(g, op)
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
        order, ancestors = self._ready(gid)
        invalid = set()
        for _ in range(len(order) + 1):
            g, removals = self._replay(gid, order, ancestors, invalid)
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


def for_authors(keys):
    """A curated festival whose organisers are ``keys`` (no keys: nobody may write)."""
    keys = [bytes(k) for k in keys]
    return Authorizer(keys) if keys else Authorizer([], group_id=_NOBODY)


def guard(store, authorizer, log_id=None):
    """Make ``store`` keep (and so relay) only what ``authorizer`` allows: load the group
    operations it already holds, give the authorizer the store's cut-off lookup, and hook it
    into the store's ingest.  Returns the authorizer."""
    authorizer.lookup = store.position
    # a page at a time: the boot scan must not hold the whole log (SQLite's all_operations
    # fetches every row at once)
    authorizer.load(store.all_operations(None) if log_id is None else store.pages(log_id))
    store.authorizer = authorizer
    return authorizer


def from_config(cfg, lookup=None):
    """The Authorizer a validated device config asks for (see core/config.py)."""
    return Authorizer(cfg.get("organiser_keys") or (), mode=cfg.get("festival_mode") or CURATED,
                      trust_anyone=bool(cfg.get("trust_anyone")), venues=cfg.get("venues"), lookup=lookup)
