"""One HTTP request over a unix socket with the standard library, as `curl --unix-socket` sends it: for tests
that need the raw answer (status, content type, body text) rather than the product's own client."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path


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
