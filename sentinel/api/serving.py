"""Serving the API app (Starlette) with uvicorn on a socket we bound ourselves, inside the
reconciler's loop.

uvicorn runs without its main loop (which wakes 10 times a second: docs/contract.md#performance-budgets
measures the reconciler idle) and without its signal handlers (the daemon owns the signals,
docs/conventions.md#signal-handlers-only-record). Limits (docs/limitations.md): headers up to 64 KiB
(431 past it), bodies up to 1 MiB (413, in `app`), at most `MAX_CONNECTIONS` connections at once,
a first request within `HEADER_TIMEOUT` seconds of connecting, `KEEP_ALIVE` seconds between
requests. A connection is refused at once (503, closed) when taking it would leave fewer than
`SUPERVISION_RESERVE` descriptors free, so a flood of connections never starves supervision
(starting a process needs descriptors). asyncio accepts up to its `backlog` connections in one go
before the first of them is checked, so that is kept to `ACCEPT_BURST` (uvicorn's 2,048 exhausted the
descriptors in one loop tick: a restart in that tick failed with "too many open files"), while the
kernel still queues `LISTEN_QUEUE` connections. `close()` stops accepting at once and lets requests in
flight finish for up to `GRACE` seconds (the answer to `sentinel down` still goes out). No request
produces a traceback in the log: an app that fails answers 500 and logs one line.

WebSocket upgrades (`/v1/.../logs?follow=true`, `/v1/events?follow=true`) are taken by the same
protocol, so a WebSocket connection passes the same `Gate` and counts against `MAX_CONNECTIONS` for
as long as it is open; the WebSocket protocol (`websocket`, on `websockets`) is imported with the
first upgrade. A WebSocket is pinged every `WS_PING` seconds and closed (1011) when a pong takes
longer than `WS_PING` seconds; a message from the client may have `WS_MAX_MESSAGE` bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import resource
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import Server

from sentinel.api.answers import error_body
from sentinel.log import Burst, get_logger
from sentinel.reconcile.descriptors import SUPERVISION_RESERVE

log = get_logger(__name__)

MAX_HEADERS = 64 * 1024  # bytes of request line and headers
MAX_CONNECTIONS = 128  # connections open at once; more are refused
HEADER_TIMEOUT = 10.0  # seconds a new connection has to send its first request's headers
KEEP_ALIVE = 5.0  # seconds a connection may stay idle between requests
GRACE = 2.0  # seconds requests in flight get once the server closes
ACCEPT_BURST = 16  # connections asyncio accepts per loop tick before any is checked (fits SUPERVISION_RESERVE)
LISTEN_QUEUE = 1024  # connections the kernel queues until they are accepted
WS_PING = 20.0  # seconds between a WebSocket's pings, and how long its pong may take
WS_MAX_MESSAGE = 4096  # bytes a client's WebSocket message may have (the streams read none)


class Gate:
    """Whether to take a connection just accepted. Refusals are logged once per burst, with a count; a
    burst ends at the first connection taken `QUIET` seconds after the last refusal (during a flood,
    connections are taken now and then as others close: that does not end it)."""

    QUIET = 5.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.accept_failures = Burst(log, "api_accept_failed", clock=clock)
        self.refusals = Burst(log, "api_connection_refused", clock=clock)
        self._clock = clock
        self._refused_at = -self.QUIET

    def admits(self, descriptor: int, open_connections: int) -> bool:
        reason = refusal(descriptor, open_connections, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        now = self._clock()
        if reason is None:
            self.accept_failures.ended("api_accepting_again")
            if now - self._refused_at >= self.QUIET:
                self.refusals.ended("api_connections_taken_again")
            return True
        self._refused_at = now
        self.refusals.failed(reason=reason)
        return False


def refusal(descriptor: int, open_connections: int, limit: int) -> str | None:
    """Why a connection accepted on `descriptor` is refused, or None. Descriptors are allocated
    lowest first, so a connection's number tells how few are left above it: at most `limit - descriptor - 1`."""
    if open_connections >= MAX_CONNECTIONS:
        return f"{MAX_CONNECTIONS} connections already open"
    if limit != resource.RLIM_INFINITY and descriptor >= limit - SUPERVISION_RESERVE:
        return f"fewer than {SUPERVISION_RESERVE} descriptors left (limit {limit}), kept for supervision"
    return None


