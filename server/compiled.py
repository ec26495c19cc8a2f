"""The compiled core: which modules run as C extensions, and the pure-Python switch.

The modules in ``MODULES`` are compiled by Cython from their own ``.py`` files, typed
by the augmenting ``.pxd`` file beside each (Cython's "pure Python mode"), so the
Python source is the one description of their behaviour: compiled or not, it is the
same code. ``scripts/build_backend.py`` builds them when caskd is installed (``make
install``, ``pip install .``); where Cython or a C compiler is missing the build goes on
without them and caskd runs the ``.py`` files, more slowly, saying so in its log and in ``INFO``.

``CASKD_PURE_PYTHON=1`` in the environment makes caskd ignore the built extensions
and import the ``.py`` files instead: the reference behaviour, for tests and for
telling a compiled-code bug from a Python one. ``server/__init__.py`` imports this
module first, before any of protocol's or storage's (and the test suite imports
``server`` first), which is when the switch takes effect.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from importlib.machinery import ModuleSpec

MODULES = ("protocol.parser", "protocol.reply", "storage.record", "storage.log",
           "storage.keyspace", "storage.datatypes", "storage.engine", "server.dispatch",
           "server.commands.strings", "server.commands.registry", "server.commands.objects",
           "server.commands.lists", "server.commands.hashes", "server.commands.sets",
           "server.commands.zsets", "server.session", "server.transport",
           "server.scripting.sandbox", "server.scripting.conversions", "server.scripting.run",
           "server.scripting.eval")
# Written in Cython (.pyx) where typed C clearly beats compiling the Python: each one's
# docstring names the Python function that is its reference, which the importing
# module uses instead when the extension is missing, and the tests compare them.
C_MODULES = ("protocol._canonical",)
SWITCH = "CASKD_PURE_PYTHON"


def pure_python_forced() -> bool:
    return os.environ.get(SWITCH, "") == "1"


class _SourceOnly:
    """A meta path finder that loads the modules of MODULES from their ``.py`` files,
    where the default finders would prefer an extension module beside them, and
    refuses C_MODULES, so that their Python references are used."""

    @staticmethod
    def find_spec(name: str, path: list[str] | None, target: object = None
                  ) -> ModuleSpec | None:
        if name in C_MODULES:
            raise ModuleNotFoundError(f"{name} is not used under {SWITCH}=1", name=name)
        if name not in MODULES or not path:
            return None
        loaders = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
        for directory in path:
            spec = importlib.machinery.FileFinder(directory, loaders).find_spec(name)
            if spec is not None:
                return spec
        return None


if pure_python_forced() and _SourceOnly not in sys.meta_path:
    sys.meta_path.insert(0, _SourceOnly)


def is_compiled(module_name: str) -> bool:
    """Whether the (imported) module runs as a C extension."""
    loader = getattr(sys.modules[module_name], "__loader__", None)
    return isinstance(loader, importlib.machinery.ExtensionFileLoader)


def _loaded_compiled(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return is_compiled(name)


def status() -> tuple[bool, str]:
    """(all of the core compiled, a sentence for the start-up log) — imports it."""
    everything = MODULES + C_MODULES
    compiled = [name for name in everything if _loaded_compiled(name)]
    if len(compiled) == len(everything):
        return True, f"Compiled core: {', '.join(everything)}"
    if pure_python_forced():
        return False, f"Running in pure Python ({SWITCH}=1)"
    missing = ", ".join(name for name in everything if name not in compiled)
    return False, (f"Running in pure Python: {missing} not compiled (make install builds "
                   "them with Cython and a C compiler)")
