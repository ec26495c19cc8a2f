"""Three caskd nodes behind a real twemproxy (nutcracker), driven with redis-py and redis-cli.

One cluster serves the whole module: 30,000 keys are written through the proxy
once, then read back, counted per node, and checked again after a node is
killed (kill -9), ejected by the proxy and restarted. The kill test comes last
and leaves the cluster whole. A second, smaller cluster proves the AUTH path.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from scripts.twemproxy import Nutcracker, Pool, find_nutcracker, node_name, redis_py_options
from tests.support import CaskdProcess, free_port, require_tool, wait_until

KEYS = 30_000
DB = 1  # the pool's redis_db: the proxy SELECTs it on every server connection
FAILURE_LIMIT = 2  # server_failure_limit
RETRY_MS = 3000  # server_retry_timeout: long enough to look around while a node is out
PASSWORD = "s3cret pass"
NO_RETRY = Retry(NoBackoff(), 0)


def key(i: int) -> str:
    return f"key:{i}"


def value(i: int) -> bytes:
    return b"value:%d" % i


@dataclass
class Cluster:
    nodes: list[CaskdProcess]
    proxy: Nutcracker
    password: str | None = None

    def client(self, **kwargs) -> redis.Redis:
        """redis-py through the proxy, with the settings twemproxy needs; no retries,
        so each error the proxy answers is seen (redis-py retries AuthenticationError
        and the proxy's closed connections by default)."""
        options = {"password": self.password, **redis_py_options(), **kwargs}
        return redis.Redis(port=self.proxy.port, retry=NO_RETRY, **options)

    def direct(self, node: CaskdProcess) -> redis.Redis:
        """redis-py straight to one node, in the pool's database."""
        return node.client(db=self.proxy.pool.redis_db, password=self.password)

    def holders(self, name: str) -> list[int]:
        """Indexes of the nodes that hold ``name``."""
        return [i for i, node in enumerate(self.nodes) if self.direct(node).exists(name)]

    def redis_cli(self, *args: str, stdin: str | None = None) -> str:
        auth = ["-a", self.password, "--no-auth-warning"] if self.password else []
        done = subprocess.run([require_tool("redis-cli"), "-p", str(self.proxy.port), *auth,
                               *args], input=stdin, capture_output=True, text=True,
                              timeout=10, check=True)
        return done.stdout


@contextlib.contextmanager
def running_cluster(workdir: Path, nodes: int, *caskd_args: str, password: str | None = None,
                    redis_db: int = 0) -> Iterator[Cluster]:
    binary = find_nutcracker() or require_tool("nutcracker")
    servers = [CaskdProcess(workdir / node_name(i), *caskd_args) for i in range(nodes)]
    pool = Pool(free_port(), [s.port for s in servers], password=password, redis_db=redis_db,
                server_failure_limit=FAILURE_LIMIT, server_retry_timeout_ms=RETRY_MS)
    proxy = Nutcracker(workdir, pool, free_port(), binary)
    try:
        for server in servers:
            server.start()
        proxy.start()
        yield Cluster(servers, proxy, password)
    finally:
        proxy.stop()
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), 3, redis_db=DB) as running:
        yield running


@pytest.fixture(scope="module")
def loaded(cluster: Cluster) -> Cluster:
    """The cluster with KEYS keys written through the proxy in one pipeline."""
    pipe = cluster.client().pipeline(transaction=False)
    for i in range(KEYS):
        pipe.set(key(i), value(i))
    assert pipe.execute() == [True] * KEYS
    return cluster


def read_all(cluster: Cluster) -> list[bytes | None]:
    pipe = cluster.client().pipeline(transaction=False)
    for i in range(KEYS):
        pipe.get(key(i))
    return pipe.execute()


def test_redis_py_needs_resp2_and_no_setinfo_through_the_proxy(cluster: Cluster):
    # twemproxy closes the connection on HELLO and CLIENT SETINFO, which redis-py 8
    # sends on connect by default, and on MULTI, which a default pipeline sends.
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=cluster.proxy.port, retry=NO_RETRY).ping()
    client = cluster.client()
    assert client.set("settings", "ok") is True
    assert client.get("settings") == b"ok"
    with pytest.raises(redis.ConnectionError):
        client.pipeline(transaction=True).set("in-multi", 1).execute()


def test_30000_keys_read_back_and_every_node_holds_a_share(loaded: Cluster):
    assert read_all(loaded) == [value(i) for i in range(KEYS)]
    sizes = [loaded.direct(node).dbsize() for node in loaded.nodes]
    assert sum(sizes) >= KEYS  # the other tests' keys come on top
    assert min(sizes) >= KEYS * 0.2, sizes
    # The proxy's redis_db: nothing went to database 0.
    assert [node.client().dbsize() for node in loaded.nodes] == [0, 0, 0]


def test_mget_and_del_are_split_across_shards(cluster: Cluster):
    client = cluster.client()
    names = [f"{i}:multi" for i in range(40)]
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.set(name, name.upper())
    pipe.execute()
    assert len({holder for name in names for holder in cluster.holders(name)}) > 1

    assert client.mget([*names, "multi:missing"]) == [n.upper().encode() for n in names] + [None]
    # twemproxy 0.5 does not split EXISTS: the first key's node counts its own keys.
    first_node = cluster.holders(names[0])
    on_first_node = sum(cluster.holders(name) == first_node for name in names)
    assert client.exists(*names) == on_first_node < len(names)
    assert client.delete(*names[::2], "multi:missing") == len(names) // 2
    assert client.mget(names) == [None if i % 2 == 0 else n.upper().encode()
                                  for i, n in enumerate(names)]


