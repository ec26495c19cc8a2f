"""Connection commands: PING, ECHO, SELECT, HELLO, AUTH, CLIENT …, QUIT."""

from __future__ import annotations

from protocol.reply import OK, PONG, Verbatim
from server.errors import DB_INDEX, NOT_INTEGER, SYNTAX, WRONGPASS, CommandError, parse_int


def ping(client, argv: list[bytes]):
    if len(argv) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    return PONG if len(argv) == 1 else argv[1]


def echo(client, argv: list[bytes]):
    return argv[1]


def quit_(client, argv: list[bytes]):
    client.close_after_reply = True
    return OK


def select(client, argv: list[bytes]):
    db = parse_int(argv[1], NOT_INTEGER)
    if not 0 <= db < client.server.engine.databases:
        raise CommandError(DB_INDEX)
    client.db = db
    return OK


def _authenticate(client, username: bytes, password: bytes) -> None:
    if not client.server.check_password(username, password):
        raise CommandError(WRONGPASS)
    client.authenticated = True
    client.parser.authenticated = True


def auth(client, argv: list[bytes]):
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2 and not client.server.config["requirepass"]:
        raise CommandError("ERR AUTH <password> called without any password configured "
                           "for the default user. Are you sure your configuration is correct?")
    username = argv[1] if len(argv) == 3 else b"default"
    _authenticate(client, username, argv[-1])
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
    name = None
    i = 2
    while i < len(argv):
        option = argv[i].upper()
        if option == b"AUTH" and i + 2 < len(argv):
            _authenticate(client, argv[i + 1], argv[i + 2])
            i += 3
        elif option == b"SETNAME" and i + 1 < len(argv):
            name = _valid_name(argv[i + 1])
            i += 2
        else:
            option_text = argv[i].decode(errors="replace")
            raise CommandError(f"ERR Syntax error in HELLO option '{option_text}'")
    if client.server.config["requirepass"] and not client.authenticated:
        raise CommandError("NOAUTH HELLO must be called with the client already authenticated, "
                           "otherwise the HELLO <proto> AUTH <user> <pass> option can be used "
                           "to authenticate the client and select the RESP protocol version at "
                           "the same time")
    if name is not None:
        client.name = name
    client.protocol = version
    client.resp3 = version == 3
    return {b"server": b"redis", b"version": client.server.redis_version.encode(),
            b"proto": version, b"id": client.id, b"mode": b"standalone", b"role": b"master",
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
    lines = [client.server.describe_client(c) for c in client.server.clients.values()]
    return Verbatim("".join(line + "\n" for line in lines))
