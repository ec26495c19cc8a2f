"""Writes server/commands/keyflags.py from Redis's own command definitions.

Usage: python -m scripts.gen_key_flags DIR > server/commands/keyflags.py, where DIR
holds Redis 7.0.15's src/commands/*.json (git show 7.0.15:src/commands/NAME.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# Redis's addReplyFlagsForKeyArgs: the order and spelling COMMAND GETKEYSANDFLAGS uses.
FLAG_ORDER = ("RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY",
              "INCOMPLETE", "VARIABLE_FLAGS")

HEADER = '''"""The flags of each command's key specs, from Redis 7.0.15's src/commands/*.json
(written by scripts/gen_key_flags.py; do not edit by hand).

A command's first key takes its first key spec's flags and the others its last
spec's: Redis's multi-spec commands have one key first (a source or a destination)
and the others after it (ZUNIONSTORE's sources, SORT's and GEORADIUS's STORE).
"""

KEY_SPEC_FLAGS: dict[str, tuple[str, ...]] = {
'''


def spec_flags(spec: dict) -> str:
    names = [flag if len(flag) == 2 else flag.lower()
             for flag in FLAG_ORDER if flag in spec["flags"]]
    return " ".join(names)


def main(directory: str) -> None:
    rows: dict[str, tuple[str, ...]] = {}
    for path in sorted(Path(directory).glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            if body.get("key_specs"):
                full = name.lower()
                if "container" in body:
                    full = f"{body['container'].lower()}|{full}"
                rows[full] = tuple(spec_flags(spec) for spec in body["key_specs"])
    sys.stdout.write(HEADER)
    for full in sorted(rows):
        sys.stdout.write(f"    {full!r}: {rows[full]!r},\n".replace("'", '"'))
    sys.stdout.write("}\n")


if __name__ == "__main__":
    main(sys.argv[1])
