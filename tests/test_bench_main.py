"""``python -m pandascreen.bench`` stopped by SIGTERM (``kill``, a CI job's timeout) stops what it
started: each section's ``finally`` ends its processes and removes its temporary folders, as on
Ctrl-C, and a second signal does not cut that short."""

import signal
import subprocess
import sys

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
            print("cleaning", flush=True)
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
        assert p.stdout.readline().strip() == "cleaning"
        p.send_signal(signal.SIGTERM)  # inside the clean-up: GNU timeout signals the process, then its group
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert out.strip() == "cleaned up", out + err
    assert p.returncode == 130 and err.strip() == "bench: stopped", err


def test_a_child_out_of_time_is_asked_to_stop_and_ends_what_it_started(tmp_path):
    """The network section's field test starts fifty screens in namespaces: killed at once, it
    could not stop them."""
    import pytest
    from pandascreen.bench.network import run_to_the_end
    cleaned = tmp_path / "cleaned"
    child = ("import signal, sys, time\n"
             "def stop(*_):\n"
             "    time.sleep(0.3)\n"
             "    open(%r, 'w').write('screens stopped')\n"
             "    sys.exit(0)\n"
             "signal.signal(signal.SIGTERM, stop)\n"
             "print('ready', flush=True)\n"
             "time.sleep(30)\n" % str(cleaned))
    assert run_to_the_end([sys.executable, "-c", "print('done')"], 20) == ("done\n", "")
    with pytest.raises(subprocess.TimeoutExpired):
        run_to_the_end([sys.executable, "-c", child], 6, grace=10)
    assert cleaned.read_text() == "screens stopped"
