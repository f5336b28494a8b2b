"""The API's server (sentinel/api/serving.py: uvicorn, without its main loop) on a real unix socket,
with a small Starlette app: keep-alive, requests that are not HTTP, size and connection limits
(docs/limitations.md), an app that fails, a HEAD, 100-continue, and closing with a request in flight."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, unix_connect

from sentinel.api.app import MAX_BODY, body_of, create_app
from sentinel.api.bodies import Shutdown
from sentinel.api.serving import MAX_CONNECTIONS, MAX_HEADERS, ApiServer, refusal
from sentinel.daemon import bind_socket
from sentinel.reconcile.descriptors import SUPERVISION_RESERVE
from tests.integration.daemon.test_api_tls import self_signed

T = TypeVar("T")


async def echo(request: Request) -> Response:
    """Method, path, query and body as JSON; /boom raises, /slow answers after 0.3 s, /keep parses a body."""
    if request.url.path == "/boom":
        raise RuntimeError("the app failed")
    if request.url.path == "/slow":
        await asyncio.sleep(0.3)
    if request.url.path == "/keep":
        return JSONResponse({"keep": (await body_of(request, Shutdown)).keep})
    return JSONResponse({"method": request.method, "path": request.url.path,
                         "query": {k: request.query_params.getlist(k) for k in request.query_params},
                         "body": (await request.body()).decode()})


async def echo_websocket(websocket: WebSocket) -> None:
    """Sends back each text message until the client closes."""
    await websocket.accept()
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.send_text(await websocket.receive_text())


def make_app() -> Starlette:
    app = create_app(None)  # the API's error handling, with our echo routes instead of its own
    app.router.routes = [WebSocketRoute("/ws", echo_websocket), Route("/{path:path}", echo, methods=["GET", "POST"])]
    return app


def serve(tmp_path: Path, scenario: Callable[[Path, ApiServer], Coroutine[Any, Any, T]], grace: float = 2.0,
          header_timeout: float = 10.0, tls: tuple[str, str] | None = None) -> T:
    """Run `scenario(socket path, server)` against a serving ApiServer; the server is closed after."""
    path = tmp_path / "api.sock"

    async def main() -> T:
        server = ApiServer(make_app(), bind_socket(path), grace=grace, header_timeout=header_timeout, tls=tls)
        serving = asyncio.get_running_loop().create_task(server.serve())
        try:
            return await scenario(path, server)
        finally:
            server.close()
            await asyncio.wait_for(serving, 10)

    return asyncio.run(main())


async def exchange(path: Path, raw: bytes) -> bytes:
    """Send `raw`, read until the server closes."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


def status_and_body(answer: bytes) -> tuple[int, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body) if body else None


