"""Per-writer quotas: how much of a festival log one author may fill on a peer.

WHY: the festival group says who may write, not how much.  A member's key may sign as much as
it likes, and every screen would store and relay it all, so one key can fill every disk and
push the organiser's changes behind its own.  A ``Ledger`` counts what each author's log holds
in one store and refuses the rest of that log once an operation would pass the author's quota.
The festival's managers are never limited (core/auth.py does not ask the ledger for them).

A quota is ``(bytes, operations, events)``: header and body bytes, operations, and operations
that create an event.  ``DEFAULT`` holds for every member whose access carries no conditions;
the organiser sets and raises a member's quota with the access ``conditions`` of the festival
group (docs/AUTH.md).  Pure Python for CPython and MicroPython.
"""

from pandascreen.core.errors import SchemaError, Unauthorized
from pandascreen.core.util import hexlify

# The largest program in the shared schedules (36c3, merged) imports as 1444 operations,
# 0.62 MB, ~1400 events: one program signing key may carry it three times over in bytes and
# operations (room for four days of edits), and 1.7 times in events.
BYTES = 2 * 1024 * 1024
OPERATIONS = 5000
EVENTS = 2500
DEFAULT = (BYTES, OPERATIONS, EVENTS)
NAMES = ("bytes", "operations", "events")
MAX_VALUE = (1 << 63) - 1  # a quota field is a u64 on the wire; larger than any store


class OverQuota(Unauthorized):
    """An operation that would pass its author's quota (a phone's page says so in its language)."""


# usage list fields
_TOP, _BYTES, _OPS, _EVENTS = 0, 1, 2, 3


def parse(value, what="quota"):
    """A decoded conditions map ``{"bytes", "operations", "events"}`` -> tuple; SchemaError."""
    if not isinstance(value, dict) or len(value) != len(NAMES):
        raise SchemaError("%s must be a map of %s" % (what, ", ".join(NAMES)))
    out = []
    for name in NAMES:
        n = value.get(name)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n > MAX_VALUE:
            raise SchemaError("%s %s must be a whole number 0..2**63-1" % (what, name))
        out.append(n)
    return tuple(out)


def compare(a, b):
    """1 if quota ``a`` allows more than ``b`` (every field at least as large, one larger),
    -1 if less, 0 if equal, None if neither (one field up, another down)."""
    up = down = False
    for i in range(len(NAMES)):
        if a[i] > b[i]:
            up = True
        elif a[i] < b[i]:
            down = True
    if up and down:
        return None
    return 1 if up else (-1 if down else 0)


def creates_event(body):
    """True if ``body`` creates an event.  The byte test first: CBOR text is never split
    (core/cbor.py refuses indefinite lengths), so a body without both words creates none."""
    if body is None or b"create" not in body or b"event" not in body:
        return False
    from pandascreen.core import schema
    try:
        parsed = schema.parse_body(body)
    except SchemaError:
        return False
    return parsed["kind"] == "event" and parsed["action"] == "create"


class Ledger:
    """What each author's log holds in one store, and which logs went over their quota.

    ``usage[(author, log)]`` = [top seq_num, bytes, operations, events]; ``over[(author,
    log)]`` = (first refused seq_num, the reason, naming the author), read by the console."""

    def __init__(self):
        self.usage = {}
        self.over = {}
        self._last = (None, None)  # (hash, cost) of the last operation checked: counted next

    @staticmethod
    def _key(op):
        return (op.public_key, b"" if op.log_id is None else bytes(op.log_id))

    @staticmethod
    def cost(op, events=True):
        size = len(op.header_bytes) + op.header.payload_size
        return size, 1, 1 if events and creates_event(op.body) else 0

    def check(self, op, quota):
        """Raise Unauthorized if storing ``op`` would pass ``quota``; an operation at or below
        the log's height is stored already (or a fork the store refuses) and passes."""
        key = self._key(op)
        seq = op.seq_num
        was = self.over.get(key)
        if was is not None and seq >= was[0]:
            raise OverQuota(was[1])
        used = self.usage.get(key)
        if used is not None and seq <= used[_TOP]:
            return
        cost = self.cost(op)
        self._last = (op.hash, cost)
        base = (0, 0, 0) if used is None or op.prune else (used[_BYTES], used[_OPS], used[_EVENTS])
        for i in range(len(NAMES)):
            if base[i] + cost[i] > quota[i]:
                why = ("author %s is over its %s quota (%d): its log is refused from seq_num %d on"
                       % (hexlify(op.public_key)[:16], NAMES[i], quota[i], seq))
                self.over[key] = (seq, why)
                raise OverQuota(why)

    def count(self, op, events=True):
        """Count an operation the store just took (a body filled in later costs nothing more;
        a pruning operation drops what came before it in its log)."""
        key = self._key(op)
        used = self.usage.get(key)
        if used is not None and op.seq_num <= used[_TOP]:
            if events and creates_event(op.body):  # stored without its body, filled in now
                used[_EVENTS] += 1
            return
        last = self._last
        b, n, e = last[1] if last[0] == op.hash and events else self.cost(op, events)
        if used is None or op.prune:
            self.usage[key] = [op.seq_num, b, n, e]
        else:
            used[_TOP] = op.seq_num
            used[_BYTES] += b
            used[_OPS] += n
            used[_EVENTS] += e

    def mark_over(self, quota_of):
        """After a boot scan: a log already past its author's quota (``quota_of(author)``, None:
        not limited) takes nothing more; what it holds stays."""
        for key in self.usage:
            quota = quota_of(key[0])
            used = self.usage[key]
            if quota is None or key in self.over:
                continue
            for i in range(len(NAMES)):
                if used[i + 1] > quota[i]:
                    self.over[key] = (used[_TOP] + 1, "author %s is over its %s quota (%d): its log is "
                                      "refused from seq_num %d on" % (hexlify(key[0])[:16], NAMES[i],
                                                                       quota[i], used[_TOP] + 1))
                    break

    def notes(self):
        """The reasons of every log over its quota, by author."""
        return [self.over[k][1] for k in sorted(self.over)]
