"""Hostile HTTP against a real reconciler (docs/security.md "Hostile HTTP on the socket"): headers over
64 KiB, a HEAD, a body nested 100,000 levels deep, a body over 1 MiB, a request that is not HTTP.
Each gets its one-line error status, none leaves a traceback in the log, and the reconciler goes on."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

from tests.support.daemon import Reconciler


def _exchange(r: Reconciler, raw: bytes) -> tuple[int, bytes, bytes]:
    """Send `raw` on the socket, read until the reconciler closes: (status, head, body)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(str(r.state_dir.socket))
        client.sendall(raw)
        chunks = []
        while data := client.recv(65536):
            chunks.append(data)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, body


def test_hostile_requests_get_an_error_status_and_leave_no_traceback(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    big_header = b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-big: " + b"a" * 130 * 1024 + b"\r\n\r\n"
    status, _, body = _exchange(r, big_header)
    assert (status, json.loads(body)["error"]["code"]) == (431, "headers_too_large")

    status, head, body = _exchange(r, b"HEAD /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert (status, body) == (200, b"")
    assert b"content-type: application/json" in head.lower()

    deep = b"[" * 100_000 + b"]" * 100_000
    status, _, body = _exchange(r, b"POST /v1/processes/stop HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
                                   b"content-length: " + str(len(deep)).encode() + b"\r\n\r\n" + deep)
    assert (status, json.loads(body)["error"]["code"]) == (400, "not_json")

    status, _, body = _exchange(r, b"POST /v1/processes/stop HTTP/1.1\r\nhost: x\r\n"
                                   b"content-length: " + str(1024 * 1024 + 1).encode() + b"\r\n\r\n")
    assert (status, json.loads(body)["error"]["code"]) == (413, "body_too_large")

    status, _, body = _exchange(r, b"HELLO\r\n\r\n")
    assert (status, json.loads(body)["error"]["code"]) == (400, "bad_request")

    assert r.row("a")["state"] == "running"
    assert r.cli("status").exit_code == 0
    assert "Traceback" not in r.log and "RecursionError" not in r.log
