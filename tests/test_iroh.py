"""iroh transport tests (cases in iroh_cases.py), always on loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from iroh_cases import *  # noqa: F403  (the tests and their fixtures)
else:
    def test_iroh_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_iroh.py")
        assert code == 0, out
