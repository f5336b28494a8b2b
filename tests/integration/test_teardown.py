"""The integration teardown (tests/integration/conftest.py) fails a test that leaves a process running:
`leaks` names what outlived its grace, and lets what exits within it go."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from tests.support.procs import MARKER, kill_marked, leaks


def _marked_child(marker: str, code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, MARKER: marker})


def test_a_process_left_running_is_a_leak_named_by_pid_and_command() -> None:
    marker = uuid.uuid4().hex
    child = _marked_child(marker, "import time; time.sleep(1000)")
    try:
        assert leaks(marker, grace=0.3) == [f"process {child.pid}: {sys.executable} -c import time; time.sleep(1000)"]
    finally:
        kill_marked(marker)
        child.wait(5)
    assert leaks(marker, grace=0.3) == []


def test_a_process_that_exits_within_the_grace_is_not_a_leak() -> None:
    marker = uuid.uuid4().hex
    child = _marked_child(marker, "import time; time.sleep(0.3)")
    try:
        assert leaks(marker, grace=10.0) == []
    finally:
        child.wait(5)
