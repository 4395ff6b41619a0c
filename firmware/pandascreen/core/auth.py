"""Who may write to a festival: p2panda-auth groups carried in the festival's own log.

WHY: anyone on a festival Wi-Fi can sign operations; a screen must store, relay and show
only what the festival group lets its authors write.  The model, the wire form
(byte-compatible with p2panda-auth 0.7's GroupsExtensionArgs, in the operation body) and
the mapping onto curated and self-organised festivals are in docs/AUTH.md; this module is
the hot path (rights, store and schedule checks).  Its parts: core/group_model.py (levels, limits, one
group's resolved state), core/group_wire.py (the body bytes), core/group_resolver.py (strong
removal over the DAG) and core/auth_group.py (the rules once there are group operations).
Pure Python for CPython and MicroPython.
"""

from pandascreen.core import auth_group, group_resolver, quota, schema
from pandascreen.core.errors import GroupOpError, SchemaError, Unauthorized
from pandascreen.core.group_wire import (  # noqa: F401  (auth.add(...), auth.group_body(...): tools build group ops)
    add, create, demote, group_body, parse_group_body, promote, remove)
from pandascreen.core.util import hexlify

from pandascreen.core.group_model import (  # noqa: F401  (auth.MANAGE etc. are part of auth's interface)
    ACTIONS, CURATED, HOLD_BYTES, HOLD_OPS, LEVEL_NAMES, LIMITS, MANAGE, MAX_DEPENDENCIES, MAX_MEMBERS, MODES, PULL, READ,
    SELF_ORGANISED, WRITE)
from pandascreen.core.group_model import NOBODY as _NOBODY, SMALLEST as _SMALLEST, Group as _Group

_PREFIX = b"\xa3\x68group_id"  # a 3-field map whose first key is "group_id"


def is_group_body(body):
    """Cheap test (no decoding) whether a body is meant as a group operation."""
    return body is not None and bytes(body[:len(_PREFIX)]) == _PREFIX


class Authorizer:
    """The festival group (and venue groups) as seen by one peer; see the module docstring.

    ``organisers``: public keys named at provisioning (initial Manage members; the first is
    the festival group id unless ``group_id`` is given).  ``trust_anyone``: a demo without
    authorization (every key may write; size limits still hold).  ``venues``: ids of the
    venues this screen follows (None: all).  ``lookup(hash) -> (author, seq) | None`` finds a
    stored operation (a removal's cut-off); the store hook passes the store's.
    ``default_quota``: what a member without access conditions may fill (core/quota.py).
    """

    def __init__(self, organisers=(), mode=CURATED, group_id=None, trust_anyone=False, venues=None,
                 lookup=None, default_quota=quota.DEFAULT):
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
        self.default_quota = tuple(default_quota)
        self.ledger = quota.Ledger()  # what each author's log holds in the guarded store
        self.revision = 0  # grows whenever resolved rights change: caches must rebuild
        self.listeners = []  # called with no argument when rights change (core/fleet.FleetGuard)
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

    def quota_of(self, key):
        """The quota of ``key``'s logs, or None: the festival's managers are never limited."""
        if self.level(self.group_id, key) >= MANAGE:
            return None
        g = self._groups.get(self.group_id)
        got = None if g is None else g.members.get(bytes(key))
        return (got[2] if got is not None else None) or self.default_quota

    def over_quota(self):
        """One line per author whose log went over its quota (the console shows them)."""
        return self.ledger.notes()

    def heads(self, group_id):
        """The ``dependencies`` of the next operation of the group (see auth_group.heads)."""
        return auth_group.heads(self, group_id)

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
            auth_group.check_group_op(self, op)
            self._check_quota(op)
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
        self._check_quota(op)

    def _check_quota(self, op):
        limits = self.quota_of(op.public_key)
        if limits is not None:
            self.ledger.check(op, limits)

    def may_store(self, op):
        try:
            self.check_store(op)
        except Unauthorized:
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

    def observe(self, op):
        """Tell the authorizer about an operation just stored; True if rights changed."""
        self.ledger.count(op, self.quota_of(op.public_key) is not None)
        if op.body is None or not is_group_body(op.body):
            if op.hash in self._referenced and op.hash not in self._positions:
                self._positions[op.hash] = (op.public_key, op.seq_num)
                return self._resolve_all()
            return False
        g = group_resolver.add_op(self, op)
        if g is None:
            return False
        for d in g.deps:
            if self.lookup is not None and d not in self._ops and d not in self._positions:
                pos = self.lookup(d)  # a cut-off stored before the removal arrived
                if pos is not None:
                    self._positions[d] = (bytes(pos[0]), pos[1])
        return self._resolve_all(g)

    def catch_up(self, operations):
        """Observe the group operations among ``operations`` (stored, some perhaps observed
        already) that are new to this authorizer: another handle on the store wrote them.
        True when rights changed."""
        changed = False
        for op in operations:
            if op.body is not None and is_group_body(op.body) and op.hash not in self._ops:
                changed = self.observe(op) or changed
        return changed

    def load(self, operations):
        """Build the state from stored operations (any order, one pass: only group operations
        are kept; cut-offs are found through ``lookup`` when there is one); returns self."""
        ops = operations
        if self.lookup is None and not isinstance(ops, list):
            ops = list(ops)  # no lookup: a second pass finds the cut-offs
        organisers = self.organisers
        for op in ops:
            # event creates are counted for members only: organisers are never limited
            self.ledger.count(op, op.public_key not in organisers)
            if op.body is not None and is_group_body(op.body):
                group_resolver.add_op(self, op)
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
        self.ledger.mark_over(self.quota_of)
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
        return auth_group.self_organised_may_apply(self, op, body, fest)

    def _event_venue(self, body):
        fields = body.get("fields") or {}
        if "venue" in fields:
            return fields["venue"]
        parts = body["id"].split("/", 2)
        return parts[0] if len(parts) == 3 else None

    # -- resolver ------------------------------------------------------------------------------
    def _resolve_all(self, new=None):
        before = self._fingerprint()
        if self._ops:
            group_resolver.resolve_all(self, new)
        else:  # no group operations: the organisers named at provisioning, nothing to resolve
            g = _Group()
            for k in self.organisers:
                g.members[k] = (MANAGE, False, None)
            g.created = True
            g.order = []
            self._groups = {self.group_id: g}
        changed = self._fingerprint() != before
        if changed:
            self.revision += 1
            self.ledger.over.clear()  # a quota may have been raised: check the next operations again
            for listener in self.listeners:
                listener()
        return changed

    def _fingerprint(self):
        out = []
        for gid in sorted(self._groups):
            g = self._groups[gid]
            out.append((gid, sorted(g.members.items()), sorted((k, g.cutoffs[k][0] or b"", g.cutoffs[k][1])
                                                                for k in g.cutoffs),
                        sorted(self._positions.get(g.cutoffs[k][0], (b"", -1)) for k in g.cutoffs if
                               g.cutoffs[k][0] is not None)))
        return out

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