def test_hash_tagged_keys_land_on_one_node_with_redis_cli(cluster: Cluster):
    users = ["alice", "bob", "carol", "dave", "erin", "frank"]
    fields = ("name", "email", "plan")
    commands = "".join(f"SET {{{u}}}:{f} {u}-{f}\n" for u in users for f in fields)
    assert cluster.redis_cli(stdin=commands).split() == ["OK"] * (len(users) * len(fields))

    nodes_used = set()
    for user in users:
        holders = {h for f in fields for h in cluster.holders(f"{{{user}}}:{f}")}
        assert len(holders) == 1, (user, holders)
        nodes_used |= holders
    assert len(nodes_used) > 1  # the tag, not the whole key space, picks the node

    names = [f"{{carol}}:{f}" for f in fields]
    assert cluster.redis_cli("MGET", *names).split() == [f"carol-{f}" for f in fields]
    assert cluster.redis_cli("DEL", *names).strip() == "3"


def proxy_get(client: redis.Redis, name: str, errors: list[str]) -> tuple[bytes | None] | None:
    """GET through the proxy: (reply,) when served, None (error noted) when not."""
    try:
        return (client.get(name),)
    except redis.ResponseError as exc:
        errors.append(str(exc))
        return None


def test_kill9_node_is_ejected_then_restarts_with_all_its_keys(loaded: Cluster):
    victim, survivors = loaded.nodes[0], loaded.nodes[1:]
    on_victim = list(itertools.islice((i for i in range(KEYS) if loaded.holders(key(i)) == [0]),
                                      2))
    read_key, write_key = key(on_victim[0]), key(on_victim[1])
    victim_keys = loaded.direct(victim).dbsize()
    client = loaded.client()

    victim.kill()
    # The proxy answers errors until server_failure_limit failures eject the node;
    # then its keys hash to the others, where this one was never written.
    errors: list[str] = []
    assert wait_until(lambda: proxy_get(client, read_key, errors), timeout=10) == (None,)
    assert 1 <= len(errors) <= FAILURE_LIMIT, errors
    assert all(error.startswith("Connection ") for error in errors), errors
    # Writes go on, to a surviving node (well inside server_retry_timeout).
    assert client.set(write_key, "during ejection") is True
    assert [loaded.direct(s).get(write_key) for s in survivors].count(b"during ejection") == 1
    # nutcracker's stats, which monitoring reads, count the ejection.
    wait_until(lambda: loaded.proxy.stats()["server_ejects"] >= 1, timeout=5,
               what="the ejection to show in nutcracker's stats")

    victim.start()  # same port, same data directory
    # After server_retry_timeout the proxy tries the node again and finds it back.
    errors.clear()
    wait_until(lambda: proxy_get(client, read_key, errors) == (value(on_victim[0]),),
               timeout=RETRY_MS / 1000 + 15, what="the restarted node to serve its keys")
    assert loaded.direct(victim).dbsize() == victim_keys  # kill -9 lost nothing acknowledged
    # Every key reads as written, including write_key: the proxy routes it to its
    # own node again, so the copy written during the ejection is no longer seen.
    assert read_all(loaded) == [value(i) for i in range(KEYS)]


@pytest.fixture
def auth_cluster(tmp_path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, 2, "--requirepass", PASSWORD, password=PASSWORD) as running:
        yield running


def test_proxy_authenticates_to_nodes_and_clients_must_auth_to_it(auth_cluster: Cluster):
    with pytest.raises(redis.AuthenticationError, match="Authentication required"):
        auth_cluster.client(password=None).get("k")
    with pytest.raises(redis.AuthenticationError, match="invalid password"):
        auth_cluster.client(password="wrong").get("k")

    # The first requests on the proxy's fresh server connections come right behind
    # its AUTH, typically in the same write; they exceed caskd's pre-AUTH limits
    # (16 KB arguments; 10 arguments: the hash tag keeps the DEL whole), so they
    # only pass if the AUTH was applied before they were parsed.
    client = auth_cluster.client()
    big = b"x" * 40_000
    pipe = client.pipeline(transaction=False)
    for i in range(20):
        pipe.set(f"{i}:big", big)
    pipe.delete(*[f"{{none}}:{i}" for i in range(12)])
    assert pipe.execute() == [True] * 20 + [0]
    assert {len(auth_cluster.holders(f"{i}:big")) for i in range(20)} == {1}
    assert auth_cluster.redis_cli("GET", "7:big").strip() == big.decode()
    with pytest.raises(redis.AuthenticationError):
        auth_cluster.nodes[0].client(retry=NO_RETRY).get("7:big")

    # A restarted node gets a new connection, which the proxy authenticates again.
    node = auth_cluster.nodes[0]
    on_node = next(f"{i}:big" for i in range(20) if auth_cluster.holders(f"{i}:big") == [0])
    node.kill()
    node.start()
    wait_until(lambda: proxy_get(client, on_node, []) == (big,), timeout=10,
               what="the proxy to reconnect and re-authenticate")
