"""`pandascreen-host serve` tests (cases in iroh_serve_cases.py), on loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from iroh_serve_cases import *  # noqa: F403
else:
    def test_serve_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_iroh_serve.py")
        assert code == 0, out
