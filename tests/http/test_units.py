"""The HTTP layer's parts without a server process: request parsing, credentials, the
metrics' families, the fsync histogram and the pause a peerless request waits on."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import make_mocked_request

from server.http import _basic_credentials
from server.http.commands import HttpError
from server.http.kv import path_key, query_params
from server.http.metrics import fsync_histogram, info_families, parse_info
from server.pause import ALL, ClientPause
from storage.syncer import FSYNC_BUCKETS, Syncer
from tests.support import ROOT, free_port, wait_until


def test_query_values_are_bytes_with_plus_as_a_space():
    request = make_mocked_request("GET", "/kv?prefix=a+b%2B%FF&count=5")
    assert query_params(request, ("prefix", "count")) == {"prefix": b"a b+\xff",
                                                          "count": b"5"}


def test_a_key_keeps_plus_and_encoded_slashes_as_bytes():
    assert path_key(make_mocked_request("GET", "/kv/a+b%2Fc%00")) == b"a+b/c\x00"
    with pytest.raises(HttpError) as refused:
        path_key(make_mocked_request("GET", "/kv/%4"))
    assert refused.value.status == 400


def test_basic_credentials_split_at_the_first_colon():
    header = "Basic " + base64.b64encode(b"alice:pass:word").decode()
    assert _basic_credentials(header) == (b"alice", b"pass:word")
    assert _basic_credentials("basic " + base64.b64encode(b":").decode()) == (b"", b"")


def test_info_families_read_commandstats_keyspace_and_statuses():
    info = parse_info(b"# Stats\r\nexpired_keys:7\r\n\r\n# Persistence\r\n"
                      b"aof_last_write_status:err\r\ncaskd_compaction_progress:25.0%\r\n"
                      b"# Commandstats\r\ncmdstat_config|get:calls=2,usec=30,"
                      b"usec_per_call=15.00,rejected_calls=1,failed_calls=0\r\n"
                      b"# Keyspace\r\ndb1:keys=3,expires=1,avg_ttl=0\r\n")
    samples = {(s.name, tuple(s.labels.values())): s.value
               for family in info_families(info, databases=2) for s in family.samples}
    assert samples[("redis_expired_keys_total", ())] == 7
    assert samples[("redis_aof_last_write_status", ())] == 0
    assert samples[("caskd_compaction_progress_ratio", ())] == 0.25
    assert samples[("redis_commands_total", ("config|get",))] == 2
    assert samples[("redis_commands_duration_seconds_total", ("config|get",))] == 30e-6
    assert samples[("redis_commands_rejected_calls_total", ("config|get",))] == 1
    assert samples[("redis_db_keys", ("db0",))] == 0
    assert samples[("redis_db_keys", ("db1",))] == 3
    assert samples[("redis_db_keys_expiring", ("db1",))] == 1


def test_the_fsync_histogram_is_cumulative():
    counts = [0] * (len(FSYNC_BUCKETS) + 1)
    counts[0], counts[3], counts[-1] = 2, 1, 1
    family = fsync_histogram({"fsync_counts": counts, "fsync_seconds": 3.5})
    buckets = [(s.labels["le"], s.value) for s in family.samples if s.name.endswith("_bucket")]
    assert buckets[0] == ("0.0001", 2)
    assert buckets[3] == ("0.001", 3)
    assert buckets[-2] == ("2.5", 3)
    assert buckets[-1] == ("+Inf", 4)


def test_the_syncer_times_each_fsync(tmp_path):
    fd = os.open(tmp_path / "segment", os.O_RDWR | os.O_CREAT)
    syncer = Syncer("always")
    try:
        os.write(fd, b"data")
        syncer.submit(fd, 4)
        wait_until(lambda: syncer.synced_position == 4, what="the fsync")
        assert sum(syncer.fsync_counts) >= 1
        assert syncer.fsync_seconds > 0
    finally:
        syncer.stop()
        os.close(fd)


async def test_a_peerless_waiter_wakes_when_the_pause_ends():
    # No clients: all a pause asks of its server is to tell the dispatcher.
    server = SimpleNamespace(dispatcher=SimpleNamespace(refresh_guards=lambda: None))
    pause = ClientPause(server)
    pause.pause(ALL, 60)
    waiting = asyncio.ensure_future(pause.ended())
    await asyncio.sleep(0)
    assert not waiting.done()
    pause.unpause()  # early, before the 60 s
    await asyncio.wait_for(waiting, 5)
    await pause.ended()  # no pause: at once


@pytest.mark.parametrize(("args", "message"), [
    (("--tls-cert-file", "/nonexistent.crt", "--tls-key-file", "/nonexistent.key",
      "--tls-auth-clients", "no"), "Failed to configure TLS for HTTP: "),
    (("--http-bind", "127.0.0.1"), "Could not listen for HTTP on port"),
])
def test_an_http_port_that_cannot_be_had_stops_the_start(tmp_path, args, message):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "server", "--port", str(free_port()), "--dir",
             str(tmp_path / "data"), "--http-port", str(taken.getsockname()[1]), *args],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert result.returncode == 1
    assert message in result.stderr
