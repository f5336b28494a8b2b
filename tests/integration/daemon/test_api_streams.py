"""Logs over HTTP and the WebSocket streams (docs/contract.md#logs-over-the-api), black-box: a real reconciler,
real children, the real `websockets` client over the real unix socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, unix_connect

from sentinel.client import Client
from sentinel.runtime.logfile import LINE_MAX
from tests.support.daemon import Reconciler
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for

COUNTER = "i=0; while true; do i=$((i+1)); echo \"line $i\"; sleep 0.05; done"


def _connect(r: Reconciler, path: str, **options: Any) -> ClientConnection:
    connection: ClientConnection = unix_connect(str(r.state_dir.socket), f"ws://localhost{path}", open_timeout=10,
                                                **options)
    return connection


def _messages(connection: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(connection.recv(timeout=10)) for _ in range(count)]


def _numbers(lines: list[dict[str, Any]]) -> list[int]:
    return [int(line["text"].split()[1]) for line in lines]


@pytest.fixture
def counting(make_reconciler: Callable[..., Reconciler]) -> Reconciler:
    r = make_reconciler(f"""
processes:
  counter:
    command: ["sh", "-c", {json.dumps(COUNTER)}]
  quiet:
    command: sleep 1000
""")
    r.start()
    wait_for(lambda: len(r.client.get("/v1/processes/counter/logs", lines=5)["lines"]) == 5)
    return r


def test_http_logs_answer_the_last_lines_as_json(counting: Reconciler) -> None:
    lines = counting.client.get("/v1/processes/counter/logs", lines=3)["lines"]
    assert len(lines) == 3
    assert all(set(line) == {"time", "stream", "text", "run"} and line["stream"] == "output" for line in lines)
    numbers = _numbers(lines)
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert counting.client.get("/v1/processes/counter/logs", lines=0)["lines"] == []
    assert counting.client.get("/v1/processes/quiet/logs")["lines"] == []
    assert counting.client.get("/v1/processes/counter/logs", stream="sentinel")["lines"] == []


@pytest.mark.parametrize(("query", "status", "field"), [
    ("lines=x", 422, "lines"), ("lines=1001", 422, "lines"), ("lines=-1", 422, "lines"),
    ("stream=stderr", 422, "stream"),
])
def test_http_logs_refuse_a_bad_query_naming_it(counting: Reconciler, query: str, status: int, field: str) -> None:
    code, _, body = raw_request(counting.state_dir.socket, "GET", f"/v1/processes/counter/logs?{query}")
    assert (code, json.loads(body)["error"]["field"]) == (status, field)


def test_logs_of_an_unknown_process_are_404_over_http_and_websocket(counting: Reconciler) -> None:
    code, _, body = raw_request(counting.state_dir.socket, "GET", "/v1/processes/nope/logs")
    assert code == 404 and json.loads(body)["error"]["code"] == "not_found"
    with pytest.raises(InvalidStatus) as refused:
        _connect(counting, "/v1/processes/nope/logs?follow=true")
    assert refused.value.response.status_code == 404
    assert json.loads(refused.value.response.body or b"")["error"]["message"] == "unknown process: nope"


def test_follow_sends_the_last_lines_then_each_new_line_none_missed_none_twice(counting: Reconciler) -> None:
    with _connect(counting, "/v1/processes/counter/logs?follow=true&lines=5") as stream:
        numbers = _numbers(_messages(stream, 30))
    assert numbers == list(range(numbers[0], numbers[0] + 30))


def test_without_follow_the_websocket_sends_the_last_lines_and_closes(counting: Reconciler) -> None:
    with _connect(counting, "/v1/processes/counter/logs?lines=2") as stream:
        assert len(_messages(stream, 2)) == 2
        with pytest.raises(ConnectionClosed):
            stream.recv(timeout=10)
        assert stream.close_code == 1000


def test_events_follow_sends_each_event_with_the_fields_of_get_events(counting: Reconciler) -> None:
    with pytest.raises(InvalidStatus):
        _connect(counting, "/v1/events")  # a WebSocket on /v1/events follows, or is refused
    with _connect(counting, "/v1/events?follow=true&process=quiet") as stream:
        counting.client.post("/v1/processes/quiet/restart", {"timeout": 10})
        live = _messages(stream, 2)
    recorded = counting.client.get("/v1/events", process="quiet", limit=2)["events"]
    assert live == recorded
    assert [event["kind"] for event in live] == ["restart_requested", "restarted"]


@pytest.mark.reliability  # 12 s of a flood of log lines: CI's reliability step
def test_a_reader_that_does_not_read_is_dropped_and_the_reconciler_memory_stays_bounded(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("""
processes:
  fast:
    command: ["sh", "-c", "while true; do echo 'a line printed as fast as the shell can, to fill a reader up'; done"]
    logs: {max_size: 2MB, keep: 1}
