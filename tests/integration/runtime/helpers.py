"""Helpers for the runtime tests: run a scenario in an event loop, build requests, read logs."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from sentinel.runtime.manager import Runtime
from sentinel.runtime.spawn import SpawnRequest

T = TypeVar("T")

STAMPED = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


_RUNTIMES: list[Runtime] = []  # made by `runtime()` during the current `run()`


def run(scenario: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run an async scenario to completion in a fresh event loop, with a deadline.

    Every Runtime the scenario made is detached at the end (passing or failing), so no
    descriptor outlives its loop; the processes are left to the marker fixture.
    """

    async def main() -> T:
        try:
            return await asyncio.wait_for(scenario, timeout)
        finally:
            while _RUNTIMES:
                _RUNTIMES.pop().detach()

    return asyncio.run(main())


@dataclass
class Exits:
    """Collects `on_exit` calls; `event` is set at each one."""

    calls: list[tuple[str, ProcessIdentity, ExitStatus]] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, name: str, identity: ProcessIdentity, status: ExitStatus) -> None:
        self.calls.append((name, identity, status))
        self.event.set()

    def of(self, name: str) -> list[ExitStatus]:
        return [status for n, _, status in self.calls if n == name]


def runtime(state: StateDir, exits: Exits | None = None) -> tuple[Runtime, Exits]:
    exits = exits or Exits()
    made = Runtime(state, on_exit=exits, utc=lambda: datetime.now(UTC))
    _RUNTIMES.append(made)
    return made, exits


def python(state: StateDir, name: str, code: str, *, cwd: Path | None = None) -> SpawnRequest:
    """A request running `code` (dedented) in an unbuffered Python child, with this test's environment."""
    argv = (sys.executable, "-u", "-c", textwrap.dedent(code))
    return request(state, name, argv, cwd=cwd)


def request(state: StateDir, name: str, argv: tuple[str, ...], *, cwd: Path | None = None,
            user: str | None = None) -> SpawnRequest:
    return SpawnRequest(name=name, argv=argv, env=dict(os.environ), cwd=str(cwd or state.root), user=user,
                        fifo=state.fifo(name))


def log_bytes(state: StateDir, name: str) -> bytes:
    try:
        return state.log_file(name).read_bytes()
    except FileNotFoundError:
        return b""


def log_texts(state: StateDir, name: str) -> list[str]:
    """The log's lines without their stamps (every complete line must be stamped)."""
    lines = log_bytes(state, name).split(b"\n")
    complete = lines[:-1]
    for line in complete:
        assert STAMPED.match(line), line[:80]
    return [line[STAMPED.match(line).end():].decode(errors="replace") for line in complete]  # type: ignore[union-attr]


async def wait_exit(exits: Exits, name: str, timeout: float = 10.0) -> ExitStatus:
    """Wait until `name` has exited once; its status."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not exits.of(name):
        exits.event.clear()
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"{name} did not exit within {timeout} s")
        try:
            await asyncio.wait_for(exits.event.wait(), remaining)
        except TimeoutError:
            continue
    return exits.of(name)[0]
