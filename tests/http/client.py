"""A caskd with an HTTP port, and a keep-alive HTTP client for it (the standard
library's http.client: what a script without a Redis client would use)."""

from __future__ import annotations

import base64
import http.client
import ssl
from dataclasses import dataclass
from pathlib import Path

from tests.support import CaskdProcess, free_port, wait_until


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


class HttpClient:
    """One keep-alive connection; ``auth`` is (user, password) for HTTP Basic."""

    def __init__(self, port: int, auth: tuple[str, str] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.auth = auth
        self.tls = tls
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                               context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        headers = dict(headers or {})
        if self.auth is not None:
            pair = f"{self.auth[0]}:{self.auth[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        reply = Reply(response.status, response.headers, response.read())
        if response.will_close:
            self.connection.close()
            self.connection = self._connect()
        return reply

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, body: bytes, **kwargs) -> Reply:
        return self.request("PUT", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.connection.close()


def answers_http(port: int, tls: ssl.SSLContext | None = None) -> bool:
    try:
        return HttpClient(port, tls=tls).get("/healthz").status == 200
    except OSError:
        return False


def start_with_http(caskd_factory, *args: str, tls: ssl.SSLContext | None = None,
                    data_dir: Path | None = None) -> CaskdProcess:
    """caskd with ``--http-port`` (``server.http_port``), ready once /healthz answers."""
    http_port = free_port()
    server = caskd_factory("--http-port", str(http_port), *args, data_dir=data_dir,
                           wait=False)
    server.http_port = http_port
    wait_until(lambda: server._ready() and answers_http(http_port, tls), timeout=30,
               what="caskd's HTTP port")
    return server
