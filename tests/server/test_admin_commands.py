"""Server commands over raw sockets, with the exact replies of Redis 7.0.15: TIME,
LASTSAVE, SAVE, BGSAVE, INFO, CONFIG, COMMAND, FUNCTION, DEBUG, SLOWLOG, LATENCY."""

from __future__ import annotations

import re
import time

import pytest

from tests.support import hello_reply, wait_until

OK = b"+OK\r\n"



def info(raw, *sections: str) -> str:
    raw.command("INFO", *sections)
    return raw.read_bulk().decode()


def fields(text: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


# ------------------------------------------------------- TIME, SAVE, LASTSAVE


def test_time(raw):
    raw.command("TIME")
    assert raw.read_line() == b"*2\r\n"
    seconds, micros = int(raw.read_bulk()), int(raw.read_bulk())
    assert abs(seconds + micros / 1e6 - time.time()) < 5 and 0 <= micros < 1_000_000
    raw.roundtrip("TIME", "x", reply=b"-ERR wrong number of arguments for 'time' command\r\n")


def test_save_makes_the_log_compact_and_moves_lastsave(caskd, raw):
    for _ in range(3):
        for i in range(50):
            raw.roundtrip("SET", f"k{i}", "v" * 100, reply=OK)
    raw.send(b"LASTSAVE\r\n")
    before = int(raw.read_line()[1:-2])
    rewrites = int(fields(info(raw, "persistence"))["aof_rewrites"])
    time.sleep(1.05)  # LASTSAVE counts whole seconds: let one pass
    raw.roundtrip("SAVE", reply=OK)
    after = fields(info(raw, "persistence"))
    assert int(after["aof_rewrites"]) == rewrites + 1
    assert int(after["caskd_dead_bytes"]) == 0  # the overwritten copies are gone
    raw.send(b"LASTSAVE\r\n")
    assert int(raw.read_line()[1:-2]) > before
    raw.roundtrip("GET", "k7", reply=b"$100\r\n" + b"v" * 100 + b"\r\n")


def test_bgsave(raw):
    raw.roundtrip("SET", "k", "v", reply=OK)
    raw.roundtrip("BGSAVE", reply=b"+Background saving started\r\n")
    raw.roundtrip("BGSAVE", "foo", reply=b"-ERR syntax error\r\n")
    wait_until(lambda: fields(info(raw, "persistence"))["aof_rewrite_in_progress"] == "0",
               what="the compaction to finish")
    raw.roundtrip("BGSAVE", "SCHEDULE", reply=b"+Background saving started\r\n")
    raw.roundtrip("GET", "k", reply=b"$1\r\nv\r\n")


# --------------------------------------------------------------------- INFO


def test_info_sections_are_formatted_as_redis_does(raw):
    text = info(raw)
    assert text.startswith("# Server\r\nredis_version:7.0.15\r\n")
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    headers = re.findall(r"^# (\w+)\r$", text.replace("\r\n", "\r\n\n"), re.M)
    assert headers == ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
                       "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"]
    for block in text[:-2].split("\r\n\r\n"):  # one blank line between sections, none inside
        assert all(re.fullmatch(r"# \w+|[a-z_0-9]+:.*", line) for line in block.split("\r\n"))
    raw.roundtrip("INFO", "nosuchsection", reply=b"$0\r\n\r\n")
    assert info(raw, "CPU").startswith("# CPU\r\nused_cpu_sys:")


def test_info_commandstats_and_errorstats(raw):
    raw.roundtrip("CONFIG", "RESETSTAT", reply=OK)
    raw.roundtrip("GET", "k", reply=b"$-1\r\n")
    raw.roundtrip("GET", reply=b"-ERR wrong number of arguments for 'get' command\r\n")
    raw.roundtrip("MULTI", reply=OK)
    raw.roundtrip("NOSUCH", reply=b"-ERR unknown command 'NOSUCH', with args beginning "
                                   b"with: \r\n")
    raw.roundtrip("EXEC", reply=b"-EXECABORT Transaction discarded because of previous "
                                b"errors.\r\n")
    stats = fields(info(raw, "commandstats", "errorstats"))
    assert re.fullmatch(r"calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,"
                        r"failed_calls=0", stats["cmdstat_get"])
    assert re.fullmatch(r"calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,"
                        r"failed_calls=1", stats["cmdstat_exec"])
    assert stats["errorstat_ERR"] == "count=2"
    assert stats["errorstat_EXECABORT"] == "count=1"
    assert fields(info(raw, "stats"))["total_error_replies"] == "3"


