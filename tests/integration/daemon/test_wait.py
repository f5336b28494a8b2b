"""Commands that wait, black-box: `run --wait` (a job's output, how it ended, its exit code), `schedule: manual`,
`start|restart --wait` and `up --detach --wait` by `apply`'s convergence rule (docs/states.md, "What `apply`
waits for")."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable

from tests.support.daemon import Reconciler

JOBS = """
processes:
  report:
    command: ["sh", "-c", "echo first line; echo to stderr >&2; exit 3"]
    schedule: manual
  fine:
    command: ["sh", "-c", "echo all good"]
    schedule: manual
  killed:
    command: ["sh", "-c", "echo going; kill -9 $$$$"]  # `$$` is how the file writes a `$`
    schedule: manual
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_wait_follows_the_output_says_how_it_ended_and_exits_with_its_code(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler(JOBS)
    r.start()
    failed = r.cli("run", "report", "--wait")
    assert failed.exit_code == 3, (failed.stdout, failed.stderr)
    assert "\nfirst line\nto stderr\n" in failed.stdout  # between the log's own `── started` and `── failed` lines
    assert failed.stderr.startswith("report: run #1 exited 3 after ")  # #1: `manual` never ran it by itself
    fine = r.cli("run", "fine", "--wait")
    assert fine.exit_code == 0 and "\nall good\n" in fine.stdout
    assert fine.stderr.startswith("fine: run #1 exited 0 after ")
    killed = r.cli("run", "killed", "--wait")
    assert killed.exit_code == 128 + 9 and "\ngoing\n" in killed.stdout, (killed.stdout, killed.stderr)
    assert killed.stderr.startswith("killed: run #1 was killed by SIGKILL after ")
    assert [run["id"] for run in r.client.get("/v1/processes/report/runs")["runs"]] == [1]


def test_a_manual_job_runs_only_on_request(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(JOBS)
    r.start()
    r.wait_state("report", "scheduled")
    assert r.row("report")["next_run"] is None
    assert r.client.get("/v1/processes/report/runs")["runs"] == []
    assert r.cli("run", "fine", "--wait").exit_code == 0  # the reconciler has looked at its jobs since
    assert r.client.get("/v1/processes/report/runs")["runs"] == []


def test_start_and_restart_wait_until_healthy(make_reconciler: Callable[..., Reconciler]) -> None:
    port = _free_port()
    r = make_reconciler(f"""
processes:
  web:
    command: ["sh", "-c", "sleep 0.5; exec {sys.executable} -m http.server {port} --bind 127.0.0.1"]
    health: {{tcp: "127.0.0.1:{port}", interval: 5s}}
""")
    r.start()
    r.wait_state("web", "running")
    assert r.cli("stop", "web").exit_code == 0
    started = r.cli("start", "web", "--wait")
    assert (started.exit_code, started.stdout) == (0, "web: running, healthy\n"), started.stderr
    assert r.row("web")["health"] == "healthy"
    restarted = r.cli("restart", "web", "--wait", "--timeout", "20")
    assert (restarted.exit_code, restarted.stdout) == (0, "web: running, healthy\n"), restarted.stderr


def test_start_wait_fails_naming_what_did_not_converge(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  broken:
    command: ["sh", "-c", "exit 1"]
    restart: {max_retries: 0}
""")
    r.start()
    r.wait_state("broken", "failed")
    result = r.cli("start", "broken", "--wait", "--timeout", "20")
    assert result.exit_code == 1
    assert result.stderr.startswith("not converged: broken: failed (exited 1"), result.stderr


def test_up_detach_wait_returns_once_converged(make_reconciler: Callable[..., Reconciler]) -> None:
    port = _free_port()
    r = make_reconciler(f"""
processes:
  web:
    command: ["sh", "-c", "sleep 0.5; exec {sys.executable} -m http.server {port} --bind 127.0.0.1"]
    health: {{tcp: "127.0.0.1:{port}"}}
""")
    result = r.cli("up", "-f", str(r.config), "--detach", "--wait")
    try:
        assert result.exit_code == 0, (result.output, result.stderr)
        assert result.stdout.splitlines()[-1] == "converged"
        assert r.row("web")["health"] == "healthy"
    finally:
        assert r.cli("down").exit_code == 0
    foreground = r.cli("up", "-f", str(r.config), "--wait")
    assert foreground.exit_code == 2 and "--wait needs --detach" in foreground.stderr


def test_a_manual_job_says_it_runs_when_asked(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(JOBS)
    r.start()
    assert r.wait_state("report", "scheduled")["reason"] == "runs when asked (`sentinel run report`)"
