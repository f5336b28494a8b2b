"""Building blocks for planner table tests: process specs and the events of a scenario.

A scenario starts from a settled SimWorld (every process as the file asks), then applies
events in order (an edit of the file, a crash, time passing, a user request, a pass), and
the test compares the next plan with the expected one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sentinel.reconcile.actions import Plan
from tests.support.simworld import SimWorld

T0 = 1000.0  # the FakeClock's start: when a scenario's world has settled
Spec = dict[str, Any]
Processes = Mapping[str, Spec]
Event = Callable[[SimWorld], object]


def svc(command: str | list[str] = "web --port 80", **extra: Any) -> Spec:
    """A service spec: `command` plus whatever else the case needs."""
    return {"command": command, **extra}


def job(command: str = "report", **extra: Any) -> Spec:
    return {"command": command, "schedule": {"every": "1h"}, **extra}


def edit(processes: Processes) -> Event:
    return lambda world: world.edit_processes(processes)


def crash(name: str, code: int | None = 1, signal: int | None = None) -> Event:
    return lambda world: world.crash(name, code, signal)


def advance(seconds: float) -> Event:
    return lambda world: world.advance(seconds)


def step() -> Event:
    return lambda world: world.step()


def hold(name: str) -> Event:
    return lambda world: world.hold(name)


def release(name: str) -> Event:
    return lambda world: world.release(name)


def restart(name: str) -> Event:
    return lambda world: world.request_restart(name)


def vanish(name: str) -> Event:
    return lambda world: world.vanish(name)


def adopt(name: str) -> Event:
    return lambda world: world.adopt(name)


def busy(name: str) -> Event:
    return lambda world: world.set_busy(name)


def world_after(processes: Processes, events: Sequence[Event]) -> SimWorld:
    """A world settled on `processes`, then taken through `events`."""
    world = SimWorld.of(processes)
    world.settle()
    assert world.now == T0
    for event in events:
        event(world)
    return world


def plan_after(processes: Processes, events: Sequence[Event]) -> Plan:
    return world_after(processes, events).plan()
