"""What a lone master answers about replication: ROLE, and REPLICAOF / SLAVEOF's
NO ONE. caskd neither replicates nor has replicas, so it is always a master with
none; REPLICAOF host port is refused (see tests/compat/differences.py REPLICAOF)."""

from __future__ import annotations

from protocol.reply import OK
from server.errors import CommandError, parse_int

REPLICATION_UNSUPPORTED = "ERR caskd does not replicate: only REPLICAOF NO ONE is accepted"


def role(client, argv: list[bytes]) -> list:
    """Redis's roleCommand for a master: its replication offset and no replicas."""
    return [b"master", 0, []]


def replicaof(client, argv: list[bytes]):
    """REPLICAOF NO ONE is a no-op on a master (Redis replies OK); a master address is
    checked as Redis's replicaofCommand checks it, then refused."""
    host, port = argv[1], argv[2]
    if host.lower() == b"no" and port.lower() == b"one":
        return OK
    number = parse_int(port, "ERR Invalid master port")
    if not 0 <= number <= 65535:
        raise CommandError("ERR Invalid master port")
    raise CommandError(REPLICATION_UNSUPPORTED)
