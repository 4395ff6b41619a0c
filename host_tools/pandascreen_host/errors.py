"""Errors the host tools report to the user as ``error: ...`` (exit code 2), without a traceback.

``UserError`` lives in the core's one error tree so the CLI catches ``PandascreenError`` alone.
"""

from pandascreen.core.errors import PandascreenError, UserError  # noqa: F401 (re-exported)