def test_a_request_reaches_the_app_with_its_path_query_and_body(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> bytes:
        return await exchange(path, b"POST /v1/x%20y?limit=5 HTTP/1.1\r\nhost: s\r\ncontent-length: 2\r\n"
                                    b"connection: close\r\n\r\nhi")
    assert status_and_body(serve(tmp_path, scenario)) == (
        200, {"method": "POST", "path": "/v1/x y", "query": {"limit": ["5"]}, "body": "hi"})


def test_requests_follow_each_other_on_one_connection(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> list[bytes]:
        reader, writer = await asyncio.open_unix_connection(str(path))
        answers = []
        for name in (b"/one", b"/two"):
            writer.write(b"GET " + name + b" HTTP/1.1\r\nhost: s\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            answers.append(await reader.readexactly(length))
        writer.close()
        return answers
    assert [json.loads(a)["path"] for a in serve(tmp_path, scenario)] == ["/one", "/two"]


def test_a_request_that_is_not_http_gets_400_and_the_server_goes_on(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        bad = await exchange(path, b"HELLO\r\n\r\n")
        good = await exchange(path, b"GET /after HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
        return bad, good
    bad, good = serve(tmp_path, scenario)
    assert status_and_body(bad) == (400, {"error": {"code": "bad_request", "message": "bad request: not HTTP/1.1"}})
    assert status_and_body(good)[0] == 200


def test_headers_over_64_kib_get_431_and_headers_under_it_are_served(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        big = await exchange(path, b"GET /big HTTP/1.1\r\nhost: s\r\nx-big: " + b"a" * 130 * 1024 + b"\r\n\r\n")
        fits = await exchange(path, b"GET /fits HTTP/1.1\r\nhost: s\r\nconnection: close\r\nx-big: "
                                    + b"a" * 60 * 1024 + b"\r\n\r\n")
        return big, fits
    big, fits = serve(tmp_path, scenario)
    assert status_and_body(big) == (431, {"error": {"code": "headers_too_large",
                                                    "message": f"request headers over {MAX_HEADERS} bytes"}})
    assert status_and_body(fits)[0] == 200


def test_a_body_over_the_limit_gets_413_declared_or_chunked(tmp_path: Path) -> None:
    size = MAX_BODY + 1
    error = {"error": {"code": "body_too_large", "message": f"request body over {MAX_BODY} bytes"}}

    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes, bytes]:
        declared = await exchange(path, f"POST /keep HTTP/1.1\r\nhost: s\r\ncontent-length: {size}\r\n\r\n".encode())
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b"POST /keep HTTP/1.1\r\nhost: s\r\ntransfer-encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        for _chunk in range(size // len(chunk) + 1):  # the server reads each one, then hangs up past the limit
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        chunked = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        fits = await exchange(path, b'POST /keep HTTP/1.1\r\nhost: s\r\nconnection: close\r\ncontent-length: 14\r\n'
                                    b'\r\n{"keep": true}')
        return declared, chunked, fits
    declared, chunked, fits = serve(tmp_path, scenario)
    assert status_and_body(declared) == (413, error)
    assert status_and_body(chunked) == (413, error)
    assert status_and_body(fits) == (200, {"keep": True})


def test_an_app_that_fails_answers_500_and_the_server_goes_on(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        boom = await exchange(path, b"GET /boom HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
        after = await exchange(path, b"GET /after HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
        return boom, after
    boom, after = serve(tmp_path, scenario)
    assert status_and_body(boom) == (500, {"error": {"code": "internal", "message": "internal error"}})
    assert status_and_body(after)[0] == 200


def test_head_gets_the_headers_of_a_get_and_no_body(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> bytes:
        return await exchange(path, b"HEAD /x HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
    head, _, body = serve(tmp_path, scenario).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"content-length" in head.lower()
    assert body == b""


def test_closing_lets_a_request_in_flight_finish_and_refuses_new_ones(tmp_path: Path) -> None:
    async def scenario(path: Path, server: ApiServer) -> tuple[bytes, bool]:
        slow = asyncio.get_running_loop().create_task(
            exchange(path, b"GET /slow HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n"))
        await asyncio.sleep(0.1)  # the request is in the app
        server.close()
        answer = await slow
        await asyncio.sleep(0.05)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
            refused = False
        except OSError:
            refused = True
        finally:
            probe.close()
        return answer, refused
    answer, refused = serve(tmp_path, scenario)
    assert status_and_body(answer)[0] == 200
    assert refused


def test_closing_does_not_wait_for_a_connection_idle_between_requests(tmp_path: Path) -> None:
    async def scenario(path: Path, server: ApiServer) -> bytes:
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b"GET /one HTTP/1.1\r\nhost: s\r\n\r\n")  # keep-alive: the connection stays open
        await reader.readuntil(b"\r\n\r\n")
        server.close()
        rest = await asyncio.wait_for(reader.read(), 5)  # the server hangs up at once, not after `grace`
        writer.close()
        return rest
    assert json.loads(serve(tmp_path, scenario, grace=3600))["path"] == "/one"


def test_a_client_waiting_for_100_continue_gets_it_then_an_answer(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b"POST /up HTTP/1.1\r\nhost: s\r\ncontent-length: 4\r\nexpect: 100-continue\r\n"
                     b"connection: close\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.write(b"data")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return interim, answer
    interim, answer = serve(tmp_path, scenario)
    assert interim.startswith(b"HTTP/1.1 100 ")
    assert status_and_body(answer) == (200, {"method": "POST", "path": "/up", "query": {}, "body": "data"})


def test_a_connection_that_sends_no_request_is_closed_after_the_header_timeout(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        reader, writer = await asyncio.open_unix_connection(str(path))
        silent = await asyncio.wait_for(reader.read(), 5)  # the server hangs up: nothing was sent
        writer.close()
        partial_reader, partial_writer = await asyncio.open_unix_connection(str(path))
        partial_writer.write(b"GET /never-finished HTTP/1.1\r\nhost")
        partial = await asyncio.wait_for(partial_reader.read(), 5)
        partial_writer.close()
        return silent, partial
    assert serve(tmp_path, scenario, header_timeout=0.3) == (b"", b"")


def test_over_tls_a_connection_that_starts_no_handshake_is_closed_after_the_header_timeout(tmp_path: Path) -> None:
    """The protocol makes the handshake itself, after the gate, within the header timeout (asyncio's own
    TLS took 60 seconds); a request written as soon as the handshake ends is answered."""
    cert, key = self_signed(tmp_path)

    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        silent_reader, silent = await asyncio.open_unix_connection(str(path))
        trusting = ssl.create_default_context(cafile=str(cert))
        reader, writer = await asyncio.open_unix_connection(str(path), ssl=trusting, server_hostname="localhost")
        writer.write(b"GET /secure HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        dropped = await asyncio.wait_for(silent_reader.read(), 5)
        silent.close()
        return answer, dropped

    answer, dropped = serve(tmp_path, scenario, header_timeout=0.3, tls=(str(cert), str(key)))
    assert status_and_body(answer) == (200, {"method": "GET", "path": "/secure", "query": {}, "body": ""})
    assert dropped == b""


def test_connections_past_the_cap_are_refused_with_503_and_served_again_after(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        held = [await asyncio.open_unix_connection(str(path)) for _ in range(MAX_CONNECTIONS)]
        try:
            await asyncio.sleep(0.2)  # all of them taken by the server
            reader, writer = await asyncio.open_unix_connection(str(path))
            refused = await asyncio.wait_for(reader.read(), 5)  # answered and closed before it says anything
            writer.close()
        finally:
            for _reader, writer in held:
                writer.close()
        await asyncio.sleep(0.2)
        served = await exchange(path, b"GET /x HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
        return refused, served
    refused, served = serve(tmp_path, scenario)
    status, body = status_and_body(refused)
    assert (status, body["error"]["code"]) == (503, "busy")
    assert status_and_body(served)[0] == 200


def test_a_connection_is_refused_when_it_would_leave_too_few_descriptors() -> None:
    assert refusal(10, 0, 1024) is None
    assert refusal(1024 - SUPERVISION_RESERVE - 1, 0, 1024) is None
    assert refusal(1024 - SUPERVISION_RESERVE, 0, 1024) == (
        f"fewer than {SUPERVISION_RESERVE} descriptors left (limit 1024), kept for supervision")
    assert refusal(10, MAX_CONNECTIONS, 1024) == f"{MAX_CONNECTIONS} connections already open"


async def _websocket(path: Path) -> ClientConnection:
    return await unix_connect(str(path), "ws://localhost/ws", open_timeout=5)


def test_a_websocket_outlives_the_header_timeout_and_is_served(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> str:
        connection = await _websocket(path)
        async with connection:
            await asyncio.sleep(0.8)  # past the 0.3 s a new connection has to send its request
            await connection.send("still there")
            return str(await asyncio.wait_for(connection.recv(), 5))
    assert serve(tmp_path, scenario, header_timeout=0.3) == "still there"


def test_websockets_count_against_the_connection_cap(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, str]:
        held = [await _websocket(path) for _ in range(MAX_CONNECTIONS)]
        try:
            reader, writer = await asyncio.open_unix_connection(str(path))
            refused = await asyncio.wait_for(reader.read(), 5)  # answered and closed before it says anything
            writer.close()
            await held[0].send("served")
            echoed = str(await asyncio.wait_for(held[0].recv(), 5))
        finally:
            await asyncio.gather(*(connection.close() for connection in held))
        return refused, echoed
    refused, echoed = serve(tmp_path, scenario)
    assert status_and_body(refused)[1]["error"]["code"] == "busy"
    assert echoed == "served"
