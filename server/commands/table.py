"""The command table: every command caskd knows, one row each.

Columns: name, arity (N exact, -N at least N, counting the name), flags, first key,
last key, key step, handler, summary, group, since. Adding a command is one
handler plus one row here.
"""

from __future__ import annotations

from server.commands import admin, connection, expiry, keys, strings
from server.commands.registry import Command, build_lookup, container

C = Command

TABLE: list[Command] = [
    # strings
    C("get", 2, "readonly fast", 1, 1, 1, strings.get,
      "Returns the string value of a key.", "string"),
    C("set", -3, "write denyoom", 1, 1, 1, strings.set_,
      "Sets the string value of a key, ignoring its type.", "string"),
    # keyspace
    C("del", -2, "write", 1, -1, 1, keys.delete, "Deletes one or more keys.", "generic"),
    C("exists", -2, "readonly fast", 1, -1, 1, keys.exists,
      "Determines whether one or more keys exist.", "generic", "1.0.0"),
    C("dbsize", 1, "readonly fast", 0, 0, 0, keys.dbsize,
      "Returns the number of keys in the database.", "server"),
    C("flushdb", -1, "write", 0, 0, 0, keys.flushdb,
      "Removes all keys from the current database.", "server"),
    C("flushall", -1, "write", 0, 0, 0, keys.flushall,
      "Removes all keys from all databases.", "server"),
    # expiry
    C("expire", -3, "write fast", 1, 1, 1, expiry.expire,
      "Sets the expiration time of a key in seconds.", "generic"),
    C("pexpire", -3, "write fast", 1, 1, 1, expiry.pexpire,
      "Sets the expiration time of a key in milliseconds.", "generic", "2.6.0"),
    C("expireat", -3, "write fast", 1, 1, 1, expiry.expireat,
      "Sets the expiration time of a key to a Unix timestamp.", "generic", "1.2.0"),
    C("pexpireat", -3, "write fast", 1, 1, 1, expiry.pexpireat,
      "Sets the expiration time of a key to a Unix milliseconds timestamp.", "generic",
      "2.6.0"),
    C("ttl", 2, "readonly fast", 1, 1, 1, expiry.ttl,
      "Returns the expiration time in seconds of a key.", "generic"),
    C("pttl", 2, "readonly fast", 1, 1, 1, expiry.pttl,
      "Returns the expiration time in milliseconds of a key.", "generic", "2.6.0"),
    C("persist", 2, "write fast", 1, 1, 1, expiry.persist,
      "Removes the expiration time of a key.", "generic", "2.2.0"),
    # connection
    C("ping", -1, "fast", 0, 0, 0, connection.ping,
      "Returns the server's liveliness response.", "connection"),
    C("echo", 2, "fast", 0, 0, 0, connection.echo, "Returns the given string.", "connection"),
    C("quit", -1, "fast no_auth allow_in_multi", 0, 0, 0, connection.quit_,
      "Closes the connection.", "connection"),
    C("select", 2, "fast loading stale", 0, 0, 0, connection.select,
      "Changes the selected database.", "connection"),
    C("auth", -2, "fast no_auth noscript loading stale", 0, 0, 0, connection.auth,
      "Authenticates the connection.", "connection"),
    C("hello", -1, "fast no_auth noscript loading stale", 0, 0, 0, connection.hello,
      "Handshakes with the Redis server.", "connection", "6.0.0"),
    container("client", -2, "", "A container for client connection commands.",
              "connection", "2.4.0", [
                  C("id", 2, "noscript loading stale", 0, 0, 0, connection.client_id,
                    "Returns the unique client ID of the connection.", "connection", "5.0.0"),
                  C("setname", 3, "noscript loading stale", 0, 0, 0, connection.client_setname,
                    "Sets the connection name.", "connection", "2.6.9"),
                  C("getname", 2, "noscript loading stale", 0, 0, 0, connection.client_getname,
                    "Returns the name of the connection.", "connection", "2.6.9"),
                  C("setinfo", 4, "noscript loading stale", 0, 0, 0, connection.client_setinfo,
                    "Sets information specific to the client or connection.", "connection",
                    "7.2.0"),
                  C("info", 2, "noscript loading stale", 0, 0, 0, connection.client_info,
                    "Returns information about the connection.", "connection", "6.2.0"),
                  C("list", -2, "admin noscript loading stale", 0, 0, 0, connection.client_list,
                    "Lists open connections.", "connection", "2.4.0"),
              ]),
    # server
    C("info", -1, "loading stale", 0, 0, 0, admin.info,
      "Returns information and statistics about the server.", "server"),
    container("config", -2, "", "A container for server configuration commands.", "server",
              "2.0.0", [
                  C("get", -3, "admin noscript loading stale", 0, 0, 0, admin.config_get,
                    "Returns the effective values of configuration parameters.", "server"),
                  C("set", -4, "admin noscript loading stale", 0, 0, 0, admin.config_set,
                    "Sets configuration parameters in-flight.", "server"),
                  C("resetstat", 2, "admin noscript loading stale", 0, 0, 0,
                    admin.config_resetstat, "Resets the server's statistics.", "server"),
                  C("rewrite", 2, "admin noscript loading stale", 0, 0, 0,
                    admin.config_rewrite,
                    "Persists the effective configuration to file.", "server"),
              ]),
    C("bgrewriteaof", 1, "admin noscript", 0, 0, 0, admin.bgrewriteaof,
      "Asynchronously rewrites the append-only file to disk.", "server"),
    C("save", 1, "admin noscript no_multi", 0, 0, 0, admin.save,
      "Synchronously saves the database(s) to disk.", "server"),
    C("bgsave", -1, "admin noscript", 0, 0, 0, admin.bgsave,
      "Asynchronously saves the database(s) to disk.", "server"),
    C("lastsave", 1, "loading stale fast", 0, 0, 0, admin.lastsave,
      "Returns the Unix timestamp of the last successful save to disk.", "server"),
    C("time", 1, "loading stale fast", 0, 0, 0, admin.time_,
      "Returns the server time.", "server", "2.6.0"),
    C("shutdown", -1, "admin noscript loading stale no_multi", 0, 0, 0, admin.shutdown,
      "Synchronously saves the database(s) to disk and shuts down the server.", "server"),
    container("command", -1, "loading stale", "Returns detailed information about all "
              "commands.", "server", "2.8.13", [
                  C("count", 2, "loading stale", 0, 0, 0, admin.command_count,
                    "Returns a count of commands.", "server"),
                  C("info", -2, "loading stale", 0, 0, 0, admin.command_info,
                    "Returns information about one, multiple or all commands.", "server"),
                  C("docs", -2, "loading stale", 0, 0, 0, admin.command_docs,
                    "Returns documentary information about one, multiple or all commands.",
                    "server", "7.0.0"),
                  C("list", -2, "loading stale", 0, 0, 0, admin.command_list,
                    "Returns a list of command names.", "server", "7.0.0"),
                  C("getkeys", -3, "loading stale", 0, 0, 0, admin.command_getkeys,
                    "Extracts the key names from an arbitrary command.", "server"),
              ], handler=admin.command),
]

COMMANDS = build_lookup(TABLE)
