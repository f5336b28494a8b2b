"""The git source's decisions (docs/gitops.md): when to fetch, which commit to apply, what to keep. Pure.

The reconciler's git source (`sentinel.controller.source`) holds a `SourceState`, asks `next_fetch` when to
fetch, and after a fetch asks `verdict` what to do with the commit it got; it only executes the answers
(git, loading, applying). A commit that was refused is not tried again until another one comes: the last good
revision keeps running meanwhile. A fetch that fails is retried after the interval; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

APPLY: Literal["apply"] = "apply"
KEEP: Literal["keep"] = "keep"
Verdict = Literal["apply", "keep"]


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit of the source: its full hash and the first line of its message."""

    hash: str
    subject: str

    @property
    def short(self) -> str:
        return self.hash[:12]

    def describe(self) -> str:
        """`0123456789ab (Add the web process)`: how events and status name it."""
        return f"{self.short} ({self.subject})" if self.subject else self.short


@dataclass(frozen=True, slots=True)
class SourceState:
    """Where the source stands. `applied`: the commit running now (the last good one); `refused`: the newest commit
    that was not applied and why (file:line:col, a fetch error is in `fetch_error`); `next_fetch_at`: monotonic
    time of the next fetch; `suspended_since`: wall time of `source suspend`, None when pulling."""

    applied: Commit | None = None
    refused: Commit | None = None
    refused_why: str | None = None
    fetch_error: str | None = None
    fetched_at: datetime | None = None  # wall time of the last fetch that succeeded
    next_fetch_at: float = 0.0
    suspended_since: datetime | None = None


def next_fetch(state: SourceState, now: float, *, sync_requested: bool) -> float | None:
    """How long to wait before the next fetch (0: fetch now); None while suspended (only `resume` wakes it).
    A sync request fetches at once."""
    if state.suspended_since is not None:
        return None
    if sync_requested:
        return 0.0
    return max(0.0, state.next_fetch_at - now)


def fetch_failed(state: SourceState, error: str, now: float, interval: float) -> SourceState:
    """A fetch failed or ran out of time: said, and tried again after the interval; what runs is untouched."""
    return replace(state, fetch_error=error, next_fetch_at=now + interval)


def fetched(state: SourceState, commit: Commit, now: float, wall: datetime, interval: float) -> tuple[SourceState,
                                                                                                       Verdict]:
    """A fetch got `commit`: apply it when it is neither the commit running nor the one refused last."""
    state = replace(state, fetch_error=None, fetched_at=wall, next_fetch_at=now + interval)
    if commit.hash in {known.hash for known in (state.applied, state.refused) if known is not None}:
        return state, KEEP
    return state, APPLY


def applied(state: SourceState, commit: Commit) -> SourceState:
    """`commit` is the desired state now: the last good revision; an older refusal is over."""
    return replace(state, applied=commit, refused=None, refused_why=None)


def refused(state: SourceState, commit: Commit, why: str) -> SourceState:
    """`commit` was not applied (invalid, unsigned, a path leaving the checkout): the last good one runs on."""
    return replace(state, refused=commit, refused_why=why)


def checkout_lost(state: SourceState) -> SourceState:
    """The applied commit's checkout cannot be read at start-up (gone, damaged): the next fetch applies the commit
    again, rather than keep a revision that is not running."""
    return replace(state, applied=None)


def suspended(state: SourceState, since: datetime) -> SourceState:
    return state if state.suspended_since is not None else replace(state, suspended_since=since)


def resumed(state: SourceState, now: float) -> SourceState:
    """Pulling again, from the newest commit: a fetch at once."""
    return replace(state, suspended_since=None, next_fetch_at=now)
