"""Network-level protection: protected mode and the TLS listener's settings.

Protected mode is Redis 7.0's (networking.c, clientAcceptHandler): while it is on and the
default user needs no password, only loopback clients are served; anyone else gets the
DENIED explanation and is disconnected.
"""

from __future__ import annotations

import ssl

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you "
    b"may adopt one of the following solutions: 1) Just disable protected mode sending the "
    b"command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
    b"Redis from the same host the server is running, however MAKE SURE Redis is not "
    b"publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
    b"permanent. 2) Alternatively you can just disable the protected mode by editing the "
    b"Redis configuration file, and setting the protected mode option to 'no', and then "
    b"restarting the server. 3) If you started the server manually just for testing, restart "
    b"it with the '--protected-mode no' option. 4) Setup a an authentication password for the "
    b"default user. NOTE: You only need to do one of the above things in order for the server "
    b"to start accepting connections from the outside.\r\n")


LOCAL_HOSTS = ("127.0.0.1", "::1")


def is_loopback(peer: object) -> bool:
    """Whether a peer address (asyncio's ``peername``) counts as local, for protected
    mode and DEBUG (Redis's islocalClient). Redis 7.0 compares the peer's text with
    "127.0.0.1" and "::1" exactly, so a client from 127.0.0.2 is not local; a Unix
    socket's (a string) is."""
    if not isinstance(peer, tuple):
        return True
    return peer[0] in LOCAL_HOSTS


def protected_mode_refuses(protected_mode: bool, default_user_nopass: bool,
                           peer: object) -> bool:
    """Redis 7.0's rule: protected mode on, no password for the default user, and a
    client from elsewhere than the loopback interface."""
    return protected_mode and default_user_nopass and not is_loopback(peer)


class TlsConfigError(Exception):
    """The tls-* settings cannot make a working TLS listener; the message says why."""


def server_context(cert_file: str, key_file: str, ca_cert_file: str,
                   auth_clients: str) -> ssl.SSLContext:
    """The TLS listener's context: our certificate, and client certificates required
    (``tls-auth-clients yes``), checked when sent (``optional``) or not asked for (``no``).
    TLS 1.2 and 1.3, as Redis's default ``tls-protocols``."""
    if not cert_file:
        raise TlsConfigError("No tls-cert-file configured!")
    if not key_file:
        raise TlsConfigError("No tls-key-file configured!")
    if auth_clients != "no" and not ca_cert_file:
        raise TlsConfigError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified "
                             "when tls-cluster, tls-replication or tls-auth-clients are "
                             "enabled!")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
        if ca_cert_file:
            context.load_verify_locations(cafile=ca_cert_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"Failed to configure TLS: {exc}") from None
    context.verify_mode = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL,
                           "no": ssl.CERT_NONE}[auth_clients]
    return context
