"""The REST interface against a real caskd: every route and status, the limits, and
the RESP view of the same data agreeing with the HTTP one."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess

import pytest

from tests.http.client import HttpClient, start_with_http
from tests.support import require_tool


def test_put_creates_then_replaces_and_get_returns_the_exact_bytes(served, http):
    value = bytes(range(256)) * 4  # every byte, NULs and CR LF included
    created = http.put("/kv/blob", value)
    assert created.status == 201
    assert http.put("/kv/blob", value).status == 200
    reply = http.get("/kv/blob")
    assert reply.status == 200
    assert reply.body == value
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["ETag"] == created.headers["ETag"]
    assert served.client().get("blob") == value  # the RESP view agrees


def test_a_value_written_over_resp_is_read_over_http_and_back(served, http):
    resp = served.client()
    resp.set("from-resp", b"\x00abc\r\n")
    assert http.get("/kv/from-resp").body == b"\x00abc\r\n"
    http.put("/kv/from-http", b"xyz")
    assert resp.get("from-http") == b"xyz"
    assert resp.ttl("from-http") == -1


def test_etag_follows_the_value_and_if_none_match_gives_304(http):
    first = http.put("/kv/k", b"one").headers["ETag"]
    assert http.get("/kv/k", headers={"If-None-Match": first}).status == 304
    second = http.put("/kv/k", b"two").headers["ETag"]
    assert second != first
    reply = http.get("/kv/k", headers={"If-None-Match": first})
    assert (reply.status, reply.body) == (200, b"two")


def test_head_gives_the_headers_without_the_body(http):
    http.put("/kv/k", b"12345")
    reply = http.request("HEAD", "/kv/k")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["Content-Length"] == "5"
    assert http.request("HEAD", "/kv/missing").status == 404


def test_missing_keys_are_404_and_delete_is_204_once(served, http):
    assert http.get("/kv/nothing").status == 404
    http.put("/kv/doomed", b"v")
    assert http.delete("/kv/doomed").status == 204
    assert http.delete("/kv/doomed").status == 404
    assert served.client().exists("doomed") == 0


def test_ex_and_px_set_the_ttl(served, http):
    resp = served.client()
    http.put("/kv/a?ex=100", b"v")
    assert 95 <= resp.ttl("a") <= 100
    http.put("/kv/b?px=50000", b"v")
    assert 45000 <= resp.pttl("b") <= 50000
    http.put("/kv/a", b"w")  # a plain PUT replaces the value and its TTL, as SET does
    assert resp.ttl("a") == -1


def test_keys_are_the_url_decoded_bytes(served, http):
    resp = served.client()
    assert http.put("/kv/a%2Fb%20c%FF+", b"v").status == 201
    assert resp.get(b"a/b c\xff+") == b"v"
    assert http.put("/kv/dir/file", b"w").status == 201
    assert resp.get("dir/file") == b"w"
    assert http.get("/kv/a%2fb%20c%ff+").body == b"v"


def test_db_selects_the_database(served, http):
    http.put("/kv/k?db=3", b"three")
    assert served.client(db=3).get("k") == b"three"
    assert served.client(db=0).get("k") is None
    assert http.get("/kv/k?db=3").body == b"three"
    assert http.get("/kv/k").status == 404


def test_a_key_of_another_type_is_409_and_put_replaces_it(served, http):
    served.client().rpush("list", "x")
    reply = http.get("/kv/list")
    assert reply.status == 409
    assert reply.text == "WRONGTYPE Operation against a key holding the wrong kind of value\n"
    assert http.put("/kv/list", b"now a string").status == 200  # SET replaces any type
    assert served.client().type("list") == b"string"


def test_listing_pages_through_every_key_with_the_prefix(served, http):
    resp = served.client()
    wanted = {f"user:{i}" for i in range(120)}
    resp.mset({key: "v" for key in wanted} | {"other:1": "v", "user*x": "v"})
    seen, cursor = [], "0"
    while True:
        reply = http.get(f"/kv?prefix=user:&count=25&cursor={cursor}")
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("application/json")
        page = json.loads(reply.body)
        seen += page["keys"]
        cursor = page["cursor"]
        if cursor == "0":
            break
    assert sorted(seen) == sorted(wanted)  # each once; not other:1 or user*x


def test_listing_escapes_glob_characters_and_encodes_keys_for_urls(served, http):
    served.client().mset({"a*1": "v", "ab": "v", b"caf\xc3\xa9/x": "v"})
    assert json.loads(http.get("/kv?prefix=a*").body)["keys"] == ["a*1"]
    listed = json.loads(http.get("/kv?prefix=caf").body)["keys"]
    assert listed == ["caf%C3%A9%2Fx"]
    assert http.get("/kv/" + listed[0]).body == b"v"  # a listed key goes back in a URL
    assert json.loads(http.get("/kv?db=5").body) == {"cursor": "0", "keys": []}


@pytest.mark.parametrize(("request_line", "message"), [
    ("PUT /kv/k?ex=0", "ERR invalid expire time in 'set' command"),
    ("PUT /kv/k?ex=soon", "ERR value is not an integer or out of range"),
    ("PUT /kv/k?ex=1&px=1", "ex and px cannot both be given"),
    ("PUT /kv/k?ttl=5", "unknown parameter 'ttl': expected one of db, ex, px"),
    ("PUT /kv/k?db=1&db=2", "parameter 'db' given twice"),
    ("PUT /kv/k?db=16", "ERR DB index is out of range"),
    ("PUT /kv/k%zz", "malformed percent-encoding in the key"),
    ("PUT /kv/", "the key is missing: /kv/<key>"),
    ("GET /kv?count=0", "ERR syntax error"),
    ("GET /kv?cursor=x", "ERR invalid cursor"),
])
def test_bad_requests_are_400_and_change_nothing(served, http, request_line, message):
    served.client().set("k", "before")
    method, path = request_line.split(" ")
    reply = http.request(method, path, body=b"after" if method == "PUT" else None)
    assert (reply.status, reply.text) == (400, message + "\n")
    assert served.client().get("k") == b"before"
    assert served.client().ttl("k") == -1


@pytest.mark.parametrize("request_bytes", [
    b"PUT /kv/k HTTP/1.1\r\nContent-Length: nope\r\n\r\nv",
    b"PUT /kv/k HTTP/9\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # TLS on the plain port
])
def test_malformed_http_is_400(served, request_bytes):
    with socket.create_connection(("127.0.0.1", served.http_port), timeout=10) as sock:
        sock.sendall(request_bytes)
        assert sock.recv(100).split(b" ")[1] == b"400"
    assert served.client().exists("k") == 0


def test_other_methods_are_405_and_other_paths_404(http):
    assert http.request("POST", "/kv/k", body=b"v").status == 405
    assert http.get("/elsewhere").status == 404


def test_bodies_over_proto_max_bulk_len_are_413(caskd_factory):
    served = start_with_http(caskd_factory, "--proto-max-bulk-len", "1mb")
    limit = 1024 * 1024
    client = HttpClient(served.http_port)
    assert client.put("/kv/fits", b"x" * limit).status == 201
    reply = client.put("/kv/big", b"x" * (limit + 1))
    assert reply.status == 413
    assert reply.text == f"the value is over proto-max-bulk-len ({limit} bytes)\n"

    # Chunked, with no Content-Length to refuse it by: counted as it arrives.
    chunked = http.client.HTTPConnection("127.0.0.1", served.http_port, timeout=10)
    chunked.request("PUT", "/kv/big", body=iter([b"x" * 65536] * 17), encode_chunked=True)
    assert chunked.getresponse().status == 413
    assert served.client().exists("big") == 0


def test_a_write_waits_for_client_pause_to_end(served, http):
    resp = served.client()
    resp.execute_command("CLIENT", "PAUSE", "60000", "WRITE")
    other = HttpClient(served.http_port)
    other.connection.request("PUT", "/kv/held", body=b"v")
    assert http.get("/kv/held").status == 404  # reads go on; the write waits
    resp.execute_command("CLIENT", "UNPAUSE")
    assert other.connection.getresponse().status == 201
    assert resp.get("held") == b"v"


def test_http_commands_count_in_commandstats(served, http):
    http.put("/kv/k", b"v")
    http.get("/kv/k")
    stats = served.client().info("commandstats")
    assert stats["cmdstat_set"]["calls"] == 1
    assert stats["cmdstat_get"]["calls"] == 1


def test_curl(served):
    curl = require_tool("curl", "curl")

    def run(*args: str) -> str:
        return subprocess.run([curl, "-s", "-w", " %{http_code}", *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    base = f"http://127.0.0.1:{served.http_port}"
    assert run("-X", "PUT", "--data-binary", "hello", f"{base}/kv/greeting?ex=60") == " 201"
    assert run(f"{base}/kv/greeting") == "hello 200"
    assert run("-X", "DELETE", f"{base}/kv/greeting") == " 204"
    assert run(f"{base}/kv/greeting") == "no such key\n 404"
    assert run(f"{base}/healthz") == "OK\n 200"
