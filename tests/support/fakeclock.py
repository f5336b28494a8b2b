"""FakeClock: the Clock port (sentinel.clock) with time that moves only when a test says so.

`advance(seconds)` moves monotonic and wall time together; `sleep` advances instead of waiting,
so code that sleeps until a deadline reaches it at once (docs/conventions.md#injected-clock). No globals.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class FakeClock:
    """A clock for tests: starts at `start` (monotonic seconds) and `wall` (UTC)."""

    def __init__(self, start: float = 1000.0, wall: datetime = EPOCH) -> None:
        self._start = start
        self._now = start
        self._wall = wall

    def monotonic(self) -> float:
        return self._now

    def now_utc(self) -> datetime:
        return self._wall + timedelta(seconds=self._now - self._start)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move time forward; time never goes back."""
        if seconds < 0:
            raise ValueError(f"time cannot go back ({seconds}s)")
        self._now += seconds

    def advance_to(self, when: float) -> None:
        """Move time forward to `when` (monotonic); a time already past leaves the clock alone."""
        self._now = max(self._now, when)
