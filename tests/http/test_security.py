"""HTTP Basic auth against the ACL users, protected mode, and HTTPS with the TLS
port's certificates (tls-auth-clients)."""

from __future__ import annotations

import ssl
import subprocess

import pytest

from tests.http.client import HttpClient, start_with_http
from tests.support import require_tool

CHALLENGE = 'Basic realm="caskd", charset="UTF-8"'


@pytest.fixture
def locked(caskd_factory):
    """caskd with a default password and a user allowed GET and SET on cache:* only."""
    served = start_with_http(caskd_factory, "--requirepass", "secret")
    admin = served.client(password="secret")
    admin.execute_command("ACL", "SETUSER", "alice", "on", ">wonderland", "~cache:*",
                          "+get", "+set")
    return served


def test_no_credentials_where_a_password_is_set_is_401_with_a_challenge(locked):
    reply = HttpClient(locked.http_port).get("/kv/k")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == CHALLENGE
    assert reply.text == "NOAUTH Authentication required.\n"
    assert HttpClient(locked.http_port).get("/metrics").status == 401
    assert HttpClient(locked.http_port).get("/healthz").status == 200  # for load balancers


def test_wrong_credentials_are_401_and_logged_in_acl_log(locked):
    reply = HttpClient(locked.http_port, auth=("alice", "nope")).put("/kv/cache:1", b"v")
    assert reply.status == 401
    assert reply.text == "WRONGPASS invalid username-password pair or user is disabled.\n"
    entry = locked.client(password="secret").acl_log()[0]
    assert (entry["reason"], entry["username"]) == ("auth", "alice")
    assert locked.client(password="secret").exists("cache:1") == 0


def test_the_default_user_and_an_acl_user_log_in(locked):
    assert HttpClient(locked.http_port, auth=("default", "secret")).put(
        "/kv/anything", b"v").status == 201
    alice = HttpClient(locked.http_port, auth=("alice", "wonderland"))
    assert alice.put("/kv/cache:1", b"v").status == 201
    assert alice.get("/kv/cache:1").body == b"v"


def test_what_the_acl_forbids_is_403(locked):
    alice = HttpClient(locked.http_port, auth=("alice", "wonderland"))
    reply = alice.put("/kv/secret:1", b"v")
    assert reply.status == 403
    assert reply.text == "NOPERM this user has no permissions to access one of the keys " \
                         "used as arguments\n"
    reply = alice.delete("/kv/cache:1")
    assert reply.status == 403
    assert reply.text == "NOPERM this user has no permissions to run the 'del' command\n"
    assert alice.get("/metrics").status == 403  # INFO is not among alice's commands
    assert locked.client(password="secret").exists("secret:1") == 0


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + "bm9jb2xvbg=="])
def test_malformed_basic_credentials_are_400(locked, header):
    reply = HttpClient(locked.http_port).get("/kv/k", headers={"Authorization": header})
    assert reply.status == 400


def test_another_scheme_is_401(locked):
    reply = HttpClient(locked.http_port).get("/kv/k", headers={"Authorization": "Bearer x"})
    assert reply.status == 401


def test_protected_mode_refuses_other_addresses(caskd_factory):
    """As for RESP clients: with no password, only 127.0.0.1 and ::1 are served (Redis
    7.0 counts even 127.0.0.2 as outside)."""
    served = start_with_http(caskd_factory, "--http-bind", "127.0.0.1 127.0.0.2")
    outside = HttpClient(served.http_port)
    outside.connection.source_address = ("127.0.0.2", 0)
    outside.connection.host = "127.0.0.2"
    reply = outside.get("/kv/k")
    assert reply.status == 403
    assert reply.text.startswith("DENIED Redis is running in protected mode")
    assert HttpClient(served.http_port).get("/kv/k").status == 404


def _https_context(certs, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    if with_certificate:
        context.load_cert_chain(certs / "client.crt", certs / "client.key")
    return context


def test_https_with_client_certificates_required(caskd_factory, certs):
    tls = _https_context(certs, with_certificate=True)
    served = start_with_http(caskd_factory, "--tls-cert-file", str(certs / "server.crt"),
                             "--tls-key-file", str(certs / "server.key"),
                             "--tls-ca-cert-file", str(certs / "ca.crt"), tls=tls)
    client = HttpClient(served.http_port, tls=tls)
    assert client.put("/kv/k", b"over tls").status == 201
    assert served.client().get("k") == b"over tls"
    with pytest.raises((ssl.SSLError, ConnectionError)):
        HttpClient(served.http_port, tls=_https_context(certs, False)).get("/kv/k")
    with pytest.raises((ssl.SSLError, ConnectionError)):  # plain HTTP gets no answer
        HttpClient(served.http_port).get("/kv/k")


def test_https_with_curl_and_no_client_certificates(caskd_factory, certs):
    curl = require_tool("curl", "curl")
    served = start_with_http(caskd_factory, "--tls-cert-file", str(certs / "server.crt"),
                             "--tls-key-file", str(certs / "server.key"),
                             "--tls-auth-clients", "no",
                             tls=_https_context(certs, with_certificate=False))
    served.client().set("k", "v")
    result = subprocess.run([curl, "-s", "--cacert", str(certs / "ca.crt"),
                             f"https://localhost:{served.http_port}/kv/k"],
                            capture_output=True, timeout=30, check=True)
    assert result.stdout == b"v"
