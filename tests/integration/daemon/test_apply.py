"""`apply`, `diff` and editing the watched file: only what changed is touched (docs/contract.md#reconcile-semantics)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

BASE = """
processes:
  a: {command: sleep 1000}
  b: {command: sleep 1000, env: {API_TOKEN: s3cret}}
  c: {command: sleep 1000}
  old: {command: sleep 1000}
"""
EDITED = """
processes:
  a: {command: sleep 1000}
  b: {command: sleep 1000, env: {API_TOKEN: changed}}
  c: {command: sleep 1000, restart: {max_retries: 4}}
  new: {command: sleep 1000}
"""


def test_diff_then_apply_touch_only_what_changed(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(BASE)
    r.start()
    before = {n: r.wait_state(n, "running")["pid"] for n in ("a", "b", "c", "old")}
    edited = r.config.parent / "edited.yaml"
    edited.write_text(EDITED)
    diff = r.cli("diff", "-f", str(edited))
    assert diff.exit_code == 1
    assert diff.output.splitlines() == [
        "- old stop", "~ c update (restart.max_retries)", "~ b restart (env.API_TOKEN)", "+ new start"]
    assert "s3cret" not in diff.output and "changed" not in diff.output
    applied = r.cli("apply", "-f", str(edited))
    assert applied.exit_code == 0, applied.output
    assert applied.output.splitlines()[-1] == "converged"
    assert "restarted b: env.API_TOKEN changed" in applied.output
    rows = r.rows()
    assert rows["a"]["pid"] == before["a"] and rows["c"]["pid"] == before["c"]
    assert rows["b"]["pid"] != before["b"] and rows["new"]["state"] == "running"
    assert "old" not in rows
    again = r.cli("diff", "-f", str(edited))
    assert (again.exit_code, again.output) == (0, "")
    second = r.cli("apply", "-f", str(edited))
    assert second.output == "converged\n"
    assert r.rows()["b"]["pid"] == rows["b"]["pid"]


def test_invalid_edit_changes_nothing_and_is_reported(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(BASE)
    r.start()
    before = {n: r.wait_state(n, "running")["pid"] for n in ("a", "b", "c", "old")}
    r.config.write_text(BASE.replace("a: {command: sleep 1000}", "a: {command: sleep 1000, restart: {policy: alway}}"))
    expected = r.cli("validate", "-f", str(r.config)).stderr.strip()
    assert expected.endswith("processes.a.restart.policy: must be one of always, on-failure, never (got 'alway')")
    wait_for(lambda: r.client.get("/v1/processes")["config_error"] == expected)
    assert {n: r.row(n)["pid"] for n in before} == before
    status = r.cli("status")
    assert f"config not applied: {expected}" in status.stderr
    assert expected in r.cli("events").output


def test_editor_save_by_rename_reconciles_by_itself(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(BASE)
    r.start()
    pid_a = r.wait_state("a", "running")["pid"]
    temp = r.config.parent / ".home.yaml.swp"
    temp.write_text(BASE.replace("old:", "renamed:"))
    os.rename(temp, r.config)
    r.wait_state("renamed", "running")
    wait_for(lambda: "old" not in r.rows())
    assert r.row("a")["pid"] == pid_a


def test_apply_starts_a_reconciler_when_none_runs(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {solo: {command: sleep 1000}}")
    result = r.cli("apply", "-f", str(r.config))
    try:
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == [f"config {r.config} applied (started)",
                                              "started solo: new in config", "converged"]
        assert r.row("solo")["state"] == "running"
    finally:
        assert r.cli("down").exit_code == 0


def test_apply_of_invalid_file_exits_2_with_every_problem(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000, replicas: -1, restart: {policy: x}}}")
    result = r.cli("apply", "-f", str(r.config))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 2
    assert not r.client.alive()


def test_apply_reports_processes_that_do_not_converge(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {ok: {command: sleep 1000}}")
    r.start()
    bad = r.config.parent / "bad.yaml"
    bad.write_text("processes: {ok: {command: sleep 1000}, crash: {command: 'false', restart: {max_retries: 0}}}")
    result = r.cli("apply", "-f", str(bad), "--timeout", "5")
    assert result.exit_code == 1
    assert "not converged: crash: failed (exited 1; gave up after 1 run in a row failed)" in result.stderr


def test_truncate_then_write_applies_once_and_leaves_the_rest_alone(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler(BASE)
    r.start()
    before = {n: r.wait_state(n, "running")["pid"] for n in ("a", "b", "c", "old")}
    text = BASE + "  extra: {command: sleep 1000}\n"
    with open(r.config, "w") as handle:  # truncate, then write in two pieces, as some editors do
        handle.write(text[: len(text) // 2])
        handle.flush()
        handle.write(text[len(text) // 2 :])
    r.wait_state("extra", "running")
    assert {n: r.row(n)["pid"] for n in before} == before
    applied = [e for e in r.client.get("/v1/events", limit=100)["events"] if e["kind"] == "config_applied"]
    assert len(applied) == 2  # the start, then this edit: once


def test_fixing_an_invalid_edit_back_to_what_runs_clears_the_error(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(BASE)
    r.start()
    r.wait_state("a", "running")
    r.config.write_text(BASE.replace("a: {command: sleep 1000}", "a: {command: sleep 1000, replicas: -1}"))
    wait_for(lambda: r.client.get("/v1/processes")["config_error"] is not None)
    r.config.write_text(BASE)
    wait_for(lambda: r.client.get("/v1/processes")["config_error"] is None)


def test_apply_dry_run_prints_the_plan_and_changes_nothing(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(BASE)
    r.start()
    before = {n: r.wait_state(n, "running")["pid"] for n in ("a", "b", "c", "old")}
    edited = r.config.parent / "edited.yaml"
    edited.write_text(EDITED)
    result = r.cli("apply", "-f", str(edited), "--dry-run")
    assert result.exit_code == 0
    assert "~ b restart (env.API_TOKEN)" in result.output.splitlines()
    assert {n: r.row(n)["pid"] for n in before} == before and "new" not in r.rows()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _slow_db_and_web(port: int, health: str = "") -> str:
    """`db` listens after 1.5 s; `web` waits for it to be healthy (the issue's scenario)."""
    return f"""
processes:
  db:
    command: ["sh", "-c", "sleep 1.5; exec {sys.executable} -m http.server {port} --bind 127.0.0.1"]
    health: {{tcp: "127.0.0.1:{port}"{health}}}
  web:
    command: sleep 1000
    depends_on: {{db: healthy}}
"""


def test_apply_waits_for_a_process_pending_on_a_dependency_coming_up(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler(_slow_db_and_web(_free_port()))
    result = r.cli("apply", "-f", str(r.config), "--timeout", "20")
    try:
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1] == "converged"
        assert "started web: dependencies ready" in result.output
        assert r.row("db")["health"] == "healthy" and r.row("web")["state"] == "running"
    finally:
        assert r.cli("down").exit_code == 0


def test_apply_to_a_running_reconciler_waits_for_a_pending_dependent(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes: {ok: {command: sleep 1000}}")
    r.start()
    r.wait_state("ok", "running")
    other = r.config.parent / "slow.yaml"
    other.write_text(_slow_db_and_web(_free_port()))
    result = r.cli("apply", "-f", str(other), "--timeout", "20")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "converged"
    assert r.row("web")["state"] == "running"


def test_apply_stops_waiting_for_a_dependent_of_a_failed_process(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {ok: {command: sleep 1000}}")
    r.start()
    other = r.config.parent / "broken.yaml"
    other.write_text(f"processes: {{db: {{command: 'false', restart: {{max_retries: 0}},"
                     f" health: {{tcp: '127.0.0.1:{_free_port()}'}}}},"
                     " web: {command: sleep 1000, depends_on: {db: healthy}}}")
    result = r.cli("apply", "-f", str(other), "--timeout", "60")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["not converged: db: failed (exited 1; gave up after 1 run in a row failed)",
                                          "not converged: web: pending (waiting for db (failed))"]


def test_apply_does_not_count_a_process_that_exits_soon_after_it_started(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes: {ok: {command: sleep 1000}}")
    r.start()
    other = r.config.parent / "late.yaml"
    other.write_text("processes: {ok: {command: sleep 1000},"
                     " late: {command: sh -c 'sleep 0.2; exit 1', restart: {max_retries: 0}}}")
    result = r.cli("apply", "-f", str(other), "--timeout", "10")
    assert result.exit_code == 1, result.output
    assert "not converged: late: failed (exited 1; gave up after 1 run in a row failed)" in result.stderr


def test_apply_waits_for_a_health_check_to_pass(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {ok: {command: sleep 1000}}")
    r.start()
    other = r.config.parent / "unready.yaml"
    other.write_text(f"processes: {{ok: {{command: sleep 1000}},"
                     f" unready: {{command: sleep 1000, health: {{tcp: '127.0.0.1:{_free_port()}'}}}}}}")
    result = r.cli("apply", "-f", str(other), "--timeout", "2")
    assert result.exit_code == 1, result.output
    assert "not converged: unready: running, not healthy yet (connection refused)" in result.stderr


def test_the_watcher_follows_the_file_apply_switched_to(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    other = r.config.parent / "d2.yaml"
    other.write_text("processes: {b: {command: sleep 1000}}")
    assert r.cli("apply", "-f", str(other)).exit_code == 0
    other.write_text("processes: {b: {command: sleep 1000}, c: {command: sleep 1000}}")
    r.wait_state("c", "running")
    r.config.write_text("processes: {a: {command: sleep 1000}, old: {command: sleep 1000}}")
    other.write_text("processes: {b: {command: sleep 1000}, c: {command: sleep 1000}, d: {command: sleep 1000}}")
    r.wait_state("d", "running")  # the edit of d2.yaml after the one of the old file: both seen by now
    assert set(r.rows()) == {"b", "c", "d"}
    applied = [e["message"] for e in r.client.get("/v1/events", limit=100)["events"] if e["kind"] == "config_applied"]
    assert applied[-2:] == [f"config {other} applied (file changed)"] * 2


def test_diff_and_apply_without_file_use_the_running_reconcilers(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}", name="elsewhere")
    r.start()
    r.wait_state("a", "running")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)  # no sentinel.yaml here
    monkeypatch.delenv("SENTINEL_CONFIG", raising=False)
    using = f"using {r.config}, the file the running reconciler was given"
    diff = r.cli("diff")
    assert (diff.exit_code, diff.stdout, diff.stderr.strip()) == (0, "", using)
    applied = r.cli("apply")
    assert (applied.exit_code, applied.stdout, applied.stderr.strip()) == (0, "converged\n", using)
    r.stop()
    offline = r.cli("diff")
    assert offline.exit_code == 2 and "sentinel.yaml" in offline.stderr


def test_fixing_a_broken_file_says_the_error_is_cleared(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(BASE)
    r.start()
    r.wait_state("a", "running")
    r.config.write_text(BASE.replace("a: {command: sleep 1000}", "a: {command: sleep 1000, replicas: -1}"))
    wait_for(lambda: r.client.get("/v1/processes")["config_error"] is not None)
    assert "config not applied" in r.cli("status").stderr
    r.config.write_text(BASE)
    wait_for(lambda: r.client.get("/v1/processes")["config_error"] is None)
    events = r.cli("events")
    assert events.output.splitlines()[-1].endswith(f"config error cleared: {r.config} is valid")
    assert "config not applied" not in r.cli("status").stderr


def test_diff_without_file_keeps_the_running_reconcilers_environment(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}\n"
                        "environments: {prod: {processes: {a: {env: {MODE: prod}}}}}\n")
    r.environment = "prod"
    r.start()
    r.wait_state("a", "running")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SENTINEL_CONFIG", raising=False)
    monkeypatch.delenv("SENTINEL_ENV", raising=False)
    diff = r.cli("diff")  # without the environment, `a` would restart (env.MODE)
    assert (diff.exit_code, diff.stdout) == (0, "")
    assert diff.stderr.strip() == f"using {r.config} (environment prod), the file the running reconciler was given"
