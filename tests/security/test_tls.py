"""TLS: tls-port, with or without the plain port, and the three tls-auth-clients modes,
used by redis-py (ssl=True) and redis-cli --tls. Certificates are made for each run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support import ROOT, free_port, require_tool, wait_until

EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
NO_RETRY = Retry(NoBackoff(), 0)  # a refused connection fails at once


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """A throwaway CA, a server certificate for localhost / 127.0.0.1 and a client
    certificate, both signed by the CA: ca.crt, server.crt/.key, client.crt/.key."""
    openssl = require_tool("openssl")
    directory = tmp_path_factory.mktemp("certs")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=caskd test CA")
    (directory / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        run("req", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")
    return directory


def start_tls(caskd_factory, certs: Path, *args: str):
    """caskd with a TLS port (``server.tls_port``), ready once a TLS PING is answered."""
    tls_port = free_port()
    server = caskd_factory("--tls-port", str(tls_port),
                           "--tls-cert-file", str(certs / "server.crt"),
                           "--tls-key-file", str(certs / "server.key"), *args, wait=False)
    server.tls_port = tls_port
    wait_until(lambda: _answers(tls_client(server, certs)), timeout=30,
               what="caskd to answer PING over TLS")
    return server


def tls_client(server, certs: Path, with_certificate: bool = True) -> redis.Redis:
    certificate = {"ssl_certfile": str(certs / "client.crt"),
                   "ssl_keyfile": str(certs / "client.key")} if with_certificate else {}
    return redis.Redis(port=server.tls_port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                       retry=NO_RETRY, **certificate)


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def redis_cli(port: int, certs: Path, *args: str, with_certificate: bool = True):
    certificate = ["--cert", str(certs / "client.crt"), "--key", str(certs / "client.key")] \
        if with_certificate else []
    return subprocess.run([require_tool("redis-cli"), "-p", str(port), "--tls", "--cacert",
                           str(certs / "ca.crt"), *certificate, *args],
                          capture_output=True, text=True, timeout=30)


def test_tls_only_and_client_certificates_required(caskd_factory, certs):
    server = start_tls(caskd_factory, certs, "--port", "0",
                       "--tls-ca-cert-file", str(certs / "ca.crt"))
    client = tls_client(server, certs)
    assert client.set("k", "over tls")
    assert client.get("k") == b"over tls"
    assert redis_cli(server.tls_port, certs, "GET", "k").stdout == "over tls\n"
    with pytest.raises(redis.exceptions.ConnectionError):
        tls_client(server, certs, with_certificate=False).ping()
    refused = redis_cli(server.tls_port, certs, "PING", with_certificate=False)
    assert "PONG" not in refused.stdout
    with pytest.raises(redis.exceptions.ConnectionError):  # no plain port at all
        server.client(retry=NO_RETRY).ping()


def test_optional_client_certificates_beside_the_plain_port(caskd_factory, certs):
    server = start_tls(caskd_factory, certs, "--tls-auth-clients", "optional",
                       "--tls-ca-cert-file", str(certs / "ca.crt"))
    assert tls_client(server, certs, with_certificate=False).set("k", "v")
    assert redis_cli(server.tls_port, certs, "GET", "k", with_certificate=False).stdout == "v\n"
    assert tls_client(server, certs).get("k") == b"v"
    assert server.client().get("k") == b"v"
    assert {
        "tls-port": str(server.tls_port), "tls-cert-file": str(certs / "server.crt"),
        "tls-key-file": str(certs / "server.key"), "tls-ca-cert-file": str(certs / "ca.crt"),
        "tls-auth-clients": "optional"}.items() <= server.client().config_get("tls-*").items()


def test_no_client_certificates_asked(caskd_factory, certs):
    server = start_tls(caskd_factory, certs, "--tls-auth-clients", "no")
    assert tls_client(server, certs, with_certificate=False).ping()
    plain = redis.Redis(port=server.tls_port, retry=NO_RETRY)
    with pytest.raises(redis.exceptions.ConnectionError):  # TLS port: no plain RESP
        plain.ping()
    assert tls_client(server, certs).ping()  # a certificate sent anyway does no harm


@pytest.mark.parametrize(("args", "message"), [
    ((), "No tls-cert-file configured!"),
    (("--tls-cert-file", "{certs}/server.crt"), "No tls-key-file configured!"),
    (("--tls-cert-file", "{certs}/server.crt", "--tls-key-file", "{certs}/server.key"),
     "Either tls-ca-cert-file or tls-ca-cert-dir must be specified"),
    (("--tls-cert-file", "{certs}/missing.crt", "--tls-key-file", "{certs}/server.key",
      "--tls-auth-clients", "no"), "Failed to configure TLS"),
])
def test_a_bad_tls_configuration_stops_the_start(tmp_path, certs, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "server", "--port", str(free_port()), "--dir", str(tmp_path),
         "--tls-port", str(free_port()), *(arg.format(certs=certs) for arg in args)],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert message in result.stderr
