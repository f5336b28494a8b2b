"""What `status` says without a reconciler (one row builder for both paths), `--json` on every read
command, and `down` (docs/states.md, README's CLI reference)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from sentinel.cli.main import cli
from tests.support.daemon import Reconciler
from tests.support.loaded import loaded_by
from tests.support.wait import wait_for

JOBS = """
processes:
  db: {command: sleep 1000, group: back}
  web: {command: sleep 1000, replicas: 2, group: front}
  nightly: {command: "true", schedule: {cron: "0 3 * * *"}, group: back}
  once: {command: "true", schedule: {at: "2026-01-01T00:00:00Z"}}
"""


def test_status_without_a_reconciler_builds_the_same_rows(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(JOBS)
    r.start()
    r.wait_state("web.1", "running")
    wait_for(lambda: r.row("once")["state"] == "exited")  # an `at` that has run shows its outcome
    once = r.row("once")
    assert (once["next_run"], once["reason"]) == (None, "last run exited 0")
    assert r.row("nightly")["state"] == "scheduled"
    live = {row["name"]: row for row in json.loads(r.cli("status", "--json").stdout)}
    assert r.cli("down").exit_code == 0
    offline = r.cli("status", "--json")
    assert offline.exit_code == 0
    assert offline.stderr == f"no reconciler is running; last recorded state from {r.state_dir.db}\n"
    rows = {row["name"]: row for row in json.loads(offline.stdout)}
    assert rows.keys() == live.keys()
    assert rows["nightly"]["state"] == "stopped"  # nothing is scheduled while no reconciler runs
    assert (rows["once"]["state"], rows["once"]["reason"]) == ("exited", "last run exited 0")
    assert rows["once"]["last_run"] == live["once"]["last_run"]
    for name in rows:
        assert rows[name]["group"] == live[name]["group"]
    grouped = r.cli("status", "--group", "back")
    assert [line.split()[0] for line in grouped.stdout.splitlines()[1:]] == ["db", "nightly"]
    assert [row["name"] for row in json.loads(r.cli("ps", "--json", "--group", "front").stdout)] == ["web.0", "web.1"]


def test_status_of_a_state_dir_without_state_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "none"), "status"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"no state in {tmp_path / 'none'}: no reconciler has run there\n"


def test_status_of_a_running_reconciler_loads_only_what_it_needs(make_reconciler: Callable[..., Reconciler],
                                                                tmp_path: Path) -> None:
    """`status` asking a reconciler imports nothing it does not use: no other command's module, not `logs`' helpers,
    not the `socket` module (the interpreter's `_socket` does), no completion machinery, neither the remote client
    nor `dataclasses`, and compiles none of the YAML emitter's patterns (docs/contract.md#performance-budgets:
    `status` < 100 ms, bench/cli_latency.py)."""
    r = make_reconciler("processes:\n  a: {command: sleep 1000}\n")
    r.start()
    r.wait_state("a", "running")
    for args in (("status",), ("status", "--json")):
        loaded = loaded_by(tmp_path / "loaded.json", "--state-dir", str(r.state_dir.root), *args)
        assert loaded.of(("sentinel.cli.lifecycle", "sentinel.cli.job_runs", "sentinel.cli.control",
                          "sentinel.cli.offline", "sentinel.daemon", "sentinel.state", "asyncio", "pydantic",
                          "sentinel.cli.logfiles", "sentinel.loglines", "socket", "selectors", "http", "ssl",
                          "click.shell_completion", "sentinel.client.remote", "dataclasses")) == []
        assert loaded.yaml_patterns == 0


def test_every_read_command_answers_json(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  a: {command: ["sh", "-c", "echo hello; exec sleep 1000"]}
  b: {command: sleep 1000}
  job: {command: ["sh", "-c", "echo from the job"], schedule: {cron: "0 3 * * *"}}
""")
    r.start()
    r.wait_state("a", "running")
    assert r.cli("run", "job").exit_code == 0
    wait_for(lambda: r.row("job")["state"] == "scheduled" and r.row("job")["last_run"] is not None)
    events = json.loads(r.cli("events", "a", "--json").stdout)
    assert {"at", "process", "kind", "message"} <= events[0].keys()
    assert any(e["message"] == "started a: new in config" and e["kind"] == "started" for e in events)
    runs = json.loads(r.cli("runs", "job", "--json").stdout)
    assert [(run["id"], run["outcome"], run["trigger"]) for run in runs] == [(runs[0]["id"], "succeeded", "manual")]
    wait_for(lambda: "hello" in r.cli("logs", "a").stdout)
    lines = [json.loads(line) for line in r.cli("logs", "a", "--json").stdout.splitlines()]
    assert [(line["text"], line["run"]) for line in lines] == [("hello", None)]
    assert lines[0]["time"].endswith("Z")
    job_lines = [json.loads(line) for line in r.cli("logs", "job", "--json").stdout.splitlines()]
    assert ("from the job", runs[0]["id"]) in [(line["text"], line["run"]) for line in job_lines]
    edited = r.config.parent / "edited.yaml"
    edited.write_text("""
processes:
  a: {command: ["sh", "-c", "echo hello; exec sleep 1000"], env: {X: "1"}}
  c: {command: sleep 1000}
  job: {command: ["sh", "-c", "echo from the job"], schedule: {cron: "0 4 * * *"}}
""")
    live = r.cli("diff", "-f", str(edited), "--json")
    assert live.exit_code == 1
    assert json.loads(live.stdout) == [
        {"action": "stop", "instance": "b", "fields": [], "reason": "removed from config"},
        {"action": "update", "instance": "job", "fields": ["schedule.cron"],
         "reason": "updated in place (schedule.cron)"},
        {"action": "restart", "instance": "a", "fields": ["env.X"], "reason": "env.X changed"},
        {"action": "start", "instance": "c", "fields": [], "reason": "new in config"},
    ]
    assert r.cli("down").exit_code == 0
    offline = r.cli("diff", "-f", str(edited), "--json")  # from state.db: `a` is stopped now
    assert offline.exit_code == 1
    assert [(c["action"], c["instance"]) for c in json.loads(offline.stdout)] == [
        ("stop", "b"), ("update", "job"), ("start", "a"), ("start", "c")]
    assert "shutdown" in [e["kind"] for e in json.loads(r.cli("events", "--json", "-n", "5").stdout)]
    assert json.loads(r.cli("runs", "job", "--json").stdout) == runs


