"""Incremental request parser: client bytes in, commands (lists of arguments) out. No I/O.

It accepts exactly what Redis 7.0 accepts and fails with the same error text at the
same byte, following networking.c (processInputBuffer, processInlineBuffer,
processMultibulkBuffer) and sds.c (sdssplitargs), quirks included:

* a request starting with ``*`` is multibulk, anything else is an inline command;
* a header line ends at the first ``\\r`` and the byte after it is skipped unchecked,
  as are the two bytes after a bulk argument;
* ``*0`` and negative counts are ignored, as are empty inline lines;
* Redis finds line ends with strchr(), which stops at a NUL byte: a NUL before the end
  of a header or inline line makes Redis wait for more input (until the 64 KiB line
  limit trips), and so does this parser.

Speed: the common case, canonical ``*N`` / ``$len`` multibulk commands as every client
library sends them, is split out of the buffer with one ``bytes.split`` in C and then
only checked (each ``$len`` header must be the canonical header for its argument).
Whatever fails that check goes to the exact parser, which also keeps the state of a
partial command between reads, so no byte is parsed twice however data trickles in,
and a large argument is assembled with a single copy.

hiredis.Reader was measured and rejected: it allocates ``*N`` arrays before their
elements arrive and reads ``+``/``=`` elements as bulk strings, so making it safe and
exact meant checking every header in Python first, which cost more than this parser.
"""

from __future__ import annotations

from protocol.errors import ProtocolError
from protocol.numbers import INT_MAX, string2ll

UNAUTHENTICATED_MAX_ARGS = 10  # Redis's limits before AUTH
UNAUTHENTICATED_MAX_BULK = 16384
_CR, _LF, _STAR, _DOLLAR = 13, 10, 42, 36

# Canonical headers, looked up instead of parsed or formatted on the hot paths.
_CACHED = 1024
_ARRAY_HEADERS = {b"*%d" % n: n for n in range(1, _CACHED + 1)}
_BULK_HEADERS = [b"$%d" % n for n in range(_CACHED)]  # index: the argument's length


def _protocol_error(detail: str) -> ProtocolError:
    return ProtocolError(f"ERR Protocol error: {detail}")


def _split_commands(data: bytes, max_bulk: int) -> tuple[list[list[bytes]], int]:
    """Canonical multibulk commands at the start of ``data``, and how many bytes they use.

    Splitting on CRLF does the scanning in C. A command is taken only when its count is a
    known canonical ``*N`` and every ``$len`` header is exactly the canonical header of the
    token after it: then Redis would read the very same arguments. Anything else (inline
    commands, CRLF inside an argument, unusual headers, a partial command) stops the scan.
    """
    tokens = data.split(b"\r\n")
    last = len(tokens) - 1  # tokens[last] is not followed by CRLF: never a whole argument
    arrays = _ARRAY_HEADERS.get
    bulk_headers = _BULK_HEADERS
    commands = []
    i = 0
    while i < last:
        count = arrays(tokens[i])
        if count is None:
            break
        end = i + 2 * count + 1
        if end > last:
            break
        args = tokens[i + 2 : end : 2]
        header = i + 1
        for arg in args:
            size = len(arg)
            if size < _CACHED:
                if tokens[header] != bulk_headers[size]:
                    break
            elif size > max_bulk or tokens[header] != b"$%d" % size:
                break
            header += 2
        else:
            commands.append(args)
            i = end
            continue
        break
    used = len(data) - sum(map(len, tokens[i:])) - 2 * (last - i)
    return commands, used


try:  # the same in C with a char pointer, several times faster (see compiled/__init__.py)
    from protocol._canonical import split_commands as _split_canonical
except ImportError:  # not built, or CASKD_PURE_PYTHON=1
    _split_canonical = _split_commands


