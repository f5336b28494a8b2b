"""The git source, black-box (docs/gitops.md): real repositories made in the test, served over file://, pulled by
real reconcilers; `sentinel sync` instead of waiting for the interval."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Reconciler
from tests.support.gitrepo import GIT_ENV, GitRepo
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for

SLEEP = "sleep 1000"


def process(name: str) -> str:
    return f"  {name}:\n    command: {SLEEP}\n"


def bootstrap(repo: GitRepo, *, path: str, interval: str = "1s", extra: str = "", ref: str = "main") -> str:
    return f"source:\n  git: {repo.url}\n  ref: {ref}\n  path: \"{path}\"\n  interval: {interval}\n{extra}"


@pytest.fixture
def reconcilers(make_reconciler: Callable[..., Reconciler]) -> Callable[..., Reconciler]:
    """`make(name, config_text, hostname=…, labels=…, up_args=…)`: a reconciler whose git runs without the
    user's config (GIT_ENV), as this host or with these labels."""

    def make(name: str, config_text: str = "", *, hostname: str | None = None,
             up_args: tuple[str, ...] | None = None, labels: tuple[str, ...] = ()) -> Reconciler:
        options = (("--hostname", hostname) if hostname else ()) + tuple(
            part for label in labels for part in ("--label", label))
        return make_reconciler(config_text, name=name, extra_env=GIT_ENV, up_args=up_args, up_options=options)

    return make


def source(reconciler: Reconciler) -> dict[str, Any]:
    found: dict[str, Any] = reconciler.client.get("/v1/source")
    return found


def wait_source(reconciler: Reconciler, key: str, value: str) -> None:
    wait_for(lambda: source(reconciler)[key] == value, timeout=15, message=lambda: str(source(reconciler)))


def sync(reconciler: Reconciler) -> tuple[int, str]:
    result = reconciler.cli("sync", "--timeout", "30")
    return result.exit_code, result.output


def pids(reconciler: Reconciler) -> dict[str, int]:
    return {name: row["pid"] for name, row in reconciler.rows().items()}


def metrics(reconciler: Reconciler) -> str:
    status, _, text = raw_request(reconciler.state_dir.socket, "GET", "/metrics")
    assert status == 200
    return text


