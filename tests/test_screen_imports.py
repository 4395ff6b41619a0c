"""What a running screen loads (cases in screen_imports_cases.py), on loopback only: see iroh_netns.py."""
from iroh_netns import loopback_only, run_isolated

if loopback_only():
    from screen_imports_cases import *  # noqa: F403
else:
    def test_screen_imports_cases_in_a_private_network_namespace():
        code, out = run_isolated("test_screen_imports.py")
        assert code == 0, out
