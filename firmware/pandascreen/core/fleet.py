"""Screens report themselves: one small signed status operation per screen in a fleet log.

WHY: an organiser with ten screens on a site needs to see from the laptop which are alive,
what they show and whether they are behind, without walking to each.  Each screen signs a
status body with its own device key into the festival's *fleet* log (a log id of its own,
so schedule code never sees a status body).  Every status operation carries the p2panda
prune flag: it replaces the screen's earlier ones, so the log holds one operation per screen.

Rules (pure, CPython and MicroPython):
  * ``Reporter.due``: publish only when what the screen reports changed (temperature in
    5 degree steps), at most every ``MIN_INTERVAL`` seconds, plus a heartbeat every
    ``HEARTBEAT`` seconds so "unchanged" and "dead" can be told apart; a change of the heights
    it holds (it caught up on the schedule) goes out at once while the reporter's own token
    bucket allows (``QUICK_RESERVE``), so the console's "behind" is true within seconds;
  * ``may_report`` / ``FleetGuard``: only keys the festival group names (the root grants
    screen keys at provisioning, any access level) may report, and only status bodies that
    parse, carry the prune flag (one operation per screen stays) and come no faster than
    ``RATE_BURST`` in a row, then one per ``RATE_INTERVAL`` seconds per key; a fleet store keeps
    nothing else, and syncs the fleet topic only with peers whose key the group names (the
    iroh node id is the peer's key): what a status says stays within the festival's own;
  * a status log that starts again (a lost fleet file) is no fork: ``FleetGuard`` drops what is
    below the held status and answers with it; status of a key not in the group yet is held.
  * "identify": an organiser (a key the group names at MANAGE) signs an ``identify`` body
    (``make_identify``: which screen, until when, at most ``IDENTIFY_MAX`` seconds) into the
    same log with the prune flag; the screen named draws its name big until then
    (``identify_until``; node/app.py), so the crew finds it.  The guard refuses one from any
    other key.
The laptop's reading of the log (latest per screen, warnings) is in
host_tools/pandascreen_host/console/fleet_view.py: a board never needs it.
"""

from pandascreen.core import cbor
from pandascreen.core.clock import elapsed
from pandascreen.core.crypto import blake3
from pandascreen.core.errors import SchemaError, Unauthorized
from pandascreen.core.group_model import MANAGE
from pandascreen.core.operation import log_id_for_topic
from pandascreen.core.util import hexlify

FLEET_VERSION = 1
FLEET_PREFIX = b"pandascreen/fleet/"
MIN_INTERVAL = 180  # seconds between two status operations of one screen, at least
HEARTBEAT = 600  # an unchanged screen still reports this often
OFFLINE_AFTER = 2 * HEARTBEAT + 60  # two missed heartbeats and a minute: offline
MAX_BODY = 1024
MAX_HEIGHTS = 16
MAX_TEXT = 120
TEMP_STEP_MC = 5000  # temperature changes below 5 degrees are not news
# a screen publishes at most every MIN_INTERVAL; a restart publishes at once: three in a row
# are honest, more than one a minute after that is not
RATE_BURST = 3
RATE_INTERVAL = 60
# a screen that catches up (its heights change) reports at once, as long as its own bucket,
# refilled a tenth slower than RATE_INTERVAL, holds QUICK_RESERVE tokens: one stays in hand for
# a relay that sees two of them closer together than they were sent
REPORT_INTERVAL = RATE_INTERVAL + RATE_INTERVAL // 10
QUICK_RESERVE = 2
# a status may arrive before the group operation naming its key: the newest per key is held,
# for at most HOLD_KEYS keys (oldest out; about 40 KB), and stored once the group names it
HOLD_KEYS = 32
MAX_KEY_TEXT = 64  # a heights key: 16 hex characters of an author's key
MAX_INT = (1 << 63) - 1

IDENTIFY_FOR = 60  # seconds a screen shows its name when the console asks
IDENTIFY_MAX = 2 * IDENTIFY_FOR  # a longer request is refused: it is for finding a screen, not a sign
IDENTIFY_FIELDS = {"v": int, "kind": str, "at": int, "screen": str, "until": int}

# field: (type, required)
FIELDS = {
    "v": (int, True), "kind": (str, True), "at": (int, True), "shows": (str, True),
    "venue": (str, False), "heights": (dict, True), "last_sync": (int, False),
    "clock": (bool, True), "uptime": (int, True), "temp_mc": (int, False), "version": (str, True),
}


