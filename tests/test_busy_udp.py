"""A held iroh port (cases in busy_udp_cases.py), on loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from busy_udp_cases import *  # noqa: F403
else:
    def test_busy_udp_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_busy_udp.py")
        assert code == 0, out
