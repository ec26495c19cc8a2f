"""Connection commands: PING, ECHO, SELECT, HELLO, AUTH, RESET, CLIENT …, QUIT."""

from __future__ import annotations

from protocol.reply import OK, PONG, OrderedSet, SimpleString, Verbatim
from server.acl import DENIED_AUTH
from server.commands.transactions import end_transaction
from server.errors import (
    DB_INDEX,
    SYNTAX,
    WRONGPASS,
    CommandError,
    bad_subcommand_usage,
    parse_int,
    parse_int32,
)
from server.pause import ALL, WRITE
from server.replies import NO_REPLY, help_reply
from server.tracking import Tracking


def ping(client, argv: list[bytes]):
    if len(argv) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    # A subscriber's PING, as Redis answers it (slow_path first: a subscriber has it set,
    # and the common PING pays one attribute test).
    if client.slow_path and client.pubsub and not client.resp3:
        return [b"pong", b"" if len(argv) == 1 else argv[1]]
    return PONG if len(argv) == 1 else argv[1]


def echo(client, argv: list[bytes]):
    return argv[1]


def quit_(client, argv: list[bytes]):
    client.close_after_reply = True
    return OK


def select(client, argv: list[bytes]):
    db = parse_int32(argv[1])
    if not 0 <= db < client.server.engine.databases:
        raise CommandError(DB_INDEX)
    client.db = db
    return OK


def _authenticate(client, command: bytes, username: bytes, password: bytes) -> None:
    """Log in as ``username``, or WRONGPASS (logged in ACL LOG, object: the command)."""
    acl = client.server.acl
    user = acl.authenticate(username, password)
    if user is None:
        context = "multi" if client.multi is not None else "toplevel"
        acl.add_log_entry(DENIED_AUTH, context, command, username,
                          client.server.describe_client(client))
        raise CommandError(WRONGPASS)
    acl.log_in(client, user)


def auth(client, argv: list[bytes]):
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2 and client.server.acl.default.nopass:
        raise CommandError("ERR AUTH <password> called without any password configured "
                           "for the default user. Are you sure your configuration is correct?")
    username = argv[1] if len(argv) == 3 else b"default"
    _authenticate(client, argv[0], username, argv[-1])
    return OK


def hello(client, argv: list[bytes]):
    """HELLO [protover [AUTH user pass] [SETNAME name]]: switch protocol, greet."""
    version = client.protocol
    if len(argv) > 1:
        try:
            version = parse_int(argv[1])
        except CommandError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if version not in (2, 3):
            raise CommandError("NOPROTO unsupported protocol version")
    i = 2
    while i < len(argv):  # Redis 7.0 acts on each option as it reads it
        option = argv[i].upper()
        if option == b"AUTH" and i + 2 < len(argv):
            _authenticate(client, argv[0], argv[i + 1], argv[i + 2])
            i += 3
        elif option == b"SETNAME" and i + 1 < len(argv):
            client.name = _valid_name(argv[i + 1])
            i += 2
        else:
            option_text = argv[i].decode(errors="replace")
            raise CommandError(f"ERR Syntax error in HELLO option '{option_text}'")
    if not client.authenticated:  # Redis asks this even when no password is needed now
        raise CommandError("NOAUTH HELLO must be called with the client already authenticated, "
                           "otherwise the HELLO AUTH <user> <pass> option can be used to "
                           "authenticate the client and select the RESP protocol version at the "
                           "same time")
    client.protocol = version
    client.resp3 = version == 3
    return {b"server": b"redis", b"version": client.server.redis_version.encode(),
            b"proto": version, b"id": client.id, b"mode": b"standalone",
            b"role": b"master" if client.server.master_link is None else b"replica",
            b"modules": []}


def _valid_name(name: bytes) -> bytes:
    if any(c <= 0x20 or c > 0x7E for c in name):
        raise CommandError("ERR Client names cannot contain spaces, newlines or special "
                           "characters.")
    return name


def client_id(client, argv: list[bytes]):
    return client.id


def client_setname(client, argv: list[bytes]):
    client.name = _valid_name(argv[2])
    return OK


def client_getname(client, argv: list[bytes]):
    return client.name or None


def client_setinfo(client, argv: list[bytes]):
    attribute = argv[2].upper()
    if attribute not in (b"LIB-NAME", b"LIB-VER"):
        raise CommandError(f"ERR Unrecognized option '{argv[2].decode(errors='replace')}'")
    if any(c < 0x21 or c > 0x7E for c in argv[3]):
        raise CommandError(f"ERR {attribute.decode()} cannot contain spaces, newlines or "
                           f"special characters.")
    setattr(client, "lib_name" if attribute == b"LIB-NAME" else "lib_ver", argv[3])
    return OK


def client_info(client, argv: list[bytes]):
    return Verbatim(client.server.describe_client(client) + "\n")


