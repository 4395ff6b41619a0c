"""Keep iroh tests on loopback: run them in a private network namespace unless already in one.

Why: iroh's port mapper sends UPnP (M-SEARCH to 239.255.255.250:1900) and PCP/NAT-PMP probes
towards the LAN's gateway even when the endpoint is bound to 127.0.0.1, and the Python bindings
(iroh 1.2) offer no way to turn it off (EndpointOptions/EndpointBuilder have no port-mapper
setting).  In a namespace where only ``lo`` exists there is no gateway, so nothing leaves loopback.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def loopback_only():
    """True when this network namespace routes nothing but ``lo`` (no LAN, no gateway).

    Reads /proc/self/net (per namespace; /sys/class/net may show the host's interfaces).
    """
    try:
        with open("/proc/self/net/route") as fh:
            v4 = [line.split()[0] for line in fh.readlines()[1:] if line.strip()]
    except OSError:
        return False
    try:
        with open("/proc/self/net/ipv6_route") as fh:
            v6 = [line.split()[-1] for line in fh if line.strip()]
    except OSError:
        v6 = []
    return all(dev == "lo" for dev in v4 + v6)


def run_isolated(*test_files, timeout=240):
    """Run pytest on ``test_files`` inside ``unshare -rn`` with only lo up; (returncode, output)."""
    if os.environ.get("PANDASCREEN_IN_NETNS"):
        return 1, "inside unshare -rn but routes other than lo are still there; refusing to run iroh"
    py = sys.executable
    files = " ".join(os.path.join("tests", f) for f in test_files)
    script = "ip link set lo up && PANDASCREEN_IN_NETNS=1 exec %s -m pytest -q -p no:cacheprovider %s" % (py, files)
    try:
        r = subprocess.run(["unshare", "-rn", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                           timeout=timeout)
    except FileNotFoundError:
        return 1, "unshare is missing: cannot give the iroh tests a network namespace with only loopback"
    return r.returncode, r.stdout[-4000:] + r.stderr[-2000:]
