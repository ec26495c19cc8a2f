"""``caskd [config-file] [--name value ...]`` / ``python -m server``.

``caskd --load-rdb FILE [config-file] [--name value ...]`` imports a Redis RDB file
(dump.rdb) into the data directory, replacing what it holds, and exits."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import uvloop

from server import compiled
from server.app import REDIS_VERSION, Server, configure_logging
from server.config import Config, ConfigError, parse_command_line
from server.replication.load import import_file
from storage.engine import StorageError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if args and args[0] in ("-v", "--version"):
        from server.app import CASKD_VERSION
        print(f"caskd v={CASKD_VERSION} (redis-compatible {REDIS_VERSION})")
        return 0
    rdb_file = None
    if args and args[0] == "--load-rdb":
        if len(args) < 2:
            print("--load-rdb needs the RDB file to import", file=sys.stderr)
            return 1
        rdb_file, args = Path(args[1]), args[2:]
    try:
        config = parse_command_line(args)
    except (ConfigError, OSError) as exc:
        print(f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n{exc}",
              file=sys.stderr)
        return 1
    configure_logging(config)
    log = logging.getLogger("caskd")
    log.info("caskd starting (port %s, dir %s, appendfsync %s)", config["port"], config["dir"],
             config["appendfsync"])
    log.info("%s", compiled.status()[1])
    for warning in config.warnings():
        log.warning("%s", warning)
    if rdb_file is not None:
        return _load_rdb(config, rdb_file, log)
    pidfile = Path(config["pidfile"]) if config["pidfile"] else None
    if pidfile:  # as Redis's createPidFile: written at start (or a warning), removed at exit
        try:
            pidfile.write_text(f"{os.getpid()}\n")
        except OSError as exc:
            log.warning("Failed to write PID file: %s", exc.strerror)
            pidfile = None
    try:
        uvloop.run(Server(config).serve())
    except StorageError as exc:
        log.error("%s", exc)
        return 1
    finally:
        if pidfile:
            pidfile.unlink(missing_ok=True)
    return 0


def _load_rdb(config: Config, path: Path, log: logging.Logger) -> int:
    """--load-rdb: the file's data into the data directory (server/replication/load.py)."""
    server = Server(config)
    try:
        server.open_storage()
    except StorageError as exc:
        log.error("%s", exc)
        return 1
    try:
        keys = import_file(server, path)
    except (OSError, ValueError) as exc:  # RdbError is one; so is mmap's "empty file"
        log.error("Could not load %s: %s", path, exc)
        return 1
    finally:
        server.engine.close()
    log.info("Loaded %d keys from %s into %s", keys, path, config["dir"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
