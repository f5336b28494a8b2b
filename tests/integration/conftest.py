"""Integration-test fixtures: every test's processes carry a unique marker and are killed at teardown."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.procs import MARKER, kill_marked


@pytest.fixture(autouse=True)
def process_marker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Set a unique SENTINEL_TEST_MARKER for the test; SIGKILL whatever carries it afterwards."""
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER, marker)
    yield marker
    kill_marked(marker)
