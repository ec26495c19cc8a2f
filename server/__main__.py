"""``caskd [config-file] [--name value ...]`` / ``python -m server``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import uvloop

from server import compiled
from server.app import REDIS_VERSION, Server, configure_logging
from server.config import ConfigError, parse_command_line
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


if __name__ == "__main__":
    sys.exit(main())
