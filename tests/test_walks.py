"""The three walks of docs/ARCHITECTURE.md ("How to add a panel, an import format, an event field")
stay true: every file they name exists, each names at most three files outside tests/, and an
importer module that ``importers.load`` cannot reach (a walk left half done) fails here.

The panel and the event field have their own whole-walk tests: tests/test_screens.py (one entry
is all a kind needs) and tests/test_event_fields.py (one entry reaches every reader).
"""
import importlib
import os
import re

import pandascreen_host.importers as importers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
IMPORTERS = os.path.dirname(os.path.abspath(importers.__file__))


def _walks():
    with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md"), encoding="utf-8") as fh:
        text = fh.read()
    section = text.split("## How to add a panel, an import format, an event field", 1)[1].split("\n## ", 1)[0]
    walks = {}
    for title, body in re.findall(r"\*\*(An? [a-z ]+)[:*]+\*?\*?(.*?)(?=\n\*\*An? |\Z)", section, re.S):
        steps = re.findall(r"^\d\. (.*?)(?=^\d\. |^\s*$)", body, re.S | re.M)
        walks[title] = [sorted(set(re.findall(r"`([\w./<>-]+\.(?:py|toml))`", step))) for step in steps]
    return walks


def test_each_walk_touches_at_most_three_files_that_exist():
    walks = _walks()
    assert sorted(walks) == ["A panel", "An event field", "An import format"], walks
    for title, steps in walks.items():
        files = set(path for step in steps for path in step)
        assert files and len(steps) <= 3, (title, steps)
        outside = set(p for p in files if not p.startswith("tests/"))
        # a step may name two places in the same file (screens.py's table and its DRIVERS)
        assert len(outside) <= 3, (title, sorted(outside))
        for path in files:
            if "<" in path:  # the new module of the walk
                assert os.path.isdir(os.path.join(ROOT, os.path.dirname(path))), path
            else:
                assert os.path.isfile(os.path.join(ROOT, path)), path


def test_every_importer_module_is_one_load_reaches(monkeypatch):
    """A new format's module that ``importers.load`` does not dispatch to (step 2 of the walk
    missing), or that has no sample in tests/fixtures, fails here."""
    modules = sorted(n[:-3] for n in os.listdir(IMPORTERS)
                     if n.endswith(".py") and n not in ("__init__.py", "common.py"))
    reached = set()
    for name in modules:
        mod = importlib.import_module("pandascreen_host.importers." + name)

        def record(path, data, timezone=None, festival_id=None, span=None, name=name):
            reached.add(name)
            return {"festival": None, "venues": [], "events": [], "warnings": []}
        monkeypatch.setattr(mod, "load", record)
    for sample in sorted(os.listdir(FIXTURES)):
        if sample.endswith((".xml", ".json", ".ics", ".csv")):
            importers.load(os.path.join(FIXTURES, sample))
    assert reached == set(modules), sorted(set(modules) - reached)
