"""The API's log routes and its WebSocket streams (docs/contract.md#logs-over-the-api).

`GET /v1/processes/{name}/logs?lines=N[&stream=S]` answers a process's last lines, read from its log
files (`sentinel.loglines`, as `sentinel logs` reads them). Over a WebSocket, the same path with
`follow=true` sends those lines, then each line as its process writes it; `/v1/events?follow=true`
sends each event as the reconciler records it. Each message is one JSON object: a log line is
`{"time", "stream", "text", "run"}`, an event has the fields of `GET /v1/events`' items. Live
messages come from the reconciler's `Fanout`s (fed where output is logged and events recorded); a
reader that falls too far behind is closed with 1008 and "too slow: fell N messages behind".
Secrets of the config are masked in every line's text, as in events.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from sentinel.api import answers as a
from sentinel.api.answers import ApiError, answer
from sentinel.instances import is_instance_of
from sentinel.log import get_logger
from sentinel.loglines import STREAMS, last_lines, line_message, log_files
from sentinel.reconcile.targets import target_error
from sentinel.runtime.streams import Fanout, Reader, json_message

if TYPE_CHECKING:
    from sentinel.daemon import Daemon

log = get_logger(__name__)

MAX_LINES = 1000  # lines a request may ask for (`lines`, 0 to 1000, 100 by default)
DEFAULT_LINES = 100
MAX_ANSWER_BYTES = 1024 * 1024  # of a log file's end read for one answer: older lines are left out past it
TOO_SLOW = 1008  # WebSocket close code for a reader dropped for falling behind (policy violation)


def _daemon(connection: HTTPConnection) -> Daemon:
    daemon: Daemon = connection.app.state.daemon
    return daemon


def _lines_asked(connection: HTTPConnection) -> int:
    raw = connection.query_params.get("lines") or str(DEFAULT_LINES)
    if not raw.isdigit() or int(raw) > MAX_LINES:
        raise ApiError(422, "invalid_query", f"lines must be a whole number from 0 to {MAX_LINES}", field="lines")
    return int(raw)


def _stream_asked(connection: HTTPConnection) -> str | None:
    stream = connection.query_params.get("stream")
    if stream is not None and stream not in STREAMS:
        raise ApiError(422, "invalid_query", "stream must be output (the process's stdout and stderr, one pipe) "
                                         "or sentinel (the reconciler's own lines)", field="stream")
    return stream


def _known(daemon: Daemon, name: str) -> None:
    desired = daemon.controller.desired
    if not any(is_instance_of(instance, name) for instance in desired):
        raise ApiError(404, "not_found", str(target_error([name], desired)))


def _last(daemon: Daemon, name: str, count: int) -> list[str]:
    """The last `count` lines of `name`'s log files, as read (a complete line ends in a newline)."""
    return last_lines(log_files(daemon.controller.runtime.state_dir, name), count, MAX_ANSWER_BYTES)


def _shown(daemon: Daemon, lines: list[str], stream: str | None) -> list[dict[str, object]]:
    redact = daemon.controller.runtime.log_lines.redact
    messages = [line_message(line, redact) for line in lines]
    return [message for message in messages if stream is None or message["stream"] == stream]


async def process_logs(request: Request) -> Response:
    """A process's last lines (all its instances, merged by time), oldest first."""
    daemon = _daemon(request)
    name = request.path_params["name"]
    count, stream = _lines_asked(request), _stream_asked(request)
    _known(daemon, name)
    return answer(a.LogLines(lines=_shown(daemon, _last(daemon, name, count), stream)))


async def follow_logs(websocket: WebSocket) -> None:
    """WebSocket: the last `lines` lines, then (with `follow=true`) each line as it is written."""
    daemon = _daemon(websocket)
    name = websocket.path_params["name"]
    try:
        count, stream = _lines_asked(websocket), _stream_asked(websocket)
        _known(daemon, name)
    except ApiError as err:
        await websocket.send_denial_response(err.response())
        return
    log_lines = daemon.controller.runtime.log_lines
    first = _last(daemon, name, count)
    reader = None
    if _follows(websocket):  # in the same step as reading the last lines: no line missed, none twice
        first = [line for line in first if line.endswith("\n")]  # the line being written comes live, whole
        reader = log_lines.fanout.subscribe(lambda topic: is_instance_of(topic, name),
                                            lambda topic, lines: log_lines.messages(_bytes(lines), stream))
        for path in log_files(daemon.controller.runtime.state_dir, name):
            log_lines.follow(path.name.removesuffix(".log"), path)
    await _serve(websocket, log_lines.fanout, reader, [json_message(line) for line in _shown(daemon, first, stream)])


async def follow_events(websocket: WebSocket) -> None:
    """WebSocket: each event as the reconciler records it (`process=` for one process's)."""
    daemon = _daemon(websocket)
    if not _follows(websocket):
        await websocket.send_denial_response(ApiError(
            422, "invalid_query", "over a WebSocket, /v1/events needs follow=true", field="follow").response())
        return
    process = websocket.query_params.get("process")
    fanout = daemon.controller.events
    reader = fanout.subscribe(lambda topic: True, lambda topic, event: _event_messages(event, process))
    await _serve(websocket, fanout, reader, [])


def _event_messages(event: object, process: str | None) -> list[str]:
    assert isinstance(event, dict)
    return [json_message(event)] if process is None or event["process"] == process else []


def _bytes(lines: object) -> bytes:
    assert isinstance(lines, bytes)
    return lines


def _follows(websocket: WebSocket) -> bool:
    return websocket.query_params.get("follow", "").lower() in ("true", "1", "yes")


async def _serve(websocket: WebSocket, fanout: Fanout, reader: Reader | None, first: list[str]) -> None:
    """Send `first`, then what `reader` gets until the client leaves or falls too far behind."""
    try:
        await websocket.accept()
        if reader is None:
            await _send_all(websocket, first, None)
            await websocket.close()
            return
        await _relay(websocket, reader, first)
    except WebSocketDisconnect:
        pass
    finally:
        if reader is not None:
            fanout.unsubscribe(reader)


async def _relay(websocket: WebSocket, reader: Reader, first: list[str]) -> None:
    sending = asyncio.ensure_future(_send_all(websocket, first, reader))
    dropped = asyncio.ensure_future(reader.wait_dropped())
    leaving = asyncio.ensure_future(_until_disconnect(websocket))
    tasks = (sending, dropped, leaving)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*tasks, return_exceptions=True)
    if reader.dropped is not None and leaving not in done:
        log.warning("api_stream_dropped", path=websocket.url.path, reason=str(reader.dropped))
        await websocket.close(TOO_SLOW, str(reader.dropped))


async def _send_all(websocket: WebSocket, first: list[str], reader: Reader | None) -> None:
    for text in first:
        await websocket.send_text(text)
    while reader is not None:
        await websocket.send_text(await reader.get())


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it closes."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
