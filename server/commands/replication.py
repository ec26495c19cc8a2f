"""Replication's commands: ROLE; REPLCONF, PSYNC and SYNC, which a replica sends
to attach (the master side: server/replication/master.py); WAIT; and REPLICAOF /
SLAVEOF host port | NO ONE (this server as a replica: server/replication/replica.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.numbers import string2ll
from protocol.reply import OK, SimpleString
from server.blocking import Blocked
from server.errors import SYNTAX, CommandError, parse_int
from server.replies import NO_REPLY

ALREADY_CONNECTED = SimpleString("OK Already connected to specified master")
NET_HOST_STR_LEN = 256


def role(client, argv: list[bytes]) -> list:
    """Redis's roleCommand: a master's offset and online replicas, or a replica's
    master, link state and offset."""
    link = client.server.master_link
    if link is not None:
        return link.role()
    replication = client.server.replication
    return [b"master", replication.offset, replication.master.role_replicas()]


@dataclass
class Handshake:
    """What a replica-to-be said with REPLCONF before its PSYNC."""

    listening_port: int = 0
    announced_ip: str | None = None
    capa: set[bytes] = field(default_factory=set)


def replconf(client, argv: list[bytes]):
    """REPLCONF option value ... (replconfCommand): ACK and GETACK answer nothing."""
    if len(argv) % 2 == 0:
        raise CommandError(SYNTAX)
    master = client.server.replication.master
    handshake = master.handshakes.setdefault(client.id, Handshake())
    for option, value in zip(argv[1::2], argv[2::2], strict=True):
        option = option.lower()
        if option == b"listening-port":
            handshake.listening_port = parse_int(value)
        elif option == b"ip-address":
            if len(value) >= NET_HOST_STR_LEN:
                raise CommandError(f"ERR REPLCONF ip-address provided by replica instance "
                                   f"is too long: {len(value)} bytes")
            handshake.announced_ip = value.decode(errors="replace")
        elif option == b"capa":
            handshake.capa.add(value.lower())  # what this master does not know is ignored
        elif option == b"ack":  # only a replica's counts; a bad offset is ignored
            offset = string2ll(value)
            if client.replica is not None and offset is not None:
                master.ack(client, offset)
            return NO_REPLY
        elif option == b"getack":
            return NO_REPLY  # a master has no master to answer
        elif option == b"rdb-only":
            if value not in (b"0", b"1"):
                raise CommandError("ERR value is out of range, value must between 0 and 1")
        else:
            raise CommandError(f"ERR Unrecognized REPLCONF option: "
                               f"{option.decode(errors='replace')}")
    return OK


def psync(client, argv: list[bytes]):
    """PSYNC replid offset: +CONTINUE or +FULLRESYNC, written by the master side."""
    return _sync(client, argv[1].decode(errors="replace"), parse_int(argv[2]))


def sync(client, argv: list[bytes]):
    """SYNC, the old form: a full resync without the +FULLRESYNC line."""
    return _sync(client, None, 0)


def _sync(client, replid: str | None, offset: int):
    if client.replica is not None:  # syncCommand: already a replica, ignored
        return NO_REPLY
    peer = client.peer
    if peer is None or peer.out or peer.held:
        raise CommandError("ERR SYNC and PSYNC are invalid with pending output")
    master = client.server.replication.master
    handshake = master.handshakes.pop(client.id, None) or Handshake()
    master.psync(client, replid, offset, handshake.capa, handshake.listening_port,
                 handshake.announced_ip)
    return NO_REPLY


def wait(client, argv: list[bytes]):
    """WAIT numreplicas timeout (waitCommand): how many replicas acknowledged the
    stream up to this point, at once if enough have, else when enough have or the
    timeout (ms, 0: none) passes. The offset waited for is the stream's end when
    WAIT runs, which covers every write this client made before it."""
    replication = client.server.replication
    if replication.following:
        raise CommandError("ERR WAIT cannot be used with replica instances. Please also note "
                           "that since Redis 4.0 if a replica is configured to be writable "
                           "(which is not the default) writes to replicas are just local and "
                           "are not propagated.")
    replicas = parse_int(argv[1])
    timeout = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    acked = replication.master.wait(client, replicas, timeout / 1000)
    if acked is None:
        raise Blocked([], object, 0)
    return acked


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
