"""Sampling the processes that have resource limits, and remembering which of them break one.

Once a second, for each running instance with `limits.memory` or `limits.cpu`, the runtime
measures its whole tree (one /proc scan serves them all) and the pure `reconcile.limits.check`
says whether it is over; a new breach wakes the controller, whose planner restarts the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sentinel.clock import Clock
from sentinel.reconcile.desired import DesiredProcess
from sentinel.reconcile.limits import LimitState, check

SAMPLE_INTERVAL = 1.0

Usage = Callable[[str], "tuple[float, int] | None"]


class LimitSampler:
    """Breaches of resource limits, by instance."""

    def __init__(self, clock: Clock, usage: Usage, on_breach: Callable[[], None]) -> None:
        self._clock = clock
        self._usage = usage
        self._on_breach = on_breach
        self._states: dict[str, LimitState] = {}
        self._breaches: dict[str, str] = {}
        self.breaches_total: dict[str, int] = {}  # instance → breaches found since start-up (/metrics)

    def breach(self, name: str) -> str:
        return self._breaches.get(name, "")

    def forget(self, name: str) -> None:
        """A new run starts from a clean slate (called when an instance stops or restarts)."""
        self._states.pop(name, None)
        self._breaches.pop(name, None)

    def sample(self, desired: Mapping[str, DesiredProcess], running: Mapping[str, object]) -> None:
        now = self._clock.monotonic()
        new_breach = False
        for name in sorted(running):
            d = desired.get(name)
            if d is None or not d.limits.any:
                self.forget(name)
                continue
            usage = self._usage(name)
            if usage is None:
                continue
            state, breach = check(d.limits, self._states.get(name, LimitState()), cpu=usage[0], rss=usage[1], now=now)
            self._states[name] = state
            if breach and not self._breaches.get(name):
                new_breach = True
                self.breaches_total[name] = self.breaches_total.get(name, 0) + 1
            if breach:
                self._breaches[name] = breach
            else:
                self._breaches.pop(name, None)
        if new_breach:
            self._on_breach()

    async def run(self, desired: Callable[[], Mapping[str, DesiredProcess]],
                  running: Callable[[], Mapping[str, object]]) -> None:
        """Sample every second, until cancelled."""
        while True:
            await self._clock.sleep(SAMPLE_INTERVAL)
            self.sample(desired(), running())
