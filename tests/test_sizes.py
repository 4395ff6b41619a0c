"""The house stays readable by a newcomer: no module of the screens' code (firmware/pandascreen:
core, the Pi node, the board glue, testing, bench, demo) or of the organiser's tools
(host_tools/pandascreen_host) reaches 500 lines, and no function is over 60 (measured from the
syntax tree, docstring included)."""

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREES = [os.path.join(ROOT, "firmware", "pandascreen"), os.path.join(ROOT, "host_tools", "pandascreen_host")]
MAX_MODULE_LINES = 499
MAX_FUNCTION_LINES = 60


def _modules():
    for tree in TREES:
        for folder, _dirs, names in os.walk(tree):
            for name in sorted(names):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    yield os.path.relpath(path, ROOT), open(path, encoding="utf-8").read()


def oversize():
    """[(module, function or None, lines)] over the limits."""
    found = []
    for rel, text in _modules():
        if text.count("\n") > MAX_MODULE_LINES:
            found.append((rel, None, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append((rel, node.name, lines))
    return found


def test_no_module_over_500_lines_and_no_function_over_60():
    found = oversize()
    assert not found, "split these: %r" % found


def test_the_measure_reads_every_part_of_the_house():
    seen = [rel for rel, _text in _modules()]
    for part in ("core/sync.py", "node/iroh_transport.py", "board/board.py", "testing/festival.py",
                 "pandascreen_host/cli.py", "console/server.py", "demo.py"):
        assert any(rel.endswith(part) for rel in seen), part


def test_the_measure_finds_a_long_function_and_a_long_module(tmp_path, monkeypatch):
    (tmp_path / "long.py").write_text("def f():\n" + "    x = 1\n" * 60 + "\n\ndef g():\n    pass\n")
    (tmp_path / "big.py").write_text("x = 1\n" * 500)
    monkeypatch.setattr(sys.modules[__name__], "TREES", [str(tmp_path)])
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    assert sorted(oversize()) == [("big.py", None, 500), ("long.py", "f", 61)]
