"""Fixtures for the runtime tests: a fresh state directory per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.paths import StateDir


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    state_dir = StateDir(tmp_path / "state")
    state_dir.ensure()
    return state_dir
