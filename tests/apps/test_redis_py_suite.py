"""redis-py's own test suite, from the sdist of the redis-py release installed here,
run unchanged by pytest in a subprocess against caskd and, as the control, against a
real redis-server (``--redis-url``). It takes minutes, so it runs only under
``make test-peers`` (CASKD_PEERS=1), which CI runs too.

Deselected on both servers: tests that need modules or a cluster (by redis-py's own
marks) and the few that fail on Redis 7.0.15 itself. Deselected on caskd only: what
caskd does not have yet, each with its reason."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import redis

from tests.support import ROOT

pytestmark = pytest.mark.skipif(os.environ.get("CASKD_PEERS") != "1",
                                reason="minutes long: run with `make test-peers`")

SUITE = ["tests/test_commands.py", "tests/test_pipeline.py", "tests/test_pubsub.py",
         "tests/test_keyspace_notifications.py", "tests/test_lock.py",
         "tests/test_scripting.py"]

FAIL_ON_REDIS_7_0 = {  # redis-py 8 expects a newer server's replies
    "test_commands.py::TestRedisCommands::test_acl_getuser_setuser": "Redis 7.2's ACL GETUSER",
    "test_commands.py::TestRedisCommands::test_acl_log": "Redis 7.2's ACL LOG fields",
    "test_commands.py::TestRedisCommands::test_psync": "needs a replica",
    "test_commands.py::TestRedisCommands::test_xgroup_create_entriesread": "Redis 7.2's XINFO",
}

NOT_ON_CASKD = {
    "test_commands.py::TestRedisCommands::test_x": "streams (XADD ... ) are not in caskd yet",
    "test_commands.py::TestRedisCommands::test_command_getkeysandflags":
        "COMMAND GETKEYSANDFLAGS needs key specs, which caskd's table lacks",
    "test_commands.py::TestRedisCommands::test_command_list": "expects over 300 commands",
    "test_commands.py::TestRedisCommands::test_client_kill_filter_by_user":
        "its ACL rule +cluster names CLUSTER, which caskd lacks",
    "test_commands.py::TestRedisCommands::test_lolwut": "no LOLWUT",
    "test_commands.py::TestRedisCommands::test_role": "no ROLE (no replication yet)",
    "test_commands.py::TestRedisCommands::test_replicaof": "no REPLICAOF (no replication yet)",
    "test_commands.py::TestRedisCommands::test_memory_stats": "no MEMORY STATS",
    "test_commands.py::TestRedisCommands::test_memory_malloc_stats": "no MEMORY MALLOC-STATS",
}


@pytest.fixture(scope="module")
def suite_root() -> Path:
    """redis-py's sdist (it ships its tests), unpacked under .venv/peers."""
    peers = ROOT / ".venv" / "peers"
    source = peers / f"redis-{redis.__version__}"
    if not (source / "tests" / "conftest.py").exists():
        peers.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", f"redis=={redis.__version__}", "-d",
                        str(peers)], check=True, timeout=300)
        with tarfile.open(peers / f"redis-{redis.__version__}.tar.gz") as archive:
            archive.extractall(peers, filter="data")
    return source


def _deselected(prefixes, root: Path) -> list[str]:
    """pytest -k cannot take these node-id prefixes; --deselect takes whole ids, so
    collect the suite once and pick the ids each prefix covers."""
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                             "-p", "no:cacheprovider", *SUITE], cwd=root,
                            capture_output=True, text=True, timeout=120).stdout.split()
    ids = [item for item in listed if "::" in item]
    return [item for item in ids
            if any(item.removeprefix("tests/").startswith(prefix) for prefix in prefixes)]


@pytest.mark.timeout(900)
def test_redis_py_suite(target, suite_root):
    skipped = [*FAIL_ON_REDIS_7_0, *(NOT_ON_CASKD if target.kind == "caskd" else {})]
    deselect = [arg for item in _deselected(skipped, suite_root)
                for arg in ("--deselect", item)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
         f"--redis-url={target.url()}", "-m", "not onlycluster and not redismod",
         *deselect, *SUITE], cwd=suite_root, capture_output=True, text=True, timeout=850)
    assert done.returncode == 0, done.stdout[-8000:]
    print(f"redis-py {redis.__version__}'s suite on {target.kind}: "
          f"{done.stdout.strip().splitlines()[-1]}")
