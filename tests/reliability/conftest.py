"""Fixtures for the fault scenarios of docs/reliability.md, run on real reconcilers (`pytest -m reliability`).

Every test here gets a unique process marker (the integration suite's `process_marker`), and the
reconcilers it starts through `reconcilers`. At the end of each test, while each reconciler still
runs, it must have no zombie child (docs/reliability.md#f04-zombie-accumulation); once it is stopped,
no process carrying the test's marker may be left (docs/reliability.md#f01-orphaned-grandchildren).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import process_marker
from tests.support.daemon import ILLEGAL, Reconciler
from tests.support.faults import zombies_under
from tests.support.procs import marked_alive
from tests.support.wait import wait_for

__all__ = ["process_marker"]  # every reliability test gets the integration suite's marker check too

ZOMBIE_GRACE = 5.0  # seconds for the reconciler to reap a child that has just exited


@pytest.fixture
def reconcilers(tmp_path: Path) -> Iterator[Callable[..., Reconciler]]:
    """make(config_text, name=..., fd_hard_limit=...) -> a Reconciler on its own state dir (not started yet)."""
    made: list[Reconciler] = []

    def make(config_text: str, *, name: str = "home", fd_hard_limit: int | None = None) -> Reconciler:
        config = tmp_path / f"{name}.yaml"
        config.write_text(config_text)
        reconciler = Reconciler(home=tmp_path / name, config=config, fd_hard_limit=fd_hard_limit)
        made.append(reconciler)
        return reconciler

    yield make
    problems = []
    for reconciler in made:
        process = reconciler.process
        if process is not None and process.poll() is None:
            problem = _zombies(process.pid)
            if problem:
                problems.append(problem)
        reconciler.stop()
        problems += [line for line in reconciler.log.splitlines() if ILLEGAL in line]
    try:
        wait_for(lambda: not marked_alive(), timeout=10.0)
    except AssertionError:
        problems.append(f"tagged processes left running: {marked_alive()}")
    assert not problems, "\n".join(problems)


def _zombies(pid: int) -> str:
    """'' once reconciler `pid` has no zombie child (within ZOMBIE_GRACE), else what is left."""
    try:
        wait_for(lambda: not zombies_under(pid), timeout=ZOMBIE_GRACE)
    except AssertionError:
        return f"zombies left under reconciler {pid}: {zombies_under(pid)}"
    return ""
