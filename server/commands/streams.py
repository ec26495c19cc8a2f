"""Stream commands, as Redis 7.0's t_stream.c: XADD, XRANGE, XREAD, consumer groups.

A stream lives in memory (storage.streams.Stream); each handler parses its
arguments, works out the effect from the stream as it is, and has the engine log
that effect (an entry with its id, a count of entries trimmed, the deliveries
made) so that replay needs no clock. A command that makes several changes makes
them in one batch: all or nothing after a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from protocol.numbers import LLONG_MAX, ULLONG_RANGE, string2ll
from protocol.reply import OK, NullArray
from server.blocking import Blocked
from server.commands.objects import read_key, write_key
from server.errors import (
    NO_SUCH_KEY,
    SYNTAX,
    WRONGTYPE,
    CommandError,
    bad_subcommand_usage,
    c_text,
    parse_int,
    wrong_arity,
)
from server.replies import help_reply
from storage.datatypes import ENCODING, Op
from storage.engine import now_ms
from storage.streams import (
    MAX_ID,
    NO_ENTRIES_READ,
    SEQ_MASK,
    Group,
    Stream,
    format_id,
    pack_delivery,
    pack_id,
)

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
BAD_START = "ERR invalid start ID for the interval"
BAD_END = "ERR invalid end ID for the interval"
TOO_LARGE = "ERR Elements are too large to be stored"
MAX_ELEMENTS = 1 << 30  # STREAM_LISTPACK_MAX_SIZE
BLOCKED_DEFAULT_COUNT = 1000  # XREAD_BLOCKED_DEFAULT_COUNT
_STRTOULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(\d+)")


# ------------------------------------------------------------------ ids


def _string2ull(text: bytes) -> int | None:
    """Redis's string2ull: a strict decimal long long that is not negative, else what
    strtoull reads whole (leading spaces, a sign: " -1" wraps to 2**64 - 1)."""
    strict = string2ll(text)
    if strict is not None:
        return strict if strict >= 0 else None
    match = _STRTOULL.fullmatch(text)
    if match is None or int(match[2]) >= ULLONG_RANGE:
        return None
    value = int(match[2])
    return -value % ULLONG_RANGE if match[1] == b"-" else value


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False,
             star_seq: bool = False) -> tuple[int, bool]:
    """streamGenericParseIDOrReply: (id, whether the sequence was given). ``strict``
    refuses "-" and "+"; ``star_seq`` allows XADD's "<ms>-*"."""
    if len(arg) > 127 or (strict and arg in (b"-", b"+")):
        raise CommandError(INVALID_ID)
    if arg == b"-":
        return 0, True
    if arg == b"+":
        return MAX_ID, True
    ms_text, dash, seq_text = arg.partition(b"-")
    ms = _string2ull(ms_text)
    if ms is None:
        raise CommandError(INVALID_ID)
    if not dash:
        return ms << 64 | missing_seq, True
    if star_seq and seq_text == b"*":
        return ms << 64, False
    seq = _string2ull(seq_text)
    if seq is None:
        raise CommandError(INVALID_ID)
    return ms << 64 | seq, True


def parse_strict_id(arg: bytes) -> int:
    return parse_id(arg, strict=True)[0]


def parse_interval(arg: bytes, missing_seq: int, error: str, step: int) -> int:
    """streamParseIntervalIDOrReply: "(" makes the bound exclusive (``step`` moves
    it: +1 for a start, -1 for an end)."""
    if len(arg) > 1 and arg[:1] == b"(":
        stream_id = parse_id(arg[1:], missing_seq, strict=True)[0]
        stream_id += step
        if not 0 <= stream_id <= MAX_ID:
            raise CommandError(error)
        return stream_id
    return parse_id(arg, missing_seq)[0]


def keys_after_streams(start: int) -> Callable[[list[bytes]], list[int]]:
    """XREAD's (``start`` 1) and XREADGROUP's (4) keys, as their key specs find them:
    the first half of what follows the first STREAMS from ``start`` on."""

    def positions(argv: list[bytes]) -> list[int]:
        for index in range(start, len(argv)):
            if argv[index].upper() == b"STREAMS":
                count = (len(argv) - index - 1) // 2
                return list(range(index + 1, index + 1 + count))
        return []

    return positions


def entry_reply(stream_id: int, fields: tuple) -> list:
    return [format_id(stream_id), fields]


# ------------------------------------------------------------------ XADD / XTRIM


@dataclass
class TrimArgs:
    """streamAddTrimArgs: the options XADD and XTRIM share."""

    maxlen: int | None = None  # MAXLEN (None: none or MINID)
    minid: int | None = None
    approx: bool = False
    limit: int = 0
    no_mkstream: bool = False
    id: int | None = None  # XADD's id, None for "*"
    seq_given: bool = True
    id_index: int = 0

    @property
    def trims(self) -> bool:
        return self.maxlen is not None or self.minid is not None


