"""``python -m pandascreen.bench`` stopped by SIGTERM (``kill``, a CI job's timeout) stops what it
started: each section's ``finally`` ends its processes and removes its temporary folders, as on
Ctrl-C, instead of leaving them to run on."""

import subprocess
import sys

STOPPED = """
import os, signal, time
from pandascreen.bench.__main__ import stop_on_terminate
stop_on_terminate()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
finally:
    print("cleaned up", flush=True)
"""


def test_sigterm_runs_the_sections_clean_up_and_exits_143():
    p = subprocess.run([sys.executable, "-c", STOPPED], capture_output=True, text=True, timeout=20)
    assert p.stdout.strip() == "cleaned up", p.stdout + p.stderr
    assert p.returncode == 143, p.stderr[-500:]
