"""Enclosures: every .scad renders to a valid ASCII STL with a sane size, and matches its board file."""

import glob
import os
import re
import shutil
import subprocess

import pytest

from pandascreen_host import boards

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENCLOSURES = os.path.join(ROOT, "enclosures")
SCAD_FILES = sorted(glob.glob(os.path.join(ENCLOSURES, "*.scad")))
NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def need_openscad():
    exe = shutil.which("openscad")
    if exe:
        return exe
    if os.environ.get("CI"):
        pytest.fail("openscad is not installed but CI is set (apt-get install openscad)")
    pytest.skip("openscad is not on PATH (apt-get install openscad); set CI=true to make this fail")


def parse_ascii_stl(text):
    """[(normal, [v1, v2, v3])]; raises AssertionError if the text is not a well-formed ASCII STL."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    assert lines[0].startswith("solid"), lines[0]
    assert lines[-1].startswith("endsolid"), lines[-1]
    facets = []
    i = 1
    while i < len(lines) - 1:
        m = re.match(r"^facet normal (%s) (%s) (%s)$" % (NUM, NUM, NUM), lines[i])
        assert m, "line %d: %r" % (i, lines[i])
        assert lines[i + 1] == "outer loop", lines[i + 1]
        verts = []
        for k in range(3):
            v = re.match(r"^vertex (%s) (%s) (%s)$" % (NUM, NUM, NUM), lines[i + 2 + k])
            assert v, lines[i + 2 + k]
            verts.append(tuple(float(x) for x in v.groups()))
        assert lines[i + 5] == "endloop" and lines[i + 6] == "endfacet", lines[i + 5:i + 7]
        facets.append((tuple(float(x) for x in m.groups()), verts))
        i += 7
    return facets


def test_every_board_has_an_enclosure():
    names = set(os.path.basename(p) for p in SCAD_FILES)
    for b in boards.list_boards():
        assert boards.load_board(b)["enclosure"] in names
    assert os.path.isfile(os.path.join(ENCLOSURES, "lib", "case.scad"))
    assert os.path.isfile(os.path.join(ENCLOSURES, "README.md"))


def scad_value(text, name):
    m = re.search(r"^%s\s*=\s*(.+?);" % re.escape(name), text, re.M | re.S)
    assert m, "%s not set in the .scad file" % name
    return [float(x) for x in re.findall(NUM, m.group(1))]


@pytest.mark.parametrize("name", boards.list_boards())
def test_scad_outline_matches_board_file(name):
    b = boards.load_board(name)
    with open(os.path.join(ENCLOSURES, b["enclosure"])) as fh:
        text = fh.read()
    o = b["outline"]
    assert scad_value(text, "pcb") == o["pcb"]
    assert scad_value(text, "pcb_t") == [o["pcb_thickness"]]
    assert scad_value(text, "holes") == [c for h in o["holes"] for c in h]
    assert scad_value(text, "hole_d") == [o["hole_diameter"]]
    assert scad_value(text, "screen_module") == o["screen_module"]
    assert scad_value(text, "screen_active") == o["screen_active"]
    for param in ("wall", "clearance", "button_d", "window_margin"):
        assert scad_value(text, param)  # parameters at the top


@pytest.mark.parametrize("path", SCAD_FILES, ids=[os.path.basename(p) for p in SCAD_FILES])
def test_scad_renders_to_valid_stl(path, tmp_path):
    exe = need_openscad()
    out = str(tmp_path / "case.stl")
    proc = subprocess.run([exe, "-o", out, path], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr, proc.stderr
    assert os.path.getsize(out) > 1000
    with open(out) as fh:
        facets = parse_ascii_stl(fh.read())
    assert len(facets) > 100
    pts = [v for _n, vs in facets for v in vs]
    lo = [min(p[i] for p in pts) for i in range(3)]
    hi = [max(p[i] for p in pts) for i in range(3)]
    size = [hi[i] - lo[i] for i in range(3)]
    assert all(abs(x) < 1e-6 for x in lo), lo  # sits on the print bed at the origin
    name = os.path.basename(path)[:-5]
    b = boards.load_board(name)
    pcb = b["outline"]["pcb"]
    # tray and lid side by side: each larger than the PCB, together well inside a print bed
    assert 2 * pcb[0] + 8 < size[0] < 250, size
    assert pcb[1] < size[1] < 200, size
    assert 8 < size[2] < 60, size