def fleet_topic(festival_id):
    """The fleet log's sync topic (a session of its own, beside the schedule's)."""
    return blake3(FLEET_PREFIX + festival_id.encode("utf-8"))


def fleet_log_id(festival_id):
    """The fleet log of a festival (its own topic, beside the schedule's)."""
    return log_id_for_topic(fleet_topic(festival_id))


def _validate_identify(body):
    for name in body:
        if name not in IDENTIFY_FIELDS:
            raise SchemaError("unexpected key %r in identify body" % (name,))
    for name in IDENTIFY_FIELDS:
        value = body.get(name)
        kind = IDENTIFY_FIELDS[name]
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or not -MAX_INT <= value <= MAX_INT)):
            raise SchemaError("identify body needs %r as %s" % (name, kind.__name__))
    if body["v"] != FLEET_VERSION or len(body["screen"]) > MAX_KEY_TEXT:
        raise SchemaError("not a version %d identify body" % FLEET_VERSION)
    if not 0 < body["until"] - body["at"] <= IDENTIFY_MAX:
        raise SchemaError("an identify lasts 1 to %d seconds" % IDENTIFY_MAX)
    return body


def validate(body):
    """Check a decoded status (or identify) dict; return it.  Raises SchemaError naming what is wrong."""
    if not isinstance(body, dict):
        raise SchemaError("status body must be a CBOR map")
    if body.get("kind") == "identify":
        return _validate_identify(body)
    for name in body:
        if name not in FIELDS:
            raise SchemaError("unexpected key %r in status body" % (name,))
    for name in FIELDS:
        kind, required = FIELDS[name]
        value = body.get(name)
        if value is None:
            if required:
                raise SchemaError("status body needs %r" % name)
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise SchemaError("status field %r must be %s" % (name, kind.__name__))
        if kind is str and len(value) > MAX_TEXT:
            raise SchemaError("status field %r is longer than %d characters" % (name, MAX_TEXT))
        if kind is int and not (-MAX_INT <= value <= MAX_INT):
            raise SchemaError("status field %r is out of range" % name)
    if body["v"] != FLEET_VERSION or body["kind"] != "status":
        raise SchemaError("not a version %d status body" % FLEET_VERSION)
    heights = body["heights"]
    if len(heights) > MAX_HEIGHTS:
        raise SchemaError("status names more than %d authors" % MAX_HEIGHTS)
    for k in heights:
        v = heights[k]
        if not isinstance(k, str) or len(k) > MAX_KEY_TEXT or not isinstance(v, int) or isinstance(v, bool) \
                or v < 0 or v > MAX_INT:
            raise SchemaError("status heights must map author text to a seq_num")
    return body


def make_body(at, shows, heights, clock, uptime, version, venue=None, last_sync=None, temp_mc=None):
    """Build, validate and CBOR-encode a status body (``heights`` as from heights_summary)."""
    body = {"v": FLEET_VERSION, "kind": "status", "at": int(at), "shows": shows,
            "heights": dict(heights), "clock": clock, "uptime": int(uptime), "version": version}
    for name, value in (("venue", venue), ("last_sync", last_sync), ("temp_mc", temp_mc)):
        if value is not None:
            body[name] = value
    validate(body)
    data = cbor.dumps(body)
    if len(data) > MAX_BODY:
        raise SchemaError("status body of %d bytes is over %d" % (len(data), MAX_BODY))
    return data


def make_identify(at, screen, until):
    """The CBOR body of an organiser's request that ``screen`` (its key's first 16 hex
    characters, as heights name authors) shows its name until ``until``."""
    body = {"v": FLEET_VERSION, "kind": "identify", "at": int(at), "screen": screen, "until": int(until)}
    return cbor.dumps(_validate_identify(body))


def parse_body(data):
    if data is None or len(data) > MAX_BODY:
        raise SchemaError("status body missing or over %d bytes" % MAX_BODY)
    try:
        return validate(cbor.loads(bytes(data)))
    except cbor.CBORError as e:
        raise SchemaError("status body is not valid CBOR: %s" % e)


def _news(body):
    # what counts as a change: everything but the clock-driven fields, temperature in steps
    out = {}
    for k in body:
        if k not in ("at", "uptime", "temp_mc", "last_sync"):
            out[k] = body[k]
    t = body.get("temp_mc")
    out["temp_step"] = None if t is None else t // TEMP_STEP_MC
    out["synced"] = body.get("last_sync") is not None
    return out


