"""The git source, executed (docs/gitops.md): fetch, verify, check out, validate, apply, as
`sentinel.reconcile.source` decides.

A commit is first checked out into `STATE_DIR/source/candidate` and loaded from there; only a commit that
loads, stays inside its checkout and (with `require_signed`) carries a good signature is checked out into
`STATE_DIR/source/current`, the directory the running config is read from, and applied through the
reconciler's own reload path. A commit that fails any of these is refused: the last good one keeps running,
and an event, `status`, `/healthz` and `/metrics` say which commit was refused and why (file:line:col).
A fetch that fails or hangs (`source.timeout`) is reported and touches nothing that runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sentinel.config.gitpath import escaping_links, fill, outside, placeholders
from sentinel.config.secrets import mask_credentials
from sentinel.controller.git import GitError, GitRepository
from sentinel.errors import ConfigError, SentinelError
from sentinel.log import get_logger
from sentinel.reconcile import source as decide
from sentinel.reconcile.source import Commit, SourceState

if TYPE_CHECKING:
    from sentinel.clock import Clock
    from sentinel.config.loader import Loaded
    from sentinel.config.models import Source
    from sentinel.controller.loop import Controller

log = get_logger(__name__)
CANDIDATE, CURRENT = "candidate", "current"


class SourceSuspended(Exception):
    """`sync` while the source is suspended."""


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """The `source:` of the bootstrap file, resolved: its allowed-signers file made absolute."""

    url: str
    ref: str
    path: str
    interval: float
    timeout: float
    allowed_signers: str | None  # set: only commits signed by one of its keys are applied

    @classmethod
    def of(cls, source: Source, bootstrap: str) -> SourceSettings:
        signers = None
        if source.require_signed and source.allowed_signers is not None:
            signers = os.path.join(os.path.dirname(bootstrap), os.path.expanduser(source.allowed_signers))
        return cls(source.git, source.ref, source.path, source.interval, source.timeout, signers)

    @property
    def masked_url(self) -> str:
        return mask_credentials(self.url)

    @property
    def where(self) -> str:
        """`URL@ref`, credentials masked: how messages name the source."""
        return f"{self.masked_url}@{self.ref}"


class GitSource:
    """Pulls the repository every `interval` (or on `sync`) and applies what it finds, until cancelled."""

    def __init__(self, settings: SourceSettings, directory: Path, *, controller: Controller, clock: Clock,
                 load: Callable[[str], Awaitable[Loaded]], apply: Callable[[str, Commit], Awaitable[object]],
                 save: Callable[[SourceState], None], state: SourceState, hostname: str | None = None) -> None:
        self.settings, self.directory, self.controller, self.clock = settings, directory, controller, clock
        self._load, self._apply, self._save = load, apply, save
        self.state = state
        self.repository = GitRepository(directory, settings.url, timeout=settings.timeout)
        self.path = fill(settings.path, placeholders(hostname or socket.gethostname()))
        controller.source_state, controller.source_labels = state, (settings.ref, self.path)
        self._sync = asyncio.Event()
        self._pulled = asyncio.Condition()
        self.pulls = 0  # pulls done (a `sync` waits for the next one)
        self.pulling = False

    @property
    def current_file(self) -> str:
        """The file the running config is read from (its commit is `state.applied`)."""
        return str(self.directory / CURRENT / self.path)

    # --- requests ---------------------------------------------------------------------------------

    async def sync(self, timeout: float) -> bool:
        """Fetch now and wait until that pull is done (True), or `timeout` passed (False)."""
        if self.state.suspended_since is not None:
            raise SourceSuspended(f"the source is suspended since {self.state.suspended_since:%Y-%m-%d %H:%M:%S}Z "
                                  "(`sentinel source resume` first)")
        target = self.pulls + (2 if self.pulling else 1)
        self._sync.set()
        async with self._pulled:
            try:
                await asyncio.wait_for(self._pulled.wait_for(lambda: self.pulls >= target), timeout)
            except TimeoutError:
                return False
        return True

    def suspend(self) -> None:
        if self.state.suspended_since is None:
            self._set(decide.suspended(self.state, self.clock.now_utc()))
            self.controller.event("source_suspended", f"source {self.settings.where} suspended: no pulls until "
                                                      "`sentinel source resume`")

    def resume(self) -> None:
        if self.state.suspended_since is not None:
            self._set(decide.resumed(self.state, self.clock.monotonic()))
            self.controller.event("source_resumed", f"source {self.settings.where} resumed: pulling the newest commit")
            self._sync.set()

    def forget_applied(self) -> None:
        """The applied commit's checkout cannot be read (gone, damaged): the next fetch applies it again."""
        self.state = decide.checkout_lost(self.state)
        self.controller.source_state = self.state

    def _set(self, state: SourceState) -> None:
        self.state = state
        self.controller.source_state = state
        self.controller.changes += 1
        self._save(state)

    # --- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            wait = decide.next_fetch(self.state, self.clock.monotonic(), sync_requested=self._sync.is_set())
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sync.wait(), wait)
                continue
            self._sync.clear()
            self.pulling = True
            try:
                await self.pull()
            except (OSError, SentinelError) as err:  # the state directory, not git: said, and tried again
                message = f"source {self.settings.where}: {err}; the running config stays in force"
                self.controller.event("source_fetch_failed", message)
                self._set(decide.fetch_failed(self.state, message, self.clock.monotonic(), self.settings.interval))
            finally:
                self.pulling = False
                self.pulls += 1
                async with self._pulled:
                    self._pulled.notify_all()

    async def pull(self) -> None:
        """One fetch, and the apply of what it got when `decide.fetched` says so."""
        now = self.clock.monotonic()
        try:
            commit = await self.repository.fetch(self.settings.ref)
        except GitError as err:
            message = f"fetch of {self.settings.where} failed: {err}; the running config stays in force"
            if message != self.state.fetch_error:
                self.controller.event("source_fetch_failed", message)
            self.controller.counters.source_fetch_errors += 1
            self._set(decide.fetch_failed(self.state, message, now, self.settings.interval))
            return
        if self.state.fetch_error is not None:
            self.controller.event("source_fetch_recovered", f"fetch of {self.settings.where} works again")
        state, verdict = decide.fetched(self.state, commit, now, self.clock.now_utc(), self.settings.interval)
        self._set(state)
        if verdict == decide.KEEP:
            return
        problem = await self._check(commit)
        if problem is not None:
            self._refuse(commit, problem)
            return
        try:
            await self.repository.checkout(commit, self.directory / CURRENT)
            await self._apply(self.current_file, commit)
        except (GitError, ConfigError) as err:
            self._refuse(commit, self._relative(str(err)))
            return
        self._set(decide.applied(self.state, commit))

    async def _check(self, commit: Commit) -> str | None:
        """Why `commit` cannot be applied (unsigned, a link or path leaving the checkout, an invalid file), or
        None when it can: checked in the candidate directory, so what runs is not touched."""
        candidate = self.directory / CANDIDATE
        try:
            if self.settings.allowed_signers is not None:
                await self.repository.verify(commit, self.settings.allowed_signers)
            await self.repository.checkout(commit, candidate)
        except GitError as err:
            return str(err)
        return await self._check_files(candidate)

    async def _check_files(self, candidate: Path) -> str | None:
        """Why the checkout in `candidate` cannot be applied, or None."""
        link = escaping_links(str(candidate))
        if link is not None:
            return f"{os.path.relpath(link, candidate)} is a symbolic link leaving the checkout"
        file = str(candidate / self.path)
        if not os.path.isfile(file):
            return f"{self.path}: no such file in the commit"
        try:
            loaded = await self._load(file)
        except ConfigError as err:
            return self._relative(err.one_line())
        leaving = outside(str(candidate), loaded.files)
        if leaving is not None:
            return f"{self._relative(leaving)}: read from outside the checkout"
        if loaded.config.source is not None:
            return f"{self.path}: a file of the source cannot have a source: section itself"
        return None

    def _refuse(self, commit: Commit, why: str) -> None:
        running = self.state.applied.describe() if self.state.applied else "the running config"
        self.controller.counters.source_refused += 1
        self._set(decide.refused(self.state, commit, why))
        self.controller.event("source_refused", f"commit {commit.describe()} not applied: {why}; "
                                                f"{running} stays in force")

    def _relative(self, text: str) -> str:
        """Paths inside the checkouts shown relative to the repository (`hosts/web.yaml:3:9: …`)."""
        for name in (CANDIDATE, CURRENT):
            text = text.replace(str(self.directory / name) + os.sep, "")
        return text
