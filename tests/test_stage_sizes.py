"""The program page's, the phone inbox's and the console's modules stay readable: no function
over 60 lines, no module of 500 lines or more (the project's rule for small modules with one job)."""
import ast
import glob
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODULES = sorted(glob.glob(os.path.join(ROOT, "host_tools", "pandascreen_host", "console", "*.py"))
                 + glob.glob(os.path.join(ROOT, "firmware", "pandascreen", "node", "program_page*.py"))
                 + [os.path.join(ROOT, "firmware", "pandascreen", "node", n)
                    for n in ("phone_inbox.py", "page_qr.py", "i18n.py")])
MAX_FUNCTION = 60
MAX_MODULE = 500


def _too_long(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            size = node.end_lineno - node.lineno + 1
            if size > MAX_FUNCTION:
                yield "%s:%d %s is %d lines" % (os.path.relpath(path, ROOT), node.lineno, node.name, size)


def test_the_stage_and_console_modules_are_found():
    names = [os.path.basename(p) for p in MODULES]
    assert "server.py" in names and "program_page.py" in names and "phone_inbox.py" in names


def test_no_function_is_over_60_lines():
    assert [line for path in MODULES for line in _too_long(path)] == []


def test_no_module_reaches_500_lines():
    sizes = {os.path.relpath(p, ROOT): sum(1 for _ in open(p, encoding="utf-8")) for p in MODULES}
    assert {p: n for p, n in sizes.items() if n >= MAX_MODULE} == {}
