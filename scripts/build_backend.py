"""caskd's build backend (pyproject.toml's ``build-backend``): setuptools', plus the
compiled core (see server/compiled.py); the metadata is all in pyproject.toml.

Each module of compiled.MODULES is compiled by Cython from its ``.py`` file, with the
``.pxd`` beside it adding C types; those of compiled.C_MODULES from their ``.pyx``.
The extensions are optional: without Cython, or when the C compiler fails, the build
warns and caskd installs as pure Python. An in-tree backend rather than a
``setup.py`` keeps the project's top level as it is: setuptools' own backend runs
with the extensions handed to ``setup()`` (:meth:`_Backend.run_setup`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Extension, build_meta, setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree
from server.compiled import C_MODULES, MODULES

# Python's semantics everywhere the .pxd files do not say otherwise: annotations are
# documentation (a ``bytes`` hint must not start refusing bytes subclasses such as
# protocol.reply.Raw), and indexing keeps its checks.
DIRECTIVES = {"language_level": "3", "annotation_typing": False, "binding": False}


def _warn(message: str) -> None:
    print(f"caskd: {message}; caskd will run in pure Python", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that reports a failed compilation instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all: whatever distutils raises
            _warn(f"could not build the compiled core ({exc})")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # a compiler error, whatever its class
            _warn(f"could not compile {ext.name} ({exc})")


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:
        _warn("Cython is not installed, the compiled core is not built")
        return []
    modules = [Extension(name, [name.replace(".", "/") + suffix])
               for names, suffix in ((MODULES, ".py"), (C_MODULES, ".pyx")) for name in names]
    return cythonize(modules, compiler_directives=DIRECTIVES, quiet=True)


class _Backend(build_meta._BuildMetaBackend):
    """setuptools' PEP 517 backend, whose setup() call is given the extensions."""

    def run_setup(self, setup_script: str = "setup.py") -> None:
        setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})


_BACKEND = _Backend()
get_requires_for_build_wheel = _BACKEND.get_requires_for_build_wheel
get_requires_for_build_sdist = _BACKEND.get_requires_for_build_sdist
get_requires_for_build_editable = _BACKEND.get_requires_for_build_editable
prepare_metadata_for_build_wheel = _BACKEND.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = _BACKEND.prepare_metadata_for_build_editable
build_wheel = _BACKEND.build_wheel
build_sdist = _BACKEND.build_sdist
build_editable = _BACKEND.build_editable
