"""docs/ARCHITECTURE.md names every module of the house, so a newcomer finds each one's job there:
a module is named by its file name (``sync.py``) or, in a row that lists a folder's parts, by its
name in backticks (``bench/`` (`ingest`, `board`, ...))."""
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unnamed(text):
    out = []
    for pattern in ("firmware/pandascreen/**/*.py", "host_tools/pandascreen_host/**/*.py"):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            name = os.path.basename(path)
            if name == "__init__.py":
                continue
            if name not in text and "`%s`" % name[:-3] not in text:
                out.append(os.path.relpath(path, ROOT))
    return sorted(out)


def test_every_module_is_named_in_the_architecture():
    with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md"), encoding="utf-8") as fh:
        assert unnamed(fh.read()) == []


def test_a_module_left_out_is_found():
    with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md"), encoding="utf-8") as fh:
        text = fh.read().replace("iroh_relay.py", "").replace("`iroh_relay`", "")
    assert unnamed(text) == ["firmware/pandascreen/node/iroh_relay.py"]
