"""Keep iroh tests on loopback: run them in a private network namespace unless already in one
(see pandascreen.node.netns for why)."""
import os
import sys

from pandascreen.node.netns import loopback_only, run_loopback_only  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_isolated(*test_files, timeout=240):
    """Run pytest on ``test_files`` inside a loopback-only namespace; (returncode, output)."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + [os.path.join("tests", f) for f in test_files]
    try:
        r = run_loopback_only(argv, cwd=ROOT, timeout=timeout)
    except RuntimeError as e:
        return 1, str(e)
    return r.returncode, r.stdout[-4000:] + r.stderr[-2000:]
