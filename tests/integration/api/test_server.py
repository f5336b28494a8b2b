"""The API's HTTP server (sentinel/api/server.py) on a real unix socket, with a small app:
keep-alive, bad requests, size limits, an app that fails, and closing with a request in flight."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sentinel.api.http import Request, Response, json_response
from sentinel.api.server import MAX_BODY, ApiServer
from sentinel.daemon import bind_socket

T = TypeVar("T")


async def app(request: Request) -> Response:
    """Echoes method, path, query and body as JSON; /boom raises, /slow answers after 0.3 s."""
    if request.path == "/boom":
        raise RuntimeError("the app failed")
    if request.path == "/slow":
        await asyncio.sleep(0.3)
    return json_response({"method": request.method, "path": request.path, "query": dict(request.query),
                          "body": request.body.decode()})


def serve(tmp_path: Path, scenario: Callable[[Path, ApiServer], Coroutine[Any, Any, T]], grace: float = 2.0) -> T:
    """Run `scenario(socket path, server)` against a serving ApiServer; the server is closed after."""
    path = tmp_path / "api.sock"

    async def main() -> T:
        server = ApiServer(app, bind_socket(path), grace=grace)
        serving = asyncio.get_running_loop().create_task(server.serve())
        try:
            return await scenario(path, server)
        finally:
            server.close()
            await asyncio.wait_for(serving, 5)

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
    return int(head.split(b" ")[1]), json.loads(body)


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
    assert status_and_body(bad) == (400, {"error": "bad request"})
    assert status_and_body(good)[0] == 200


def test_a_body_over_the_limit_gets_413_without_reaching_the_app(tmp_path: Path) -> None:
    size = MAX_BODY + 1

    async def scenario(path: Path, _: ApiServer) -> bytes:
        head = f"POST /big HTTP/1.1\r\nhost: s\r\ncontent-length: {size}\r\n\r\n".encode()
        return await exchange(path, head + b"x" * size)
    assert status_and_body(serve(tmp_path, scenario)) == (413, {"error": f"request body over {MAX_BODY} bytes"})


def test_an_app_that_fails_answers_500_and_the_server_goes_on(tmp_path: Path) -> None:
    async def scenario(path: Path, _: ApiServer) -> tuple[bytes, bytes]:
        boom = await exchange(path, b"GET /boom HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
        after = await exchange(path, b"GET /after HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n")
        return boom, after
    boom, after = serve(tmp_path, scenario)
    assert status_and_body(boom) == (500, {"error": "internal error"})
    assert status_and_body(after)[0] == 200


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
