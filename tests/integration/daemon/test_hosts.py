"""`hosts:` selectors in a real reconciler (README.md#hosts-selectors): `up --hostname --label` runs only what
matches, keeps its identity for every reload and `diff` (and in the state directory, for the next one and for
`diff` with none running), says it in /healthz; and `diff -f NEW --api URL`
plans a file (with its includes) against what that host runs, over TCP with its token."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from sentinel.cli.main import cli
from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port

SHARED = """\
groups:
  db: {hosts: [db-*]}
processes:
  web: {command: sleep 1000, hosts: [web-*]}
  worker: {command: sleep 1000, hosts: [role=worker]}
  pg: {command: sleep 1000, group: db}
  everywhere: {command: sleep 1000}
"""


def _remote(tmp_path: Path, port: int, *args: str) -> Result:
    options = ["--state-dir", str(tmp_path / "elsewhere"), "--api", f"http://127.0.0.1:{port}",
               "--token-file", str(tmp_path / "token")]
    return CliRunner().invoke(cli, [*options, *args], catch_exceptions=False)


def test_a_reconciler_runs_what_its_hostname_and_labels_select_and_diffs_as_that_host(
        make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "shared.yaml").write_text(SHARED)
    port = free_port()
    r = make_reconciler(f'include: [conf.d/*.yaml]\napi: {{listen: "127.0.0.1:{port}", token_file: '
                        f'{tmp_path / "token"}}}\n')
    r.up_options = ("--hostname", "web-1", "--label", "role=worker", "--label", "zone=eu")
    r.start()
    r.wait_state("everywhere", "running")
    assert sorted(r.rows()) == ["everywhere", "web", "worker"]  # pg's group is for db-* hosts
    health = r.client.get("/healthz")
    assert (health["hostname"], health["labels"]) == ("web-1", {"role": "worker", "zone": "eu"})

    # A new file on the host's machine, its processes in an include: diffed as web-1 (role=worker).
    (tmp_path / "next.d").mkdir()
    (tmp_path / "next.d" / "shared.yaml").write_text(
        SHARED.replace("worker: {command: sleep 1000", "worker: {command: sleep 2000")
        + "  cache: {command: sleep 1000, hosts: [zone=eu]}\n  metrics: {command: sleep 1000, hosts: [db-1]}\n")
    new = tmp_path / "next.yaml"
    new.write_text(r.config.read_text().replace("conf.d", "next.d"))
    diff = _remote(tmp_path, port, "diff", "-f", str(new))
    assert token_free(diff, tmp_path)
    assert (diff.exit_code, diff.stdout.splitlines()) == (1, ["+ cache start", "~ worker restart (command)"])
    as_host = _remote(tmp_path, port, "diff", "-f", str(new), "--host", "db-1")  # the reconciler is who it is
    assert (as_host.stdout, as_host.stderr) == (diff.stdout, "--host and --label are not used: the running "
                                                "reconciler diffs as its own host (its hostname and labels)\n")
    as_json = _remote(tmp_path, port, "diff", "-f", str(new), "--json")
    assert [(c["action"], c["instance"]) for c in json.loads(as_json.stdout)] == [("start", "cache"),
                                                                               ("restart", "worker")]
    # A reload keeps the identity: the file the reconciler runs now leaves web out on this host.
    r.config.write_text(r.config.read_text() + "processes:\n  web: {hosts: [web-2]}\n")
    applied = _remote(tmp_path, port, "apply", "-f", str(r.config))
    assert applied.exit_code == 0, applied.output
    assert sorted(r.rows()) == ["everywhere", "worker"]
    assert not (tmp_path / "elsewhere").exists()

    # The state directory keeps who the reconciler was: with none running, `diff` selects as web-1 (role=worker),
    # so the worker it recorded running is no change (as this machine, without the label, it would be stopped).
    r.stop()
    assert json.loads(r.state_dir.host_file.read_text()) == {"hostname": "web-1",
                                                             "labels": {"role": "worker", "zone": "eu"}}
    offline = r.cli("diff", "-f", str(r.config))
    assert (offline.exit_code, offline.stdout) == (0, "")
    assert r.cli("diff", "-f", str(r.config), "--host", "other").stdout == "- worker stop\n"
    r.state_dir.host_file.write_text("{not json")
    broken = r.cli("diff", "-f", str(r.config))
    assert broken.exit_code == 2
    assert broken.stderr.startswith(f"{r.state_dir.host_file}: is not a hostname and labels: ")
    assert broken.stderr.endswith("start the reconciler with --hostname (and its --label options) to replace it\n")


def token_free(result: Result, tmp_path: Path) -> bool:
    return (tmp_path / "token").read_text().strip() not in result.output
