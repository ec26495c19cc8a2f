"""Background work in child processes (compaction's merge, hint files).

A child does not compete with the event loop for the GIL, and runs at the lowest
CPU priority. It dies with the engine's process, so it can never publish files
behind the back of a later opener of the directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

PR_SET_PDEATHSIG = 1


def spawn(module: str, spec: dict, **popen_options) -> subprocess.Popen:
    """Run ``python -m module '<spec as JSON>'``; the module's main calls
    :func:`become_child` with ``spec["parent"]`` first."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                       os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-m", module,
                             json.dumps({**spec, "parent": os.getpid()})],
                            env=env, close_fds=True, **popen_options)


def become_child(argument: str) -> dict:
    """The spec a child was started with; makes it die with its parent (and stop
    if the parent is already gone) and lowers its priority, so the server and
    its clients keep (nearly) their full speed while it runs."""
    import ctypes  # only a child needs it: not imported by the server itself

    spec = json.loads(argument)
    # Ask Linux to SIGKILL us when the engine's process dies.
    with suppress(OSError, AttributeError):  # not Linux: the check below still helps
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != spec["parent"]:
        os._exit(1)
    os.nice(19)
    return spec
