"""A developer's ``RUST_BACKTRACE=1`` does not make every iroh error symbolize a backtrace
(node/iroh_backtraces.py): library backtraces are off unless asked for by name."""
import os
import subprocess
import sys

import pytest

from pandascreen.node import iroh_backtraces


def test_rust_backtrace_alone_leaves_library_backtraces_off():
    env = {"RUST_BACKTRACE": "1"}
    iroh_backtraces.library_backtraces_off(env)
    assert env == {"RUST_BACKTRACE": "1", "RUST_LIB_BACKTRACE": "0"}  # panics still print theirs


def test_an_empty_value_is_no_choice():
    env = {"RUST_BACKTRACE": "1", "RUST_LIB_BACKTRACE": ""}  # Rust reads "" as on
    iroh_backtraces.library_backtraces_off(env)
    assert env["RUST_LIB_BACKTRACE"] == "0"


def test_the_screen_and_serve_turn_them_off_first_thing(monkeypatch):
    # before any thread starts (setenv beside another thread's getenv is not safe in glibc)
    from pandascreen.node import app, iroh_transport  # noqa: F401  (its own call on import is done)
    from pandascreen_host import serve
    seen = []
    monkeypatch.setattr(iroh_backtraces, "library_backtraces_off", lambda: seen.append("off"))
    assert app.main(["--config", "/nonexistent/config.json"]) == 2  # one line, before anything starts
    assert seen == ["off"]
    with pytest.raises(AttributeError):  # no arguments at all: it got no further than that
        serve.run(None)
    assert seen == ["off", "off"]


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