def _parse_trim_args(argv: list[bytes], xadd: bool) -> TrimArgs:
    """streamParseAddOrTrimArgsOrReply."""
    args = TrimArgs()
    limit_given = False
    i = 2
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].upper()
        if xadd and argv[i] == b"*":
            break
        if option in (b"MAXLEN", b"MINID") and more:
            if args.trims:
                raise CommandError("ERR syntax error, MAXLEN and MINID options at the same "
                                   "time are not compatible")
            args.approx = False
            if more >= 2 and argv[i + 1] in (b"~", b"="):
                args.approx = argv[i + 1] == b"~"
                i += 1
            if option == b"MAXLEN":
                args.maxlen = parse_int(argv[i + 1])
                if args.maxlen < 0:
                    raise CommandError("ERR The MAXLEN argument must be >= 0.")
            else:
                args.minid = parse_id(argv[i + 1], strict=True)[0]
            i += 1
        elif option == b"LIMIT" and more:
            args.limit = parse_int(argv[i + 1])
            if args.limit < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and option == b"NOMKSTREAM":
            args.no_mkstream = True
        elif xadd:
            args.id, args.seq_given = parse_id(argv[i], strict=True, star_seq=True)
            break
        else:
            raise CommandError(SYNTAX)
        i += 1
    args.id_index = i
    if args.limit and not args.trims:
        raise CommandError("ERR syntax error, LIMIT cannot be used without specifying a "
                           "trimming strategy")
    if not xadd and not args.trims:
        raise CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if limit_given:
        if not args.approx:
            raise CommandError("ERR syntax error, LIMIT cannot be used without the special ~ "
                               "option")
    elif args.approx:  # at most 100 nodes' worth, within bounds
        args.limit = 100 * ENCODING.stream_node_entries
        if args.limit <= 0:
            args.limit = 10_000
        args.limit = min(args.limit, 1_000_000)
    return args


def _trim(client, key: bytes, stream: Stream, args: TrimArgs) -> int:
    """Trim as ``args`` say; the number of entries removed."""
    removed = stream.trim_amount(args.maxlen, args.minid or 0, args.approx, args.limit)
    if removed:
        client.engine.apply(client.db, key, Op.XTRIM, [b"%d" % removed], event="xtrim")
    return removed


def _next_id(stream: Stream | None, args: TrimArgs) -> int | None:
    """The id streamAppendItem gives the new entry, None if it would not grow."""
    last = stream.last_id if stream is not None else 0
    if args.id is None:
        ms = now_ms()
        new = ms << 64 if ms > last >> 64 else last + 1
    elif args.seq_given:
        new = args.id
    elif last >> 64 == args.id >> 64:
        if last & SEQ_MASK == SEQ_MASK:
            # streamAppendItem fails here without setting errno, so xaddCommand
            # reports its other error
            raise CommandError(TOO_LARGE)
        new = last + 1
    else:
        new = args.id
    return new if last < new <= MAX_ID else None


def xadd(client, argv: list[bytes]):
    """XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value …"""
    args = _parse_trim_args(argv, xadd=True)
    fields = argv[args.id_index + 1:]
    if len(fields) < 2 or len(fields) % 2:
        raise CommandError(wrong_arity("xadd"))
    if args.id == 0 and args.seq_given:
        raise CommandError("ERR The ID specified in XADD must be greater than 0-0")
    key = argv[1]
    stream = write_key(client, key, Stream)
    if stream is None and args.no_mkstream:
        return None
    if stream is not None and stream.last_id == MAX_ID:
        raise CommandError("ERR The stream has exhausted the last possible ID, unable to add "
                           "more items")
    new_id = _next_id(stream, args)
    if new_id is None:
        raise CommandError("ERR The ID specified in XADD is equal or smaller than the target "
                           "stream top item")
    if sum(map(len, fields)) > MAX_ELEMENTS:
        raise CommandError(TOO_LARGE)
    engine = client.engine
    if not args.trims:
        engine.apply(client.db, key, Op.XADD, [pack_id(new_id), *fields])
        return format_id(new_id)
    with engine.batch():  # the entry and the trim: all or nothing
        engine.apply(client.db, key, Op.XADD, [pack_id(new_id), *fields])
        _trim(client, key, engine.get_object(client.db, key), args)
    return format_id(new_id)


def xtrim(client, argv: list[bytes]):
    """XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]"""
    args = _parse_trim_args(argv, xadd=False)
    stream = write_key(client, argv[1], Stream)
    if stream is None:
        return 0
    return _trim(client, argv[1], stream, args)


