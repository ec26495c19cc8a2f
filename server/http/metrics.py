"""``GET /metrics``: Prometheus's text format, from ``INFO everything`` as redis_exporter
reads it, plus caskd's own figures; ``GET /healthz`` for load balancers.

The figures come from one ``INFO everything`` run for the request's session (so the
scrape needs INFO's permission, and the metrics say what INFO says), under the names
redis_exporter gives them (its ``metricMapGauges``/``metricMapCounters``), so its
dashboards and alerts work unchanged. The fsync duration histogram, which INFO has no
field for, is read from the engine.
"""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from server.http.commands import SERVER, CommandRunner
from storage.syncer import FSYNC_BUCKETS

# INFO field -> metric name (redis_exporter's where it has one; caskd_* otherwise).
GAUGES = {
    "uptime_in_seconds": "redis_uptime_in_seconds",
    "process_id": "redis_process_id",
    "connected_clients": "redis_connected_clients",
    "blocked_clients": "redis_blocked_clients",
    "maxclients": "redis_config_maxclients",
    "client_recent_max_input_buffer": "redis_client_recent_max_input_buffer_bytes",
    "client_recent_max_output_buffer": "redis_client_recent_max_output_buffer_bytes",
    "used_memory": "redis_memory_used_bytes",
    "used_memory_rss": "redis_memory_used_rss_bytes",
    "used_memory_peak": "redis_memory_used_peak_bytes",
    "maxmemory": "redis_memory_max_bytes",
    "loading": "redis_loading_dump_file",
    "rdb_last_save_time": "redis_rdb_last_save_timestamp_seconds",
    "aof_enabled": "redis_aof_enabled",
    "aof_rewrite_in_progress": "redis_aof_rewrite_in_progress",
    "aof_rewrite_scheduled": "redis_aof_rewrite_scheduled",
    "aof_current_size": "redis_aof_current_size_bytes",
    "aof_base_size": "redis_aof_base_size_bytes",
    "aof_buffer_length": "redis_aof_buffer_length",
    "aof_last_bgrewrite_status": "redis_aof_last_bgrewrite_status",
    "aof_last_write_status": "redis_aof_last_write_status",
    "pubsub_channels": "redis_pubsub_channels",
    "pubsub_patterns": "redis_pubsub_patterns",
    "connected_slaves": "redis_connected_slaves",
    "master_repl_offset": "redis_master_repl_offset",
    "second_repl_offset": "redis_second_repl_offset",
    "repl_backlog_active": "redis_repl_backlog_is_active",
    "repl_backlog_size": "redis_replication_backlog_bytes",
    "repl_backlog_first_byte_offset": "redis_repl_backlog_first_byte_offset",
    "repl_backlog_histlen": "redis_repl_backlog_history_bytes",
    "sync_full": "redis_replica_resyncs_full",
    "sync_partial_ok": "redis_replica_partial_resync_accepted",
    "sync_partial_err": "redis_replica_partial_resync_denied",
}
CASKD_GAUGES = {
    "aof_current_size": "caskd_log_bytes",
    "aof_rewrite_in_progress": "caskd_compaction_in_progress",
    "caskd_segments": "caskd_log_segments",
    "caskd_dead_bytes": "caskd_dead_bytes",
    "caskd_last_fsync_time": "caskd_last_fsync_timestamp_seconds",
    "caskd_load_seconds": "caskd_load_seconds",
    "caskd_torn_bytes_dropped": "caskd_torn_bytes_dropped",
    "caskd_damaged_records": "caskd_damaged_records",
    "caskd_compaction_paused": "caskd_compaction_paused",
}
COUNTERS = {  # prometheus_client adds the _total suffix
    "total_connections_received": "redis_connections_received",
    "total_commands_processed": "redis_commands_processed",
    "rejected_connections": "redis_rejected_connections",
    "expired_keys": "redis_expired_keys",
    "evicted_keys": "redis_evicted_keys",
    "keyspace_hits": "redis_keyspace_hits",
    "keyspace_misses": "redis_keyspace_misses",
    "total_error_replies": "redis_total_error_replies",
    "used_cpu_sys": "redis_cpu_sys_seconds",
    "used_cpu_user": "redis_cpu_user_seconds",
    "used_cpu_sys_children": "redis_cpu_sys_children_seconds",
    "used_cpu_user_children": "redis_cpu_user_children_seconds",
    "aof_rewrites": "caskd_compactions",
}
INSTANCE_LABELS = ("role", "redis_version", "caskd_version", "redis_mode", "os",
                   "maxmemory_policy", "tcp_port", "run_id", "process_id")


def routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)