class Reporter:
    """When a screen publishes its status (see the module docstring)."""

    def __init__(self, min_interval=MIN_INTERVAL, heartbeat=HEARTBEAT):
        self.min_interval = min_interval
        self.heartbeat = heartbeat
        self.last_at = None
        self.last_news = None
        self.budget = RATE_BURST * REPORT_INTERVAL  # tokens * REPORT_INTERVAL, as at last_at

    def _budget(self, now):
        if self.last_at is None:
            return RATE_BURST * REPORT_INTERVAL
        return min(RATE_BURST * REPORT_INTERVAL, self.budget + elapsed(now, self.last_at))

    def due(self, now, body):
        """True if ``body`` (a dict as make_body builds) should be published at ``now``."""
        if self.last_at is None:
            return True
        age = elapsed(now, self.last_at)
        if age < self.min_interval:
            return (body.get("heights") != self.last_news["heights"]
                    and self._budget(now) >= QUICK_RESERVE * REPORT_INTERVAL)
        return age >= self.heartbeat or _news(body) != self.last_news

    def publish(self, store, seed, log_id, now, **fields):
        """Publish a status operation if due; returns it, or None.  Pruned: the screen's
        earlier status operations go."""
        data = make_body(now, **fields)
        body = cbor.loads(data)
        if not self.due(now, body):
            return None
        op = store.publish(seed, data, log_id, int(now * 1000000), prune=True)
        self.budget = self._budget(now) - REPORT_INTERVAL
        self.last_at = now
        self.last_news = _news(body)
        return op


def may_report(authorizer, key):
    """A screen may report if the festival group names its key (any level)."""
    if authorizer is None:
        return False
    if authorizer.trust_anyone:
        return True
    return authorizer.level(authorizer.group_id, key) >= 0


def may_identify(authorizer, key):
    """An organiser (MANAGE in the festival group) may ask a screen to identify."""
    if authorizer is None:
        return False
    if authorizer.trust_anyone:
        return True
    return authorizer.level(authorizer.group_id, key) >= MANAGE


def identify_until(store, log_id, key, now=None):
    """Until when the screen of ``key`` is asked to show its name (Unix s), or None: the
    latest end of the identify bodies naming it, signed by a key ``may_identify`` (the store's
    FleetGuard checked that when it stored it; checked again here), of those running at ``now``
    (any, when ``now`` is None)."""
    me = hexlify(bytes(key))[:16]
    guard = getattr(store, "authorizer", None)
    out = None
    for op in store.all_operations(log_id):
        try:
            body = parse_body(op.body)
        except SchemaError:
            continue
        if body["kind"] != "identify" or body["screen"] != me:
            continue
        if now is not None and not body["at"] - IDENTIFY_MAX <= now < body["until"]:
            continue
        if isinstance(guard, FleetGuard) and not may_identify(guard.authorizer, op.public_key):
            continue
        if out is None or body["until"] > out:
            out = body["until"]
    return out


