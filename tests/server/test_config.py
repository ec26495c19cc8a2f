"""server.config and server.conffile: redis.conf lines, command-line flags, the
table's types and errors, start-up warnings and CONFIG REWRITE's edit of a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.conffile import REWRITE_SIGNATURE, quote, split_args
from server.config import SETTINGS, Config, ConfigError, command_line_text, parse_command_line


@pytest.mark.parametrize(("line", "args"), [
    ('bind 127.0.0.1 -::1', ["bind", "127.0.0.1", "-::1"]),
    ('proc-title-template "{title} {listen-addr}"', ["proc-title-template",
                                                     "{title} {listen-addr}"]),
    ('requirepass "a\\"b\\x41\\n"', ["requirepass", 'a"bA\n']),
    ("requirepass 'it\\'s'", ["requirepass", "it's"]),
    ('notify-keyspace-events ""', ["notify-keyspace-events", ""]),
    ("requirepass a#b", ["requirepass", "a#b"]),  # '#' starts a comment only at line start
])
def test_lines_split_as_redis_splits_them(line, args):
    assert split_args(line) == args


@pytest.mark.parametrize("line", ['save "900 1', 'dir "/x"y', "dir 'a"])
def test_unbalanced_quotes_are_refused(line):
    with pytest.raises(ValueError, match="Unbalanced quotes"):
        split_args(line)


def test_quote_reads_back():
    for value in ["", "plain", 'a "b" \\ c', "tab\there\n", "é"]:
        assert split_args(quote(value)) == [value]


def test_command_line_becomes_config_lines():
    assert command_line_text(["--port", "7000", "--save", "--bind", "127.0.0.1", "::1"]) == \
        'port "7000"\nsave ""\nbind "127.0.0.1" "::1"'
    assert command_line_text(["--save", "900 1", "--port", "1"]) == 'save "900 1"\nport "1"'
    with pytest.raises(ConfigError, match="Unexpected argument"):
        command_line_text(["6379"])


def test_file_then_flags_aliases_and_types(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("# a comment\nport 7001\nhash-max-ziplist-entries 64\nmaxmemory 2mb\n"
                    "save 900 1\nsave 300 10\nclient-output-buffer-limit replica 1gb 0 0\n"
                    "oom-score-adj relative\nhz 100000\nlist-max-ziplist-entries 5\n")
    config = parse_command_line([str(conf), "--port", "7002", "--loglevel", "WARNING"])
    assert config["port"] == 7002  # the flags come after the file
    assert config["hash-max-listpack-entries"] == 64
    assert config["maxmemory"] == 2 * 1024 * 1024
    assert config["save"] == ((900, 1), (300, 10))
    assert config["client-output-buffer-limit"]["slave"] == (1024**3, 0, 0)
    assert config["client-output-buffer-limit"]["normal"] == (0, 0, 0)
    assert config.matching("oom-score-adj") == {"oom-score-adj": "yes"}  # Redis's name
    assert config["hz"] == 500  # clamped, as Redis does
    assert config["loglevel"] == "warning"
    assert config.config_file == conf.resolve()


@pytest.mark.parametrize(("line", "message"), [
    ("port abc", "argument couldn't be parsed into an integer"),
    ("port 70000", "argument must be between 0 and 65535 inclusive"),
    ("daemonize maybe", "argument must be 'yes' or 'no'"),
    ("maxmemory 1zz", "argument must be a memory value"),
    ("appendfsync sometimes", "argument(s) must be one of the following: everysec, always, no"),
    ("port", "wrong number of arguments"),
    ("port 1 2", "wrong number of arguments"),
    ("nosuch 1", "Bad directive or wrong number of arguments"),
    ("save 900", "Invalid save parameters"),
    ('dir "x', "Unbalanced quotes in configuration line"),
])
def test_bad_lines_name_the_line_and_redis_reason(tmp_path, line, message):
    conf = tmp_path / "redis.conf"
    conf.write_text(f"# first\n{line}\n")
    with pytest.raises(ConfigError) as failure:
        parse_command_line([str(conf)])
    assert str(failure.value) == (f"Reading the configuration file, at line 2\n>>> '{line}'\n"
                                  f"{message}")


def test_include_reads_another_file(tmp_path):
    (tmp_path / "extra.conf").write_text("timeout 5\n")
    conf = tmp_path / "redis.conf"
    conf.write_text(f"include {tmp_path / 'extra.conf'}\n")
    assert parse_command_line([str(conf)])["timeout"] == 5


def test_set_many_is_all_or_nothing_with_redis_messages():
    config = Config()
    with pytest.raises(ConfigError, match="'maxmemory'\\) - argument must be a memory value"):
        config.set_many([("timeout", "5"), ("maxmemory", "x")])
    assert config["timeout"] == 0
    with pytest.raises(ConfigError, match="can't set immutable config"):
        config.set_many([("daemonize", "yes")])
    with pytest.raises(ConfigError, match="can't set protected config"):
        config.set_many([("dbfilename", "x.rdb")])
    config.set_many([("dbfilename", "x.rdb")], protected_allowed=True)
    assert config["dbfilename"] == "x.rdb"
    config.set_many([("save", "60 5 10 1")])
    assert config.matching("save") == {"save": "60 5 10 1"}


def test_hidden_settings_need_their_exact_name():
    config = Config()
    assert "watchdog-period" not in config.matching("*")
    assert config.matching("watchdog-period") == {"watchdog-period": "0"}


def test_misleading_settings_are_warned_about_only_when_set():
    config = Config()
    assert config.warnings() == []
    config.load("appendonly no\nsave 900 1\nmaxmemory 1gb\ntimeout 5\n")
    warnings = " ".join(config.warnings())
    assert "appendonly no has no effect" in warnings
    assert "no RDB snapshots" in warnings
    assert "maxmemory" not in warnings  # enforced now: server/maxmemory.py
    assert len(config.warnings()) == 2


def test_every_redis_setting_without_effect_says_so():
    assert not SETTINGS["save"].effect and not SETTINGS["lazyfree-lazy-expire"].effect
    assert SETTINGS["appendfsync"].effect and SETTINGS["hash-max-listpack-entries"].effect


def test_rewrite_keeps_layout_comments_and_unknown_lines(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text(
        "# My server\n\n\n# the port\nport 7000\n\nhash-max-ziplist-entries 100\n"
        "save 900 1\nsave 300 10\nsave 60 10000\nrename-command flushdb \"\"\n"
        "timeout 0\n# end\n")
    config = parse_command_line([str(conf)])
    config.set_many([("hash-max-listpack-entries", "7"), ("save", "3600 1"),
                     ("maxmemory", "3mb"), ("timeout", "0"), ("notify-keyspace-events", "KEA")])
    config.rewrite()
    # As Redis writes it: old lines reused in place, the extra save lines blanked,
    # unchanged defaults not added, new values (and dir, always) after the signature.
    assert conf.read_text() == (
        "# My server\n\n# the port\nport 7000\n\nhash-max-listpack-entries 7\n"
        "save 3600 1\n\nrename-command flushdb \"\"\ntimeout 0\n# end\n\n"
        f"{REWRITE_SIGNATURE}\ndir {quote(str(Path('data').resolve()))}\n"
        "maxmemory 3mb\nnotify-keyspace-events \"AKE\"\n"
        "latency-tracking-info-percentiles 50 99 99.9\n")
    # A second rewrite changes nothing, and the result loads to the same values.
    config.rewrite()
    again = parse_command_line([str(conf)])
    assert conf.read_text().count(REWRITE_SIGNATURE) == 1
    assert again.matching("*") == config.matching("*")


def test_rewrite_of_unknown_directive_comments_it_out(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("port 7000\n")
    config = parse_command_line([str(conf)])
    conf.write_text("port 7000\nfuture-setting 1\nsave 60 1\n")
    config.rewrite()
    assert conf.read_text().startswith('port 7000\n# ??? future-setting 1\nsave ""\n\n')
