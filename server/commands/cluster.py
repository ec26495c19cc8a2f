"""CLUSTER, ASKING, READONLY and READWRITE as Redis answers them with cluster mode
off (cluster-enabled no, the only mode caskd has): every subcommand is known, so
ACL rules and COMMAND name them, and each answers that cluster support is
disabled."""

from __future__ import annotations

from server.errors import CommandError

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"


def cluster_disabled(client, argv: list[bytes]):
    """Redis's clusterCommand (and asking/readonly/readwrite) when not in cluster mode."""
    raise CommandError(CLUSTER_DISABLED)
