import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for sub in ("firmware", "host_tools", "tests"):
    p = os.path.join(ROOT, sub)
    if p not in sys.path:
        sys.path.insert(0, p)

# Real schedule files live in the steering repo's shared/ folder, beside the clone.
SCHEDULES = os.environ.get(
    "PANDASCREEN_SCHEDULES", os.path.join(os.path.dirname(ROOT), "shared", "schedules")
)
