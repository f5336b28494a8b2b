"""The CLI's way to the reconciler: HTTP/JSON over the state directory's unix socket (stdlib only).

Kept light so `sentinel status` answers fast: no pydantic, and not even `http.client` (17 ms to
import); one request per connection, HTTP/1.1 with `Connection: close`. Errors become
SentinelErrors: DaemonUnavailable when nothing answers, RemoteError with the API's one-line
message otherwise (RemoteConfigError, exit 2, for an invalid config).
"""

from __future__ import annotations

import json
import socket
from typing import Any, ClassVar
from urllib.parse import urlencode

from sentinel.errors import DaemonUnavailable, SentinelError
from sentinel.paths import StateDir


class RemoteError(SentinelError):
    exit_code: ClassVar[int] = 1


class RemoteConfigError(SentinelError):
    exit_code: ClassVar[int] = 2


def _exchange(path: str, request: bytes, timeout: float) -> bytes:
    """Send one HTTP/1.1 request (Connection: close) over the unix socket and read the whole answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
        return b"".join(chunks)
    finally:
        sock.close()


def _parse(raw: bytes) -> tuple[int, bytes]:
    """(status, body) of a raw HTTP/1.1 response. The API always sends a Content-Length (no chunks)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), body
    except (IndexError, ValueError):
        raise RemoteError("the reconciler sent an answer that is not HTTP") from None


class Client:
    """One reconciler, reached through `state_dir`'s socket."""

    def __init__(self, state_dir: StateDir, *, timeout: float = 10.0) -> None:
        self.state_dir = state_dir
        self.timeout = timeout

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        params = {k: v for k, v in query.items() if v is not None}
        suffix = f"?{urlencode(params, doseq=True)}" if params else ""
        return self._call("GET", path + suffix, None)

    def post(self, path: str, body: dict[str, Any] | None = None, *, wait: float = 0.0) -> dict[str, Any]:
        return self._call("POST", path, body or {}, extra=wait)

    def alive(self) -> bool:
        try:
            self._call("GET", "/healthz", None, timeout=1.0)
        except DaemonUnavailable:
            return False
        except RemoteError:
            return True  # something answers on the socket, if slowly: a reconciler is there
        return True

    def _call(self, method: str, path: str, body: dict[str, Any] | None, *, extra: float = 0.0,
              timeout: float | None = None) -> dict[str, Any]:
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        request = head.encode() + b"\r\n" + payload
        try:
            raw = _exchange(str(self.state_dir.socket), request, timeout or self.timeout + extra)
        except (FileNotFoundError, ConnectionRefusedError):
            raise DaemonUnavailable(f"no reconciler is running on {self.state_dir.root} (start one with "
                                    "`sentinel up` or `sentinel apply`)") from None
        except TimeoutError:
            raise RemoteError(f"the reconciler on {self.state_dir.root} did not answer in time") from None
        except OSError as err:
            raise DaemonUnavailable(f"cannot reach the reconciler on {self.state_dir.socket}: {err.strerror}") from None
        status, data = _parse(raw)
        return _decode(status, data)


def _decode(status: int, raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {"error": raw.decode(errors="replace").strip()}
    if not isinstance(data, dict):
        data = {"value": data}
    if status == 422:
        raise RemoteConfigError(str(data.get("error", "invalid config")))
    if status >= 400:
        raise RemoteError(str(data.get("error", f"the reconciler answered HTTP {status}")))
    return data
