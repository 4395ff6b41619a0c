"""Which festivals a store holds and who signed them: a festival's identity is what its store says.

A screen follows one festival id, fixed when it is provisioned.  A re-import that derives the
id from a calendar's display name, or a typo in ``--festival-id`` or ``--key``, would start a
second festival (or a rival copy under a new key) that no provisioned screen ever sees, and
exit 0.  So the laptop tools read the id and time zone from the festival body in the store and
refuse, in one line, whatever does not match it.
"""

from pandascreen.core import operation
from pandascreen.core.schedule import Schedule
from pandascreen_host.errors import UserError


def held(store):
    """[(festival id, festival dict, author key)] for each log whose author created that festival in it."""
    out = []
    for author, logs in store.heights().items():
        for log_id in logs:
            fest = Schedule.from_store(store, log_id, authors=[author]).festival
            if fest and fest.get("id") and operation.log_id_for_festival(fest["id"]) == log_id:
                out.append((fest["id"], fest, author))
    return sorted(out, key=lambda x: (x[0], x[2]))


def ids(festivals):
    return sorted(set(f[0] for f in festivals))


def describe(festivals):
    return ", ".join("'%s'" % fid for fid in ids(festivals)) or "none"


def require(store, festival_id, where):
    """Refuse a festival id whose log the store holds nothing of (a typo would follow an empty log)."""
    log_id = operation.log_id_for_festival(festival_id)
    if any(log_id in logs for logs in store.heights().values()):
        return
    raise UserError("%s holds no festival '%s' (it holds: %s); check --festival-id"
                    % (where, festival_id, describe(held(store))))