""")
    r.start()
    assert r.process is not None
    wait_for(lambda: r.client.get("/v1/processes/fast/logs", lines=1)["lines"])
    reconciler = psutil.Process(r.process.pid)
    with _connect(r, "/v1/events?follow=true"), _connect(r, "/v1/processes/fast/logs?follow=true&lines=0"):
        pass  # the streams' code and buffers exist once before the baseline
    before = reconciler.memory_full_info().uss
    with _connect(r, "/v1/processes/fast/logs?follow=true&lines=0", max_queue=1) as stream:
        wait_for(lambda: "api_stream_dropped" in r.log, timeout=30)
        after = reconciler.memory_full_info().uss
        with pytest.raises(ConnectionClosed):
            while True:
                stream.recv(timeout=10)
        assert stream.close_code == 1008
        reason = stream.close_reason or ""
        assert reason.startswith("too slow: fell ") and reason.endswith(" messages behind"), reason
    assert after - before < 20 * 1024 * 1024, (before, after)
    assert r.client.alive()


HOSTILE = r"""
import sys, time
out = sys.stdout.buffer
out.write(b"bad utf-8 \xff\xfe \xc3( end\n")
out.write(b"controls \x00\x07\x1b[2J\x7f\r end\n")
out.write(b"huge " + b"x" * (3 * 65536) + b"\n")
out.write("\u2500\u2500 forged own line\n".encode())
out.flush()
while True:
    out.write(b"after\n")
    out.flush()
    time.sleep(0.1)
"""


def test_hostile_output_reaches_readers_as_valid_bounded_json(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE)
    r = make_reconciler(f"""
processes:
  hostile:
    command: [{sys.executable!r}, {str(script)!r}]
""")
    with_stream: list[str] = []
    r.start()
    with _connect(r, "/v1/processes/hostile/logs?follow=true&lines=1000", max_size=None) as stream:
        while not any('"after"' in text for text in with_stream):
            with_stream.append(str(stream.recv(timeout=10)))
    answered = raw_request(r.state_dir.socket, "GET", "/v1/processes/hostile/logs?lines=1000")[2]
    for lines in ([json.loads(text) for text in with_stream], json.loads(answered)["lines"]):
        texts = [line["text"] for line in lines]
        assert "bad utf-8 \ufffd\ufffd \ufffd( end" in texts
        assert "controls \x00\x07\x1b[2J\x7f\r end" in texts
        assert all(len(text.encode()) <= LINE_MAX + 8 for text in texts)
        assert sum(text.count("x") for text in texts) == 3 * 65536
        assert "\\\u2500\u2500 forged own line" in texts
        assert all(line["stream"] == "output" for line in lines)


SECRET = "pw-PLANTED-9"


def test_a_planted_secret_never_appears_in_a_stream_message_or_answer(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("""
processes:
  leaky:
    command: ["sh", "-c", "while true; do echo \\"token=$API_TOKEN pw=$DB_PASSWORD\\"; sleep 0.1; done"]
    env_file: secret.env
    env: {API_TOKEN: "tok-PLANTED-7"}
""")
    (r.config.parent / "secret.env").write_text(f"DB_PASSWORD={SECRET}\n")
    r.start()
    wait_for(lambda: r.client.get("/v1/processes/leaky/logs", lines=2)["lines"])
    with _connect(r, "/v1/processes/leaky/logs?follow=true&lines=3") as stream:
        streamed = [str(stream.recv(timeout=10)) for _ in range(6)]
    with _connect(r, "/v1/events?follow=true") as events:
        r.client.post("/v1/processes/leaky/restart", {"timeout": 10})
        streamed += [str(events.recv(timeout=10)) for _ in range(2)]
    answered = raw_request(r.state_dir.socket, "GET", "/v1/processes/leaky/logs?lines=50")[2]
    through_cli = r.cli("logs", "--through-api", "leaky", "-n", "5").output
    for text in [*streamed, answered, through_cli]:
        assert SECRET not in text and "tok-PLANTED-7" not in text, text
    assert "token=*** pw=***" in answered
    assert SECRET in (r.home / "logs" / "leaky.log").read_text()  # the file holds what the child wrote


@pytest.fixture
def follower(counting: Reconciler) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "sentinel", "--state-dir", str(counting.home), "logs", *args]
        started.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(10)
        for pipe in (process.stdout, process.stderr):
            assert pipe is not None
            pipe.close()


def test_logs_follow_through_the_api_prints_new_lines_over_the_websocket(
    counting: Reconciler, follower: Callable[..., subprocess.Popen[str]],
) -> None:
    process = follower("-f", "--through-api", "-n", "2", "counter")
    assert process.stdout is not None
    printed = [process.stdout.readline() for _ in range(12)]
    numbers = [int(line.split()[-1]) for line in printed]
    assert numbers == list(range(numbers[0], numbers[0] + 12)), printed
    assert all(line.split()[0].endswith("Z") for line in printed)
    process.send_signal(signal.SIGINT)
    assert process.wait(10) == 0


def test_logs_through_the_api_say_what_is_wrong_in_one_line(counting: Reconciler) -> None:
    result = counting.cli("logs", "--through-api", "nope")
    assert result.exit_code == 1
    assert result.output.strip().endswith("unknown process: nope")
    as_json = counting.cli("logs", "--through-api", "--json", "-n", "2", "counter").output.splitlines()
    assert [set(json.loads(line)) for line in as_json] == [{"time", "text", "run"}] * 2
    following = list(Client(counting.state_dir).log_lines("counter", 1))
    assert len(following) == 1
    counting.stop()
    result = counting.cli("logs", "--through-api", "-f", "counter")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert os.path.exists(counting.home / "logs" / "counter.log")
