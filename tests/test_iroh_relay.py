"""How far a cold start's program travels between screens (cases in iroh_relay_cases.py), always
on loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from iroh_relay_cases import *  # noqa: F403  (the tests and their fixtures)
else:
    def test_iroh_relay_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_iroh_relay.py")
        assert code == 0, out
