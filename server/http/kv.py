"""The REST interface: ``/kv/<key>`` for one string key, ``/kv`` to list keys.

Each route is a few ordinary commands run for the request's session
(server/http/commands.py):

- ``PUT /kv/<key>[?ex=S|px=MS]``: ``SET key body NX`` and, if the key existed,
  ``SET key body``: 201 created or 200 replaced, with the value's ``ETag``. Both run
  in one loop iteration, so no other client comes between them; only ``+set`` is
  needed.
- ``GET``/``HEAD /kv/<key>``: ``GET``: 200 with the exact bytes, 404 if missing, 304
  when ``If-None-Match`` names its ETag; 409 for a key of another type.
- ``DELETE /kv/<key>``: ``DEL``: 204, or 404 if missing.
- ``GET /kv?prefix=&cursor=&count=``: one ``SCAN cursor MATCH <prefix>* COUNT n``:
  ``{"cursor": "...", "keys": [...]}``, each key percent-encoded as in a ``/kv/`` URL.
  As with SCAN, a page may be empty before the last; the listing ends at cursor "0".

Keys are the URL-decoded bytes of the raw path (``%2F`` is a ``/`` in the key, ``%FF``
a byte), ``?db=N`` runs ``SELECT N`` first. Everything about a request is checked
before its first write, so a bad request changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, unquote_to_bytes

from aiohttp import web

from server.http.commands import SERVER, CommandRunner, HttpError

KV_PREFIX = "/kv/"
# Characters a path segment may hold unescaped (RFC 3986 pchar), so listed keys such as
# "user:1" read as themselves; everything else in a listed key is percent-encoded.
PATH_SAFE = "!$&'()*+,;=:@"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_GLOB_SPECIAL = re.compile(rb"([*?\[\]\\])")


def routes(app: web.Application) -> None:
    app.router.add_get("/kv", list_keys)
    app.router.add_get("/kv/{key:.*}", get_value)  # HEAD too: aiohttp's allow_head
    app.router.add_put("/kv/{key:.*}", put_value)
    app.router.add_delete("/kv/{key:.*}", delete_value)


# ------------------------------------------------------------------ handlers

async def put_value(request: web.Request) -> web.Response:
    params = query_params(request, ("db", "ex", "px"))
    key = path_key(request)
    if "ex" in params and "px" in params:
        raise HttpError(400, "ex and px cannot both be given")
    expiry: list[bytes] = []  # SET's EX or PX option, checked by SET itself
    for name in ("ex", "px"):
        if name in params:
            expiry += [name.upper().encode(), params[name]]
    value = await read_body(request, request.app[SERVER].config["proto-max-bulk-len"])
    runner = await selected(request, params)
    created = await runner.run(b"SET", key, value, *expiry, b"NX") is not None
    if not created:
        await runner.run(b"SET", key, value, *expiry)
    await runner.released()
    return web.Response(status=201 if created else 200, headers={"ETag": etag(value)})


async def get_value(request: web.Request) -> web.Response:
    params = query_params(request, ("db",))
    key = path_key(request)
    runner = await selected(request, params)
    value = await runner.run(b"GET", key, error_status=500)  # its ERR: a damaged record
    await runner.released()
    if value is None:
        raise HttpError(404, "no such key")
    tag = etag(value)
    if tag in request.headers.get("If-None-Match", "").replace(" ", "").split(","):
        return web.Response(status=304, headers={"ETag": tag})
    return web.Response(body=value, content_type="application/octet-stream",
                        headers={"ETag": tag})


async def delete_value(request: web.Request) -> web.Response:
    params = query_params(request, ("db",))
    key = path_key(request)
    runner = await selected(request, params)
    deleted = await runner.run(b"DEL", key)
    await runner.released()
    if not deleted:
        raise HttpError(404, "no such key")
    return web.Response(status=204)


async def list_keys(request: web.Request) -> web.Response:
    params = query_params(request, ("db", "prefix", "cursor", "count"))
    scan = [b"SCAN", params.get("cursor", b"0")]
    if params.get("prefix"):
        scan += [b"MATCH", _GLOB_SPECIAL.sub(rb"\\\1", params["prefix"]) + b"*"]
    if "count" in params:
        scan += [b"COUNT", params["count"]]
    runner = await selected(request, params)
    cursor, keys = await runner.run(*scan)
    await runner.released()
    return web.json_response({"cursor": cursor.decode(),
                              "keys": [quote(key, safe=PATH_SAFE) for key in keys]})


# ------------------------------------------------------------ request parts

async def selected(request: web.Request, params: dict[str, bytes]) -> CommandRunner:
    """The request's command runner (authenticated by the middleware), in ``?db=``."""
    runner: CommandRunner = request["runner"]
    if "db" in params:
        await runner.run(b"SELECT", params["db"])
    return runner


def path_key(request: web.Request) -> bytes:
    """The key: what follows ``/kv/`` in the raw path, percent-decoded to bytes."""
    path = request.raw_path.split("?", 1)[0]
    if not path.startswith(KV_PREFIX) or len(path) == len(KV_PREFIX):
        raise HttpError(400, "the key is missing: /kv/<key>")
    encoded = path[len(KV_PREFIX):]
    if _BAD_ESCAPE.search(encoded):
        raise HttpError(400, "malformed percent-encoding in the key")
    return unquote_to_bytes(encoded)


def query_params(request: web.Request, allowed: tuple[str, ...]) -> dict[str, bytes]:
    """The query string's parameters as bytes (``+`` is a space); an unknown or
    repeated one is a bad request."""
    params: dict[str, bytes] = {}
    raw = request.rel_url.raw_query_string
    for part in raw.split("&") if raw else ():
        name, _, value = part.partition("=")
        if name not in allowed:
            raise HttpError(400, f"unknown parameter {name!r}: expected one of "
                                 f"{', '.join(allowed)}")
        if name in params:
            raise HttpError(400, f"parameter {name!r} given twice")
        if _BAD_ESCAPE.search(value):
            raise HttpError(400, f"malformed percent-encoding in {name!r}")
        params[name] = unquote_to_bytes(value.replace("+", " "))
    return params


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body; 413 once it is over ``limit`` (proto-max-bulk-len, as for a
    RESP bulk string), before reading it when Content-Length says so."""
    if request.content_length is not None and request.content_length > limit:
        raise HttpError(413, f"the value is over proto-max-bulk-len ({limit} bytes)")
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"the value is over proto-max-bulk-len ({limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def etag(value: bytes) -> str:
    """A strong ETag: a digest of the exact bytes."""
    return f'"{hashlib.blake2b(value, digest_size=16).hexdigest()}"'

