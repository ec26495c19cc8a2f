"""Writes server/commands/specs.py from Redis's own command definitions: what COMMAND
DOCS, COMMAND INFO (tips, key specs) and COMMAND GETKEYSANDFLAGS answer for each
command, as Redis 7.0.15 builds them (utils/generate-command-code.py, then
server.c's addReplyCommandDocs, addReplyCommandArgList, addReplyCommandKeySpecs).

Usage: python -m scripts.gen_command_specs DIR > server/commands/specs.py, where DIR
holds Redis 7.0.15's src/commands/*.json (git archive 7.0.15 src/commands | tar x).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from pprint import pformat

# The orders and spellings of Redis's flag sets (addReplyFlagsForKeyArgs,
# addReplyFlagsForArg, addReplyDocFlagsForCommand).
KEY_FLAG_ORDER = ("RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY",
                  "INCOMPLETE", "VARIABLE_FLAGS")
ARG_FLAG_ORDER = ("optional", "multiple", "multiple_token")
DOC_FLAG_ORDER = ("DEPRECATED", "SYSCMD")

HEADER = '''"""Redis 7.0.15's command specs, from its src/commands/*.json (written by
scripts/gen_command_specs.py; do not edit by hand): per command (``container|sub``
for subcommands), COMMAND DOCS' fields in Redis's order (summary, since, group,
complexity, doc_flags, deprecated_since, replaced_by, history, arguments) and COMMAND
INFO's ``tips`` and ``key_specs``, each as Redis replies with it.
"""

# ruff: noqa: E501

SPECS: dict[str, dict] = '''


def key_flag(flag: str) -> str:
    return flag if len(flag) == 2 else flag.lower()


def key_spec(spec: dict) -> dict:
    """A key spec as addReplyCommandKeySpecs sends it: notes, flags, then how the
    search begins and how keys are found, each a (type, spec) pair."""
    out: dict = {}
    if spec.get("notes"):
        out["notes"] = spec["notes"]
    out["flags"] = tuple(key_flag(flag) for flag in KEY_FLAG_ORDER if flag in spec["flags"])
    begin = spec["begin_search"]
    if begin.get("index"):
        out["begin_search"] = ("index", {"index": begin["index"]["pos"]})
    elif begin.get("keyword"):
        keyword = begin["keyword"]
        out["begin_search"] = ("keyword", {"keyword": keyword["keyword"],
                                           "startfrom": keyword["startfrom"]})
    else:
        out["begin_search"] = ("unknown", {})
    find = spec["find_keys"]
    if find.get("range"):
        found = find["range"]
        out["find_keys"] = ("range", {"lastkey": found["lastkey"], "keystep": found["step"],
                                      "limit": found["limit"]})
    elif find.get("keynum"):
        found = find["keynum"]
        out["find_keys"] = ("keynum", {"keynumidx": found["keynumidx"],
                                       "firstkey": found["firstkey"], "keystep": found["step"]})
    else:
        out["find_keys"] = ("unknown", {})
    return out


def argument(desc: dict) -> dict:
    """An argument as addReplyCommandArgList sends it (names lowercased and tokens
    uppercased as generate-command-code.py writes them)."""
    out: dict = {"name": desc["name"].lower(), "type": desc["type"]}
    if "key_spec_index" in desc:
        out["key_spec_index"] = desc["key_spec_index"]
    if desc.get("token"):
        # written into C as "%s": MIGRATE's token '""' becomes """", an empty string
        out["token"] = desc["token"].upper().replace('"', "")
    if desc.get("since"):
        out["since"] = desc["since"]
    if desc.get("deprecated_since"):
        out["deprecated_since"] = desc["deprecated_since"]
    flags = tuple(flag for flag in ARG_FLAG_ORDER if desc.get(flag))
    if flags:
        out["flags"] = flags
    if desc["type"] in ("oneof", "block"):
        out["arguments"] = tuple(map(argument, desc["arguments"]))
    return out


def command(body: dict) -> dict:
    out: dict = {}
    for field in ("summary", "since"):
        if body.get(field):
            out[field] = body[field]
    out["group"] = body["group"].replace("_", "-")
    if body.get("complexity"):
        out["complexity"] = body["complexity"]
    doc_flags = tuple(flag.lower() for flag in DOC_FLAG_ORDER if flag in body.get("doc_flags", ()))
    if doc_flags:
        out["doc_flags"] = doc_flags
    for field in ("deprecated_since", "replaced_by"):
        if body.get(field):
            out[field] = body[field]
    if body.get("history"):
        out["history"] = tuple(tuple(change) for change in body["history"])
    if body.get("arguments"):
        out["arguments"] = tuple(map(argument, body["arguments"]))
    out["tips"] = tuple(tip.lower() for tip in body.get("command_tips", ()))
    out["key_specs"] = tuple(map(key_spec, body.get("key_specs", ())))
    return out


def main(directory: str) -> None:
    specs: dict[str, dict] = {}
    for path in sorted(Path(directory).glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            full = name.lower()
            if "container" in body:
                full = f"{body['container'].lower()}|{full}"
            specs[full] = command(body)
    ordered = dict(sorted(specs.items()))
    sys.stdout.write(HEADER + pformat(ordered, width=100, sort_dicts=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
