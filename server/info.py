"""INFO: Redis's sections and field names, filled from caskd's own figures.

Field names are Redis's so monitoring tools and ``redis-cli --stat`` work; where
caskd has figures of its own (segments, dead bytes) they are added with a
``caskd_`` prefix.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server import compiled

if TYPE_CHECKING:
    from server.app import Server
    from server.session import Session

DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                    "cpu", "modules", "errorstats", "cluster", "keyspace")

ALL_SECTIONS = (*DEFAULT_SECTIONS[:-3], "commandstats", *DEFAULT_SECTIONS[-3:])


@dataclass
class Stats:
    """Counters for INFO stats and errorstats."""

    total_connections_received: int = 0
    rejected_connections: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    total_error_replies: int = 0
    errors: Counter = field(default_factory=Counter)
    ops_samples: list[tuple[float, int]] = field(default_factory=list)

    def count_error(self, message: str) -> None:
        self.total_error_replies += 1
        self.errors[message.split(" ", 1)[0]] += 1

    def sample(self, now: float, commands: int = 0) -> None:
        self.ops_samples.append((now, commands))
        del self.ops_samples[:-16]


def _human(size: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            return f"{size:.2f}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1024
    return f"{size:.2f}T"


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def total_commands(server: Server) -> int:
    return sum(c.calls for c in server.all_commands())


def _server(server: Server) -> dict:
    uptime = int(time.time() - server.started)
    uname = os.uname()  # what platform.system() etc. report, without importing it
    return {
        "redis_version": server.redis_version,
        "caskd_version": server.caskd_version,
        "caskd_compiled": "yes" if compiled.status()[0] else "no",
        "redis_git_sha1": "00000000",
        "redis_git_dirty": 0,
        "redis_mode": "standalone",
        "os": f"{uname.sysname} {uname.release} {uname.machine}",
        "arch_bits": 64 if sys.maxsize > 2**32 else 32,
        "monotonic_clock": "POSIX clock_gettime",
        "multiplexing_api": "epoll",
        "python_version": ".".join(map(str, sys.version_info[:3])),
        "process_id": os.getpid(),
        "process_supervised": "no",
        "run_id": server.run_id,
        "tcp_port": server.config["port"],
        "server_time_usec": time.time_ns() // 1000,
        "uptime_in_seconds": uptime,
        "uptime_in_days": uptime // 86400,
        "hz": server.config["hz"],
        "configured_hz": server.config["hz"],
        "lru_clock": server.engine.access.clock,
        "executable": sys.argv[0],
        "config_file": server.config.config_file or "",
        "io_threads_active": 0,
    }


def _clients(server: Server) -> dict:
    return {
        "connected_clients": len(server.clients),
        "cluster_connections": 0,
        "maxclients": server.config["maxclients"],
        "client_recent_max_input_buffer": max(
            (c.peer.query_buffer_size() for c in server.clients.values()), default=0),
        "client_recent_max_output_buffer": 0,
        "blocked_clients": server.blocking.count,
        "tracking_clients": server.tracking.sessions,
        "clients_in_timeout_table": 0,
    }


def memory_figures() -> tuple[int, int]:
    """(used, peak) bytes: the process's resident set now and at its largest (INFO
    memory, MEMORY STATS)."""
    used = _rss_bytes()
    return used, max(used, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def _memory(server: Server) -> dict:
    rss, peak = memory_figures()
    return {
        "used_memory": rss,
        "used_memory_human": _human(rss),
        "used_memory_rss": rss,
        "used_memory_rss_human": _human(rss),
        "used_memory_peak": peak,
        **_scripting_memory(server),
        "maxmemory": server.config["maxmemory"],
        "maxmemory_human": _human(server.config["maxmemory"]),
        "maxmemory_policy": server.config["maxmemory-policy"],
        **_eviction_memory(server, rss),
        "mem_allocator": "libc",
    }


def _eviction_memory(server: Server, used: int) -> dict:
    """What maxmemory compares: the data set as caskd counts it (server/maxmemory.py),
    counted only while maxmemory is set. mem_not_counted_for_evict is the rest of
    used_memory, so that used_memory minus it is the compared figure, as in Redis
    (0 when the counted figure is larger: values on disk count but are not resident)."""
    if not server.maxmemory.limit:
        return {"mem_not_counted_for_evict": 0}
    counted = server.engine.data_size.total()
    return {"mem_not_counted_for_evict": max(used - counted, 0),
            "caskd_maxmemory_counted": counted,
            "caskd_maxmemory_counted_human": _human(counted)}


def _scripting_memory(server: Server) -> dict:
    """Redis 7.0's scripting fields of INFO memory, in its order."""
    scripting = server.scripting
    used = scripting.memory()
    eval_vm, functions_vm = used["eval_vm"], used["functions_vm"]
    scripts = used["scripts"] + used["functions"]
    return {
        "used_memory_lua": eval_vm, "used_memory_vm_eval": eval_vm,
        "used_memory_lua_human": _human(eval_vm), "used_memory_scripts_eval": used["scripts"],
        "number_of_cached_scripts": len(scripting.scripts),
        "number_of_functions": len(scripting.libraries.functions),
        "number_of_libraries": len(scripting.libraries.libraries),
        "used_memory_vm_functions": functions_vm, "used_memory_vm_total": eval_vm + functions_vm,
        "used_memory_vm_total_human": _human(eval_vm + functions_vm),
        "used_memory_functions": used["functions"], "used_memory_scripts": scripts,
        "used_memory_scripts_human": _human(scripts),
    }


