"""The app says "alone since" when its only peer goes away (cases in alone_app_cases.py), on
loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from alone_app_cases import *  # noqa: F403
else:
    def test_alone_app_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_alone_app.py")
        assert code == 0, out
