"""The open stage's whole story in a real browser against real screen processes (tests/open_stage_cases.py),
run in a loopback-only network namespace of its own since the screens start iroh (tests/iroh_netns.py)."""
from iroh_netns import run_isolated


def test_two_phones_and_a_steward_against_two_screens_in_a_private_network_namespace():
    code, out = run_isolated("open_stage_cases.py", timeout=300)
    assert code == 0 and "1 passed" in out, out
