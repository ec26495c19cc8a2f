"""caskd over HTTP (``http-port``): the REST interface and Prometheus metrics.

Served by aiohttp on the server's own event loop. Every request but ``/healthz`` gets
its own peerless session (server/http/commands.py): protected mode applies as to a
RESP client, HTTP Basic credentials are checked by running ``AUTH user password``,
and without them the request is the default user's (401 where that one must AUTH).
With ``tls-cert-file`` set the port speaks HTTPS, with the TLS port's certificates
and client-certificate policy (``tls-auth-clients``).

- server/http/kv.py: ``/kv/<key>`` and ``/kv``
- server/http/metrics.py: ``/metrics`` and ``/healthz``
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from server.http import kv, metrics
from server.http.commands import SERVER, CommandRunner, HttpError
from server.security import DENIED, TlsConfigError, protected_mode_refuses, server_context

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable

    from server.app import Server

SHUTDOWN_SECONDS = 10.0  # how long requests under way may take to finish at shutdown
UNAUTHENTICATED_PATHS = ("/healthz",)  # what a load balancer asks, with no credentials
BASIC_CHALLENGE = 'Basic realm="caskd", charset="UTF-8"'

log = logging.getLogger("caskd")


class HttpListener:
    """The HTTP port: started after the RESP listeners, stopped before the engine."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tls = self._tls_context()  # a bad TLS setting stops the start, before storage
        self._runner: web.AppRunner | None = None

    def _tls_context(self) -> ssl.SSLContext | None:
        config = self.server.config
        if not config["tls-cert-file"]:
            return None
        try:
            return server_context(config["tls-cert-file"], config["tls-key-file"],
                                  config["tls-ca-cert-file"], config["tls-auth-clients"])
        except TlsConfigError as exc:
            raise SystemExit(f"Failed to configure TLS for HTTP: {exc}") from None

    async def start(self) -> None:
        """Listen on ``http-port`` at every ``http-bind`` address (default: ``bind``'s).
        Raises OSError when a port cannot be had."""
        config = self.server.config
        app = web.Application(middlewares=[_per_request])
        app[SERVER] = self.server
        kv.routes(app)
        metrics.routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=SHUTDOWN_SECONDS)
        await self._runner.setup()
        hosts = str(config["http-bind"] or config["bind"]).split()
        for host in hosts:
            await web.TCPSite(self._runner, host, config["http-port"], ssl_context=self.tls,
                              backlog=config["tcp-backlog"], reuse_address=True).start()
        log.info("Ready to accept connections %s on %s port %s",
                 "https" if self.tls else "http", " ".join(hosts), config["http-port"])

    async def stop(self) -> None:
        """Stop accepting, let requests under way finish (their writes are answered
        once released), close the connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@web.middleware
async def _per_request(request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
    """Give the request its command runner, logged in; turn HttpError into a response."""
    try:
        if request.path not in UNAUTHENTICATED_PATHS:
            request["runner"] = await _logged_in(request)
        return await handler(request)
    except HttpError as exc:
        headers = {"WWW-Authenticate": BASIC_CHALLENGE} if exc.status == 401 else None
        return web.Response(status=exc.status, text=exc.message + "\n", headers=headers)


async def _logged_in(request: web.Request) -> CommandRunner:
    """The request's runner, as the user its Basic credentials name (or the default
    user); protected mode refuses it as it refuses a RESP client."""
    server = request.app[SERVER]
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if protected_mode_refuses(server.config["protected-mode"], server.acl.default.nopass,
                              peer):
        server.stats.rejected_connections += 1
        raise HttpError(403, DENIED.decode()[1:].rstrip())
    address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"
    runner = CommandRunner(server, address)
    header = request.headers.get("Authorization")
    if header is not None:
        await runner.run(b"AUTH", *_basic_credentials(header))
    return runner


def _basic_credentials(header: str) -> tuple[bytes, bytes]:
    """``Basic base64(user:password)`` (RFC 7617) as the user and password bytes."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise HttpError(401, f"unsupported authentication scheme {scheme!r}: use Basic")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise HttpError(400, "malformed Basic credentials") from None
    user, colon, password = decoded.partition(b":")
    if not colon:
        raise HttpError(400, "malformed Basic credentials: no ':' after the user name")
    return user, password
