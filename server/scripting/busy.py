"""Other clients while a script is busy (past busy-reply-threshold), as Redis's
processEventsWhileBlocked and processCommand treat them.

The script runs on the event loop, so the loop cannot read for anyone meanwhile;
instead the script's count hook calls :func:`answer_others`, which reads what the
other connected clients sent straight from their sockets and answers at once: the
commands flagged ``allow_busy`` (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, MULTI,
DISCARD, WATCH, UNWATCH, RESET, AUTH, HELLO, QUIT) run, ``SHUTDOWN NOSAVE`` exits,
unknown commands and wrong arities get their usual errors, everything else (SHUTDOWN
without NOSAVE too) ``-BUSY``. A client with
replies or requests still on their way is left alone until the script ends, so its
replies keep their order; new connections wait to be accepted until then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from protocol import ProtocolError
from protocol.reply import Error, encode
from server.commands.registry import ALLOW_BUSY

if TYPE_CHECKING:
    from server.app import Server
    from server.session import Session


def busy_error(eval_mode: bool) -> str:
    """What other clients get while a script is busy (Redis's shared.slowevalerr and
    slowscripterr)."""
    return ("BUSY Redis is busy running a script. You can only call "
            f"{'SCRIPT' if eval_mode else 'FUNCTION'} KILL or SHUTDOWN NOSAVE.")


def answer_others(server: Server, caller: Session, error: str) -> None:
    if server.pause.mode is not None:  # a CLIENT PAUSE holds every command anyway
        return
    for session in list(server.clients.values()):
        peer = session.peer
        if session is caller or not _idle(peer):
            continue
        try:
            data = os.read(peer.fileno(), 65536)
        except OSError:  # nothing to read (EAGAIN), or the socket is going
            continue
        if not data:
            continue  # the end of the stream: the loop sees it too, later
        peer.parser.feed(data)
        try:
            commands = peer.parser.get_commands()
        except ProtocolError as exc:
            peer.transport.write(encode(Error(str(exc)), session.resp3))
            peer.close()
            continue
        replies = [encode(_answer(server, session, argv, error), session.resp3)
                   for argv in commands]
        peer.transport.write(b"".join(replies))


def _answer(server: Server, session: Session, argv: list[bytes], error: str):
    dispatcher = server.dispatcher
    command = dispatcher.resolve(argv)
    shutdown = command is not None and command.full_name == "shutdown"
    if shutdown and len(argv) == 2 and argv[1].lower() == b"nosave":
        server.log.warning("User requested shutdown (NOSAVE) while a script was busy: the "
                           "script's writes are dropped. Bye bye...")
        os._exit(0)  # acknowledged writes are in the log already: as after kill -9
    if command is None or not command.arity_ok(len(argv)) or (
            ALLOW_BUSY in command.flag_set and not shutdown):  # (shutdownCommand: -BUSY)
        return dispatcher.execute(session, argv)
    return dispatcher.reply_mode(session, command, dispatcher.refuse(session, command, error))


def _idle(peer) -> bool:
    """A connection with nothing of its own in flight: no replies waiting to be sent
    or for the log, no commands queued, blocked or paused."""
    return (peer is not None and peer.transport is not None and not peer.closed
            and not peer.out and not peer.held and not peer.queued and not peer.postponed
            and not peer.output_full and not peer.writing_paused
            and peer.session.blocked is None and not peer.session.close_after_reply)