def test_info_is_verbatim_in_resp3(raw):
    raw.roundtrip("HELLO", "3", reply=hello_reply(raw.client_id(), 3))
    raw.command("INFO", "cluster")
    raw.expect(b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n")


# ------------------------------------------------------------------- CONFIG


def test_config_set_several_pairs_is_all_or_nothing(raw):
    raw.roundtrip("CONFIG", "SET", "hz", "20", "maxclients", "x", reply=(
        b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument "
        b"couldn't be parsed into an integer\r\n"))
    raw.roundtrip("CONFIG", "GET", "hz", reply=b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n")
    raw.roundtrip("CONFIG", "SET", "hz", "30", "HZ", "40", reply=(
        b"-ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate "
        b"parameter\r\n"))
    raw.roundtrip("CONFIG", "SET", "foo", "1", "hz", "5",
                  reply=b"-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n")
    raw.roundtrip("CONFIG", "SET", "hz", "20", "maxclients", "50", reply=OK)
    raw.roundtrip("CONFIG", "GET", "hz", "maxclients", "nosuch", reply=(
        b"*4\r\n$2\r\nhz\r\n$2\r\n20\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n"))
    raw.roundtrip("CONFIG", "SET", "appendfsync", "foo", reply=(
        b"-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) "
        b"must be one of the following: everysec, always, no\r\n"))
    raw.roundtrip("CONFIG", "SET", "hz", reply=b"-ERR wrong number of arguments for "
                                              b"'config|set' command\r\n")
    raw.roundtrip("HELLO", "3", reply=hello_reply(raw.client_id(), 3))
    raw.roundtrip("CONFIG", "GET", "hz", reply=b"%1\r\n$2\r\nhz\r\n$2\r\n20\r\n")


def test_config_rewrite_needs_a_file(raw):
    raw.roundtrip("CONFIG", "REWRITE",
                  reply=b"-ERR The server is running without a config file\r\n")


# ------------------------------------------------------------------ COMMAND


def test_command_count_list_and_filters(caskd, raw):
    client = caskd.client()
    count = client.command_count()
    names = [name.decode() for name in client.command_list()]
    assert count == len([n for n in names if "|" not in n]) == len(client.command())
    assert {"multi", "exec", "client|kill", "slowlog|get", "config|set"} <= set(names)
    raw.roundtrip("COMMAND", "LIST", "FILTERBY", "PATTERN", "slowlog*", reply=(
        b"*5\r\n$7\r\nslowlog\r\n$11\r\nslowlog|get\r\n$11\r\nslowlog|len\r\n"
        b"$13\r\nslowlog|reset\r\n$12\r\nslowlog|help\r\n"))
    transaction = client.command_list(category="transaction")
    assert sorted(transaction) == [b"discard", b"exec", b"multi", b"unwatch", b"watch"]
    raw.roundtrip("COMMAND", "LIST", "FILTERBY", "MODULE", "x", reply=b"*0\r\n")
    raw.roundtrip("COMMAND", "LIST", "FILTERBY", "foo", "x", reply=b"-ERR syntax error\r\n")


def test_command_info_and_getkeys(raw):
    raw.roundtrip("COMMAND", "INFO", "nosuch", reply=b"*1\r\n$-1\r\n")
    raw.roundtrip("COMMAND", "GETKEYS", "mset", "a", "1", "b", "2",
                  reply=b"*2\r\n$1\r\na\r\n$1\r\nb\r\n")
    raw.roundtrip("COMMAND", "GETKEYS", "get",
                  reply=b"-ERR wrong number of arguments for 'command|getkeys' command\r\n")
    raw.roundtrip("COMMAND", "GETKEYS", "get", "a", "b",
                  reply=b"-ERR Invalid number of arguments specified for command\r\n")
    raw.roundtrip("COMMAND", "GETKEYS", "nosuch", "a",
                  reply=b"-ERR Invalid command specified\r\n")
    raw.roundtrip("COMMAND", "GETKEYS", "config", "get", "x",
                  reply=b"-ERR The command has no key arguments\r\n")


def test_command_info_layout(raw):
    """In Redis 7.0's layout, with Redis's flags (caskd's own allow_in_multi hidden)."""
    raw.roundtrip("HELLO", "3", reply=hello_reply(raw.client_id(), 3))
    raw.roundtrip("COMMAND", "INFO", "unwatch", reply=(
        b"*1\r\n*10\r\n$7\r\nunwatch\r\n:1\r\n~5\r\n"))
    flags = {raw.read_line() for _ in range(5)}
    assert flags == {b"+noscript\r\n", b"+loading\r\n", b"+stale\r\n", b"+fast\r\n",
                     b"+allow_busy\r\n"}
    raw.expect(b":0\r\n:0\r\n:0\r\n~2\r\n")
    assert {raw.read_line(), raw.read_line()} == {b"+@fast\r\n", b"+@transaction\r\n"}
    raw.expect(b"~0\r\n~0\r\n~0\r\n")  # tips, key specs, subcommands


# ----------------------------------------------------------------- FUNCTION


def test_function_commands_succeed_with_no_functions(raw):
    raw.roundtrip("FUNCTION", "LIST", reply=b"*0\r\n")
    raw.roundtrip("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "x", reply=b"*0\r\n")
    raw.roundtrip("FUNCTION", "LIST", "LIBRARYNAME",
                  reply=b"-ERR library name argument was not given\r\n")
    raw.roundtrip("FUNCTION", "LIST", "foo", reply=b"-ERR Unknown argument foo\r\n")
    raw.roundtrip("FUNCTION", "FLUSH", reply=OK)
    raw.roundtrip("FUNCTION", "FLUSH", "ASYNC", reply=OK)
    raw.roundtrip("FUNCTION", "FLUSH", "foo",
                  reply=b"-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n")
    raw.roundtrip("FUNCTION", "STATS", reply=(
        b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n"
        b"$15\r\nlibraries_count\r\n:0\r\n$15\r\nfunctions_count\r\n:0\r\n"))
    raw.roundtrip("HELLO", "3", reply=hello_reply(raw.client_id(), 3))
    raw.roundtrip("FUNCTION", "STATS", reply=(
        b"%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n"
        b"$15\r\nlibraries_count\r\n:0\r\n$15\r\nfunctions_count\r\n:0\r\n"))


# -------------------------------------------------------------------- DEBUG


def test_debug_is_refused_unless_enabled(raw):
    raw.roundtrip("DEBUG", "SLEEP", "0", reply=(
        b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to "
        b"\"local\", you can run it from a local connection, otherwise you need to set this "
        b"option in the configuration file, and then restart the server.\r\n"))


@pytest.fixture
def debuggable(caskd_factory):
    server = caskd_factory("--enable-debug-command", "local")
    raw = server.raw()
    yield server, raw
    raw.close()


def test_debug_sleep_and_unknown_subcommands(debuggable):
    _, raw = debuggable
    started = time.monotonic()
    raw.roundtrip("DEBUG", "SLEEP", "0.2", reply=OK)
    assert time.monotonic() - started >= 0.19
    raw.roundtrip("DEBUG", "SLEEP", "x", reply=OK)  # strtod: no number is 0
    raw.roundtrip("DEBUG", "JMAP", reply=b"-ERR unknown subcommand or wrong number of "
                                         b"arguments for 'JMAP'. Try DEBUG HELP.\r\n")
    raw.roundtrip("DEBUG", reply=b"-ERR wrong number of arguments for 'debug' command\r\n")


def test_debug_reload_brings_back_the_same_data_from_disk(debuggable):
    _, raw = debuggable
    raw.roundtrip("SET", "plain", "v", reply=OK)
    raw.roundtrip("SET", "ttl", "v", "EX", "1000", reply=OK)
    raw.roundtrip("SELECT", "3", reply=OK)
    raw.roundtrip("SET", "other-db", b"\x00\xff", reply=OK)
    raw.roundtrip("DEL", "nothing", reply=b":0\r\n")
    raw.roundtrip("DEBUG", "RELOAD", reply=OK)
    raw.roundtrip("GET", "other-db", reply=b"$2\r\n\x00\xff\r\n")
    raw.roundtrip("SELECT", "0", reply=OK)
    raw.roundtrip("GET", "plain", reply=b"$1\r\nv\r\n")
    raw.send(b"TTL ttl\r\n")
    assert 990 <= int(raw.read_line()[1:-2]) <= 1000
    raw.roundtrip("DBSIZE", reply=b":2\r\n")
    raw.roundtrip("SET", "after", "reload", reply=OK)  # the reopened log takes writes
    raw.roundtrip("DEBUG", "RELOAD", "NOSAVE", reply=OK)
    raw.roundtrip("GET", "after", reply=b"$6\r\nreload\r\n")
    raw.roundtrip("DEBUG", "RELOAD", "FOO", reply=b"-ERR DEBUG RELOAD only supports the MERGE, "
                                                  b"NOFLUSH and NOSAVE options.\r\n")


# ---------------------------------------------------------- SLOWLOG, LATENCY


def test_slowlog_records_slow_commands_newest_first(caskd, raw):
    raw.roundtrip("SLOWLOG", "RESET", reply=OK)
    raw.roundtrip("CLIENT", "SETNAME", "slowpoke", reply=OK)
    raw.roundtrip("CONFIG", "SET", "slowlog-log-slower-than", "0", reply=OK)
    raw.roundtrip("SET", "k", "v" * 200, reply=OK)
    raw.roundtrip("DEL", *[f"k{i}" for i in range(40)], reply=b":0\r\n")
    raw.roundtrip("CONFIG", "SET", "slowlog-log-slower-than", "-1", reply=OK)
    raw.roundtrip("GET", "k", reply=b"$200\r\n" + b"v" * 200 + b"\r\n")  # not logged
    client = caskd.client()
    entries = client.slowlog_get(-1)
    assert [e["command"] for e in entries] == [
        b"DEL " + b" ".join(f"k{i}".encode() for i in range(30)) + b" ... (10 more arguments)",
        b"SET k " + b"v" * 128 + b"... (72 more bytes)",
        b"CONFIG SET slowlog-log-slower-than 0"]
    assert all(e["client_name"] == b"slowpoke" for e in entries)
    assert [e["id"] for e in entries] == [2, 1, 0]
    raw.roundtrip("SLOWLOG", "LEN", reply=b":3\r\n")
    assert len(client.slowlog_get(2)) == 2
    raw.roundtrip("SLOWLOG", "RESET", reply=OK)
    raw.roundtrip("SLOWLOG", "GET", reply=b"*0\r\n")
    raw.roundtrip("SLOWLOG", "GET", "-2",
                  reply=b"-ERR count should be greater than or equal to -1\r\n")
    raw.roundtrip("SLOWLOG", "GET", "1", "2", reply=b"-ERR unknown subcommand or wrong number "
                                                    b"of arguments for 'GET'. Try SLOWLOG "
                                                    b"HELP.\r\n")


def test_slowlog_hides_passwords_and_skips_exec(caskd, raw):
    raw.roundtrip("CONFIG", "SET", "slowlog-log-slower-than", "0", reply=OK)
    raw.roundtrip("AUTH", "default", "whatever", reply=OK)
    raw.send(b"MULTI\r\nPING\r\nEXEC\r\n")
    raw.expect(b"+OK\r\n+QUEUED\r\n*1\r\n+PONG\r\n")
    raw.roundtrip("CONFIG", "SET", "slowlog-log-slower-than", "-1", reply=OK)
    commands = [e["command"] for e in caskd.client().slowlog_get(-1)]
    assert commands == [b"PING", b"MULTI", b"AUTH (redacted) (redacted)",
                        b"CONFIG SET slowlog-log-slower-than 0"]


def test_latency_answers_with_no_events(raw):
    raw.roundtrip("LATENCY", "LATEST", reply=b"*0\r\n")
    raw.roundtrip("LATENCY", "HISTORY", "command", reply=b"*0\r\n")
    raw.roundtrip("LATENCY", "RESET", reply=b":0\r\n")
    raw.roundtrip("LATENCY", "GRAPH", "command",
                  reply=b"-ERR No samples available for event 'command'\r\n")
    raw.command("LATENCY", "DOCTOR")
    assert raw.read_bulk().startswith(b"I'm sorry, Dave, I can't do that. Latency monitoring "
                                      b"is disabled in this Redis instance.")
    raw.roundtrip("LATENCY", "FOO", reply=b"-ERR unknown subcommand 'FOO'. Try LATENCY "
                                         b"HELP.\r\n")
