"""Running each process's health check on its schedule, and telling the controller when its verdict changes.

One asyncio task per checked instance (timers, not threads): it probes at once, then every
`interval`, or on a growing cadence from 50 ms while no check has passed yet (so that a dependent
waiting for `healthy` starts soon after its dependency is ready, not an `interval` later).
Which failures count (the start period, the early checks) and when to check next are the pure
tracker's decisions; the planner decides what an unhealthy process means.
Called by the controller when it starts, adopts, updates or lets go of an instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sentinel.clock import Clock
from sentinel.config.models import Health as HealthCheck
from sentinel.health.tracker import HealthState, after_check, initial, next_check_in
from sentinel.states import Health

OnChange = Callable[[str, HealthState, HealthState], None]


@dataclass
class _Watch:
    spec: HealthCheck
    cwd: str
    env: Mapping[str, str]
    user: str | None
    state: HealthState = field(default_factory=initial)
    task: asyncio.Task[None] | None = None


class HealthMonitor:
    """The health checks of the running instances of one reconciler."""

    def __init__(self, clock: Clock, on_change: OnChange) -> None:
        self._clock = clock
        self._on_change = on_change
        self._watches: dict[str, _Watch] = {}

    def watch(self, name: str, spec: HealthCheck, *, started_at: float, cwd: str, env: Mapping[str, str],
              user: str | None) -> None:
        """Check `name` from now on (again from `unknown` if it was already checked), as `user` in `cwd` with `env`."""
        self.unwatch(name)
        watch = _Watch(spec=spec, cwd=cwd, env=dict(env), user=user, state=initial(started_at))
        watch.task = asyncio.get_running_loop().create_task(self._run(name, watch))
        self._watches[name] = watch

    def unwatch(self, name: str) -> None:
        watch = self._watches.pop(name, None)
        if watch is not None and watch.task is not None:
            watch.task.cancel()

    def state(self, name: str) -> HealthState | None:
        watch = self._watches.get(name)
        return watch.state if watch is not None else None

    def status(self, name: str) -> Health:
        watch = self._watches.get(name)
        return watch.state.status if watch is not None else Health.NONE

    def close(self) -> None:
        for name in list(self._watches):
            self.unwatch(name)

    async def _run(self, name: str, watch: _Watch) -> None:
        from sentinel.health.checks import run_check  # with the first check: no need of it before (cold start)

        spec = watch.spec
        while True:
            result = await run_check(spec, timeout=spec.timeout, cwd=watch.cwd, env=watch.env,
                                   user=watch.user)
            new = after_check(watch.state, result.ok, result.detail, now=self._clock.monotonic(),
                              interval=spec.interval, start_period=spec.start_period, retries=spec.retries)
            old, watch.state = watch.state, new
            if new.status is not old.status:
                self._on_change(name, old, new)
            await self._clock.sleep(next_check_in(new, spec.interval))