def xdel(client, argv: list[bytes]):
    """XDEL key id [id ...]"""
    stream = write_key(client, argv[1], Stream)
    if stream is None:
        return 0
    ids = [parse_strict_id(arg) for arg in argv[2:]]
    present = [pack_id(stream_id) for stream_id in dict.fromkeys(ids)
               if stream_id in stream.entries]
    if not present:
        return 0
    return client.engine.apply(client.db, argv[1], Op.XDEL, present, event="xdel")


def xsetid(client, argv: list[bytes]):
    """XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]"""
    last_id = parse_strict_id(argv[2])
    entries_added, max_deleted = -1, 0
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if option == b"ENTRIESADDED" and i + 1 < len(argv):
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                raise CommandError("ERR entries_added must be positive")
        elif option == b"MAXDELETEDID" and i + 1 < len(argv):
            max_deleted = parse_strict_id(argv[i + 1])
            if last_id < max_deleted:
                raise CommandError("ERR The ID specified in XSETID is smaller than the "
                                   "provided max_deleted_entry_id")
        else:
            raise CommandError(SYNTAX)
        i += 2
    stream = write_key(client, argv[1], Stream)
    if stream is None:
        raise CommandError(NO_SUCH_KEY)
    if stream.entries:
        if last_id < stream.top_id:
            raise CommandError("ERR The ID specified in XSETID is smaller than the target "
                               "stream top item")
        if entries_added != -1 and len(stream) > entries_added:
            raise CommandError("ERR The entries_added specified in XSETID is smaller than "
                               "the target stream length")
    client.engine.apply(client.db, argv[1], Op.XSETID, [
        pack_id(last_id),
        b"%d" % (stream.entries_added if entries_added == -1 else entries_added),
        pack_id(max_deleted or stream.max_deleted)], event="xsetid")
    return OK


# ------------------------------------------------------------------ reading


def xlen(client, argv: list[bytes]):
    stream = read_key(client, argv[1], Stream)
    return 0 if stream is None else len(stream)


def _range(client, argv: list[bytes], reverse: bool):
    """XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n]."""
    start_arg, end_arg = (argv[3], argv[2]) if reverse else (argv[2], argv[3])
    start = parse_interval(start_arg, 0, BAD_START, 1)
    end = parse_interval(end_arg, SEQ_MASK, BAD_END, -1)
    count = -1
    i = 4
    while i < len(argv):
        if argv[i].upper() == b"COUNT" and i + 1 < len(argv):
            count = max(parse_int(argv[i + 1]), 0)
            i += 2
        else:
            raise CommandError(SYNTAX)
    stream = read_key(client, argv[1], Stream)
    if stream is None:
        return []
    if count == 0:
        return NullArray
    found = []
    for stream_id, fields in stream.range(start, end, reverse):
        found.append(entry_reply(stream_id, fields))
        if len(found) == count:
            break
    return found


def xrange(client, argv: list[bytes]):
    return _range(client, argv, reverse=False)


def xrevrange(client, argv: list[bytes]):
    return _range(client, argv, reverse=True)


@dataclass
class ReadArgs:
    """XREAD / XREADGROUP's arguments (xreadCommand)."""

    keys: list[bytes]
    ids: list[bytes]
    count: int = 0
    block_ms: int | None = None
    group: bytes | None = None
    consumer: bytes = b""
    noack: bool = False
    streams_index: int = 0


def _parse_read(argv: list[bytes], with_group: bool, in_script: bool) -> ReadArgs:
    count, block_ms, group, consumer, noack = 0, None, None, b"", False
    i = 1
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].upper()
        if option == b"BLOCK" and more:
            if in_script:  # Redis refuses it outright, rather than answer as on a timeout
                raise CommandError(f"ERR {c_text(argv[0])} command is not allowed with "
                                   f"BLOCK option from scripts")
            block_ms = parse_int(argv[i + 1], "ERR timeout is not an integer or out of range")
            if block_ms < 0:
                raise CommandError("ERR timeout is negative")
            i += 2
        elif option == b"COUNT" and more:
            count = max(parse_int(argv[i + 1]), 0)
            i += 2
        elif option == b"STREAMS" and more:
            rest = argv[i + 1:]
            if len(rest) % 2:
                raise CommandError("ERR Unbalanced XREAD list of streams: for each stream key "
                                   "an ID or '$' must be specified.")
            half = len(rest) // 2
            if with_group and group is None:
                raise CommandError("ERR Missing GROUP option for XREADGROUP")
            return ReadArgs(rest[:half], rest[half:], count, block_ms, group, consumer, noack,
                            i + 1)
        elif option == b"GROUP" and more >= 2:
            if not with_group:
                raise CommandError("ERR The GROUP option is only supported by XREADGROUP. You "
                                   "called XREAD instead.")
            group, consumer = argv[i + 1], argv[i + 2]
            i += 3
        elif option == b"NOACK":
            if not with_group:
                raise CommandError("ERR The NOACK option is only supported by XREADGROUP. "
                                   "You called XREAD instead.")
            noack = True
            i += 1
        else:
            raise CommandError(SYNTAX)
    raise CommandError(SYNTAX)


