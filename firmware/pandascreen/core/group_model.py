"""The festival group's model, shared by core/auth.py (rights, the hot path), core/group_wire.py
(the body bytes), core/group_resolver.py (strong removal) and core/auth_group.py (the rules once
there are group operations): access levels, body limits and the resolved state of one group.  A
module of its own so that those import it and never each other in a circle."""

from pandascreen.core import schema

PULL, READ, WRITE, MANAGE = 0, 1, 2, 3
LEVEL_NAMES = ("Pull", "Read", "Write", "Manage")
ACTIONS = ("Create", "Add", "Remove", "Promote", "Demote")
CURATED = "curated"
SELF_ORGANISED = "self-organised"
MODES = (CURATED, SELF_ORGANISED)

# bytes of a body, per kind: a screen stores at most this much per operation
LIMITS = {"group": 2048, "festival": 4096, "venue": 2048, "event": 4096}
NOBODY = b"\xff" * 32  # the group of a festival nobody may write to (no organisers named)
SMALLEST = min(LIMITS[k] for k in schema.KINDS)
MAX_MEMBERS = 64  # members named in one Create (the 2 KB body limit allows ~24; more by Add)
MAX_DEPENDENCIES = 64
HOLD_OPS = 256  # refused operations kept for a retry when the group changes
HOLD_BYTES = 256 * 1024


class Group:
    """Resolved state of one group: ``members`` {key: (level, is_group, quota or None)};
    ``cutoffs`` {removed key: (cut-off hash or None, level held before)}; ``valid`` hashes applied."""

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