def test_a_host_runs_its_file_of_the_repository_and_keeps_the_last_good_commit(
        tmp_path: Path, reconcilers: Callable[..., Reconciler]) -> None:
    repo = GitRepo.create(tmp_path / "repo", {
        "common.yaml": f"processes:\n{process('agent')}",
        "hosts/web-1.yaml": f"include: ../common.yaml\nprocesses:\n{process('web')}",
    }, "Add web")
    good = repo.git("rev-parse", "HEAD")
    host = reconcilers("host", bootstrap(repo, path="hosts/{short_hostname}.yaml", interval="1h"),
                       hostname="web-1.example.com")
    host.start()
    host.wait_state("web", "running")
    host.wait_state("agent", "running")
    running = pids(host)
    status = host.cli("status").output
    assert status.splitlines()[0] == f"revision {good[:12]} (Add web) from {repo.url}@main hosts/web-1.yaml"
    assert f'sentinel_config_info{{path="hosts/web-1.yaml",ref="main",revision="{good}"}} 1.0' in metrics(host)

    # An invalid commit is refused with file:line:col; what runs is untouched.
    bad = repo.commit("Break web", {"hosts/web-1.yaml": f"processes:\n{process('web')}    replicas: x\n"})
    code, output = sync(host)
    assert code == 1
    where = "hosts/web-1.yaml:4:15: processes.web.replicas: must be a whole number (got 'x')"
    assert f"refused {bad[:12]}: {where}" in output
    assert source(host)["revision"] == good
    assert f'sentinel_source_refused{{revision="{bad}"}} 1.0' in metrics(host)
    refusals = host.client.get("/v1/events", kind="source_refused")["events"]
    assert refusals[-1]["message"] == (f"commit {bad[:12]} (Break web) not applied: {where}; {good[:12]} (Add web) "
                                       "stays in force")
    assert refusals[-1]["revision"] == good[:12]  # the commit in force when it happened

    # A symbolic link leaving the checkout is refused too.
    linked = repo.link("hosts/secret.yaml", "/etc/passwd", "Link a secret")
    code, output = sync(host)
    assert code == 1
    assert f"refused {linked[:12]}: hosts/secret.yaml is a symbolic link leaving the checkout" in output

    # So is an include that reads a file outside the checkout.
    (host.home / "outside.yaml").write_text(f"processes:\n{process('intruder')}")  # beside source/candidate
    leaving = repo.commit("Include from outside", {"hosts/web-1.yaml": f"include: ../../../outside.yaml\nprocesses:\n"
                                                                        f"{process('web')}"},
                          remove=("hosts/secret.yaml",))
    code, output = sync(host)
    assert code == 1
    assert f"refused {leaving[:12]}: " in output and "read from outside the checkout" in output
    assert "intruder" not in host.rows()

    # A force-push that rewrites history is followed.
    repo.git("reset", "--quiet", "--hard", good)
    rewritten = repo.commit("Add worker", {"hosts/web-1.yaml": f"include: ../common.yaml\nprocesses:\n"
                                                               f"{process('web')}{process('worker')}"})
    code, output = sync(host)
    assert (code, output.splitlines()[0]) == (0, f"revision {rewritten[:12]} (Add worker) from {repo.url}@main "
                                                 "hosts/web-1.yaml")
    host.wait_state("worker", "running")
    assert {name: pid for name, pid in pids(host).items() if name != "worker"} == running
    history = [line.split("  ", 1)[-1] for line in host.cli("history", "-n", "2").output.splitlines()]
    assert history == [f"{rewritten[:12]} Add worker", "  + worker start", f"{good[:12]} Add web", "  + agent start",
                       "  + web start"]

    # A repository that goes away: reported, nothing that runs is touched; back again, it pulls again.
    moved = tmp_path / "moved"
    shutil.move(repo.path, moved)
    code, output = sync(host)
    assert code == 1
    assert f"fetch of {repo.url}@main failed: git fetch failed:" in output
    assert "sentinel_source_fetch_failing 1.0" in metrics(host)
    assert {name: pid for name, pid in pids(host).items()} == {**running, "worker": pids(host)["worker"]}
    shutil.move(moved, repo.path)
    assert sync(host)[0] == 0
    assert source(host)["fetch_error"] is None

    # Suspended, across a restart of the reconciler: it adopts what runs and does not pull until resumed.
    assert "suspended since" in host.cli("source", "suspend").output
    before = pids(host)
    assert host.cli("down", "--keep").exit_code == 0
    host.wait_exit()
    host.start()
    host.wait_state("worker", "running")
    assert pids(host) == before
    assert source(host)["suspended_since"] is not None and source(host)["revision"] == rewritten
    code, output = sync(host)
    assert code == 1 and "the source is suspended since" in output
    later = repo.commit("Drop worker", {"hosts/web-1.yaml": f"include: ../common.yaml\nprocesses:\n{process('web')}"})
    assert host.cli("source", "resume").exit_code == 0
    wait_source(host, "revision", later)
    wait_for(lambda: "worker" not in host.rows(), timeout=15)
    assert pids(host) == {name: pid for name, pid in before.items() if name != "worker"}

    host.stop()  # `history` reads state.db when no reconciler runs
    result = host.cli("history", "-n", "1")
    shown = [line.split("  ", 1)[-1] for line in result.stdout.splitlines()]
    assert shown == [f"{later[:12]} Drop worker", "  - worker stop"]


def converge(fleet: list[Reconciler], apps: list[str]) -> None:
    """Start each host; each runs the shared agent and its own app, and nothing else."""
    for host in fleet:
        host.start()
    for host, app in zip(fleet, apps, strict=True):
        host.wait_state(app, "running")
        assert set(host.rows()) == {"agent", app}


def refused_everywhere_then_reverted(fleet: list[Reconciler], repo: GitRepo, message: str, files: dict[str, str],
                                     *, why: str) -> str:
    """Commit `files` (invalid): every host refuses it, saying `why`, with its pids unchanged; then revert it: every
    host applies the revert, pids still unchanged. The revert's hash."""
    running = [pids(host) for host in fleet]
    bad = repo.commit(message, files)
    for host in fleet:
        wait_source(host, "refused", bad)
        assert source(host)["refused_why"].startswith(why)
    assert [pids(host) for host in fleet] == running
    reverted = repo.revert()
    for host in fleet:
        wait_source(host, "revision", reverted)
        assert source(host)["refused"] is None
    assert [pids(host) for host in fleet] == running
    return reverted


