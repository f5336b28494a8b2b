"""The `git` commands of the git source (sentinel.controller.git, docs/gitops.md#security), on real repositories
and servers made in the test: a hung server is given up at the timeout, credentials never reach a message, a
checkout follows the commit."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel.controller.git import GitError, GitRepository
from tests.support.gitrepo import GIT_ENV, GitRepo
from tests.support.tcphttp import free_port
from tests.support.wait import wait_for


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a git daemon that hangs)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_a_fetch_from_a_server_that_hangs_is_stopped_at_the_timeout(tmp_path: Path, silent_server: int) -> None:
    repository = GitRepository(tmp_path, f"git://127.0.0.1:{silent_server}/fleet.git", timeout=0.5)
    with pytest.raises(GitError, match=r"^git fetch took longer than 0\.5s \(source\.timeout\); stopped$"):
        asyncio.run(repository.fetch("main"))


def test_a_failed_fetch_names_what_failed_without_the_credentials(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    repository = GitRepository(tmp_path, f"http://alice:s3cret@127.0.0.1:{port}/fleet.git", timeout=30)
    with pytest.raises(GitError) as failure:
        asyncio.run(repository.fetch("main"))
    message = str(failure.value)
    assert message.startswith("git fetch failed: unable to access 'http://")
    assert "s3cret" not in message and "alice" not in message


def test_a_checkout_holds_exactly_the_files_of_the_commit_owner_only(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo", {"a.yaml": "processes: {}\n", "b.yaml": "processes: {}\n"})
    repository = GitRepository(tmp_path / "source", repo.url, timeout=30)
    (tmp_path / "source").mkdir(mode=0o700)
    work_tree = tmp_path / "source" / "current"
    asyncio.run(repository.checkout(asyncio.run(repository.fetch("main")), work_tree))
    assert sorted(path.name for path in work_tree.iterdir()) == ["a.yaml", "b.yaml"]
    repo.commit("Drop b", remove=("b.yaml",))
    second = asyncio.run(repository.fetch("main"))
    asyncio.run(repository.checkout(second, work_tree))
    assert [path.name for path in work_tree.iterdir()] == ["a.yaml"]
    assert second.subject == "Drop b"
    assert oct(work_tree.stat().st_mode & 0o777) == "0o700"


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """`git daemon` serving the repositories under a directory of the test, on a local port."""
    base = tmp_path / "served"
    base.mkdir()
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--export-all", f"--base-path={base}", "--reuseaddr",
                               "--listen=127.0.0.1", f"--port={port}", str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **GIT_ENV})
    try:
        wait_for(lambda: _accepts(port), timeout=10, message="git daemon did not listen")
        yield base, port
    finally:
        daemon.terminate()
        daemon.wait(10)


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_fetch_over_the_git_protocol_from_a_local_git_daemon(tmp_path: Path, git_daemon: tuple[Path, int]) -> None:
    base, port = git_daemon
    repo = GitRepo.create(base / "fleet", {"sentinel.yaml": "processes: {}\n"}, "Served")
    repository = GitRepository(tmp_path / "source", f"git://127.0.0.1:{port}/fleet", timeout=30)
    (tmp_path / "source").mkdir(mode=0o700)
    commit = asyncio.run(repository.fetch("main"))
    assert (commit.hash, commit.subject) == (repo.git("rev-parse", "HEAD"), "Served")
