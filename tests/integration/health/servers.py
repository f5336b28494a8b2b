"""Real servers for the probe tests: scripted asyncio servers on 127.0.0.1:0, a stdlib HTTP server in a thread.

Used by the tests in this directory; each yields the port it listens on and stops when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serve(handler: Handler, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None,
                ) -> AsyncIterator[int]:
    """Run `handler` for each connection (in this loop) on a fresh port; yields the port."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                await handler(reader, writer)
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(guarded, host, 0, ssl=tls)
    async with server:
        yield server.sockets[0].getsockname()[1]


def answering(statuses: list[int], seen: list[bytes]) -> Handler:
    """A handler answering each request with the next status of `statuses` (the last one repeats)."""
    remaining = list(statuses)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        status = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        writer.write(f"HTTP/1.1 {status} Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()

    return handle


def replying(payload: bytes) -> Handler:
    """A handler that reads the request head, writes `payload` as it is, and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(payload)
        await writer.drain()

    return handle


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts, reads everything, never answers; returns when the client hangs up."""
    while await reader.read(4096):
        pass


@contextlib.contextmanager
def stdlib_http_server(statuses: list[int], paths: list[str]) -> Iterator[int]:
    """`http.server` in a thread, answering GETs with `statuses` in turn (the last repeats); yields the port."""
    remaining = list(statuses)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            status = remaining.pop(0) if len(remaining) > 1 else remaining[0]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (just released by us)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port
