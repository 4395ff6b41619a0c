"""Wait for a condition, bounded in time: the one polling loop of the demo, the field test and the
test suite (they had five copies of it).

WHY polling: what they wait for lives in other threads or processes (an iroh node's loop, a
screen child) that offer no event to wait on; every wait must end by itself.
"""

import time


def until(cond, timeout=5.0, every=0.01):
    """True as soon as ``cond()`` is, polling every ``every`` seconds; after ``timeout`` seconds
    the answer of one last ``cond()``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(every)
    return bool(cond())
