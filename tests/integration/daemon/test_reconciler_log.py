"""The reconciler's own log (docs/architecture.md "The reconciler's own log"): events with their fields,
logfmt or JSON, `sentinel.log` rotated when detached, a repeated failure logged once per burst."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

SPAWNED = {"timestamp", "level", "event", "process", "pid", "pass_id"}


def logfmt(line: str) -> dict[str, str]:
    """One logfmt line → its fields; AssertionError if it is not logfmt."""
    fields: dict[str, str] = {}
    for word in shlex.split(line, posix=True):
        key, equals, value = word.partition("=")
        assert equals and key and " " not in key, f"not logfmt: {line!r}"
        fields[key] = value
    return fields


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def events(records: list[dict[str, str]], name: str) -> list[dict[str, str]]:
    return [record for record in records if record["event"] == name]


def test_foreground_log_is_logfmt_with_bound_fields(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    wait_for(lambda: "event=reconciler_ready" in r.log)
    records = [logfmt(line) for line in lines_of(r.log)]
    assert all(list(record)[:3] == ["timestamp", "level", "event"] for record in records), records
    # wait_state asked over the API socket: a request that goes well logs nothing above info
    assert [record for record in records if record["level"] not in ("debug", "info")] == []
    spawned = events(records, "spawned")
    assert len(spawned) == 1 and spawned[0].keys() >= SPAWNED, spawned
    assert spawned[0]["process"] == "a" and spawned[0]["level"] == "info"
    started = events(records, "started")[0]
    assert (started["process"], started["message"]) == ("a", "started a: new in config")
    assert started["pass_id"] == spawned[0]["pass_id"]  # bound once for the pass, on each of its lines


def test_json_from_the_file_every_line_parses(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("log: {format: json}\nprocesses: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    r.cli("stop", "a")
    r.wait_state("a", "stopped")
    records = [json.loads(line) for line in lines_of(r.log)]
    assert events(records, "spawned")[0].keys() >= SPAWNED
    signalled = events(records, "stop_signal")[0]
    assert signalled["process"] == "a" and signalled["signal"] == "SIGTERM"  # bound around the stop
    assert isinstance(signalled["pgid"], int)


def test_detached_log_rotates_by_size_and_count_and_honours_log_format(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("""
log: {max_size: 1KB, keep: 2}
processes:
  quick: {command: "true", replicas: 30, restart: {policy: never}}
""")
    result = r.cli("up", "-f", str(r.config), "--detach", "--log-format", "json")
    try:
        assert result.exit_code == 0, result.output
        log = r.state_dir.daemon_log
        wait_for(lambda: sum(row["exit_code"] == 0 for row in r.rows().values()) == 30, timeout=20,
                 message=lambda: str([row["state"] for row in r.rows().values()]))
        rotated = [log.with_name(f"{log.name}.{index}") for index in (1, 2, 3)]
        assert rotated[0].exists() and rotated[1].exists() and not rotated[2].exists()
        for path in (log, *rotated[:2]):
            assert path.stat().st_mode & 0o777 == 0o600
            assert path.stat().st_size < 1000 + 500  # a file ends with the line that filled it
            assert all(json.loads(line)["event"] for line in lines_of(path.read_text()))
    finally:
        assert r.cli("down").exit_code == 0


def test_a_log_that_cannot_be_written_is_reported_once_per_outage_with_a_count(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    counter = tmp_path / "count"
    r = make_reconciler(f"""
processes:
  chatty:
    command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; echo $i > {counter}; sleep 0.01; done"]
""")
    r.start()
    r.wait_state("chatty", "running")
    log = r.state_dir.log_file("chatty")
    wait_for(log.exists)

    def written() -> int:
        text = counter.read_text().strip() if counter.exists() else ""
        return int(text) if text.isdigit() else 0

    log.unlink()
    log.mkdir()  # the path is a directory now: no chunk can be written
    broken_at = written()
    wait_for(lambda: written() > broken_at + 20, timeout=10)
    log.rmdir()
    wait_for(lambda: "event=log_writable_again" in r.log, timeout=10, message=lambda: r.log[-3000:])
    records = [logfmt(line) for line in lines_of(r.log)]
    failed = events(records, "log_write_failed")
    assert len(failed) == 1, failed
    assert failed[0]["path"] == str(log) and "Is a directory" in failed[0]["error"]
    again = events(records, "log_writable_again")
    assert len(again) == 1 and int(again[0]["failures"]) > 1 and int(again[0]["dropped_bytes"]) > 0, again


@pytest.mark.skipif(not hasattr(psutil.Process, "rlimit"), reason="setting another process's rlimit is Linux only")
def test_accept_failures_of_the_api_socket_are_logged_once_with_a_count(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    assert r.process is not None
    daemon = psutil.Process(r.process.pid)
    soft, hard = daemon.rlimit(psutil.RLIMIT_NOFILE)
    clients: list[socket.socket] = []
    try:
        daemon.rlimit(psutil.RLIMIT_NOFILE, (daemon.num_fds(), hard))  # no descriptor left for a connection
        for _ in range(5):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            clients.append(client)
            client.connect(str(r.state_dir.socket))  # the kernel's backlog takes it; accept() fails
        wait_for(lambda: "event=api_accept_failed" in r.log, timeout=10, message=lambda: r.log[-2000:])
    finally:
        daemon.rlimit(psutil.RLIMIT_NOFILE, (soft, hard))
        for client in clients:
            client.close()
    wait_for(lambda: "event=api_accepting_again" in r.log, timeout=10, message=lambda: r.log[-2000:])
    records = [logfmt(line) for line in lines_of(r.log)]
    (failed,) = events(records, "api_accept_failed")
    assert "Too many open files" in failed["error"] and failed["level"] == "warning"
    (again,) = events(records, "api_accepting_again")
    assert int(again["failures"]) >= 1
    assert "Traceback" not in r.log
    assert r.cli("status").exit_code == 0  # and it answers again


def test_on_a_terminal_the_log_is_aligned_and_coloured(tmp_path: Path) -> None:
    config = tmp_path / "sentinel.yaml"
    config.write_text("processes: {a: {command: sleep 1000}}")
    leader, follower = pty.openpty()
    argv = [sys.executable, "-m", "sentinel", "--state-dir", str(tmp_path / "home"), "up", "-f", str(config)]
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen = bytearray()

    def read_some() -> bytes:
        with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
            if select.select([leader], [], [], 0.1)[0]:
                seen.extend(os.read(leader, 65536))
        return bytes(seen)

    try:
        wait_for(lambda: b"reconciler_ready" in read_some(), timeout=15,
                 message=lambda: seen.decode(errors="replace"))
    finally:
        process.terminate()
        process.wait(30)
        os.close(leader)
    text = seen.decode(errors="replace")
    assert "\x1b[" in text  # coloured
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    spawned = next(line for line in plain.splitlines() if "spawned" in line)
    assert "[info     ] spawned " in spawned and "process=a" in spawned  # the console renderer, not logfmt
    assert "timestamp=" not in spawned
