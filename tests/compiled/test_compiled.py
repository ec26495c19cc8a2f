"""The compiled core: built by make install, used unless CASKD_PURE_PYTHON=1 says not,
and reported in the start-up log and in INFO server."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import compiled
from tests.support import ROOT

CORE = compiled.MODULES + compiled.C_MODULES


def _run(code: str, env: dict[str, str]) -> str:
    """What ``code`` prints in a fresh interpreter with ``env`` added to the environment."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True, env={**os.environ, **env}).stdout


def _in_each_mode(code: str) -> list[tuple[bool, str]]:
    """(compiled, what ``code`` prints) under CASKD_PURE_PYTHON=1, and, where the
    extensions are built, without it."""
    modes = [False] + ([True] if _built() else [])
    return [(mode, _run(code, {compiled.SWITCH: "0" if mode else "1"})) for mode in modes]


def _loaded_compiled(env: dict[str, str]) -> list[bool]:
    """Whether each module of the core loads as a C extension, in a fresh interpreter
    with ``env`` added to the environment (False for one that does not load)."""
    code = ("import importlib\nfrom server import compiled\n"
            "for name in compiled.MODULES + compiled.C_MODULES:\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except ImportError:\n"
            "        print(False)\n"
            "    else:\n"
            "        print(compiled.is_compiled(name))\n")
    return [line == "True" for line in _run(code, env).split()]


def _built() -> bool:
    """The extensions are there: always under CI=true, where make install must build them
    (gcc and Python's headers are on the machine), else skip what needs them."""
    if all(_loaded_compiled({compiled.SWITCH: ""})):
        return True
    if os.environ.get("CI") == "true":
        raise AssertionError("make install did not build the compiled core")
    return False


def test_this_run_uses_the_mode_it_asked_for():
    """A test run under CASKD_PURE_PYTHON=1 really tests the .py files, and one without
    it the extensions, which is what running the suites in both modes relies on."""
    ok, sentence = compiled.status()
    if compiled.pure_python_forced():
        assert not ok
        assert not any(compiled.is_compiled(name) for name in compiled.MODULES)
        with pytest.raises(ImportError):
            importlib.import_module(compiled.C_MODULES[0])
        assert sentence == "Running in pure Python (CASKD_PURE_PYTHON=1)"
    elif _built():
        assert ok
        assert sentence == f"Compiled core: {', '.join(CORE)}"


def test_the_switch_loads_every_module_from_its_source():
    """... and none of the Cython-only modules: their Python references run instead."""
    assert _loaded_compiled({compiled.SWITCH: "1"}) == [False] * len(CORE)


def test_without_the_switch_every_module_is_compiled():
    if not _built():
        pytest.skip("the compiled core is not built here")
    assert _loaded_compiled({compiled.SWITCH: "0"}) == [True] * len(CORE)


@pytest.mark.parametrize("pure", [True, False], ids=["pure-python", "compiled"])
def test_log_and_info_say_which(pure, caskd_factory, monkeypatch):
    if not pure and not _built():
        pytest.skip("the compiled core is not built here")
    monkeypatch.setenv(compiled.SWITCH, "1" if pure else "")
    server = caskd_factory()
    info = server.client().info("server")
    assert info["caskd_compiled"] == ("no" if pure else "yes")
    expected = ("Running in pure Python (CASKD_PURE_PYTHON=1)" if pure
                else "Compiled core: protocol.parser, protocol.reply, storage.record, "
                     "storage.log, storage.keyspace, storage.datatypes, storage.engine, "
                     "server.dispatch, server.commands.strings, server.commands.registry, "
                     "server.commands.objects, server.commands.lists, "
                     "server.commands.hashes, server.commands.sets, server.commands.zsets, "
                     "server.session, server.transport, server.scripting.sandbox, "
                     "server.scripting.conversions, server.scripting.run, "
                     "server.scripting.eval, protocol._canonical")
    assert expected in server.log()


def test_every_extension_is_newer_than_its_sources():
    """An extension older than its .py or .pxd runs code that is no longer there:
    make install compiles again after a change (an editable install alone does not)."""
    if not _built():
        pytest.skip("the compiled core is not built here")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for name in CORE:
        stem = ROOT / name.replace(".", "/")
        built = stem.with_name(stem.name + suffix).stat().st_mtime
        sources = [stem.with_suffix(ext) for ext in (".py", ".pxd", ".pyx")]
        for source in filter(Path.exists, sources):
            assert source.stat().st_mtime <= built, f"{source} changed: run make install"


# The request path's classes that the compiled core makes C types (cdef classes, whose
# typed attributes their .pxd declares), where each is built.
CDEF_CLASSES = {"storage.log": "Log", "storage.keyspace": "Keyspace",
                "storage.engine": "Engine", "server.dispatch": "Dispatcher",
                "server.commands.registry": "Command", "server.scripting.run": "Scripting",
                "server.scripting.sandbox": "LuaSandbox"}


def test_the_hot_classes_are_c_types_that_still_take_new_attributes():
    """Compiled, Log, Keyspace, Engine, Dispatcher, Command, Scripting and LuaSandbox
    are C types (a Python class is a heap type); each keeps an instance dict, so an
    attribute its .pxd does not declare (one added to the .py later) still works, in both
    modes."""
    code = ("import importlib\nfrom tests.compiled.test_compiled import CDEF_CLASSES\n"
            "for module, name in CDEF_CLASSES.items():\n"
            "    cls = getattr(importlib.import_module(module), name)\n"
            "    instance = cls.__new__(cls)\n"
            "    instance.not_in_the_pxd = 42\n"
            "    assert instance.not_in_the_pxd == 42\n"
            "    print(bool(cls.__flags__ & (1 << 9)))\n")  # Py_TPFLAGS_HEAPTYPE
    for is_compiled, output in _in_each_mode(code):
        assert output.split() == [str(not is_compiled)] * len(CDEF_CLASSES)


def test_a_sorted_set_is_a_c_type_of_the_same_size():
    """Compiled, ZSet is a C type whose fields are its __slots__: a sorted set costs
    the same memory in both modes, and takes no other attribute in either."""
    code = ("import sys\nimport server\nfrom storage.datatypes import ZSet\nzset = ZSet()\n"
            "try:\n    zset.not_a_field = 1\nexcept AttributeError:\n    pass\n"
            "else:\n    raise AssertionError('a ZSet took an attribute')\n"
            "print(bool(ZSet.__flags__ & (1 << 9)), sys.getsizeof(zset))\n")
    sizes = set()
    for is_compiled, output in _in_each_mode(code):
        is_heap_type, size = output.split()
        assert is_heap_type == str(not is_compiled)
        sizes.add(size)
    assert len(sizes) == 1