def _persistence(server: Server) -> dict:
    engine = server.engine
    figures = engine.info()
    last_error = engine.last_error
    return {
        "loading": 0,
        "async_loading": 0,
        "rdb_changes_since_last_save": 0,
        "rdb_bgsave_in_progress": 0,
        "rdb_last_save_time": server.last_save,
        "rdb_last_bgsave_status": "ok",
        "aof_enabled": 1,
        "aof_rewrite_in_progress": int(figures["compacting"]),
        "aof_rewrite_scheduled": 0,
        "aof_last_rewrite_time_sec": -1,
        "aof_current_rewrite_time_sec": -1,
        "aof_last_bgrewrite_status": figures["compaction_status"],
        "aof_rewrites": figures["compaction_count"],
        "aof_last_write_status": "err" if last_error else "ok",
        "aof_last_cow_size": 0,
        "aof_current_size": figures["disk_size"],
        "aof_base_size": figures["base_size"],
        "aof_pending_rewrite": 0,
        "aof_buffer_length": figures["pending_bytes"],
        "aof_pending_bio_fsync": 0,
        "aof_delayed_fsync": 0,
        "caskd_appendfsync": engine.fsync_policy,
        "caskd_segments": figures["segments"],
        "caskd_dead_bytes": figures["dead_size"],
        "caskd_compaction_progress": f"{figures['compaction_progress'] * 100:.1f}%",
        "caskd_last_fsync_time": int(figures["last_fsync_time"]),
        "caskd_load_seconds": f"{figures['load_seconds']:.3f}",
        "caskd_torn_bytes_dropped": figures["torn_bytes_dropped"],
        "caskd_damaged_records": figures["damaged_records"],
        "caskd_compaction_paused": int(figures["compaction_paused"]),  # BGREWRITEAOF says why
        "caskd_last_write_error": last_error.strerror if last_error else "",
    }


def _stats(server: Server) -> dict:
    stats = server.stats
    samples = stats.ops_samples
    return {
        "total_connections_received": stats.total_connections_received,
        "total_commands_processed": total_commands(server),
        "instantaneous_ops_per_sec": _ops_per_sec(samples),
        "rejected_connections": stats.rejected_connections,
        "sync_full": server.replication.master.sync_full,
        "sync_partial_ok": server.replication.master.sync_partial_ok,
        "sync_partial_err": server.replication.master.sync_partial_err,
        "expired_keys": server.engine.stats["expired_keys"],
        "evicted_keys": server.engine.stats["evicted_keys"],
        "evicted_clients": 0,
        "keyspace_hits": stats.keyspace_hits,
        "keyspace_misses": stats.keyspace_misses,
        "pubsub_channels": len(server.pubsub.channels),
        "pubsub_patterns": len(server.pubsub.patterns),
        "pubsubshard_channels": len(server.pubsub.shard_channels),
        "latest_fork_usec": server.replication.master.latest_fork_usec,
        "total_forks": server.replication.master.total_forks,
        "migrate_cached_sockets": 0,
        "slave_expires_tracked_keys": 0,
        "tracking_total_keys": len(server.tracking.table),
        "tracking_total_items": server.tracking.items,
        "tracking_total_prefixes": len(server.tracking.prefixes),
        "unexpected_error_replies": 0,
        "total_error_replies": stats.total_error_replies,
        "dump_payload_sanitizations": 0,
    }


def _ops_per_sec(samples: list[tuple[float, int]]) -> int:
    if len(samples) < 2 or samples[-1][0] == samples[0][0]:
        return 0
    return int((samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0]))


def _replication(server: Server) -> dict:
    return server.replication.info_fields()


