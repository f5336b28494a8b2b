"""Exit statuses: decoding a wait status, describing it, and deciding whether it is expected."""

from __future__ import annotations

import pytest

from sentinel.reconcile.observed import ExitStatus
from sentinel.signames import signal_name


@pytest.mark.parametrize(
    ("status", "exit"),
    [
        pytest.param(0, ExitStatus(code=0), id="clean"),
        pytest.param(3 << 8, ExitStatus(code=3), id="code"),
        pytest.param(255 << 8, ExitStatus(code=255), id="code-255"),
        pytest.param(9, ExitStatus(signal=9), id="sigkill"),
        pytest.param(15 | 0x80, ExitStatus(signal=15), id="sigterm-with-core"),
    ],
)
def test_from_wait_status(status: int, exit: ExitStatus) -> None:
    assert ExitStatus.from_wait_status(status) == exit


@pytest.mark.parametrize(
    ("exit", "text"),
    [
        pytest.param(ExitStatus(code=1), "exited 1", id="code"),
        pytest.param(ExitStatus(signal=9), "killed by SIGKILL", id="signal"),
        pytest.param(ExitStatus(signal=200), "killed by signal 200", id="unknown-signal"),
        pytest.param(ExitStatus(), "exited (status unknown)", id="unknown"),
    ],
)
def test_describe(exit: ExitStatus, text: str) -> None:
    assert exit.describe() == text


@pytest.mark.parametrize(
    ("exit", "expected"),
    [
        pytest.param(ExitStatus(code=0), True, id="listed"),
        pytest.param(ExitStatus(code=1), False, id="not-listed"),
        pytest.param(ExitStatus(signal=15), False, id="signal-never-expected"),
        pytest.param(ExitStatus(), False, id="unknown-never-expected"),
    ],
)
def test_expected(exit: ExitStatus, expected: bool) -> None:
    assert exit.expected({0, 2}) is expected


def test_signal_name() -> None:
    assert signal_name(2) == "SIGINT"