def _read(client, argv: list[bytes], with_group: bool):
    """xreadCommand: what each stream has past its id, else wait (BLOCK)."""
    running = client.server.scripting.running
    args = _parse_read(argv, with_group, running is not None and running.session is client)
    retry = client.blocked is not None  # run again for a waiter: see server/blocking.py
    streams: list[Stream | None] = []
    after: list[int] = []  # MAX_ID: XREADGROUP's ">"
    for key, id_arg in zip(args.keys, args.ids, strict=True):
        stream = client.engine.get_object(client.db, key)
        client.server.count_lookup(stream is not None)
        if stream is not None and type(stream) is not Stream:
            if retry and not with_group:
                stream = None  # Redis serves a waiter only from a stream: it waits on
            elif retry:
                raise CommandError("UNBLOCKED the stream key no longer exists")
            else:
                raise CommandError(WRONGTYPE)
        if args.group is not None:
            if retry and stream is None:
                raise CommandError("UNBLOCKED the stream key no longer exists")
            if stream is None or args.group not in stream.groups:
                if retry:
                    raise CommandError("NOGROUP the consumer group this client was blocked "
                                       "on no longer exists")
                raise CommandError(f"NOGROUP No such key '{c_text(key)}' or consumer group "
                                   f"'{c_text(args.group)}' in XREADGROUP with GROUP option")
        streams.append(stream)
        if id_arg == b"$":
            if with_group:
                raise CommandError("ERR The $ ID is meaningless in the context of XREADGROUP: "
                                   "you want to read the history of this consumer by "
                                   "specifying a proper ID, or use the > ID to get new "
                                   "messages. The $ ID would just return an empty result set.")
            after.append(stream.last_id if stream is not None else 0)
        elif id_arg == b">":
            if not with_group:
                raise CommandError("ERR The > ID can be specified only when calling "
                                   "XREADGROUP using the GROUP <group> <consumer> option.")
            after.append(MAX_ID)
        else:
            after.append(parse_strict_id(id_arg))
    count = args.count or (BLOCKED_DEFAULT_COUNT if retry else 0)
    served = []
    engine = client.engine
    # one batch for a group's deliveries from several streams (one needs none)
    with engine.batch() if args.group is not None and len(args.keys) > 1 else nullcontext():
        for key, stream, gt in zip(args.keys, streams, after, strict=True):
            if not retry:  # xreadCommand looks each key up again, and counts it again
                client.server.count_lookup(stream is not None)
            if stream is None:
                continue
            if args.group is None:
                if stream.top_id > gt:
                    served.append((key, _entries_after(stream, gt, count)))
            elif gt != MAX_ID:
                served.append((key, _read_history(client, key, stream, args, gt, count)))
            else:
                group = stream.groups[args.group]
                if stream.top_id > group.last_id:
                    served.append((key, _read_new(client, key, stream, group, args, count)))
    if served:
        return dict(served) if client.resp3 else [list(pair) for pair in served]
    if args.block_ms is None or client.in_exec:
        return NullArray  # a transaction never waits: it answers as on a timeout
    waiting = list(argv)
    for offset, gt in enumerate(after):  # "$" means the last id when it blocked
        if args.ids[offset] == b"$":
            waiting[args.streams_index + len(args.keys) + offset] = format_id(gt)
    raise Blocked(args.keys, Stream, args.block_ms / 1000, argv=waiting, any_change=True)


def _entries_after(stream: Stream, gt: int, count: int) -> list:
    found = []
    for stream_id, fields in stream.range(gt + 1, MAX_ID):
        found.append(entry_reply(stream_id, fields))
        if len(found) == count:
            break
    return found


def _consumer_event(group: Group, name: bytes) -> str | None:
    """XDELIVER's event: Redis announces only a consumer it had to create."""
    return None if name in group.consumers else "xgroup-createconsumer"


