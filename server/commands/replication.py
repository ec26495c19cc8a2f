"""ROLE, and REPLICAOF / SLAVEOF host port | NO ONE (this server as a replica: see
server/replication/replica.py)."""

from __future__ import annotations

from protocol.reply import OK, SimpleString
from server.errors import CommandError, parse_int

ALREADY_CONNECTED = SimpleString("OK Already connected to specified master")


def role(client, argv: list[bytes]) -> list:
    """Redis's roleCommand: a master's offset and replicas, or a replica's master,
    link state and offset."""
    link = client.server.master_link
    if link is not None:
        return link.role()
    return [b"master", 0, []]


def replicaof(client, argv: list[bytes]):
    """Redis's replicaofCommand: NO ONE makes a replica a master, keeping its data;
    host port follows that master (a replica of another one switches, trying PSYNC
    with what it has)."""
    server = client.server
    host, port = argv[1], argv[2]
    if host.lower() == b"no" and port.lower() == b"one":
        if server.master_link is not None:
            server.unfollow()
            server.log.info("MASTER MODE enabled (user request from '%s')",
                            server.describe_client(client))
        return OK
    number = parse_int(port, "ERR Invalid master port")
    if not 0 <= number <= 65535:
        raise CommandError("ERR Invalid master port")
    link = server.master_link
    address = host.decode(errors="replace")
    if link is not None and link.host.lower() == address.lower() and link.port == number:
        server.log.info("REPLICAOF would result into synchronization with the master we are "
                        "already connected with. No operation performed.")
        return ALREADY_CONNECTED
    # As Redis's replicationSetMaster: a master offers its own history to PSYNC
    # (replicationCacheMasterUsingMyself); a replica keeps offering its master's.
    replication = server.replication
    own = (replication.replid, replication.offset, link.session.db if link else 0)
    server.follow(address, number, own)
    server.log.info("REPLICAOF %s:%d enabled (user request from '%s')", address, number,
                    server.describe_client(client))
    return OK
