"""/metrics parsed by prometheus_client's own parser, agreeing with INFO; /healthz;
and the durability of an acknowledged PUT under ``appendfsync always``."""

from __future__ import annotations

import os
import threading

from prometheus_client.parser import text_string_to_metric_families

from tests.http.client import HttpClient, start_with_http
from tests.reliability.test_power_loss import cut_to_fsynced
from tests.support import wait_until

REDIS_EXPORTER_NAMES = (
    "redis_up", "redis_connected_clients", "redis_commands_processed_total",
    "redis_commands_total", "redis_commands_duration_seconds_total", "redis_db_keys",
    "redis_memory_used_bytes", "redis_expired_keys_total", "redis_evicted_keys_total",
    "redis_connected_slaves", "redis_master_repl_offset", "redis_instance_info",
)
CASKD_NAMES = ("caskd_log_bytes", "caskd_dead_bytes", "caskd_compaction_in_progress",
               "caskd_compactions_total", "caskd_fsync_seconds_bucket",
               "caskd_damaged_records", "caskd_compaction_paused")


def scrape(client: HttpClient) -> dict[tuple[str, tuple], float]:
    """Every sample, by name and labels."""
    reply = client.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples}


def test_metrics_have_redis_exporters_names_and_caskds(served, http):
    names = {name for name, _ in scrape(http)}
    assert set(REDIS_EXPORTER_NAMES) <= names
    assert set(CASKD_NAMES) <= names


def test_metrics_agree_with_info(served, http):
    resp = served.client()
    for i in range(5):
        http.put(f"/kv/k{i}", b"v")
    resp.set("ttl", "v", ex=100)
    served.client(db=2).set("elsewhere", "v")
    samples = scrape(http)
    info = resp.info("everything")
    assert samples[("redis_commands_total", (("cmd", "set"),))] == \
        info["cmdstat_set"]["calls"] == 7
    assert samples[("redis_commands_duration_seconds_total", (("cmd", "set"),))] == \
        info["cmdstat_set"]["usec"] / 1e6
    assert samples[("redis_db_keys", (("db", "db0"),))] == 6
    assert samples[("redis_db_keys_expiring", (("db", "db0"),))] == 1
    assert samples[("redis_db_keys", (("db", "db2"),))] == 1
    assert samples[("redis_db_keys", (("db", "db15"),))] == 0  # empty ones too
    assert samples[("caskd_log_bytes", ())] == info["aof_current_size"]
    assert samples[("redis_up", ())] == 1
    instance = next(labels for name, labels in samples if name == "redis_instance_info")
    assert ("redis_version", "7.0.15") in instance and ("role", "master") in instance
    # The scrape itself is an INFO, counted as any: the next one shows it.
    assert scrape(http)[("redis_commands_total", (("cmd", "info"),))] >= 2


def test_errors_and_expired_keys_are_counted(served, http):
    resp = served.client()
    resp.rpush("list", "x")
    http.get("/kv/list")  # WRONGTYPE
    resp.set("short", "v", px=1)
    wait_until(lambda: resp.get("short") is None)
    samples = scrape(http)
    assert samples[("redis_errors_total", (("err", "WRONGTYPE"),))] == 1
    assert samples[("redis_expired_keys_total", ())] >= 1


def test_fsync_histogram_counts_each_fsync_under_always(caskd_factory):
    served = start_with_http(caskd_factory, "--appendfsync", "always")
    client = HttpClient(served.http_port)
    for i in range(10):
        client.put(f"/kv/k{i}", b"v")
    samples = scrape(client)
    count = samples[("caskd_fsync_seconds_count", ())]
    assert count >= 10  # each acknowledged PUT waited for one
    assert samples[("caskd_fsync_seconds_bucket", (("le", "+Inf"),))] == count
    assert 0 < samples[("caskd_fsync_seconds_sum", ())] < count


def test_healthz_is_503_while_the_disk_refuses_writes(caskd_factory, small_disk):
    served = start_with_http(caskd_factory, data_dir=small_disk / "data")
    filler = small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"x" * (free - 64 * 1024))
    first = HttpClient(served.http_port)
    held = threading.Thread(target=lambda: first.put("/kv/big", b"v" * 200_000))
    held.start()  # its write finds the disk full: answered once it is on disk
    client = HttpClient(served.http_port)
    wait_until(lambda: client.get("/healthz").status == 503, what="/healthz to be 503")
    assert client.get("/healthz").text.startswith("MISCONF Errors writing to the AOF file: "
                                                  "No space left on device")
    reply = client.put("/kv/other", b"v")
    assert reply.status == 503
    assert reply.text.startswith("MISCONF ")
    assert client.get("/kv/other").status == 404  # reads go on
    filler.unlink()
    wait_until(lambda: client.get("/healthz").status == 200, what="writes to resume")
    held.join(timeout=30)
    assert client.get("/kv/big").body == b"v" * 200_000


def test_an_acknowledged_put_survives_power_loss_under_always(tmp_path, monkeypatch,
                                                             caskd_factory):
    """As tests/reliability/test_power_loss.py does for RESP: kill -9, cut each segment
    back to what an fsync covered, restart: every PUT answered 2xx is there."""
    fsync_log = tmp_path / "fsync.log"
    monkeypatch.setenv("CASKD_FSYNC_LOG", str(fsync_log))
    served = start_with_http(caskd_factory, "--appendfsync", "always",
                             "--caskd-segment-size", "64kb")
    acked: list[str] = []

    def write(writer: int) -> None:
        client = HttpClient(served.http_port)
        for i in range(10**9):
            key = f"w{writer}:{i}"
            try:
                assert client.put(f"/kv/{key}", key.encode()).status == 201
            except OSError:
                return
            acked.append(key)

    threads = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acked) > 400, timeout=60, what="PUTs to be acknowledged")
    served.kill()
    for thread in threads:
        thread.join()
    cut_to_fsynced(served.dir, fsync_log)
    served.start()
    values = served.client().mget(acked)
    assert [key for key, value in zip(acked, values, strict=True)
            if value != key.encode()] == []
