"""CLIENT PAUSE: hold clients' commands (all of them, or only writes) until a deadline
or CLIENT UNPAUSE.

A command that must wait raises :class:`Postponed` from the dispatcher; its
connection keeps it, and the commands after it, stops reading, and runs them
when the pause ends, in the order the clients were stopped. MONITOR clients are
never paused (Redis treats them as replicas).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from server.commands.registry import MAY_REPLICATE

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.session import Session

WRITE = "write"
ALL = "all"


class Postponed(Exception):
    """The server is paused for this command: run it when the pause ends."""


class ClientPause:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._mode: str | None = None  # None, WRITE or ALL
        self.end = 0.0  # loop time
        self._timer: asyncio.TimerHandle | None = None
        self.waiting: list[Session] = []
        self._ended: list[asyncio.Future] = []  # see ended()

    @property
    def mode(self) -> str | None:
        """The pause in force (None, WRITE or ALL): the dispatcher's guards follow it."""
        return self._mode

    @mode.setter
    def mode(self, mode: str | None) -> None:
        self._mode = mode
        self.server.dispatcher.refresh_guards()

    def pause(self, mode: str, seconds: float) -> None:
        """As Redis does, a new pause never shortens or weakens the current one."""
        if self.mode != ALL:
            self.mode = mode
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        if end > self.end or self._timer is None:
            self.end = end
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(end, self.unpause)

    def unpause(self) -> None:
        if self.mode is None:
            return
        self.mode = None
        self.end = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self.waiting = self.waiting, []
        for session in waiting:
            if session.peer is not None:
                session.peer.resume()
        ended, self._ended = self._ended, []
        for future in ended:
            if not future.done():
                future.set_result(None)

    async def ended(self) -> None:
        """Wait until the pause is over: how a session with no peer to resume (an HTTP
        request's) waits for the command that raised Postponed."""
        if self.mode is not None:
            future = asyncio.get_running_loop().create_future()
            self._ended.append(future)
            await future

    def hold(self, session: Session, command: Command) -> None:
        """Raise Postponed (and remember the session) if ``command`` must wait."""
        if self._must_wait(session, command):
            self.waiting.append(session)
            raise Postponed

    def _must_wait(self, session: Session, command: Command) -> bool:
        if self.mode is None or session.monitoring:
            return False
        if self.mode == ALL:
            return True
        if command.is_write or MAY_REPLICATE in command.flag_set:  # EVAL, FCALL: may write
            return True
        # EXEC waits if it would run a write.
        return command.full_name == "exec" and session.multi is not None and \
            any(queued.is_write for queued, _ in session.multi)
