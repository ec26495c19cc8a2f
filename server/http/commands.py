"""One HTTP request's commands: a peerless session, the dispatcher, the durability wait.

Every REST or metrics request gets a :class:`Session` of its own with no peer and runs
ordinary commands through the dispatcher (``AUTH`` for its Basic credentials, ``SELECT``
for ``?db=``, then ``SET``, ``GET``, ``SCAN``, ``INFO``...), so ACL rules, commandstats,
SLOWLOG, MONITOR, CLIENT PAUSE and MISCONF apply as they do to a RESP client. An error
reply becomes an :class:`HttpError` with the status its code calls for.

A response is sent only once the writes it may reveal are released, as a connection's
replies are (Connection.may_send_now / Server.commit): under ``appendfsync always``, a 2xx
means the write is durable.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from protocol.reply import Error
from server.pause import Postponed
from server.session import Session

if TYPE_CHECKING:
    from server.app import Server

SERVER: web.AppKey[Server] = web.AppKey("caskd")  # the application's server

# The status an error reply's code calls for; any other code is the client's
# mistake (400) or the server's (500), as the caller says.
STATUS_BY_ERROR_CODE = {
    "NOAUTH": 401,
    "WRONGPASS": 401,
    "NOPERM": 403,
    "WRONGTYPE": 409,
    "MISCONF": 503,
    "LOADING": 503,
    "BUSY": 503,
}


class HttpError(Exception):
    """Answer the request with ``status`` and ``message`` as its text body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CommandRunner:
    """Runs one HTTP request's commands, in order, for its own session."""

    def __init__(self, server: Server, address: str) -> None:
        self.server = server
        self.session = Session(server, address=address)

    async def run(self, *argv: bytes, error_status: int = 400) -> object:
        """The reply of ``argv``; an error reply raises HttpError (``error_status`` for
        a code without a status of its own). Under CLIENT PAUSE the command waits for
        the pause to end, as a connection's would."""
        while True:
            try:
                reply = self.server.dispatcher.execute(self.session, list(argv))
            except Postponed:
                await self.server.pause.ended()
                continue
            if type(reply) is Error:
                code = reply.text.split(" ", 1)[0]
                raise HttpError(STATUS_BY_ERROR_CODE.get(code, error_status), reply.text)
            return reply

    async def released(self) -> None:
        """Wait until every write made so far may be acknowledged: flushed, and under
        ``appendfsync always`` fsynced. At once when nothing waits (a read's case)."""
        server = self.server
        if not server.engine.settled():
            waiter = _ReleaseWaiter(server)
            server.schedule_commit(waiter)
            await waiter.done


class _ReleaseWaiter:
    """Takes a connection's place in the server's commit (Server.commit, Server.release):
    ``done`` once the log position of this loop iteration's writes is released."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.position = 0
        self.done: asyncio.Future[None] = server.loop.create_future()

    def commit(self, position: int, released: int) -> None:
        self.position = position
        if not self.release(released):
            self.server.holding.add(self)

    def release(self, released: int) -> bool:
        if self.position > released:
            return False
        if not self.done.done():  # its request may have been cancelled meanwhile
            self.done.set_result(None)
        return True
