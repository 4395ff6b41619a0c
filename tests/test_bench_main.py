"""``python -m pandascreen.bench`` stopped by SIGTERM (``kill``, a CI job's timeout) stops what it
started: each section's ``finally`` ends its processes and removes its temporary folders, as on
Ctrl-C, and a second signal does not cut that short."""

import signal
import subprocess
import sys
import time

# a run of one section whose clean-up takes a moment, as stopping a window's processes does
RUN = """
import sys, time
from pandascreen.bench import __main__ as bench


class Section:
    @staticmethod
    def run(quick=False):
        try:
            print("ready", flush=True)
            time.sleep(30)
        finally:
            time.sleep(0.5)
            print("cleaned up", flush=True)


bench.section = lambda name: Section
sys.exit(bench.main(["--only", "idle"]))
"""


def test_sigterm_twice_stops_a_run_through_its_sections_clean_up():
    p = subprocess.Popen([sys.executable, "-c", RUN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # inside the clean-up: GNU timeout signals the process, then its group
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert out.strip() == "cleaned up", out + err
    assert p.returncode == 130 and err.strip() == "bench: stopped", err
