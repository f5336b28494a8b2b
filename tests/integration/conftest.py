"""Integration-test fixtures: every test's processes carry a unique marker, and a test that leaves one
running fails.

A test cleans up what it started (docs/conventions.md#wait-for-conditions). After its own cleanup
(the fixtures it used are torn down first), whatever still carries its marker gets a short grace to
finish exiting: `sentinel down` returns once the reconciler has let go of its lock, a moment before
its process is gone. Then anything left is a leak: it is SIGKILLed and the test fails, naming it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.procs import MARKER, kill_marked, leaks


@pytest.fixture(autouse=True)
def process_marker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Set a unique SENTINEL_TEST_MARKER for the test; fail it if anything carrying it outlives it."""
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER, marker)
    yield marker
    leaked = leaks(marker)
    kill_marked(marker)
    if leaked:
        pytest.fail("left running after the test's cleanup:\n" + "\n".join(leaked), pytrace=False)