def client_list(client, argv: list[bytes]):
    """CLIENT LIST [TYPE type | ID id ...]."""
    server = client.server
    if len(argv) == 2:
        listed = list(server.clients.values())
    elif len(argv) == 4 and argv[2].upper() == b"TYPE":
        kind = _client_type(argv[3])
        listed = [c for c in server.clients.values() if client_type(c) == kind]
    elif len(argv) > 3 and argv[2].upper() == b"ID":
        ids = [parse_int(arg, "ERR Invalid client ID") for arg in argv[3:]]
        listed = [server.clients[i] for i in ids if i in server.clients]
    else:
        raise CommandError(SYNTAX)
    return Verbatim("".join(server.describe_client(c) + "\n" for c in listed))


def client_type(session) -> str:
    """Redis's getClientType: "replica" for a replica, "pubsub" while subscribed,
    else "normal" (MONITOR clients included, as in Redis)."""
    if session.replica is not None:
        return "replica"
    return "pubsub" if session.pubsub else "normal"


_CLIENT_TYPES = {b"normal": "normal", b"slave": "replica", b"replica": "replica",
                 b"pubsub": "pubsub", b"master": "master"}


def _client_type(name: bytes) -> str:
    kind = _CLIENT_TYPES.get(name.lower())
    if kind is None:
        raise CommandError(f"ERR Unknown client type '{name.decode(errors='replace')}'")
    return kind


def client_kill(client, argv: list[bytes]):
    """CLIENT KILL addr:port, or CLIENT KILL [ID id] [TYPE type] [USER user] [ADDR addr]
    [LADDR addr] [SKIPME yes|no]: the filters all have to match."""
    if len(argv) == 3:  # the old form: no SKIPME, a client may kill itself
        killed = _kill(client, {"addr": argv[2].decode(errors="replace")}, skipme=False)
        if not killed:
            raise CommandError("ERR No such client")
        return OK
    if len(argv) % 2:
        raise CommandError(SYNTAX)
    filters: dict = {}
    skipme = True
    for option, value in zip(argv[2::2], argv[3::2], strict=True):
        option = option.lower()
        if option == b"id":
            try:
                filters["id"] = parse_int(value)
            except CommandError:
                filters["id"] = 0
            if filters["id"] <= 0:
                raise CommandError("ERR client-id should be greater than 0")
        elif option == b"type":
            filters["type"] = _client_type(value)
        elif option == b"user":
            filters["user"] = client.server.acl.users.get(value)
            if filters["user"] is None:
                raise CommandError(f"ERR No such user '{value.decode(errors='replace')}'")
        elif option in (b"addr", b"laddr"):
            filters[option.decode()] = value.decode(errors="replace")
        elif option == b"skipme" and value.lower() in (b"yes", b"no"):
            skipme = value.lower() == b"yes"
        else:
            raise CommandError(SYNTAX)
    return _kill(client, filters, skipme)


def _kill(client, filters: dict, skipme: bool) -> int:
    """Close every client matching ``filters``; the caller itself after this reply."""
    killed = 0
    link = client.server.master_link  # TYPE master: a replica's link (Redis's server.master)
    if filters.get("type") == "master" and link is not None and link.drop_connection():
        killed += 1
    for other in list(client.server.clients.values()):
        if ("id" in filters and other.id != filters["id"]) \
                or ("type" in filters and filters["type"] != client_type(other)) \
                or ("user" in filters and other.user is not filters["user"]) \
                or ("addr" in filters and other.address != filters["addr"]) \
                or ("laddr" in filters and other.peer.local_address() != filters["laddr"]) \
                or (other is client and skipme):
            continue
        if other is client:
            client.close_after_reply = True
        else:
            other.close()
        killed += 1
    return killed


def client_pause(client, argv: list[bytes]):
    """CLIENT PAUSE timeout-ms [WRITE|ALL]."""
    if len(argv) > 4:
        raise bad_subcommand_usage("client", argv[1])
    mode = argv[3].lower().decode(errors="replace") if len(argv) == 4 else ALL
    if mode not in (WRITE, ALL):
        raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    timeout = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    client.server.pause.pause(mode, timeout / 1000)
    return OK


def client_unpause(client, argv: list[bytes]):
    client.server.pause.unpause()
    return OK


def client_reply(client, argv: list[bytes]):
    """CLIENT REPLY ON|OFF|SKIP; only ON answers (Dispatcher.reply_mode does the rest)."""
    mode = argv[2].lower()
    if mode not in (b"on", b"off", b"skip"):
        raise CommandError(SYNTAX)
    if mode == b"skip" and client.reply_mode == "off":
        return NO_REPLY  # replies stay off
    client.reply_mode = mode.decode()
    return OK if mode == b"on" else NO_REPLY


