"""The `git` command, run for the git source (docs/gitops.md#security): fetch, check out, verify.

Every command runs as an asyncio subprocess (the event loop goes on supervising), in its own process group
that is killed past the timeout, with the repository's hooks disabled (`core.hooksPath=/dev/null`), no
submodules, no terminal prompt (`GIT_TERMINAL_PROMPT=0`, ssh in batch mode) and the user's own credentials
(their ssh agent, keys and credential helpers). A message of git's is passed on with credentials masked.

The repository is bare, `STATE_DIR/source/repo.git`, fetched shallow (`--depth 1`): only the commit at the
ref is kept. A commit is checked out with its own index file into a directory of `STATE_DIR/source/`
(`read-tree -u --reset`, which also removes files the commit no longer has).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from sentinel.config.secrets import mask_credentials
from sentinel.errors import SentinelError
from sentinel.reconcile.source import Commit

HOOKS_OFF = ("-c", "core.hooksPath=/dev/null", "-c", "submodule.recurse=false", "-c", "gc.auto=0")


class GitError(SentinelError):
    """A git command failed or ran out of time; one line, credentials masked."""


class GitRepository:
    """The bare repository of the source in `directory` (made 0700 by the caller), fetched from `url`."""

    def __init__(self, directory: Path, url: str, *, timeout: float) -> None:
        self.directory, self.url, self.timeout = directory, url, timeout
        self.git_dir = directory / "repo.git"

    def _environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        environ = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS=os.environ.get("GIT_ASKPASS", "true"))
        environ.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
            environ.pop(name, None)
        return {**environ, **(extra or {})}

    async def run(self, *args: str, environ: dict[str, str] | None = None) -> str:
        """`git --git-dir=… ARGS`; its standard output, or GitError naming what failed (masked)."""
        argv = ["git", *HOOKS_OFF, f"--git-dir={self.git_dir}", *args]
        verb = _verb(args)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=self._environ(environ), start_new_session=True)
        except OSError as failure:
            raise GitError(f"cannot run git: {failure.strerror or failure}") from None
        try:
            out, said_on_stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            _kill_group(process.pid)
            await process.wait()
            raise GitError(f"git {verb} took longer than {self.timeout:g}s (source.timeout); stopped") from None
        except asyncio.CancelledError:
            _kill_group(process.pid)
            raise
        if process.returncode != 0:
            said = _first_error(said_on_stderr.decode(errors="replace")) or f"exit code {process.returncode}"
            raise GitError(mask_credentials(f"git {verb} failed: {said}", self.url))
        return out.decode(errors="replace")

    async def ensure(self) -> None:
        """The bare repository, made once."""
        if not (self.git_dir / "HEAD").exists():
            await self.run("init", "--bare", "--quiet")

    async def fetch(self, ref: str) -> Commit:
        """Fetch the commit at `ref` (a branch or tag), shallow; a force-push that rewrote history is followed."""
        await self.ensure()
        await self.run("fetch", "--quiet", "--depth=1", "--no-tags", "--no-recurse-submodules", "--force",
                       "--", self.url, ref)
        commit = (await self.run("rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}")).strip()
        subject = (await self.run("log", "-1", "--format=%s", commit)).strip()
        return Commit(commit, subject)

    async def checkout(self, commit: Commit, work_tree: Path) -> None:
        """Make `work_tree` (0700) hold exactly the files of `commit`."""
        work_tree.mkdir(mode=0o700, exist_ok=True)
        index = {"GIT_INDEX_FILE": str(work_tree.parent / f"{work_tree.name}.index")}
        await self.run(f"--work-tree={work_tree}", "read-tree", "-u", "--reset", commit.hash, environ=index)

    async def verify(self, commit: Commit, allowed_signers: str) -> None:
        """GitError unless `commit` carries a signature by a key of `allowed_signers` (ssh signatures)."""
        await self.run("-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed_signers}",
                       "verify-commit", commit.hash)


def _first_error(text: str) -> str:
    """The line of git's standard error that says what failed: its first `fatal:` or `error:` line (what follows
    is advice), else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    return lines[-1] if lines else ""


def _verb(args: tuple[str, ...]) -> str:
    """The git subcommand among `args` (after any `-c NAME=VALUE` and `--work-tree=…`)."""
    after_c = False
    for arg in args:
        if not after_c and not arg.startswith("-"):
            return arg
        after_c = arg == "-c"
    return "command"


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