def test_down_returns_after_the_reconciler_has_exited_and_exits_1_when_none_runs(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    result = r.cli("down")
    assert (result.exit_code, result.stdout) == (0, "reconciler stopped\n")
    assert r.process is not None and r.process.poll() == 0  # already exited, not just unlocked
    again = r.cli("down")
    assert (again.exit_code, again.stdout, again.stderr) == (1, "", f"no reconciler is running on {r.home}\n")


# Its resident memory changes all the time: between two readings of the process table it is almost never the same.
CHURNING = "blocks = []\nwhile True:\n    blocks.append(bytearray(262144))\n    if len(blocks) == 40: blocks.clear()"


def test_status_requests_within_a_second_share_one_sample(make_reconciler: Callable[..., Reconciler]) -> None:
    """Clients polling `status` do not make the reconciler read the process table for each of them
    (bench/api_load.py: 20 clients doing so starved supervision): the cpu and memory shown are a sample
    at most a second old, so requests back to back show the same one (at most two, across a second)."""
    r = make_reconciler(f"processes: {{churn: {{command: [{sys.executable!r}, -c, {json.dumps(CHURNING)}]}}}}")
    r.start()
    r.wait_state("churn", "running")
    memories = {r.row("churn")["memory_rss"] for _ in range(4)}
    assert len(memories) <= 2, memories