class RequestParser:
    """Parses one client's request stream the way Redis does (see the module docstring).

    ``feed()`` it what the socket delivered, then take commands with ``get_commands()``
    (all complete ones at once, fastest) or ``get_command()`` (one at a time). A
    ``ProtocolError`` means: reply with ``str(exc)`` and close the connection, as Redis
    does; the parser is then finished and raises it again on every call.

    The limits are plain attributes, so CONFIG SET and AUTH can change them at any time:
    ``proto_max_bulk_len`` (largest argument), ``max_inline_size`` (Redis's fixed 64 KiB
    limit on a line without its end: inline request, ``*N`` or ``$len`` header) and
    ``authenticated`` (when False, Redis's pre-AUTH limits apply: at most 10 arguments,
    none over 16384 bytes).
    """

    __slots__ = (
        "_args", "_base", "_buf", "_bulk_len", "_chunks", "_done", "_error", "_missing",
        "_need", "_pos", "_ready", "_ready_from", "_received", "authenticated",
        "max_inline_size", "proto_max_bulk_len",
    )

    def __init__(self, *, proto_max_bulk_len: int = 512 * 1024 * 1024,
                 max_inline_size: int = 64 * 1024, authenticated: bool = True) -> None:
        self.proto_max_bulk_len = proto_max_bulk_len
        self.max_inline_size = max_inline_size
        self.authenticated = authenticated
        # Unread input is _buf[_pos:] followed by _chunks (fed, not yet joined).
        # Offsets named "absolute" count bytes from the start of the stream.
        self._buf = b""
        self._pos = 0
        self._base = 0  # absolute offset of _buf[0]
        self._chunks: list[bytes] = []
        self._received = 0  # absolute offset of the end of the input
        self._need = 0  # absolute offset the input must reach before parsing can progress
        self._done = 0  # absolute offset of the end of the last command handed out
        # A multibulk command being read: Redis's c->argv, c->multibulklen, c->bulklen.
        self._args: list[bytes] = []
        self._missing = 0
        self._bulk_len = -1
        self._ready: list[list[bytes]] = []  # parsed for get_command(), in reverse order
        self._ready_from = 0  # _done before the commands in _ready
        self._error: ProtocolError | None = None

    @property
    def buffered_bytes(self) -> int:
        """Bytes received but not yet handed out as (part of) a command.

        This is what Redis's client-query-buffer-limit bounds, partial arguments included.
        """
        return self._received - (self._ready_from if self._ready else self._done)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes received from the client (cheap: joined lazily, when needed)."""
        if data:
            chunk = data if type(data) is bytes else bytes(data)
            self._chunks.append(chunk)
            self._received += len(chunk)

    def get_command(self) -> list[bytes] | None:
        """The next complete command, or None until more input arrives."""
        ready = self._ready
        if not ready:
            start = self._done
            ready = self.get_commands()
            if not ready:
                return None
            ready.reverse()
            self._ready = ready
            self._ready_from = start
        return ready.pop()

    def get_commands(self) -> list[list[bytes]]:
        """Every complete command received so far, in order; [] until one is complete.

        If a protocol error follows some complete commands, those are returned and the
        error is raised by the next call: Redis, too, runs the commands before the bad
        one and answers them before the error. While not ``authenticated`` at most one
        command is returned, so that an AUTH takes effect before the next header is
        checked against the pre-AUTH limits, as it does in Redis.
        """
        if self._ready:
            commands = self._ready[::-1]
            self._ready = []
            return commands
        if self._error is not None:
            raise self._error
        if self._received < self._need:
            return []
        commands: list[list[bytes]] = []
        try:
            if (not self._missing and self.authenticated
                    and self.proto_max_bulk_len >= _CACHED):
                commands = self._fast()
                if self._pos == len(self._buf):  # all used up, the usual case
                    self._wait_for_more()
                    return commands
            while self.authenticated or not commands:
                command = self._next()
                if command is None:
                    break
                commands.append(command)
        except ProtocolError as exc:
            self._error = exc
            if not commands:
                raise
        return commands

    # ----------------------------------------------------------------- input buffer

    def _join(self) -> None:
        """Make all unread input one bytes object (no copy when it is a single read)."""
        chunks = self._chunks
        if chunks:
            buf, pos = self._buf, self._pos
            if pos < len(buf):
                chunks.insert(0, memoryview(buf)[pos:])
            self._base += pos
            self._buf = b"".join(chunks)
            self._pos = 0
            self._chunks = []

    def _read(self, size: int) -> bytes:
        """Take the next ``size`` bytes and skip the 2 after them (Redis ignores what they are).

        The caller has checked that they have arrived. An argument spread over several
        reads is joined straight from them, so even a 512 MB value is copied only once.
        """
        buf, pos = self._buf, self._pos
        if len(buf) - pos >= size + 2:
            self._pos = pos + size + 2
            return buf[pos : pos + size]
        views = [memoryview(buf)[pos:], *map(memoryview, self._chunks)]
        k = 0
        left = size
        while len(views[k]) <= left:
            left -= len(views[k])
            k += 1
        value = b"".join([*views[:k], views[k][:left]])
        self._buf = b"".join([views[k][left:], *views[k + 1 :]])
        self._base += pos + size
        self._pos = 2
        self._chunks = []
        return value

    def _wait_for_more(self) -> None:
        """All input is used: let go of the buffer (it may be large) until the next read."""
        self._base += len(self._buf)
        self._buf = b""
        self._pos = 0
        self._need = self._received + 1

    def _wait_for_line(self, pos: int, too_big: str) -> bool:
        """No complete line at ``pos`` yet: wait for one, unless it is already too long."""
        if len(self._buf) - pos > self.max_inline_size:
            raise _protocol_error(too_big)
        self._need = self._received + 1
        return False

    # ------------------------------------------------------------------- the parser

    def _fast(self) -> list[list[bytes]]:
        """The canonical multibulk commands at the head of the input (see _split_commands;
        _split_canonical is it, or the same in C)."""
        self._join()
        if self._pos:
            self._base += self._pos
            self._buf = self._buf[self._pos :]
            self._pos = 0
        commands, used = _split_canonical(self._buf, self.proto_max_bulk_len)
        if commands:
            self._pos = used
            self._done = self._base + used
        return commands

    def _next(self) -> list[bytes] | None:
        """One command by Redis's rules (processInputBuffer), or None until more input."""
        while not self._missing:
            self._join()
            buf, pos = self._buf, self._pos
            if pos == len(buf):
                self._wait_for_more()
                return None
            if buf[pos] != _STAR:
                args = self._inline(buf, pos)
                if args is None or args:
                    return args
            elif not self._multibulk_header(buf, pos):
                return None
        return self._bulks()

    def _inline(self, buf: bytes, pos: int) -> list[bytes] | None:
        """processInlineBuffer: one line split like a shell would; [] for a blank line."""
        newline = buf.find(b"\n", pos)
        if newline == -1 or buf.find(b"\0", pos, newline) != -1:
            self._wait_for_line(pos, "too big inline request")
            return None
        end = newline - 1 if newline > pos and buf[newline - 1] == _CR else newline
        args = split_args(buf[pos:end])
        if args is None:
            raise _protocol_error("unbalanced quotes in request")
        self._pos = newline + 1
        self._done = self._base + self._pos
        return args

    def _multibulk_header(self, buf: bytes, pos: int) -> bool:
        """Read ``*N``; False until the line is complete. Counts <= 0 are skipped."""
        cr = buf.find(b"\r", pos)
        if cr == -1:
            return self._wait_for_line(pos, "too big mbulk count string")
        if cr == len(buf) - 1:  # Redis wants one more byte (the LF it then skips)
            self._need = self._received + 1
            return False
        header = buf[pos:cr]
        count = _ARRAY_HEADERS.get(header)
        if count is None:
            count = string2ll(header[1:])
            if count is None or count > INT_MAX:
                if b"\0" in header:
                    return self._wait_for_line(pos, "too big mbulk count string")
                raise _protocol_error("invalid multibulk length")
        if count > UNAUTHENTICATED_MAX_ARGS and not self.authenticated:
            raise _protocol_error("unauthenticated multibulk length")
        self._pos = cr + 2
        if count > 0:
            self._missing = count
        else:
            self._done = self._base + self._pos
        return True

    def _bulk_header(self) -> bool:
        """Read ``$len`` into _bulk_len; False until the line is complete."""
        buf, pos = self._buf, self._pos
        cr = buf.find(b"\r", pos)
        if cr == -1:
            return self._wait_for_line(pos, "too big bulk count string")
        if cr == len(buf) - 1:
            self._need = self._received + 1
            return False
        header = buf[pos:cr]
        if buf[pos] != _DOLLAR:
            if b"\0" in header:
                return self._wait_for_line(pos, "too big bulk count string")
            got = buf[pos]
            shown = " " if got in (_CR, _LF) else bytes([got]).decode("utf-8", "surrogateescape")
            raise _protocol_error(f"expected '$', got '{shown}'")
        size = string2ll(header[1:])
        if size is None or not 0 <= size <= self.proto_max_bulk_len:
            if b"\0" in header:
                return self._wait_for_line(pos, "too big bulk count string")
            raise _protocol_error("invalid bulk length")
        if size > UNAUTHENTICATED_MAX_BULK and not self.authenticated:
            raise _protocol_error("unauthenticated bulk length")
        self._pos = cr + 2
        self._bulk_len = size
        return True

    def _bulks(self) -> list[bytes] | None:
        """The arguments of the current multibulk command; None until all have arrived."""
        args = self._args
        while self._missing:
            if self._bulk_len < 0:
                self._join()
                if not self._bulk_header():
                    return None
            size = self._bulk_len
            end = self._base + self._pos + size + 2
            if self._received < end:
                self._need = end
                return None
            args.append(self._read(size))
            self._bulk_len = -1
            self._missing -= 1
        self._args = []
        self._done = self._base + self._pos
        return args