def _read_new(client, key: bytes, stream: Stream, group: Group, args: ReadArgs,
              count: int) -> list:
    """XREADGROUP ">": entries past the group's last id, delivered to the consumer."""
    now = now_ms()
    found, deliveries = [], []
    last_id, entries_read = group.last_id, group.entries_read
    for stream_id, fields in stream.range(group.last_id + 1, MAX_ID):
        last_id, entries_read = stream.advanced(last_id, entries_read, stream_id)
        found.append(entry_reply(stream_id, fields))
        if not args.noack:
            deliveries.append(pack_delivery(stream_id, now, 1))
        if len(found) == count:
            break
    client.engine.apply(client.db, key, Op.XDELIVER, [
        args.group, args.consumer, b"%d" % now, pack_id(last_id), b"%d" % entries_read,
        *deliveries], event=_consumer_event(group, args.consumer))
    return found


def _read_history(client, key: bytes, stream: Stream, args: ReadArgs, gt: int,
                  count: int) -> list:
    """XREADGROUP with an id: the consumer's own pending entries past it (an entry
    deleted since comes as [id, nil]); each one's delivery count goes up."""
    group = stream.groups[args.group]
    consumer = group.consumers.get(args.consumer)
    now = now_ms()
    found, deliveries = [], []
    if consumer is not None:
        for stream_id in consumer.pending.irange(gt + 1):  # gt < MAX_ID, which means ">"
            fields = stream.entries.get(stream_id)
            if fields is None:
                found.append([format_id(stream_id), NullArray])
            else:
                found.append(entry_reply(stream_id, fields))
                deliveries.append(pack_delivery(stream_id, now, group.pel[stream_id].count + 1))
            if len(found) == count:
                break
    client.engine.apply(client.db, key, Op.XDELIVER, [
        args.group, args.consumer, b"%d" % now, b"", b"", *deliveries],
        event=_consumer_event(group, args.consumer))
    return found


def xread(client, argv: list[bytes]):
    """XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]"""
    return _read(client, argv, with_group=False)


def xreadgroup(client, argv: list[bytes]):
    """XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key … id …"""
    return _read(client, argv, with_group=True)


# ------------------------------------------------------------------ consumer groups


def _group_or_error(client, key: bytes, group_name: bytes, message: str) -> tuple[Stream, Group]:
    stream = read_key(client, key, Stream)
    group = None if stream is None else stream.groups.get(group_name)
    if group is None:
        raise CommandError(message)
    return stream, group


def _nogroup(key: bytes, group: bytes) -> str:
    return f"NOGROUP No such key '{c_text(key)}' or consumer group '{c_text(group)}'"


def _parse_entries_read(argv: list[bytes], create: bool) -> tuple[bool, int]:
    """XGROUP CREATE / SETID's options from argv[5]: (MKSTREAM, ENTRIESREAD)."""
    mkstream, entries_read = False, NO_ENTRIES_READ
    i = 5
    while i < len(argv):
        option = argv[i].upper()
        if create and option == b"MKSTREAM":
            mkstream = True
            i += 1
        elif option == b"ENTRIESREAD" and i + 1 < len(argv):
            entries_read = parse_int(argv[i + 1])
            if entries_read < 0 and entries_read != NO_ENTRIES_READ:
                raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
            i += 2
        else:
            raise bad_subcommand_usage("xgroup", argv[1])
    return mkstream, entries_read


def _group_target(client, argv: list[bytes], mkstream: bool = False,
                  need_group: bool = True) -> tuple[Stream | None, Group | None]:
    """The stream and group an XGROUP subcommand works on, with its errors."""
    stream = write_key(client, argv[2], Stream)
    if stream is None:
        if mkstream:
            return None, None
        raise CommandError("ERR The XGROUP subcommand requires the key to exist. Note that "
                           "for CREATE you may want to use the MKSTREAM option to create an "
                           "empty stream automatically.")
    group = stream.groups.get(argv[3])
    if group is None and need_group:
        raise CommandError(f"NOGROUP No such consumer group '{c_text(argv[3])}' for key name "
                           f"'{c_text(argv[2])}'")
    return stream, group


def xgroup_create(client, argv: list[bytes]):
    """XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]"""
    mkstream, entries_read = _parse_entries_read(argv, create=True)
    stream, group = _group_target(client, argv, mkstream, need_group=False)
    if len(argv) > 8:
        raise bad_subcommand_usage("xgroup", argv[1])
    if argv[4] == b"$":
        last_id = stream.last_id if stream is not None else 0
    else:
        last_id = parse_strict_id(argv[4])
    if group is not None:
        raise CommandError("BUSYGROUP Consumer Group name already exists")
    client.engine.apply(client.db, argv[2], Op.XGROUPSET,
                        [argv[3], pack_id(last_id), b"%d" % entries_read],
                        event="xgroup-create")
    return OK


