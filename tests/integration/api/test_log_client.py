"""`Client.log_lines` against a remote reconciler (`--api URL --token-file F`): a real ApiServer on TCP with a
small app that answers as the reconciler's log routes do and echoes the headers it was given."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from sentinel.api.answers import error_response
from sentinel.api.app import create_app
from sentinel.api.serving import ApiServer
from sentinel.client import Client, RemoteError, Unreachable
from sentinel.client.remote import Remote
from sentinel.paths import StateDir


def _line(text: str) -> dict[str, object]:
    return {"time": "2026-11-26T02:35:57.123Z", "stream": "output", "text": text, "run": None}


async def logs(request: Request) -> Response:
    if request.path_params["name"] == "nope":
        return error_response(404, "not_found", "unknown process: nope")
    lines = int(request.query_params["lines"])
    return JSONResponse({"lines": [_line(request.headers.get("authorization", "-"))] * lines})


async def follow(websocket: WebSocket) -> None:
    name = websocket.path_params["name"]
    if name == "nope":
        await websocket.send_denial_response(error_response(404, "not_found", "unknown process: nope"))
        return
    await websocket.accept()
    await websocket.send_json(_line(websocket.headers.get("authorization", "-")))
    await websocket.send_json(_line(websocket.query_params["lines"]))
    await websocket.close(1008 if name == "slow" else 1000, "too slow: fell 3 messages behind")


@pytest.fixture
def url() -> Iterator[str]:
    app = create_app(None)
    app.router.routes = [Route("/v1/processes/{name}/logs", logs), WebSocketRoute("/v1/processes/{name}/logs", follow)]
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    loop = asyncio.new_event_loop()
    server = ApiServer(app, listener)
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),))
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        loop.call_soon_threadsafe(server.close)
        thread.join(10)
        loop.close()


def _client(url: str, tmp_path: Path) -> Client:
    token_file = tmp_path / "token"
    token_file.write_text("t0k\n")
    token_file.chmod(0o600)
    return Client(StateDir(tmp_path / "unused"), remote=Remote.parse(url, token_file=str(token_file)))


def test_the_last_lines_over_http_with_the_token(url: str, tmp_path: Path) -> None:
    remote = _client(url, tmp_path)
    lines = list(remote.log_lines("web", 2))
    assert [line["text"] for line in lines] == ["Bearer t0k", "Bearer t0k"]
    with pytest.raises(RemoteError, match="unknown process: nope"):
        list(remote.log_lines("nope", 1))


def test_following_over_the_websocket_with_the_token(url: str, tmp_path: Path) -> None:
    remote = _client(url, tmp_path)
    lines = list(remote.log_lines("web", 5, follow=True))
    assert [line["text"] for line in lines] == ["Bearer t0k", "5"]
    with pytest.raises(RemoteError, match="unknown process: nope"):
        list(remote.log_lines("nope", 1, follow=True))
    with pytest.raises(RemoteError, match="closed the stream: too slow: fell 3 messages behind"):
        list(remote.log_lines("slow", 1, follow=True))


def test_a_url_nothing_answers_on_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    remote = Client(StateDir(tmp_path / "unused"), remote=Remote.parse(f"http://127.0.0.1:{port}"))
    for follow_too in (False, True):
        with pytest.raises(Unreachable, match=f"cannot reach the reconciler at http://127.0.0.1:{port}"):
            list(remote.log_lines("web", 1, follow=follow_too))
