"""One HTTP request over a unix socket with the standard library, as `curl --unix-socket` sends it: for tests
that need the raw answer (status, content type, body text) rather than the product's own client."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
import urllib3


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=10)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def raw_request(path: Path, method: str, url: str, body: bytes | None = None) -> tuple[int, str, str]:
    """(status, content type, body text) of one request to the server on the socket at `path`."""
    conn = UnixHTTPConnection(path)
    try:
        conn.request(method, url, body=body)
        response = conn.getresponse()
        return response.status, response.getheader("content-type") or "", response.read().decode()
    finally:
        conn.close()


class _UnixConnection(urllib3.connection.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def _new_conn(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        return sock


class _UnixPool(urllib3.HTTPConnectionPool):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path, self._timeout = path, timeout

    def _new_conn(self) -> _UnixConnection:
        return _UnixConnection(self._path, self._timeout)


class UnixAdapter(requests.adapters.HTTPAdapter):
    """A `requests` transport to the server on a unix socket, whatever the URL's host: for clients that take
    a `requests.Session` (schemathesis) where curl would take `--unix-socket`."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        super().__init__()
        self._pool = _UnixPool(str(path), timeout)

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: bool | str | None,
                                        proxies: Mapping[str, str] | None = None,
                                        cert: Any = None) -> urllib3.HTTPConnectionPool:
        return self._pool

    def close(self) -> None:
        self._pool.close()
        super().close()


def unix_session(path: Path) -> requests.Session:
    """A `requests.Session` whose `http://localhost/…` requests go to the socket at `path`."""
    session = requests.Session()
    session.mount("http://localhost/", UnixAdapter(path))
    return session
