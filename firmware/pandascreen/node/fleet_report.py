"""The Pi screen's side of core/fleet.py: gather what the screen reports and publish it, and
the fleet store both a screen and ``pandascreen-host serve`` sync over iroh.

WHY: the rules (when, what shape, who may) are pure and live in core/fleet.py; reading the
SoC temperature, the uptime and the device's controller state is the Pi's business.  The
fleet log lives in a SQLite file of its own beside the festival store: every status prunes,
and a prune in a shared store would make the festival log's ``operations_since`` say
"rebuild" (schedule and live push) each time; a separate file also keeps the festival
store's guard (core/auth.py) and the fleet's (core/fleet.FleetGuard) apart with no dispatch.
It persists so a restarted screen continues its log.  When the file is lost the screen starts
at seq_num 0 again; peers holding more drop that (core/fleet.FleetGuard) and send their status of
this screen back, and ``FleetReport`` publishes above it at once.
"""

import os
import time

from pandascreen import __version__
from pandascreen.core import fleet
from pandascreen.core.crypto import public_key
from pandascreen.core.errors import CannotStore, IngestError, SchemaError
from pandascreen.core.util import hexlify

THERMAL = "/sys/class/thermal/thermal_zone0/temp"


def heights_summary(heights):
    """``store.heights(log_id)`` (``{author: {log_id: seq}}``) as ``{hex16: seq}``, the first
    ``MAX_HEIGHTS`` authors by key (a screen follows a handful of organiser keys)."""
    out = {}
    for key in sorted(heights)[:fleet.MAX_HEIGHTS]:
        logs = heights[key]
        out[hexlify(bytes(key))[:16]] = max(logs.values()) if isinstance(logs, dict) else int(logs)
    return out


def soc_temp_mc(path=THERMAL):
    """SoC temperature in millidegrees Celsius, or None where the file is absent/unreadable."""
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def status_fields(controller, now, started, temp_path=THERMAL):
    """What a screen reports now, from its controller (see fleet.make_body)."""
    view = controller.view(now)
    now_ev = view.get("now") or {}
    title = now_ev.get("title") if isinstance(now_ev, dict) else None
    venue = view.get("venue") or None
    shows = "%s: %s" % (venue or "-", title or view.get("message") or "nothing on now")
    if view.get("venues"):  # the overview
        shows = "all %d venues (page %d)" % (len(view["venues"]), view.get("page", 0) + 1)
    return dict(shows=shows[:fleet.MAX_TEXT], venue=venue[:fleet.MAX_TEXT] if venue else None,
                heights=heights_summary(controller.store.heights(controller.log_id)),
                clock=bool(controller.clock_trusted(now)), uptime=int(now - started),
                version=__version__, last_sync=controller.last_sync, temp_mc=soc_temp_mc(temp_path))


def fleet_store_path(store_path):
    """``festival.db`` -> ``festival.fleet.db``: the fleet store beside a festival store."""
    root, ext = os.path.splitext(store_path)
    return root + ".fleet" + ext


def open_fleet_store(store_path, authorizer, log=None):
    """The fleet store beside ``store_path``, guarded by FleetGuard(``authorizer``: the
    festival group, so it keeps only status of keys the group names).  A corrupt file is
    moved aside (node/snapshot.open_store).  Where the disk takes no writes (a full or read-only
    SD card) the fleet log is kept in memory until the next start (said through ``log``): it is
    one pruned operation per screen, and without it the console loses the screen and the
    screen relays no other's status.  Raises IngestError when the file is damaged and cannot
    be moved aside."""
    from pandascreen.node import snapshot
    try:
        store, _ = snapshot.open_store(fleet_store_path(store_path), log=log)
    except CannotStore as e:
        if log is not None:
            log("fleet: the status log is kept in memory until the next start: %s" % e)
        from pandascreen.node.sqlite_store import SqliteStore
        store = SqliteStore(":memory:")  # SQLite's own memory: the same store, locked as the file's is
    fleet.FleetGuard(authorizer).attach(store)
    return store


def subscription(festival_id, fleet_store):
    """The fleet topic as an ``IrohNode(also=[...])`` entry."""
    return (fleet.fleet_topic(festival_id), fleet_store, "fleet")


class FleetReport:
    """Publishes the screen's status into ``store`` (the fleet log) when core/fleet says so.

    ``tick()`` never raises for the screen's loop: a key the festival group does not name
    (the organiser adds it: ``pandascreen-host group add KEY --level pull``) or a refused
    status is said once through ``log`` and the screen goes on."""

    def __init__(self, controller, seed, store, festival_id, clock=time.time, temp_path=THERMAL, log=None):
        self.controller = controller
        self.seed = seed
        self.public_key = public_key(seed)
        self.store = store
        self.festival_id = festival_id
        self.log_id = fleet.fleet_log_id(festival_id)
        self.clock = clock
        self.started = clock()
        self.temp_path = temp_path
        self.reporter = fleet.Reporter()
        self.log = log or (lambda line: None)
        self.problem = None  # the last reason nothing was published, said once
        self.published = None  # hash of the last status this run published

    def _say(self, why):
        if why != self.problem:
            self.log(why)
        self.problem = why

    def tick(self, now=None):
        guard = getattr(self.store, "authorizer", None)
        if isinstance(guard, fleet.FleetGuard) and not fleet.may_report(guard.authorizer, self.public_key):
            if self.controller.last_sync is None:
                return None  # the group is not known before the first sync: provisioning may have added us
            key = hexlify(self.public_key)
            self._say("fleet: this screen's key %s is not in the festival group, so its status is not "
                             "reported (organiser: pandascreen-host group add %s --level pull --festival-id %s)"
                             % (key[:16], key, self.festival_id))
            return None
        now = int(self.clock() if now is None else now)
        mine = self.store.latest(self.public_key, self.log_id)
        if mine is not None and mine.hash != self.published:
            # the log holds a status this run did not publish (a peer sent it back after the
            # fleet file was lost, or the file kept it): publish above it now, not at the heartbeat
            self.reporter.last_at = None
        fields = status_fields(self.controller, now, self.started, self.temp_path)
        try:
            op = self.reporter.publish(self.store, self.seed, self.log_id, now, **fields)
        except (IngestError, SchemaError) as e:
            self._say("fleet: status not published: %s" % e)
            return None
        if op is not None:
            self.problem = None
            self.published = op.hash
        return op


def exists(path=THERMAL):
    return os.path.exists(path)
