"""The laptop's reading of the fleet log (core/fleet.py): the latest status of each screen and
what is wrong with it.

WHY here and not in core: a board publishes and relays status but never reads the fleet;
keeping this off the flashed tree saves a Pico's heap.  A status signed by a key the festival
group does not name is ignored (counted), as is a malformed body.
"""

from pandascreen.core.errors import SchemaError
from pandascreen.core.fleet import OFFLINE_AFTER, may_identify, may_report, parse_body
from pandascreen.core.clock import STALE_AFTER
from pandascreen.core.util import hexlify


class Fleet:
    """The latest status of each screen in a fleet log, authorized by the festival group."""

    def __init__(self, authorizer):
        self.authorizer = authorizer
        self.screens = {}  # hex key -> {"key", "status", "seen" (op timestamp s), "hash"}
        self.ignored = 0
        self.last_ignored = None
        self.identify = {}  # screen key hex16 -> until (Unix s): the organiser's newest request

    def observe(self, op):
        """Take one fleet operation; returns True if it changed a screen's entry."""
        who = hexlify(op.public_key)
        if not may_report(self.authorizer, op.public_key):
            self.ignored += 1
            self.last_ignored = "status from %s: key not in the festival group" % who[:16]
            return False
        try:
            status = parse_body(op.body)
        except SchemaError as e:
            self.ignored += 1
            self.last_ignored = "status from %s: %s" % (who[:16], e)
            return False
        if status["kind"] == "identify":  # an organiser's request, not a screen
            if may_identify(self.authorizer, op.public_key):
                self.identify[status["screen"]] = max(status["until"], self.identify.get(status["screen"], 0))
            return False
        old = self.screens.get(who)
        seen = op.timestamp // 1000000
        if old is not None and old["seq"] >= op.seq_num:
            return False
        self.screens[who] = {"key": who, "status": status, "seen": seen, "seq": op.seq_num}
        return True

    def load(self, store, log_id):
        changed = False
        for op in store.all_operations(log_id):
            if self.observe(op):
                changed = True
        return changed


def lag(status, published, now, confirm_within):
    """(behind, pending) for a screen's ``status``: of the operations ``published``
    (``[(author hex16, seq_num, timestamp s)]``) it does not hold, those it could have reported
    (older than its status, or than ``confirm_within`` seconds) are behind; newer ones are on
    their way (a screen reports a catch-up at once, core/fleet.Reporter)."""
    held = status.get("heights") or {}
    cutoff = max(status.get("at", 0), now - confirm_within)
    behind = pending = 0
    for author, seq, at in published:
        if seq > held.get(author, -1):
            if at <= cutoff:
                behind += 1
            else:
                pending += 1
    return behind, pending


def warnings(entry, now, organiser_heights=None, offline_after=OFFLINE_AFTER, behind=None):
    """What is wrong with one screen's entry: a list of short words with a reason each.
    ``behind``: the count ``lag`` gives; without it, every operation in ``organiser_heights``
    the screen does not hold counts."""
    out = []
    status = entry["status"]
    if now - entry["seen"] > offline_after:
        out.append(("offline", "no status for %d min" % ((now - entry["seen"]) // 60)))
    last = status.get("last_sync")
    if last is not None and status.get("at", last) - last >= STALE_AFTER:  # its footer says "stale HH:MM"
        out.append(("stale", "nothing heard from any peer for %d min" % ((status["at"] - last) // 60)))
    if not status.get("clock"):
        out.append(("clock", "clock not trusted"))
    if behind is None and organiser_heights:
        held = status.get("heights") or {}
        behind = 0
        for k in organiser_heights:
            if held.get(k, -1) < organiser_heights[k]:
                behind += organiser_heights[k] - held.get(k, -1)
    if behind:
        out.append(("behind", "%d operation(s) behind the organiser" % behind))
    return out