def _cpu(server: Server) -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    main = resource.getrusage(resource.RUSAGE_THREAD)  # the event loop's thread
    return {"used_cpu_sys": f"{usage.ru_stime:.6f}", "used_cpu_user": f"{usage.ru_utime:.6f}",
            "used_cpu_sys_children": f"{children.ru_stime:.6f}",
            "used_cpu_user_children": f"{children.ru_utime:.6f}",
            "used_cpu_sys_main_thread": f"{main.ru_stime:.6f}",
            "used_cpu_user_main_thread": f"{main.ru_utime:.6f}"}


def _errorstats(server: Server) -> dict:
    return {f"errorstat_{prefix}": f"count={count}"
            for prefix, count in sorted(server.stats.errors.items())}


def _commandstats(server: Server) -> dict:
    rows = {}
    for command in server.all_commands():
        if command.calls or command.rejected_calls or command.failed_calls:
            per_call = command.usec / command.calls if command.calls else 0
            rows[f"cmdstat_{command.full_name}"] = (
                f"calls={command.calls},usec={command.usec},usec_per_call={per_call:.2f},"
                f"rejected_calls={command.rejected_calls},failed_calls={command.failed_calls}")
    return rows


def _keyspace(server: Server) -> dict:
    engine = server.engine
    return {f"db{db}": f"keys={engine.dbsize(db)},expires={engine.expires_count(db)},avg_ttl=0"
            for db in range(engine.databases) if engine.dbsize(db)}


_SECTIONS = {
    "server": _server, "clients": _clients, "memory": _memory, "persistence": _persistence,
    "stats": _stats, "replication": _replication, "cpu": _cpu, "modules": lambda s: {},
    "errorstats": _errorstats, "cluster": lambda s: {"cluster_enabled": 0},
    "keyspace": _keyspace, "commandstats": _commandstats,
}


def render(server: Server, requested: list[str]) -> str:
    """INFO [section ...]: no argument or "default" gives the default sections;
    "all" and "everything" add commandstats."""
    wanted: list[str] = []
    for name in requested or ["default"]:
        if name == "default":
            wanted += DEFAULT_SECTIONS
        elif name in ("all", "everything"):
            wanted += ALL_SECTIONS
        elif name in _SECTIONS:
            wanted.append(name)
    blocks = []
    for name in dict.fromkeys(wanted):
        fields = _SECTIONS[name](server)
        lines = [f"# {name.capitalize() if name != 'cpu' else 'CPU'}"]
        lines += [f"{key}:{value}" for key, value in fields.items()]
        blocks.append("\r\n".join(lines))
    return "\r\n\r\n".join(blocks) + ("\r\n" if blocks else "")


def _client_flags(client: Session) -> str:
    """Redis's letters, in Redis's order; N when none applies."""
    flags = "".join(letter for letter, on in (
        ("S", client.replica is not None), ("O", client.monitoring), ("P", client.pubsub),
        ("x", client.multi is not None),
        ("b", client.blocked is not None), ("t", client.tracking is not None),
        ("R", client.tracking is not None and client.tracking.broken_redirect),
        ("B", client.tracking is not None and client.tracking.bcast), ("d", client.cas_dirty),
        ("c", client.close_after_reply), ("e", client.no_evict)) if on)
    return flags or "N"


def describe_client(server: Server, client: Session) -> str:
    """A CLIENT LIST / CLIENT INFO line, Redis 7.0's fields (plus 7.2's lib-name and
    lib-ver, which CLIENT SETINFO sets)."""
    now = time.monotonic()
    in_multi = client.multi is not None
    peer = client.peer
    omem = peer.output_size() if peer else 0
    return (f"id={client.id} addr={client.address} "
            f"laddr={peer.local_address() if peer else '?'} "
            f"fd={peer.fileno() if peer else -1} "
            f"name={client.name.decode(errors='replace')} age={int(now - client.created)} "
            f"idle={int(now - client.last_interaction)} flags={_client_flags(client)} "
            f"db={client.db} sub={len(client.channels)} psub={len(client.patterns)} "
            f"ssub={len(client.shard_channels)} multi={len(client.multi) if in_multi else -1} "
            f"qbuf={peer.query_buffer_size() if peer else 0} qbuf-free=0 argv-mem=0 "
            f"multi-mem=0 rbs=0 rbp=0 obl=0 oll={peer.held_replies() if peer else 0} "
            f"omem={omem} tot-mem=0 "
            f"events={'r' if peer and peer.reading else ''}{'w' if omem else ''} "
            f"cmd={client.last_command} user={client.user.name.decode(errors='replace')} "
            f"redir={-1 if client.tracking is None else client.tracking.redirect} "
            f"resp={client.protocol} "
            f"lib-name={client.lib_name.decode(errors='replace')} "
            f"lib-ver={client.lib_ver.decode(errors='replace')}")
