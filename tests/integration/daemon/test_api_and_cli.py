"""The rest of the CLI and API surface: SIGHUP, --detach, offline answers, follow, metrics, bad requests."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sentinel.cli.logfiles import follow, log_files
from tests.support.daemon import Reconciler
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for


def _raw(r: Reconciler, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    status, _, text = raw_request(r.state_dir.socket, method, path, body)
    return status, text


def test_sighup_reloads_the_file_without_touching_what_did_not_change(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    pid = r.wait_state("a", "running")["pid"]
    # Rewrite the file behind the watcher's back with the same mtime granularity, then ask by signal.
    r.config.write_text("processes: {a: {command: sleep 1000}, b: {command: sleep 1000}}")
    r.signal(signal.SIGHUP)
    r.wait_state("b", "running")
    assert r.row("a")["pid"] == pid
    assert r.process is not None and r.process.poll() is None


def test_detached_up_answers_and_a_second_is_refused(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    result = r.cli("up", "-f", str(r.config), "--detach")
    try:
        assert result.exit_code == 0, result.output
        assert result.output.startswith("reconciler started (pid ")
        again = r.cli("up", "-f", str(r.config), "--detach")
        assert (again.exit_code, again.stderr) == (1, f"a reconciler is already running on {r.home}\n")
        r.wait_state("a", "running")
    finally:
        assert r.cli("down").exit_code == 0


def test_offline_answers_from_state_db(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}, b: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    r.stop()
    events = r.cli("events", "a", "-n", "5")
    assert events.exit_code == 0
    lines = events.output.splitlines()
    assert any(line.endswith("started a: new in config") for line in lines)
    assert not any("reconciler exiting" in line for line in lines)  # events of `a` only
    rows = json.loads(r.cli("ps", "--json", "b").stdout)
    assert [(row["name"], row["state"]) for row in rows] == [("b", "stopped")]
    edited = r.config.parent / "edited.yaml"
    edited.write_text("processes: {a: {command: sleep 1000}, c: {command: sleep 1000}}")
    diff = r.cli("diff", "-f", str(edited))
    assert (diff.exit_code, diff.output) == (1, "- b stop\n+ c start\n")


def test_status_without_any_reconciler_ever(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sentinel.cli.main import cli

    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "none"), "status"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"no state in {tmp_path / 'none'}: no reconciler has run there\n"
    logs = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "none"), "logs", "web"])
    assert (logs.exit_code, logs.stderr) == (1, f"no logs for 'web' in {tmp_path / 'none' / 'logs'}\n")


def test_metrics_and_bad_requests(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    status, text = _raw(r, "GET", "/metrics")
    assert status == 200
    assert 'sentinel_process_up{name="a"} 1.0' in text.splitlines()
    assert _raw(r, "POST", "/v1/processes/stop", b"{not json") == (
        400, '{"error":{"code":"not_json","message":"request body is not JSON"}}')
    assert _raw(r, "POST", "/v1/processes/stop", b"[]") == (
        400, '{"error":{"code":"not_json","message":"request body must be a JSON object"}}')
    assert _raw(r, "POST", "/v1/processes/stop", b'{"targets": "a"}') == (
        422, '{"error":{"code":"invalid_body","message":"targets: input should be a valid list","field":"targets"}}')
    assert _raw(r, "POST", "/v1/processes/a/explode")[0] == 404
    assert _raw(r, "GET", "/v1/events?limit=x") == (
        422, '{"error":{"code":"invalid_query","message":"limit: must be a whole number","field":"limit"}}')
    assert _raw(r, "GET", "/v1/processes?name=nope") == (
        404, '{"error":{"code":"not_found","message":"unknown process: nope"}}')
    status, body = _raw(r, "GET", "/v1/config")
    assert status == 200
    assert json.loads(body)["config"] == {"processes": {"a": {"command": "sleep 1000", "cwd": str(r.config.parent)}}}
    assert r.row("a")["state"] == "running"


def test_follow_prints_new_lines_across_rotation(tmp_path: Path) -> None:
    from sentinel.paths import StateDir

    sd = StateDir(tmp_path)
    sd.logs.mkdir(parents=True)
    log = sd.log_file("w")
    log.write_text("2026-01-01T00:00:00.000Z old\n")
    writes: Iterator[Callable[[], object]] = iter([
        lambda: log.write_text("2026-01-01T00:00:00.000Z old\n2026-01-01T00:00:01.000Z new\n"),
        lambda: (log.rename(f"{log}.1"), log.write_text("2026-01-01T00:00:02.000Z after rotation\n")),
    ])

    def sleep(_: float) -> None:
        try:
            next(writes)()
        except StopIteration:
            raise KeyboardInterrupt from None

    seen: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        for line in follow(log_files(sd, "w"), sleep):
            seen.append(line)
    assert seen == ["2026-01-01T00:00:01.000Z new\n", "2026-01-01T00:00:02.000Z after rotation\n"]


def test_logs_of_replicas_merge_by_time(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  w:
    command: ["sh", "-c", "echo from $SENTINEL_INSTANCE; sleep 1000"]
    replicas: 2
""")
    r.start()
    wait_for(lambda: len(r.cli("logs", "w").output.splitlines()) == 2)
    lines = r.cli("logs", "w").output.splitlines()
    assert sorted(line.split(" ", 1)[1] for line in lines) == ["from w.0", "from w.1"]
    assert lines == sorted(lines)
    assert r.cli("logs", "w.1", "-n", "1").output.split(" ", 1)[1] == "from w.1\n"