# ------------------------------------------------------------------ inline commands

_BLANKS_TO_SPACE = bytes.maketrans(b"\t\r\n", b"   ")
_ISSPACE = frozenset(b" \t\n\v\f\r")  # C isspace() in the "C" locale Redis runs with
_ENDS_TOKEN = frozenset(b" \n\r\t")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_QUOTE, _APOSTROPHE, _BACKSLASH = 34, 39, 92


def split_args(line: bytes) -> list[bytes] | None:
    """Redis's sdssplitargs(): split a line into arguments; None if quotes are unbalanced.

    Blanks separate arguments; "double quotes" take \\n \\r \\t \\b \\a \\xHH and
    \\<any> escapes, 'single quotes' only \\'; a closing quote must be followed by a
    blank or the end. As in C, the line ends at a NUL byte.
    """
    line = line.split(b"\0", 1)[0]
    if b'"' in line or b"'" in line:
        return _split_quoted(line)
    # Tokens end at space, tab, CR or LF; leading \v and \f are skipped as blanks too.
    tokens = (token.lstrip(b"\v\f") for token in line.translate(_BLANKS_TO_SPACE).split(b" "))
    return [token for token in tokens if token]


def _split_quoted(line: bytes) -> list[bytes] | None:
    """The character loop of sdssplitargs(), for lines with quotes in them."""
    n = len(line)

    def at(k: int) -> int:  # the byte at k, or the C string's terminating NUL
        return line[k] if k < n else 0

    args = []
    i = 0
    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n:  # past the end after a token that ended the line
            return args
        token = bytearray()
        quote = 0
        while True:
            c = at(i)
            if quote == _QUOTE:
                if c == _BACKSLASH and at(i + 1) == 0x78 and at(i + 2) in _HEX_DIGITS \
                        and at(i + 3) in _HEX_DIGITS:
                    token.append(int(line[i + 2 : i + 4], 16))
                    i += 4
                    continue
                if c == _BACKSLASH and at(i + 1):
                    i += 1
                    c = _ESCAPES.get(line[i], line[i])
                elif c == _QUOTE:
                    if at(i + 1) and at(i + 1) not in _ISSPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
            elif quote == _APOSTROPHE:
                if c == _BACKSLASH and at(i + 1) == _APOSTROPHE:
                    i += 1
                    c = _APOSTROPHE
                elif c == _APOSTROPHE:
                    if at(i + 1) and at(i + 1) not in _ISSPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
            elif c in _ENDS_TOKEN or not c:
                i += 1
                break
            elif c in (_QUOTE, _APOSTROPHE):
                quote = c
                i += 1
                continue
            token.append(c)
            i += 1
        args.append(bytes(token))
