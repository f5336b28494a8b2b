"""One HTTP(S) request to the TCP API with the standard library, as curl sends it, for tests that need the raw
answer: status, headers and body text."""

from __future__ import annotations

import http.client
import socket
import ssl


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tcp_request(port: int, method: str, url: str, *, token: str | None = None, body: bytes | None = None,
                tls: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], str]:
    """(status, headers with lower-case names, body text) of one request to 127.0.0.1:`port`."""
    conn: http.client.HTTPConnection
    if tls is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        conn.request(method, url, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()