def client_no_evict(client, argv: list[bytes]):
    """caskd never evicts clients; the flag only shows in CLIENT LIST (``e``)."""
    mode = argv[2].lower()
    if mode not in (b"on", b"off"):
        raise CommandError(SYNTAX)
    client.no_evict = mode == b"on"
    return OK


def client_tracking(client, argv: list[bytes]):
    """CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT]
    [NOLOOP], checked in the order of Redis's clientCommand."""
    state, prefixes = Tracking(), []
    i = 3
    while i < len(argv):
        option, more = argv[i].lower(), i + 1 < len(argv)
        if option == b"redirect" and more:
            i += 1
            if state.redirect:
                raise CommandError("ERR A client can only redirect to a single other client")
            state.redirect = parse_int(argv[i])
            if state.redirect not in client.server.clients:
                raise CommandError("ERR The client ID you want redirect to does not exist")
        elif option in (b"bcast", b"optin", b"optout", b"noloop"):
            setattr(state, option.decode(), True)
        elif option == b"prefix" and more:
            i += 1
            prefixes.append(argv[i])
        else:
            raise CommandError(SYNTAX)
        i += 1
    mode = argv[2].lower()
    tracking = client.server.tracking
    if mode == b"off":
        tracking.disable(client)
        return OK
    if mode != b"on":
        raise CommandError(SYNTAX)
    current = client.tracking
    if prefixes and not state.bcast:
        raise CommandError("ERR PREFIX option requires BCAST mode to be enabled")
    if current is not None and current.bcast != state.bcast:
        raise CommandError("ERR You can't switch BCAST mode on/off before disabling tracking "
                           "for this client, and then re-enabling it with a different mode.")
    if state.bcast and (state.optin or state.optout):
        raise CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
    if state.optin and state.optout:
        raise CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode")
    if current is not None and ((state.optin and current.optout)
                                or (state.optout and current.optin)):
        raise CommandError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking "
                           "for this client, and then re-enabling it with a different mode.")
    if state.bcast:
        overlap = tracking.overlap(current or Tracking(), prefixes)
        if overlap is not None:
            raise CommandError(overlap)
    state.prefixes = prefixes
    tracking.enable(client, state)
    return OK


def client_trackinginfo(client, argv: list[bytes]):
    state = client.tracking
    if state is None:
        return {b"flags": OrderedSet([b"off"]), b"redirect": -1, b"prefixes": []}
    flags = [b"on"]
    flags += [b"bcast"] if state.bcast else []
    flags += [b"optin", *([b"caching-yes"] if state.caching else [])] if state.optin else []
    flags += [b"optout", *([b"caching-no"] if state.caching else [])] if state.optout else []
    flags += [b"noloop"] if state.noloop else []
    flags += [b"broken_redirect"] if state.broken_redirect else []
    return {b"flags": OrderedSet(flags), b"redirect": state.redirect,
            b"prefixes": sorted(state.prefixes)}  # a radix tree's order, in Redis


def client_getredir(client, argv: list[bytes]):
    return -1 if client.tracking is None else client.tracking.redirect


def client_caching(client, argv: list[bytes]):
    state = client.tracking
    if state is None:
        raise CommandError("ERR CLIENT CACHING can be called only when the client is in "
                           "tracking mode with OPTIN or OPTOUT mode enabled")
    option = argv[2].lower()
    if option == b"yes" and not state.optin:
        raise CommandError("ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                           "OPTIN mode.")
    if option == b"no" and not state.optout:
        raise CommandError("ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                           "OPTOUT mode.")
    if option not in (b"yes", b"no"):
        raise CommandError(SYNTAX)
    state.caching = True
    return OK


def client_unblock(client, argv: list[bytes]):
    """CLIENT UNBLOCK id [TIMEOUT|ERROR]: answer a client waiting in a blocking
    command as on a timeout, or with an error; 1 if there was one."""
    if len(argv) > 4:
        raise bad_subcommand_usage("client", argv[1])
    if len(argv) == 4 and argv[3].upper() not in (b"TIMEOUT", b"ERROR"):
        raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    client_id = parse_int(argv[2])
    error = len(argv) == 4 and argv[3].upper() == b"ERROR"
    return int(client.server.blocking.unblock_by_id(client_id, error))


def reset(client, argv: list[bytes]):
    """Back to a fresh connection's state: no MULTI, WATCH, MONITOR, name or CLIENT
    REPLY mode; db 0, RESP2, and the default user's authentication."""
    server = client.server
    end_transaction(client)
    server.set_monitoring(client, False)
    server.pubsub.forget(client)
    server.tracking.disable(client)
    client.db = 0
    client.protocol = 2
    client.resp3 = False
    client.name = b""
    client.reply_mode = "on"
    server.acl.set_default_auth(client)
    return SimpleString("RESET")


_CLIENT_HELP = (
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
)


def client_help(client, argv: list[bytes]):
    return help_reply("CLIENT", _CLIENT_HELP)
