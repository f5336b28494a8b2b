"""A real git repository made in a test (docs/gitops.md): files written, committed (signed with an ssh key if asked),
history rewritten as a force-push would; served to reconcilers over file://."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# A test's commits carry neither the user's identity nor their git config (signing, hooks).
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Test",
           "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.com"}


@dataclass
class GitRepo:
    path: Path

    @classmethod
    def create(cls, path: Path, files: dict[str, str], message: str = "First") -> GitRepo:
        path.mkdir(parents=True)
        repo = cls(path)
        repo.git("init", "--quiet", "--initial-branch=main")
        repo.commit(message, files)
        return repo

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, env={**os.environ, **GIT_ENV}, check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()

    def commit(self, message: str, files: dict[str, str] | None = None, *, remove: tuple[str, ...] = (),
               signing_key: Path | None = None) -> str:
        """Write `files`, remove `remove`, commit everything; the new commit's hash."""
        for name, text in (files or {}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        for name in remove:
            (self.path / name).unlink()
        self.git("add", "--all")
        sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signing_key}", "commit", "-S"] if signing_key \
            else ["commit"]
        self.git(*sign, "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def link(self, name: str, target: str, message: str) -> str:
        (self.path / name).symlink_to(target)
        return self.commit(message)

    def revert(self) -> str:
        self.git("revert", "--no-edit", "HEAD")
        return self.git("rev-parse", "HEAD")

    def rewrite(self, message: str, files: dict[str, str]) -> str:
        """Drop the newest commit and commit `files` in its place: history as a force-push leaves it."""
        self.git("reset", "--quiet", "--hard", "HEAD~1")
        return self.commit(message, files)
