"""Is this network namespace loopback-only?  And run a command in one that is.

Why: iroh's port mapper sends UPnP (M-SEARCH to 239.255.255.250:1900) and PCP/NAT-PMP probes
towards the LAN gateway even when the endpoint is bound to 127.0.0.1, and the Python bindings
(iroh 1.2) have no setting to turn it off.  Tests and benchmarks must stay on loopback, so they
run their iroh parts inside ``unshare -rn`` (a user + network namespace with only ``lo``).
"""

import os
import subprocess

MARK = "PANDASCREEN_IN_NETNS"


def loopback_only():
    """True when this namespace routes nothing but ``lo`` (reads /proc/self/net, per namespace)."""
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


def run_loopback_only(argv, cwd=None, timeout=300, env=None):
    """Run ``argv`` in a fresh network namespace with only ``lo`` up; a CompletedProcess
    (text output captured).  Raises RuntimeError when that is not possible here."""
    if os.environ.get(MARK):
        raise RuntimeError("already inside a private namespace, yet routes other than lo exist")
    script = 'ip link set lo up && exec "$@"'
    env = dict(env if env is not None else os.environ)
    env[MARK] = "1"
    try:
        return subprocess.run(["unshare", "-rn", "sh", "-c", script, "sh"] + list(argv), cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise RuntimeError("unshare is missing: cannot make a loopback-only network namespace")
