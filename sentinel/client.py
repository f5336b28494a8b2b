"""The CLI's way to the reconciler: HTTP/JSON over the state directory's unix socket (stdlib only).

Kept light (no pydantic, no HTTP library) so `sentinel status` answers fast. Errors become
SentinelErrors: DaemonUnavailable when nothing answers, RemoteError with the API's one-line
message otherwise (RemoteConfigError, exit 2, for an invalid config).
"""

from __future__ import annotations

import http.client
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


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


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
        conn = _UnixConnection(str(self.state_dir.socket), timeout or self.timeout + extra)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (FileNotFoundError, ConnectionRefusedError):
            raise DaemonUnavailable(f"no reconciler is running on {self.state_dir.root} (start one with "
                                    "`sentinel up` or `sentinel apply`)") from None
        except TimeoutError:
            raise RemoteError(f"the reconciler on {self.state_dir.root} did not answer in time") from None
        except OSError as err:
            raise DaemonUnavailable(f"cannot reach the reconciler on {self.state_dir.socket}: {err.strerror}") from None
        finally:
            conn.close()
        return _decode(response.status, raw)


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
