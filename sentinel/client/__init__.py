"""The CLI's way to the reconciler: HTTP/JSON over the state directory's unix socket, or over TCP to a
remote reconciler (`--api http[s]://HOST:PORT`, docs/contract.md#cli).

On the socket, kept light so `sentinel status` answers fast: no pydantic, and not `http.client`
(measured: importing it, with the `email` parser and `ssl` it pulls in, costs `status` about 20 ms
of its 100 ms budget), so one hand-written HTTP/1.1 request per connection with `Connection: close`,
on the interpreter's own socket type (`_socket`: the `socket` module around it, its enums and
`selectors`, cost `status` about 5 ms more, bench/cli_latency.py).
A remote reconciler is reached with `http.client` (`sentinel.client.remote`, imported only then, with
`urllib.parse`: TLS and the framing of answers are its business). Errors become SentinelErrors:
DaemonUnavailable when no reconciler runs on the state directory, RemoteError with the API's one-line message otherwise
(RemoteConfigError, exit 2, for an invalid config or body; errors are `{"error": {"code",
"message"}}`, sentinel/api/answers.py). A reconciler that holds the state directory's lock but does
not answer on the socket (too many connections, out of descriptors) is "not answering", never "not
running". A remote reconciler that cannot be reached is `Unreachable`, never DaemonUnavailable (the
commands that then read the local state.db must not answer for another machine); the bearer token
it is sent is never part of any message.
"""

from __future__ import annotations

import _socket
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from sentinel.errors import DaemonUnavailable, SentinelError
from sentinel.paths import StateDir

if TYPE_CHECKING:
    from sentinel.client.remote import Remote


class RemoteError(SentinelError):
    exit_code: ClassVar[int] = 1


class RemoteConfigError(SentinelError):
    exit_code: ClassVar[int] = 2


class NotAnswering(RemoteError):
    """A reconciler holds the state directory but does not answer (yet, or now) on its socket."""


class Unreachable(RemoteError):
    """A remote reconciler (`--api`) that cannot be reached: refused, unknown host, TLS, no answer in time."""


class BadRemote(SentinelError):
    """`--api`, `--token-file` or `--ca-file` that cannot be used (exit 2, as bad input)."""

    exit_code: ClassVar[int] = 2


