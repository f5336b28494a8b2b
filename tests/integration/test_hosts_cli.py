"""`hosts:` from the command line, no reconciler (README.md#hosts-selectors): `validate` checks every selector
(one FILE:LINE:COL line each), `validate`/`config --host --label` show one host's part, and
`diff -f NEW --base OLD` prints what a merge changes per host, as `diff` prints it (exit 0, 1, 2)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from sentinel.cli.main import cli
from tests.support.files import write

SHARED = """
    groups:
      db: {hosts: [db-*]}
    processes:
      web: {command: sleep 1000, hosts: [web-*], depends_on: [cache]}
      cache: {command: sleep 1000, hosts: [web-*, role=cache]}
      pg: {command: sleep 1000, group: db}
      everywhere: {command: sleep 1000}
"""


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), *args], catch_exceptions=False)


def test_validate_checks_every_selector_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", """
        groups:
          db: {hosts: []}
        processes:
          web: {command: sleep 1, hosts: ["web-[", "=x", ok-1]}
          off: {command: sleep 1, hosts: "role=a b"}
          many: {command: sleep 1, hosts: [MANY]}
    """.replace("MANY", ", ".join(["web-1"] * 101)))
    result = run(tmp_path, "validate", "-f", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:2:8: groups.db.hosts: must have at least 1 item",
        f"{path}:4:35: processes.web.hosts[0]: 'web-[': '[' without a matching ']', or with nothing between them "
        "(got 'web-[')",
        f"{path}:4:44: processes.web.hosts[1]: label key '' must have 1 to 63 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit (got '=x')",
        f"{path}:5:27: processes.off.hosts[0]: label pattern 'a b' must have 1 to 63 letters, digits, '.', '_', '-' or "
        "glob characters (* ? [...]) (got 'role=a b')",
        f"{path}:6:28: processes.many.hosts: must have at most 100 items",
    ]
    assert "Traceback" not in result.output


def test_validate_and_config_show_what_a_host_runs(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", SHARED)
    assert run(tmp_path, "validate", "-f", path).stdout == f"{path}: valid (4 services, 0 jobs)\n"
    on_db = run(tmp_path, "validate", "-f", path, "--host", "db-1")
    assert on_db.stdout == f"{path}: valid (2 services, 0 jobs, on host db-1: 2 left out)\n"
    config = run(tmp_path, "config", "-f", path, "--host", "db-1", "--json")
    assert sorted(json.loads(config.stdout)["processes"]) == ["everywhere", "pg"]
    yaml = run(tmp_path, "config", "-f", path, "--host", "web-2", "--label", "zone=eu")
    assert yaml.stdout.startswith(f"# {path} resolved for host web-2 (zone=eu) by sentinel ")
    assert "# not on this host: pg\n" in yaml.stdout
    # A host that runs web but not its dependency: an error at the dependency, for that host only.
    broken = run(tmp_path, "validate", "-f", path, "--host", "x", "--label", "role=cache")
    assert (broken.exit_code, broken.stdout) == (0, f"{path}: valid (2 services, 0 jobs, on host x (role=cache): "
                                                    "2 left out)\n")
    left = run(tmp_path, "validate", "-f", write(tmp_path, "t.yaml", SHARED.replace("hosts: [web-*, role=cache]",
                                                                                     "hosts: [role=cache]")),
               "--host", "web-1")
    assert left.exit_code == 2
    assert left.stderr == (f"{tmp_path / 't.yaml'}:4:59: processes.web.depends_on.cache: 'cache' does not run on "
                           "host web-1 (its hosts: or its group's leave it out)\n")
    for bad, word in ((("--label", "role"), "not KEY=VALUE"), (("--host", "a b"), "is not a hostname")):
        refused = run(tmp_path, "config", "-f", path, *bad)
        assert refused.exit_code == 2 and word in refused.stderr


def test_diff_base_prints_per_host_what_a_merge_changes(tmp_path: Path) -> None:
    old = write(tmp_path, "base/s.yaml", SHARED)  # a checkout of the base elsewhere: its place is no change
    new = write(tmp_path, "head/s.yaml", SHARED.replace("pg: {command: sleep 1000", "pg: {command: sleep 2000")
                + "      ingest: {command: sleep 1000, hosts: role=worker, restart: {max_retries: 3}}\n")
    changes = {host: run(tmp_path, "diff", "-f", new, "--base", old, *host.split())
               for host in ("--host web-1", "--host db-1", "--host w-1 --label role=worker", "")}
    assert {host: (result.exit_code, result.stdout) for host, result in changes.items()} == {
        "--host web-1": (0, ""),
        "--host db-1": (1, "~ pg restart (command)\n"),
        "--host w-1 --label role=worker": (1, "+ ingest start\n"),
        "": (1, "+ ingest start\n~ pg restart (command)\n"),  # every process of both files
    }
    assert not (tmp_path / "state").exists()  # no reconciler, no state
    as_json = run(tmp_path, "diff", "-f", new, "--base", old, "--host", "db-1", "--json")
    assert json.loads(as_json.stdout) == [{"action": "restart", "instance": "pg", "fields": ["command"],
                                           "reason": "command changed"}]
    invalid = run(tmp_path, "diff", "-f", write(tmp_path, "bad.yaml", "processes: {a: {command: x, hosts: []}}"),
                  "--base", old)
    assert (invalid.exit_code, invalid.stdout) == (2, "")
    assert invalid.stderr.startswith(f"{tmp_path / 'bad.yaml'}:1:")
    remote = run(tmp_path, "--api", "http://127.0.0.1:9", "diff", "-f", new, "--base", old)
    assert remote.exit_code == 2 and "works on this machine only" in remote.stderr


def test_diff_without_a_reconciler_selects_as_the_host_given(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", SHARED)
    assert run(tmp_path, "diff", "-f", path, "--host", "db-9").stdout == "+ everywhere start\n+ pg start\n"