_END_OF_HEADERS = re.compile(rb"\n\r?\n")  # as h11 finds it


def raw_answer(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole error answer (then the connection closes), for refusals written below the app."""
    body = error_body(code, message)
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nconnection: close\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


_BUSY = raw_answer(503, "Service Unavailable", "busy",
                   "the reconciler is not taking connections now (too many open); try again")
_TOO_LARGE = raw_answer(431, "Request Header Fields Too Large", "headers_too_large",
                        f"request headers over {MAX_HEADERS} bytes")
_BAD = raw_answer(400, "Bad Request", "bad_request", "bad request: not HTTP/1.1")


class GuardedProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with the connection limits above and the API's error shape for
    requests that are not HTTP (400) or whose headers are too large (431).

    With `tls`, the protocol makes the TLS handshake itself (`loop.start_tls`), after the `Gate` has
    taken the connection and within `header_timeout` seconds: asyncio's own TLS server took every
    connection first and told the protocol only after the handshake, so a flood of connections that never
    started one held descriptors past the reserve for asyncio's 60 seconds."""

    gate: ClassVar[Gate]
    header_timeout: ClassVar[float] = HEADER_TIMEOUT
    tls: ClassVar[ssl.SSLContext | None] = None
    _header_timer: asyncio.TimerHandle | None = None
    _handshake: asyncio.Task[None] | None = None
    _connected = False  # uvicorn's protocol has been told of the connection (past the gate and any handshake)
    _early: list[bytes]  # what came with the end of the TLS handshake, before the protocol was told of it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._early = []
        sock = transport.get_extra_info("socket")
        if not self.gate.admits(sock.fileno(), len(self.connections)):
            self.transport = transport
            if self.tls is None:
                transport.write(_BUSY)
            transport.close()
            return
        if self.tls is not None:
            transport.pause_reading()  # the client's hello is for the handshake, not for HTTP
            self._handshake = self.loop.create_task(self._secure(transport, self.tls))
            return
        self._connected_over(transport)

    async def _secure(self, transport: asyncio.Transport, context: ssl.SSLContext) -> None:
        try:
            secure = await self.loop.start_tls(transport, self, context, server_side=True,
                                               ssl_handshake_timeout=self.header_timeout)
        except (OSError, ssl.SSLError):  # no handshake in time, or a failed one: asyncio has closed it
            transport.close()
            return
        if secure is None:  # pragma: no cover - closed as the handshake ended
            transport.close()
            return
        self._connected_over(secure)

    def _connected_over(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._connected = True
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)
        early, self._early = self._early, []
        for data in early:
            self.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        if self._connected or self.tls is None:
            super().connection_lost(exc)

    def _should_upgrade_to_ws(self) -> bool:
        return True  # with the protocol of `websocket`, imported then (`handle_websocket_upgrade`)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        from sentinel.api.websocket import ApiWebSocket

        if self._header_timer is not None:
            self._header_timer.cancel()  # the request has come; the WebSocket has its pings
        self.ws_protocol_class = ApiWebSocket
        super().handle_websocket_upgrade(event)

    def _headers_late(self) -> None:
        if self.cycle is None and not self.transport.is_closing():  # no request has started
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if not self._connected and self.tls is not None:  # came with the end of the handshake, before `_secure` resumed
            self._early.append(data)
            return
        if self.conn.their_state is h11.IDLE and not self._headers_fit(data):
            self._answer_and_close(_TOO_LARGE)
            return
        super().data_received(data)

    def _headers_fit(self, data: bytes) -> bool:
        """Whether the request starting in what has arrived ends its headers within MAX_HEADERS (h11 itself
        only checks a request whose headers have not all arrived yet)."""
        pending = self.conn.trailing_data[0] + data
        return len(pending) <= MAX_HEADERS or _END_OF_HEADERS.search(pending, 0, MAX_HEADERS + 2) is not None

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(_TOO_LARGE if len(self.conn.trailing_data[0]) > MAX_HEADERS else _BAD)

    def _answer_and_close(self, raw: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(raw)
            self.transport.close()


class _Server(Server):
    """uvicorn's server without its 10-per-second main loop and without its signal handlers."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._closed = asyncio.Event()

    async def main_loop(self) -> None:
        await self._closed.wait()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        for sock in sockets or ():  # asyncio listened with the burst as the queue: queue deeper, accept in bursts
            sock.listen(LISTEN_QUEUE)

    def close(self) -> None:
        self.should_exit = True
        self._closed.set()


def guarded(app: ASGIApp) -> ASGIApp:
    """`app`, whose failures are one log line (Starlette has already answered 500), never a traceback."""

    async def guarded_app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            log.exception("api_request_failed", method=scope.get("method"), path=scope.get("path"))

    return guarded_app


class ApiServer:
    """An ASGI `app` (the API: `sentinel.api.app.create_app`) on one listening socket until `close()`."""

    def __init__(self, app: ASGIApp, sock: socket.socket, *, grace: float = GRACE,
                 header_timeout: float = HEADER_TIMEOUT, gate: Gate | None = None,
                 tls: tuple[str, str] | None = None) -> None:
        """`gate`: shared with the other listener (one descriptor reserve, one log of refusals); `tls`: the
        certificate and key files to serve HTTPS with (`tcp.check_tls` has checked them)."""
        self._sock = sock
        self.gate = gate or Gate()
        self._protocol: type[GuardedProtocol] = type("ApiProtocol", (GuardedProtocol,),
                                                     {"gate": self.gate, "header_timeout": header_timeout})
        cert, key = tls or (None, None)
        config = Config(
            guarded(app), loop="none", lifespan="off", log_config=None, http=self._protocol, ws="none",
            ws_ping_interval=WS_PING, ws_ping_timeout=WS_PING, ws_max_size=WS_MAX_MESSAGE, ws_per_message_deflate=False,
            interface="asgi3", access_log=False, server_header=False, date_header=False, proxy_headers=False,
            limit_concurrency=MAX_CONNECTIONS, backlog=ACCEPT_BURST, timeout_keep_alive=int(KEEP_ALIVE),
            h11_max_incomplete_event_size=MAX_HEADERS, timeout_graceful_shutdown=max(1, round(grace)),
            ssl_certfile=cert, ssl_keyfile=key,
        )
        logging.getLogger("uvicorn").setLevel(logging.ERROR)  # its per-request warnings would flood the log
        self._server = _Server(config)

    async def serve(self) -> None:
        config = self._server.config
        try:
            if not config.loaded:
                config.load()  # here, so that TLS files changed since `listen.check_tls` are one line
        except (OSError, ssl.SSLError) as err:
            log.error("api_listener_failed", error=str(err))
            self._sock.close()
            return
        # uvicorn's TLS settings made the context; the protocol makes the handshake with it (`GuardedProtocol`)
        self._protocol.tls, config.ssl = config.ssl, None
        await self._server.serve(sockets=[self._sock])

    def close(self) -> None:
        self._server.close()

    def loop_error(self, context: dict[str, Any]) -> bool:
        """Whether an error the event loop reports is this server failing to accept (out of descriptors:
        asyncio tries again every second); if so it is logged once per burst, with a count."""
        sock = context.get("socket")
        if sock is None or sock.fileno() != self._sock.fileno() or "accept" not in context.get("message", ""):
            return False
        self.gate.accept_failures.failed(error=str(context.get("exception")))
        return True