class FleetGuard:
    """A fleet store's guard (``store.authorizer``; the store's four-method hook, plus the
    sync asks): only status operations of keys the festival group names, with a status body
    that parses (at most ``MAX_BODY`` bytes) and the prune flag, at the rate above, are stored
    and so relayed; a flood costs a lookup per operation and is not kept.  ``clock``: seconds,
    the rate is measured when operations arrive (their timestamps are the sender's word).

    A screen that lost its fleet file signs at seq_num 0 again: a status at or below the one
    held for its key (another hash) is dropped like a refused one, not taken for a fork that
    ends the session, and a live session answers it with the status held (``answer``), so the
    screen learns where its log is and publishes above it (node/fleet_report.py).  A status of
    a key the group does not name yet is held (``HOLD_KEYS``) and stored when it does
    (``attach``: the festival group tells the guard when rights change)."""

    def __init__(self, authorizer, clock=None):
        self.authorizer = authorizer
        self.refused = 0
        if clock is None:
            import time
            clock = time.time
        self.clock = clock
        self.store = None
        self.held = {}  # key -> (newest status refused as the group does not name it, arrival)
        self._arrivals = 0
        self._rate = {}  # key -> [tokens, when]; keys the group names only
        self._seen = {}  # (key, log_id) -> (seq_num, hash) of the status stored

    def attach(self, store):
        """Guard ``store``: what it holds is what a restarted screen's status is measured
        against, and held status is stored there once the festival group names its key."""
        store.authorizer = self
        self.store = store
        for op in store.all_operations():
            self.observe(op)
        listeners = getattr(self.authorizer, "listeners", None)
        if listeners is not None:
            listeners.append(self._retry)
        return self

    def check_store(self, op):
        try:
            self._check(op)
        except Unauthorized:
            self.refused += 1
            raise

    def _check(self, op):
        key = bytes(op.public_key)
        who = hexlify(key)[:16]
        if not may_report(self.authorizer, key):
            raise Unauthorized("status from %s: key not in the festival group" % who)
        if op.body is None:
            raise Unauthorized("status from %s without its body" % who)
        if not op.prune:
            raise Unauthorized("status from %s without the prune flag (a screen keeps one)" % who)
        try:
            body = parse_body(op.body)
        except SchemaError as e:
            raise Unauthorized("status from %s: %s" % (who, e))
        if body["kind"] == "identify" and not may_identify(self.authorizer, key):
            raise Unauthorized("identify from %s: only an organiser may ask a screen to show its name" % who)
        seen = self._seen.get((key, op.log_id))
        if seen is not None and op.seq_num <= seen[0]:
            if op.seq_num == seen[0] and op.hash == seen[1]:
                return  # stored already: a duplicate, no token
            raise Unauthorized("status from %s at seq_num %d: its seq_num %d is held (a screen that "
                               "lost its fleet file publishes above it)" % (who, op.seq_num, seen[0]))
        now = self.clock()
        bucket = self._rate.get(key)
        if bucket is None:
            bucket = self._rate[key] = [RATE_BURST, now]
        tokens = min(RATE_BURST, bucket[0] + elapsed(now, bucket[1]) / RATE_INTERVAL)
        bucket[1] = now
        if tokens < 1:
            bucket[0] = tokens
            raise Unauthorized("status from %s: more than one a minute" % who)
        bucket[0] = tokens - 1

    def hold(self, op):
        """Keep the newest refused status of a key the group does not name (yet); any other
        refused status is not kept: the next one replaces it."""
        key = bytes(op.public_key)
        if may_report(self.authorizer, key) or not op.prune or op.body is None or len(op.body) > MAX_BODY:
            return
        held = self.held.get(key)
        if held is not None and held[0].seq_num >= op.seq_num:
            return
        self._arrivals += 1
        self.held[key] = (op, self._arrivals)
        if len(self.held) > HOLD_KEYS:  # the longest held goes (MicroPython dicts keep no order)
            oldest = min(self.held, key=lambda k: self.held[k][1])
            del self.held[oldest]

    def observe(self, op):
        where = (bytes(op.public_key), op.log_id)
        seen = self._seen.get(where)
        if seen is None or op.seq_num > seen[0]:
            self._seen[where] = (op.seq_num, op.hash)
        return False

    def rolled_back(self):
        """The store rolled a write back (a full disk): what it holds is what counts again.  The
        status it refused to keep had been taken for stored, and every later one at its seq_num
        was refused as below a held one, so a screen's reports stopped until it restarted."""
        self._seen = {}
        if self.store is not None:
            for op in self.store.all_operations():
                self.observe(op)

    def release(self):
        """The held status of keys the festival group names now, and forget them."""
        out = [self.held[key][0] for key in self.held if may_report(self.authorizer, key)]
        for op in out:
            del self.held[bytes(op.public_key)]
        return out

    def _retry(self):
        # called by the festival group when rights change, from the thread that changed them
        store = self.store
        if store is None:
            return
        for op in self.release():
            try:
                store.ingest_op(op)
            except Exception:  # a closed or failing fleet store must not stop the festival's ingest
                pass

    def answer(self, op):
        """What a live session sends back for ``op`` it did not store: the status held for
        its author's log when that is newer (the sender lost its log, or is behind)."""
        store = self.store
        if store is None or not may_report(self.authorizer, op.public_key):
            return ()
        mine = store.latest(op.public_key, op.log_id)
        if mine is None or mine.hash == op.hash or mine.seq_num < op.seq_num:
            return ()
        return (mine,)

    def may_sync(self, peer_key):
        """Sync the fleet topic with this peer (its key; an iroh node id) only if the festival
        group names it: a stranger neither reads the screens' status nor offers any."""
        return may_report(self.authorizer, peer_key)

    def may_relay(self, op):  # a key the group removed since: its old status stays here
        return may_report(self.authorizer, op.public_key)

    def relay_order(self, keys):
        return keys