def xgroup_setid(client, argv: list[bytes]):
    """XGROUP SETID key group id|$ [ENTRIESREAD entries-read]"""
    _, entries_read = _parse_entries_read(argv, create=False)
    stream, _ = _group_target(client, argv)
    if len(argv) not in (5, 7):
        raise bad_subcommand_usage("xgroup", argv[1])
    last_id = stream.last_id if argv[4] == b"$" else parse_id(argv[4])[0]
    client.engine.apply(client.db, argv[2], Op.XGROUPSET,
                        [argv[3], pack_id(last_id), b"%d" % entries_read],
                        event="xgroup-setid")
    return OK


def xgroup_destroy(client, argv: list[bytes]):
    """XGROUP DESTROY key group: a waiting XREADGROUP of it gets -NOGROUP."""
    _, group = _group_target(client, argv, need_group=False)
    if group is None:
        return 0
    return client.engine.apply(client.db, argv[2], Op.XGROUPDEL, [argv[3]])


def xgroup_createconsumer(client, argv: list[bytes]):
    """XGROUP CREATECONSUMER key group consumer"""
    _, group = _group_target(client, argv)
    if argv[4] in group.consumers:
        return 0
    client.engine.apply(client.db, argv[2], Op.XDELIVER,
                        [argv[3], argv[4], b"%d" % now_ms(), b"", b""],
                        event="xgroup-createconsumer")
    return 1


def xgroup_delconsumer(client, argv: list[bytes]):
    """XGROUP DELCONSUMER key group consumer: how many entries it had pending."""
    _, group = _group_target(client, argv)
    if argv[4] not in group.consumers:
        return 0
    return client.engine.apply(client.db, argv[2], Op.XDELCONSUMER, [argv[3], argv[4]])


def xgroup_help(client, argv: list[bytes]):
    return help_reply("XGROUP", XGROUP_HELP)


def xinfo_help(client, argv: list[bytes]):
    return help_reply("XINFO", XINFO_HELP)


XGROUP_HELP = (
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
)

XINFO_HELP = (
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
)


def xack(client, argv: list[bytes]):
    """XACK key group id [id ...]: how many were pending."""
    stream = read_key(client, argv[1], Stream)
    group = None if stream is None else stream.groups.get(argv[2])
    if group is None:
        return 0
    ids = [parse_strict_id(arg) for arg in argv[3:]]
    pending = [pack_id(stream_id) for stream_id in dict.fromkeys(ids) if stream_id in group.pel]
    if not pending:
        return 0
    return client.engine.apply(client.db, argv[1], Op.XACK, [argv[2], *pending])


def xpending(client, argv: list[bytes]):
    """XPENDING key group [[IDLE min-idle-time] start end count [consumer]]"""
    if len(argv) != 3 and not 6 <= len(argv) <= 9:
        raise CommandError(SYNTAX)
    min_idle, consumer_name = 0, None
    if len(argv) >= 6:
        first = 3
        if argv[3].upper() == b"IDLE":
            min_idle = parse_int(argv[4])
            if len(argv) < 8:
                raise CommandError(SYNTAX)
            first = 5
        count = max(parse_int(argv[first + 2]), 0)
        start = parse_interval(argv[first], 0, BAD_START, 1)
        end = parse_interval(argv[first + 1], SEQ_MASK, BAD_END, -1)
        if first + 3 < len(argv):
            consumer_name = argv[first + 3]
    _, group = _group_or_error(client, argv[1], argv[2], _nogroup(argv[1], argv[2]))
    if len(argv) == 3:
        if not group.pel:
            return [0, None, None, NullArray]
        owners = sorted((name, consumer) for name, consumer in group.consumers.items()
                        if consumer.pending)
        return [len(group.pel), format_id(group.pel.keys()[0]), format_id(group.pel.keys()[-1]),
                [[name, b"%d" % len(consumer.pending)] for name, consumer in owners]]
    ids = group.pel.irange(start, end)
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        ids = consumer.pending.irange(start, end)
    now = now_ms()
    found = []
    for stream_id in ids:
        if not count:
            break
        pending = group.pel[stream_id]
        if min_idle and now - pending.time < min_idle:
            continue
        count -= 1
        found.append([format_id(stream_id), pending.consumer.name, max(now - pending.time, 0),
                      pending.count])
    return found


