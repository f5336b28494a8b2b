"""Fixtures for black-box tests of the reconciler: a config file and a reconciler on a temp state dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import ILLEGAL, Reconciler

SLEEP = "sleep 1000"


@pytest.fixture
def make_reconciler(tmp_path: Path) -> Iterator[Callable[..., Reconciler]]:
    """`make(config_text, name=…, **settings)`: a Reconciler on that config (settings: its other fields), stopped
    after the test, which fails if any of them moved a record outside docs/states.md."""
    started: list[Reconciler] = []

    def make(config_text: str, *, name: str = "home", **settings: Any) -> Reconciler:
        config = tmp_path / f"{name}.yaml"
        config.write_text(config_text)
        reconciler = Reconciler(home=tmp_path / name, config=config, **settings)
        started.append(reconciler)
        return reconciler

    yield make
    for reconciler in started:
        reconciler.stop()
    illegal = [line for r in started for line in r.log.splitlines() if ILLEGAL in line]
    assert not illegal, f"state moves outside docs/states.md: {illegal}"