def _exchange(path: str, request: bytes, timeout: float) -> bytes:
    """Send one HTTP/1.1 request (Connection: close) over the unix socket and read the whole answer."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
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
    """One reconciler, reached through `state_dir`'s socket, or at `remote` when given."""

    def __init__(self, state_dir: StateDir, *, timeout: float = 10.0, remote: Remote | None = None) -> None:
        self.state_dir = state_dir
        self.timeout = timeout
        self.remote = remote

    @property
    def where(self) -> str:
        """The reconciler as messages name it: its URL, or its state directory."""
        return self.remote.url if self.remote else str(self.state_dir.root)

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        params = {k: v for k, v in query.items() if v is not None}
        return self._call("GET", path + _query(params), None)

    def post(self, path: str, body: dict[str, Any] | None = None, *, wait: float = 0.0) -> dict[str, Any]:
        return self._call("POST", path, body or {}, extra=wait)

    def alive(self) -> bool:
        try:
            self._call("GET", "/healthz", None, timeout=1.0)
        except (DaemonUnavailable, NotAnswering, Unreachable):
            return False
        except RemoteError:
            return True  # something answers on the socket, if slowly: a reconciler is there
        return True

    def _call(self, method: str, path: str, body: dict[str, Any] | None, *, extra: float = 0.0,
              timeout: float | None = None) -> dict[str, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        seconds = timeout or self.timeout + extra
        if self.remote is not None:
            status, data = self.remote.exchange(method, path, payload, seconds)
        else:
            status, data = self._local_exchange(method, path, payload, seconds)
        if status == 503:
            raise self._not_answering(_message(data, "busy"))
        return _decode(status, data)

    def _local_exchange(self, method: str, path: str, payload: bytes | None, timeout: float) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if payload is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        request = head.encode() + b"\r\n" + (payload or b"")
        try:
            raw = _exchange(str(self.state_dir.socket), request, timeout)
        except OSError as err:
            raise self._local_failure(err) from None
        return _parse(raw)

    def _local_failure(self, err: OSError) -> SentinelError:
        """What failing to talk over the socket means: no reconciler, or one that does not answer."""
        if isinstance(err, TimeoutError):
            return self._not_answering("it did not answer in time")
        if lock_held(self.state_dir):
            return self._not_answering(err.strerror or "connection refused")
        if isinstance(err, (FileNotFoundError, ConnectionRefusedError, ConnectionResetError)):
            return DaemonUnavailable(f"no reconciler is running on {self.state_dir.root} (start one with "
                                     "`sentinel up` or `sentinel apply`)")
        return DaemonUnavailable(f"cannot reach the reconciler on {self.state_dir.socket}: {err.strerror or err}")

    def log_lines(self, name: str, lines: int = 100, *, follow: bool = False,
                  on_open: Callable[[Callable[[], None]], None] | None = None) -> Iterator[dict[str, Any]]:
        """A process's log lines (docs/contract.md#logs-over-the-api): the last `lines`, then, with `follow`,
        each new line as it is written, until the reconciler closes the stream. Each is `{"time", "stream",
        "text", "run"}`. Without `follow` one request; with it a WebSocket (the `websockets` client, imported
        then), and `on_open`, if given, is called once it is open with a function that ends it from any thread
        (the iteration then stops: `sentinel top` closes its log pane so)."""
        from urllib.parse import quote

        path = f"/v1/processes/{quote(name, safe='')}/logs"
        if not follow:
            yield from self.get(path, lines=lines)["lines"]
            return
        yield from self._websocket_messages(path + _query({"lines": lines, "follow": "true"}), on_open)

    def _websocket_messages(self, path: str,
                            on_open: Callable[[Callable[[], None]], None] | None = None) -> Iterator[dict[str, Any]]:
        from websockets.exceptions import ConnectionClosed, InvalidStatus
        from websockets.sync.client import ClientConnection, connect, unix_connect

        remote = self.remote
        try:
            connection: ClientConnection
            if remote is not None:
                scheme = "wss" if remote.scheme == "https" else "ws"
                connection = connect(f"{scheme}://{remote.host}:{remote.port}{remote.prefix}{path}",
                                     additional_headers=remote.headers, open_timeout=self.timeout,
                                     ssl=remote.ssl_context() if remote.scheme == "https" else None)
            else:
                connection = unix_connect(str(self.state_dir.socket), "ws://localhost" + path,
                                          open_timeout=self.timeout)
        except InvalidStatus as err:
            status = err.response.status_code
            if remote is not None:
                remote.check_refusal(status, "GET", path)
            _decode(status, bytes(err.response.body or b""))
            raise RemoteError(f"the reconciler refused the stream (HTTP {status})") from None
        except OSError as err:
            raise (remote.failure(err) if remote is not None else self._local_failure(err)) from None
        if on_open is not None:
            on_open(connection.close)
        with connection:
            try:
                for message in connection:
                    yield json.loads(message)
            except ConnectionClosed:
                pass
        if connection.close_code not in (None, 1000, 1001):
            raise RemoteError(f"the reconciler closed the stream: {connection.close_reason or connection.close_code}")

    def _not_answering(self, why: str) -> NotAnswering:
        where = f"at {self.remote.url}" if self.remote else f"on {self.state_dir.root}"
        return NotAnswering(f"the reconciler {where} is not answering ({why})")


def _query(params: dict[str, Any]) -> str:
    """`?key=value&…` of `params` (a list value repeats its key), or "" for none: `urllib.parse` is imported only
    when there is a query, so `status` does not load it."""
    if not params:
        return ""
    from urllib.parse import urlencode

    return f"?{urlencode(params, doseq=True)}"


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
