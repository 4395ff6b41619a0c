"""The Pi screen's side of core/fleet.py: gather what the screen reports and publish it.

WHY: the rules (when, what shape, who may) are pure and live in core/fleet.py; reading the
SoC temperature, the uptime and the device's controller state is the Pi's business.
"""

import os
import time

from pandascreen import __version__
from pandascreen.core import fleet
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
    return dict(shows=shows[:fleet.MAX_TEXT], venue=venue[:fleet.MAX_TEXT] if venue else None,
                heights=heights_summary(controller.store.heights(controller.log_id)),
                clock=bool(controller.clock_trusted(now)), uptime=int(now - started),
                version=__version__, last_sync=controller.last_sync, temp_mc=soc_temp_mc(temp_path))


class FleetReport:
    """Publishes the screen's status into ``store`` (the fleet log) when core/fleet says so."""

    def __init__(self, controller, seed, store, festival_id, clock=time.time, temp_path=THERMAL):
        self.controller = controller
        self.seed = seed
        self.store = store
        self.log_id = fleet.fleet_log_id(festival_id)
        self.clock = clock
        self.started = clock()
        self.temp_path = temp_path
        self.reporter = fleet.Reporter()

    def tick(self, now=None):
        now = int(self.clock() if now is None else now)
        fields = status_fields(self.controller, now, self.started, self.temp_path)
        return self.reporter.publish(self.store, self.seed, self.log_id, now, **fields)


def exists(path=THERMAL):
    return os.path.exists(path)