async def metrics(request: web.Request) -> web.Response:
    runner: CommandRunner = request["runner"]
    info = parse_info((await runner.run(b"INFO", b"everything", error_status=500)).data)
    server = request.app[SERVER]
    families = list(info_families(info, server.engine.databases))
    families.append(fsync_histogram(server.engine.info()))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collected(families))
    return web.Response(body=generate_latest(registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz(request: web.Request) -> web.Response:
    """200 while caskd serves reads and writes; 503 while the disk refuses writes."""
    server = request.app[SERVER]
    if not server.engine.writable:
        return web.Response(status=503, text=server.dispatcher.misconf_error() + "\n")
    return web.Response(text="OK\n")


class _Collected:
    """The families of one scrape, in the shape a CollectorRegistry collects."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def parse_info(text: bytes) -> dict[str, str]:
    """INFO's ``field:value`` lines (section headers and blank lines skipped)."""
    fields = {}
    for line in text.decode(errors="replace").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(":")
            fields[name] = value
    return fields


def _number(value: str) -> float:
    """A figure of INFO's: a number, a percentage, or ok/err (1/0, as redis_exporter)."""
    if value in ("ok", "err"):
        return float(value == "ok")
    return float(value.rstrip("%")) / 100 if value.endswith("%") else float(value)


def _pairs(value: str) -> dict[str, float]:
    """``calls=3,usec=12,...`` (commandstats, keyspace, errorstats)."""
    return {name: float(figure) for name, _, figure in
            (pair.partition("=") for pair in value.split(","))}


def info_families(info: dict[str, str], databases: int) -> Iterator[Metric]:
    yield GaugeMetricFamily("redis_up", "Whether the server answered.", value=1)
    instance = GaugeMetricFamily("redis_instance_info", "Information about the instance",
                                 labels=INSTANCE_LABELS)
    instance.add_metric([info.get(label, "") for label in INSTANCE_LABELS], 1)
    yield instance
    for field, name in (*GAUGES.items(), *CASKD_GAUGES.items()):
        if field in info:
            yield GaugeMetricFamily(name, f"INFO {field}", value=_number(info[field]))
    for field, name in COUNTERS.items():
        if field in info:
            yield CounterMetricFamily(name, f"INFO {field}", value=_number(info[field]))
    if "caskd_compaction_progress" in info:
        yield GaugeMetricFamily("caskd_compaction_progress_ratio",
                                "How far the running compaction is (0 to 1)",
                                value=_number(info["caskd_compaction_progress"]))
    yield from _command_families(info)
    yield from _keyspace_families(info, databases)
    errors = CounterMetricFamily("redis_errors", "Error replies by their code",
                                 labels=["err"])
    for field, value in info.items():
        if field.startswith("errorstat_"):
            errors.add_metric([field[len("errorstat_"):]], _pairs(value)["count"])
    yield errors


def _command_families(info: dict[str, str]) -> Iterator[Metric]:
    calls = CounterMetricFamily("redis_commands", "Total number of calls per command",
                                labels=["cmd"])
    seconds = CounterMetricFamily("redis_commands_duration_seconds",
                                  "Total amount of time in seconds spent per command",
                                  labels=["cmd"])
    rejected = CounterMetricFamily("redis_commands_rejected_calls",
                                   "Calls refused before running, per command",
                                   labels=["cmd"])
    failed = CounterMetricFamily("redis_commands_failed_calls",
                                 "Calls that ran and failed, per command", labels=["cmd"])
    for field, value in info.items():
        if field.startswith("cmdstat_"):
            command, figures = [field[len("cmdstat_"):]], _pairs(value)
            calls.add_metric(command, figures["calls"])
            seconds.add_metric(command, figures["usec"] / 1e6)
            rejected.add_metric(command, figures["rejected_calls"])
            failed.add_metric(command, figures["failed_calls"])
    yield from (calls, seconds, rejected, failed)


def _keyspace_families(info: dict[str, str], databases: int) -> Iterator[Metric]:
    """Every database, empty ones as 0 (INFO keyspace lists only the others)."""
    keys = GaugeMetricFamily("redis_db_keys", "Total number of keys by DB", labels=["db"])
    expiring = GaugeMetricFamily("redis_db_keys_expiring",
                                 "Total number of expiring keys by DB", labels=["db"])
    for db in range(databases):
        figures = _pairs(info[f"db{db}"]) if f"db{db}" in info else {}
        keys.add_metric([f"db{db}"], figures.get("keys", 0))
        expiring.add_metric([f"db{db}"], figures.get("expires", 0))
    yield from (keys, expiring)


def fsync_histogram(figures: dict) -> Metric:
    """The engine's fsync durations: how long an acknowledgement waits under
    ``appendfsync always``, and a disk's health under any policy."""
    buckets, total = [], 0
    for bound, count in zip((*FSYNC_BUCKETS, float("inf")), figures["fsync_counts"],
                            strict=True):
        total += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
    return HistogramMetricFamily("caskd_fsync_seconds", "Duration of each fsync of the log",
                                 buckets=buckets, sum_value=figures["fsync_seconds"])