def _parse_claim_options(argv: list[bytes], first: int, now: int) -> dict:
    """XCLAIM's options after its ids (from ``first``)."""
    options = {"force": False, "justid": False, "time": -1, "retrycount": -1, "lastid": 0}
    j = first
    while j < len(argv):
        more = len(argv) - 1 - j
        option = argv[j].upper()
        if option in (b"FORCE", b"JUSTID"):
            options[option.decode().lower()] = True
        elif option == b"IDLE" and more:
            j += 1
            options["time"] = now - parse_int(argv[j], "ERR Invalid IDLE option argument for "
                                                       "XCLAIM")
        elif option == b"TIME" and more:
            j += 1
            options["time"] = parse_int(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif option == b"RETRYCOUNT" and more:
            j += 1
            options["retrycount"] = parse_int(argv[j], "ERR Invalid RETRYCOUNT option argument "
                                                       "for XCLAIM")
        elif option == b"LASTID" and more:
            j += 1
            options["lastid"] = parse_strict_id(argv[j])
        else:
            raise CommandError(f"ERR Unrecognized XCLAIM option '{c_text(argv[j])}'")
        j += 1
    return options


def _claim_log(client, key: bytes, group_name: bytes, consumer: bytes, now: int,
               deliveries: dict[int, tuple[int, int]], gone: list[int], group: Group,
               last_id: int | None) -> None:
    """Log what XCLAIM / XAUTOCLAIM did, all or nothing: entries gone from the stream
    leave the PEL, the claimed ones are the consumer's (created if need be), the
    group's last id moves (LASTID)."""
    engine, db = client.engine, client.db
    with engine.batch():
        if gone:
            engine.apply(db, key, Op.XACK, [group_name, *map(pack_id, gone)])
        if deliveries:
            event = "xgroup-createconsumer" if consumer not in group.consumers else None
            engine.apply(db, key, Op.XDELIVER, [
                group_name, consumer, b"%d" % now,
                b"" if last_id is None else pack_id(last_id), b"",
                *(pack_delivery(stream_id, time, count)
                  for stream_id, (time, count) in deliveries.items())], event=event)
        elif last_id is not None:
            engine.apply(db, key, Op.XGROUPSET,
                         [group_name, pack_id(last_id), b"%d" % group.entries_read],
                         event="xgroup-setid")


def xclaim(client, argv: list[bytes]):
    """XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms-unix-time]
    [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]"""
    stream, group = _group_or_error(client, argv[1], argv[2], _nogroup(argv[1], argv[2]))
    min_idle = max(parse_int(argv[4], "ERR Invalid min-idle-time argument for XCLAIM"), 0)
    ids = []
    j = 5
    while j < len(argv):
        try:
            ids.append(parse_strict_id(argv[j]))
        except CommandError:
            break
        j += 1
    now = now_ms()
    options = _parse_claim_options(argv, j, now)
    last_id = options["lastid"] if options["lastid"] > group.last_id else None
    delivery_time = options["time"]
    if not 0 <= delivery_time <= now:
        delivery_time = now
    claimed: dict[int, tuple[int, int]] = {}  # id -> (time, count), as this command left it
    gone: list[int] = []
    found = []
    for stream_id in ids:
        pending = group.pel.get(stream_id)
        if stream_id not in stream.entries:  # its pending entry (if any) goes
            if pending is not None and stream_id not in gone:
                gone.append(stream_id)
            continue
        if stream_id in claimed or pending is not None:
            time, count = claimed.get(stream_id) or (pending.time, pending.count)
            if min_idle and now - time < min_idle:
                continue
        elif options["force"]:
            count = 0  # a pending entry FORCE creates: no idle time to honour
        else:
            continue
        if options["retrycount"] >= 0:
            count = options["retrycount"]
        elif not options["justid"]:
            count += 1
        claimed[stream_id] = (delivery_time, count)
        found.append(format_id(stream_id) if options["justid"]
                     else entry_reply(stream_id, stream.entries[stream_id]))
    _claim_log(client, argv[1], argv[2], argv[3], now, claimed, gone, group, last_id)
    return found


def xautoclaim(client, argv: list[bytes]):
    """XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]"""
    min_idle = max(parse_int(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"), 0)
    start = parse_interval(argv[5], 0, BAD_START, 1)
    count, justid = 100, False
    j = 6
    while j < len(argv):
        option = argv[j].upper()
        if option == b"COUNT" and j + 1 < len(argv):
            count = parse_int(argv[j + 1], "ERR COUNT must be > 0")
            if not 1 <= count <= LLONG_MAX // 16:
                raise CommandError("ERR COUNT must be > 0")
            j += 1
        elif option == b"JUSTID":
            justid = True
        else:
            raise CommandError(SYNTAX)
        j += 1
    stream, group = _group_or_error(client, argv[1], argv[2], _nogroup(argv[1], argv[2]))
    attempts = count * 10
    now = now_ms()
    candidates = group.pel.irange(start)
    claimed: dict[int, tuple[int, int]] = {}
    gone: list[int] = []
    found = []
    cursor = 0
    for stream_id in candidates:
        if not attempts or not count:
            cursor = stream_id
            break
        attempts -= 1
        if stream_id not in stream.entries:
            gone.append(stream_id)
            count -= 1
            continue
        pending = group.pel[stream_id]
        if min_idle and now - pending.time < min_idle:
            continue
        claimed[stream_id] = (now, pending.count + (not justid))
        found.append(format_id(stream_id) if justid
                     else entry_reply(stream_id, stream.entries[stream_id]))
        count -= 1
    _claim_log(client, argv[1], argv[2], argv[3], now, claimed, gone, group, None)
    return [format_id(cursor), found, [format_id(stream_id) for stream_id in gone]]


# ------------------------------------------------------------------ XINFO


def _stream_or_error(client, key: bytes) -> Stream:
    stream = read_key(client, key, Stream)
    if stream is None:
        raise CommandError(NO_SUCH_KEY)
    return stream


def _first_last(stream: Stream, reverse: bool):
    for stream_id, fields in stream.range(0, MAX_ID, reverse):
        return entry_reply(stream_id, fields)
    return None


def _stream_head(stream: Stream) -> dict:
    return {
        b"length": len(stream),
        b"radix-tree-keys": len(stream.nodes),
        b"radix-tree-nodes": stream.radix_tree_nodes(),
        b"last-generated-id": format_id(stream.last_id),
        b"max-deleted-entry-id": format_id(stream.max_deleted),
        b"entries-added": stream.entries_added,
        b"recorded-first-entry-id": format_id(stream.first_id),
    }


def _entries_read(group: Group) -> int | None:
    return None if group.entries_read == NO_ENTRIES_READ else group.entries_read


def xinfo_stream(client, argv: list[bytes]):
    """XINFO STREAM key [FULL [COUNT count]]"""
    stream = _stream_or_error(client, argv[2])
    options = argv[3:]
    full, count = bool(options), 10
    if options:
        if len(options) not in (1, 3) or options[0].upper() != b"FULL":
            raise bad_subcommand_usage("xinfo", argv[1])
        if len(options) == 3:
            if options[1].upper() != b"COUNT":
                raise bad_subcommand_usage("xinfo", argv[1])
            count = parse_int(options[2])
            if count < 0:
                count = 10
    info = _stream_head(stream)
    if not full:
        info[b"groups"] = len(stream.groups)
        info[b"first-entry"] = _first_last(stream, False)
        info[b"last-entry"] = _first_last(stream, True)
        return info
    entries = []
    for stream_id, fields in stream.range(0, MAX_ID):
        if count and len(entries) == count:
            break
        entries.append(entry_reply(stream_id, fields))
    info[b"entries"] = entries
    info[b"groups"] = [_full_group(stream, name, group, count)
                       for name, group in sorted(stream.groups.items())]
    return info


def _full_group(stream: Stream, name: bytes, group: Group, count: int) -> dict:
    pel = group.pel
    pending = [[format_id(stream_id), pel[stream_id].consumer.name, pel[stream_id].time,
                pel[stream_id].count] for stream_id in _limited(pel.keys(), count)]
    consumers = []
    for consumer_name, consumer in sorted(group.consumers.items()):
        consumers.append({
            b"name": consumer_name,
            b"seen-time": consumer.seen_time,
            b"pel-count": len(consumer.pending),
            b"pending": [[format_id(stream_id), pel[stream_id].time, pel[stream_id].count]
                         for stream_id in _limited(consumer.pending, count)],
        })
    return {
        b"name": name,
        b"last-delivered-id": format_id(group.last_id),
        b"entries-read": _entries_read(group),
        b"lag": stream.lag(group),
        b"pel-count": len(pel),
        b"pending": pending,
        b"consumers": consumers,
    }


def _limited(ids, count: int) -> list:
    return list(ids[:count] if count else ids)


def xinfo_groups(client, argv: list[bytes]):
    """XINFO GROUPS key"""
    stream = _stream_or_error(client, argv[2])
    return [{
        b"name": name,
        b"consumers": len(group.consumers),
        b"pending": len(group.pel),
        b"last-delivered-id": format_id(group.last_id),
        b"entries-read": _entries_read(group),
        b"lag": stream.lag(group),
    } for name, group in sorted(stream.groups.items())]


def xinfo_consumers(client, argv: list[bytes]):
    """XINFO CONSUMERS key group"""
    stream = _stream_or_error(client, argv[2])
    group = stream.groups.get(argv[3])
    if group is None:
        raise CommandError(f"NOGROUP No such consumer group '{c_text(argv[3])}' for key name "
                           f"'{c_text(argv[2])}'")
    now = now_ms()
    return [{b"name": name, b"pending": len(consumer.pending),
             b"idle": max(now - consumer.seen_time, 0)}
            for name, consumer in sorted(group.consumers.items())]

