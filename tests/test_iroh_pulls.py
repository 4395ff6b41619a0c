"""A cold start beside several full peers takes the program about once (cases in
iroh_pull_cases.py), always on loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from iroh_pull_cases import *  # noqa: F403  (the tests and their fixtures)
else:
    def test_iroh_pull_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_iroh_pulls.py")
        assert code == 0, out
