"""The app and serve processes reporting a screen's status (cases in fleet_app_cases.py), on
loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from fleet_app_cases import *  # noqa: F403
else:
    def test_fleet_app_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_fleet_app.py")
        assert code == 0, out
