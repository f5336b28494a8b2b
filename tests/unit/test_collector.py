"""The collector held while the reconciler starts (sentinel/collector.py): objects alive at `hold()` are left out of
collections until `resume()`, and `up` resumes whatever happens."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinel import collector
from sentinel.cli.main import cli
from sentinel.daemon import state_lock
from sentinel.paths import StateDir
from tests.support.files import write


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _nothing_held() -> Iterator[None]:
    yield
    collector.resume()  # a failing test leaves nothing held for the next one


def test_garbage_from_before_hold_waits_for_resume_and_young_garbage_does_not() -> None:
    old = weakref.ref(_Cycle())  # unreachable already: only a collection frees a cycle
    collector.hold()
    young = weakref.ref(_Cycle())
    gc.collect()
    assert old() is not None and young() is None
    collector.resume()
    gc.collect()
    assert old() is None and gc.get_freeze_count() == 0


def test_up_resumes_when_the_reconciler_cannot_start(tmp_path: Path) -> None:
    config = write(tmp_path, "sentinel.yaml", "processes: {web: {command: sleep 1000}}\n")
    state = StateDir(tmp_path / "state")
    with state_lock(state):  # another reconciler has this state directory
        result = CliRunner().invoke(cli, ["--state-dir", str(state.root), "up", "-f", config])
    assert result.exit_code == 1 and "already running" in result.stderr
    assert gc.get_freeze_count() == 0


def test_a_command_run_by_the_cli_as_a_library_leaves_the_collector_alone(tmp_path: Path) -> None:
    """Only the `sentinel` program pauses the collector (and a short-lived command then freezes what its start-up
    built: tests/integration/test_cli.py); a command invoked in this process changes nothing of the collector."""
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), "status"])
    assert result.exit_code == 1 and "no reconciler has run there" in result.stderr
    assert gc.isenabled() and gc.get_freeze_count() == frozen
