"""The command table's row (server/commands/registry.py): its columns' defaults and
the attributes dispatch derives from its flags, the same compiled (a C type) or not."""

from __future__ import annotations

from server.commands.registry import Command, container


def _row(name: str, flags: str = "readonly fast") -> Command:
    return Command(name, 2, flags, 1, 1, 1, None, "A summary.", "string")


def test_a_row_takes_the_defaults_of_the_optional_columns():
    row = _row("get")
    assert (row.since, row.subcommands, row.acl, row.movable_keys, row.channels) == \
        ("1.0.0", {}, None, None, "")
    assert (row.calls, row.usec, row.rejected_calls, row.failed_calls) == (0, 0, 0, 0)
    assert row.full_name == "get"
    assert row.acl_categories == ("@read", "@string", "@fast")


def test_its_flags_decide_how_dispatch_treats_it():
    read, write = _row("get"), _row("set", "write denyoom no_auth allow_in_multi")
    assert (read.is_write, read.needs_auth, read.queued_in_multi) == (False, True, True)
    assert (write.is_write, write.needs_auth, write.queued_in_multi) == (True, False, False)
    assert read.flag_set == frozenset({"readonly", "fast"})


def test_each_container_has_subcommands_of_its_own():
    first = container("object", -2, "", "A container.", "generic", "2.2.3",
                      [_row("encoding")])
    second = container("memory", -2, "", "A container.", "server", "4.0.0", [])
    assert list(first.subcommands) == [b"encoding"]
    assert first.subcommands[b"encoding"].full_name == "object|encoding"
    assert second.subcommands == {}


def test_counters_count_past_the_32_bit_range():
    """INFO commandstats' usec adds up for as long as the server runs."""
    row = _row("get")
    row.usec += 2**40
    row.calls += 1
    assert (row.usec, row.calls) == (2**40, 1)
