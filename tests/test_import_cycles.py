"""No import cycles among pandascreen's own modules, lazy imports (inside functions) included.

Why lazy ones count too: an import moved into a function still ties the two modules together
(each needs the other to work), it only hides the circle from the interpreter at load time.
The graph is read from the source with ``ast``; nothing is imported.
"""
import ast
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOTS = {"pandascreen": os.path.join(HERE, "..", "firmware", "pandascreen"),
         "pandascreen_host": os.path.join(HERE, "..", "host_tools", "pandascreen_host")}


def _modules():
    """``{dotted name: path}`` of every module of both packages."""
    out = {}
    for package, root in ROOTS.items():
        root = os.path.normpath(root)
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__pycache__"))]
            for name in files:
                if not name.endswith(".py"):
                    continue
                rel = os.path.relpath(os.path.join(folder, name), root)[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                out[".".join([package] + rel)] = os.path.join(folder, name)
    return out


def _imports(name, path, known):
    """The known modules ``name`` imports anywhere in its file (``from a import b`` counts as
    ``a.b`` when that is a module, else as ``a``)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    is_package = path.endswith("__init__.py")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")
                parts = parts if is_package else parts[:-1]
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base + "." + alias.name for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def import_graph():
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def find_cycle(graph):
    """One import cycle as a list of module names (first == last), or None."""
    state = {}

    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = "done"
            elif state.get(child) == "open":
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = "open"
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def test_find_cycle_finds_a_cycle_through_a_lazy_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_imports_inside_functions(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from pandascreen.core import auth\n    return auth\n")
    known = {"pandascreen.core.auth": "", "pandascreen.core": "", "pandascreen.x.m": str(mod)}
    assert _imports("pandascreen.x.m", str(mod), known) == {"pandascreen.core.auth", "pandascreen.core"}


def test_no_import_cycles_among_pandascreen_modules():
    graph = import_graph()
    assert "pandascreen.core.sync" in graph and graph["pandascreen.core.sync"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
