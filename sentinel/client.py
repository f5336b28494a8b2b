"""The CLI's way to the reconciler: HTTP/JSON over the state directory's unix socket (stdlib only).

Kept light so `sentinel status` answers fast: no pydantic, and not even `http.client` (17 ms to
import); one request per connection, HTTP/1.1 with `Connection: close`. Errors become
SentinelErrors: DaemonUnavailable when no reconciler runs, RemoteError with the API's one-line
message otherwise (RemoteConfigError, exit 2, for an invalid config or body; errors are
`{"error": {"code", "message"}}`, sentinel/api/answers.py). A reconciler that holds the state
directory's lock but does not answer on the socket (too many connections, out of descriptors)
is "not answering", never "not running".
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from sentinel.errors import DaemonUnavailable, SentinelError
from sentinel.paths import StateDir


class RemoteError(SentinelError):
    exit_code: ClassVar[int] = 1


class RemoteConfigError(SentinelError):
    exit_code: ClassVar[int] = 2


class NotAnswering(RemoteError):
    """A reconciler holds the state directory but does not answer (yet, or now) on its socket."""


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


def lock_held(state_dir: StateDir) -> bool:
    """Whether a process (a reconciler) holds the state directory's lock on `sentinel.pid`."""
    try:
        fd = os.open(state_dir.pidfile, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


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
        except (DaemonUnavailable, NotAnswering):
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
        except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError) as err:
            if lock_held(self.state_dir):
                raise self._not_answering(err.strerror or "connection refused") from None
            raise DaemonUnavailable(f"no reconciler is running on {self.state_dir.root} (start one with "
                                    "`sentinel up` or `sentinel apply`)") from None
        except TimeoutError:
            raise self._not_answering("it did not answer in time") from None
        except OSError as err:
            if lock_held(self.state_dir):
                raise self._not_answering(err.strerror or str(err)) from None
            raise DaemonUnavailable(f"cannot reach the reconciler on {self.state_dir.socket}: {err.strerror}") from None
        status, data = _parse(raw)
        if status == 503:
            raise self._not_answering(_message(data, "busy"))
        return _decode(status, data)

    def _not_answering(self, why: str) -> NotAnswering:
        return NotAnswering(f"the reconciler on {self.state_dir.root} is not answering ({why})")


def _message(raw: bytes, default: str) -> str:
    """The one-line message of an error answer: `{"error": {"message": ...}}`, or its text."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return raw.decode(errors="replace").strip() or default
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", default))
    return default


def _decode(status: int, raw: bytes) -> dict[str, Any]:
    if status == 422:
        raise RemoteConfigError(_message(raw, "invalid config"))
    if status >= 400:
        raise RemoteError(_message(raw, f"the reconciler answered HTTP {status}"))
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise RemoteError("the reconciler sent an answer that is not JSON") from None
    if not isinstance(data, dict):
        data = {"value": data}
    return data


def log_stream(target: str, name: str, lines: int = 100, follow: bool = False,
               headers: Mapping[str, str] | None = None, *, timeout: float = 10.0) -> Iterator[dict[str, Any]]:
    """A process's log lines from a running reconciler (docs/contract.md#logs-over-the-api): the last `lines`,
    then, with `follow`, each new line as it is written (forever, until the reconciler closes the stream).

    `target` is the reconciler's unix socket path or its base URL (`https://host:8765`); `headers` go with
    each request (`Authorization`). Each line is `{"time", "stream", "text", "run"}`. Without `follow` it is
    one HTTP request; with it, a WebSocket (the `websockets` client, imported then)."""
    query = urlencode({"lines": lines, **({"follow": "true"} if follow else {})})
    path = f"/v1/processes/{quote(name, safe='')}/logs?{query}"
    if not follow:
        yield from _get_json(target, path, headers or {}, timeout)["lines"]
        return
    yield from _websocket_messages(target, path, headers or {}, timeout)


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def _get_json(target: str, path: str, headers: Mapping[str, str], timeout: float) -> dict[str, Any]:
    if _is_url(target):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(target.rstrip("/") + path, headers=dict(headers))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return _decode(answer.status, answer.read())
        except urllib.error.HTTPError as err:
            return _decode(err.code, err.read())
        except OSError as err:
            raise DaemonUnavailable(f"cannot reach the reconciler at {target}: {err}") from None
    extra = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
    head = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n".encode()
    try:
        raw = _exchange(target, head, timeout)
    except OSError as err:
        raise DaemonUnavailable(f"cannot reach the reconciler on {target}: {err.strerror or err}") from None
    return _decode(*_parse(raw))


def _websocket_messages(target: str, path: str, headers: Mapping[str, str],
                        timeout: float) -> Iterator[dict[str, Any]]:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import ClientConnection, connect, unix_connect

    try:
        connection: ClientConnection
        if _is_url(target):
            url = "ws" + target.rstrip("/").removeprefix("http") + path
            connection = connect(url, additional_headers=dict(headers), open_timeout=timeout)
        else:
            connection = unix_connect(target, "ws://localhost" + path, additional_headers=dict(headers),
                                      open_timeout=timeout)
    except InvalidStatus as err:
        _decode(err.response.status_code, bytes(err.response.body or b""))
        raise RemoteError(f"the reconciler refused the stream (HTTP {err.response.status_code})") from None
    except OSError as err:
        raise DaemonUnavailable(f"cannot reach the reconciler on {target}: {err.strerror or err}") from None
    with connection:
        try:
            for message in connection:
                yield json.loads(message)
        except ConnectionClosed:
            pass
    if connection.close_code not in (None, 1000, 1001):
        raise RemoteError(f"the reconciler closed the stream: {connection.close_reason or connection.close_code}")
