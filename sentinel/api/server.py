"""Serving the API app on a socket we bound ourselves, inside the reconciler's loop: a small
HTTP/1.1 server (h11 parses, asyncio streams carry) that hands each request to the app.

Why not uvicorn and Starlette: measured, together they cost the reconciler about 2.5 MB of its
50 MB budget (docs/contract.md#performance-budgets) for what this channel needs, one request at a time per connection
from the CLI and local tools, over a socket only its owner can open. Limits all the same:
headers up to 64 KiB, bodies up to 1 MiB, and a connection that sends nothing for 60 s is
closed. `close()` stops accepting at once and lets requests in flight finish for up to 2 s (the
answer to `sentinel down` still goes out).
The daemon owns the signals (docs/conventions.md#signal-handlers-only-record): nothing here installs a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import h11

from sentinel.api.http import App, Request, error_response
from sentinel.log import Burst, get_logger

log = get_logger(__name__)

MAX_HEADERS = 64 * 1024
MAX_BODY = 1024 * 1024
IDLE = 60.0  # seconds a connection may wait between bytes
GRACE = 2.0  # seconds requests in flight get once the server closes
_READ = 65536



class _Reject(Exception):
    """A request we answer with an error status without calling the app."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ApiServer:
    """An `app` (the API: `sentinel.api.app.create_app`) on one listening socket until `close()`."""

    def __init__(self, app: App, sock: socket.socket, *, grace: float = GRACE) -> None:
        self._app = app
        self._sock = sock
        self._grace = grace
        self._closed = asyncio.Event()
        self._connections: dict[asyncio.Task[None], _Connection] = {}
        self._accept_failures = Burst(log, "api_accept_failed")

    async def serve(self) -> None:
        server = await asyncio.start_unix_server(self._accepted, sock=self._sock)
        try:
            await self._closed.wait()
        finally:
            server.close()
            open_ = {task: c for task, c in self._connections.items() if not task.done()}
            for task, connection in open_.items():
                if not connection.answering:
                    task.cancel()  # idle between requests: nothing to finish
            busy = {task for task, connection in open_.items() if connection.answering}
            late = (await asyncio.wait(busy, timeout=self._grace))[1] if busy else set()
            for task in late:
                task.cancel()
            await asyncio.gather(*open_, return_exceptions=True)

    def close(self) -> None:
        self._closed.set()

    def loop_error(self, context: dict[str, Any]) -> bool:
        """Whether an error the event loop reports is this server failing to accept (out of descriptors:
        asyncio tries again every second); if so it is logged once per burst, with a count."""
        sock = context.get("socket")
        if sock is None or sock.fileno() != self._sock.fileno() or "accept" not in context.get("message", ""):
            return False
        self._accept_failures.failed(error=str(context.get("exception")))
        return True

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._accept_failures.ended("api_accepting_again")
        connection = _Connection(self._app, reader, writer)
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = connection
            task.add_done_callback(self._connections.pop)
        try:
            await connection.run()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away, or went quiet
        except Exception:
            log.exception("api_connection_failed")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class _Connection:
    """One client connection: requests in turn (keep-alive), each answered before the next is read."""

    def __init__(self, app: App, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._app, self._reader, self._writer = app, reader, writer
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADERS)
        self.answering = False  # a request has arrived and its answer is not sent yet

    async def run(self) -> None:
        while True:
            try:
                event = await self._next()
                if isinstance(event, h11.ConnectionClosed):
                    return
                assert isinstance(event, h11.Request), event
                self.answering = True
                body = await self._body()
            except _Reject as reject:
                await self._error(reject.status, str(reject))
                return
            except h11.RemoteProtocolError as err:
                await self._error(err.error_status_hint, "bad request")
                return
            await self._answer(event, body)
            self.answering = False
            if self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
                return  # `Connection: close`, or the app did not answer in full
            self._h11.start_next_cycle()

    async def _next(self) -> h11.Event:
        while True:
            event = self._h11.next_event()
            if event is h11.PAUSED:  # pipelined requests: not something our clients do
                raise ConnectionError("pipelined request")
            if event is not h11.NEED_DATA:
                assert not isinstance(event, type), event
                return event
            data = await asyncio.wait_for(self._reader.read(_READ), IDLE)
            self._h11.receive_data(data)

    async def _body(self) -> bytes:
        if self._h11.they_are_waiting_for_100_continue:  # curl, for bodies over 1 KiB
            await self._send(h11.InformationalResponse(status_code=100, headers=[]))
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await self._next()
            if isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            if isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("closed mid-request")
            assert isinstance(event, h11.Data), event
            size += len(event.data)
            if size > MAX_BODY:
                raise _Reject(413, f"request body over {MAX_BODY} bytes")
            chunks.append(bytes(event.data))

    async def _answer(self, event: h11.Request, body: bytes) -> None:
        request = Request.parse(event.method.decode("ascii"), event.target.decode("latin-1"), body)
        try:
            response = await self._app(request)
        except Exception:
            log.exception("api_request_failed", method=request.method, path=request.path)
            response = error_response(500, "internal error")
        headers = [(b"content-type", response.content_type.encode()),
                   (b"content-length", str(len(response.body)).encode())]
        await self._send(h11.Response(status_code=response.status, headers=headers))
        await self._send(h11.Data(data=response.body))
        await self._send(h11.EndOfMessage())

    async def _error(self, status: int, message: str) -> None:
        if self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = error_response(status, message).body
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        with contextlib.suppress(h11.LocalProtocolError):
            await self._send(h11.Response(status_code=status, headers=headers))
            await self._send(h11.Data(data=body))
            await self._send(h11.EndOfMessage())

    async def _send(self, event: h11.Event) -> None:
        data = self._h11.send(event)
        if data:
            self._writer.write(data)
            await self._writer.drain()
