"""A developer's ``RUST_BACKTRACE=1`` does not make every iroh error symbolize a backtrace
(node/iroh_backtraces.py): library backtraces are off unless asked for by name."""
import os
import subprocess
import sys

from pandascreen.node import iroh_backtraces


def test_rust_backtrace_alone_leaves_library_backtraces_off():
    env = {"RUST_BACKTRACE": "1"}
    iroh_backtraces.library_backtraces_off(env)
    assert env == {"RUST_BACKTRACE": "1", "RUST_LIB_BACKTRACE": "0"}  # panics still print theirs


def test_library_backtraces_asked_for_by_name_are_kept():
    env = {"RUST_BACKTRACE": "1", "RUST_LIB_BACKTRACE": "1"}
    iroh_backtraces.library_backtraces_off(env)
    assert env["RUST_LIB_BACKTRACE"] == "1"


def test_a_process_that_loads_the_iroh_node_has_them_off_before_any_iroh_call():
    env = dict(os.environ, RUST_BACKTRACE="1")
    env.pop("RUST_LIB_BACKTRACE", None)
    out = subprocess.run([sys.executable, "-c", "import os\nimport pandascreen.node.iroh_transport\n"
                          "print(os.environ.get('RUST_LIB_BACKTRACE'))"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "0", out.stderr[-2000:]