@pytest.mark.gitops
def test_a_fleet_of_three_hosts_pulling_one_repository_converges_refuses_a_bad_commit_and_reverts(
        tmp_path: Path, reconcilers: Callable[..., Reconciler]) -> None:
    repo = GitRepo.create(tmp_path / "repo", {
        "common.yaml": f"processes:\n{process('agent')}",
        **{f"hosts/{host}.yaml": f"include: ../common.yaml\nprocesses:\n{process(f'{host}-app')}"
           for host in ("a", "b", "c")},
    }, "Three hosts")
    per_host = bootstrap(repo, path="hosts/{hostname}.yaml")
    fleet = [reconcilers("a", per_host, hostname="a"), reconcilers("b", per_host, hostname="b"),
             reconcilers("c", up_args=("--git", repo.url, "--path", "hosts/c.yaml", "--interval", "1s"))]
    converge(fleet, [f"{name}-app" for name in "abc"])
    reverted = refused_everywhere_then_reverted(
        fleet, repo, "Break the agent", {"common.yaml": "processes:\n  agent:\n    command: 3\n"},
        why="common.yaml:3:14: processes.agent.command")
    assert fleet[2].cli("status").output.startswith(f"revision {reverted[:12]} (Revert \"Break the agent\")")
    assert fleet[0].cli("history", "-n", "1").output.splitlines()[1:] == ["    (no change to the processes)"]


@pytest.mark.gitops
def test_a_fleet_of_three_labelled_hosts_sharing_one_file_each_runs_its_own_processes(
        tmp_path: Path, reconcilers: Callable[..., Reconciler]) -> None:
    """One shared file selecting by label (`hosts: [role=…]`, `up --label`), as docs/gitops.md recommends for
    repositories that prefer one file: each host runs its own processes, a bad commit is refused on all three
    without disturbing anything, and a revert brings them back."""
    roles = ("web", "worker", "db")
    shared = "processes:\n" + process("agent") + "".join(
        f"{process(f'{role}-app')}    hosts: [role={role}]\n" for role in roles)
    repo = GitRepo.create(tmp_path / "repo", {"sentinel.yaml": shared}, "Three roles")
    fleet = [reconcilers(role, bootstrap(repo, path="sentinel.yaml"), labels=(f"role={role}",)) for role in roles]
    converge(fleet, [f"{role}-app" for role in roles])
    refused_everywhere_then_reverted(
        fleet, repo, "Break the db", {"sentinel.yaml": shared.replace("hosts: [role=db]", "hosts: [role=db")},
        why="sentinel.yaml:")


@pytest.mark.gitops
def test_with_require_signed_only_commits_signed_by_an_allowed_key_are_applied(
        tmp_path: Path, reconcilers: Callable[..., Reconciler]) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(key)], check=True)
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"test@example.com {(tmp_path / 'key.pub').read_text()}")
    repo = GitRepo.create(tmp_path / "repo", {"sentinel.yaml": "processes: {}\n"}, "Unsigned start")
    repo.git("checkout", "--quiet", "-b", "release")  # the host runs the release branch, not main
    signed = repo.commit("Signed web", {"sentinel.yaml": f"processes:\n{process('web')}"}, signing_key=key)
    host = reconcilers("host", bootstrap(repo, path="sentinel.yaml", interval="1h", ref="release",
                                         extra=f"  require_signed: true\n  allowed_signers: {signers}\n"))
    host.start()
    host.wait_state("web", "running")
    assert source(host)["revision"] == signed
    unsigned = repo.commit("Unsigned worker", {"sentinel.yaml": f"processes:\n{process('web')}{process('worker')}"})
    code, output = sync(host)
    assert code == 1
    assert f"refused {unsigned[:12]}: git verify-commit failed" in output
    assert set(host.rows()) == {"web"}
    assert source(host)["revision"] == signed
