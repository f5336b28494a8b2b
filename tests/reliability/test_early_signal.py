"""SIGTERM in the first moments of `sentinel up` stops it cleanly: exit 0, nothing started, nothing left
(docs/reliability.md#f40-signals-to-the-reconciler).

Until the interpreter runs sentinel's first line, only the kernel's default action exists: a
foreground `up` signalled that early dies of the signal having touched nothing. `up --detach`
spawns the reconciler with the signals blocked, which closes that window too: the signal waits
for sentinel's handler. Both are tested, the blocked spawn at every delay.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sentinel.early_signals import HELD
from tests.integration.conftest import process_marker  # noqa: F401  (fails a test that leaves processes behind)
from tests.support.procs import marked_alive
from tests.support.wait import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("process_marker")]

CONFIG = """\
processes:
  s1:
    command: sleep 1000
  s2:
    command: sleep 1000
    depends_on: [s1]
"""
DELAYS_MS = [0, 20, 50, 100, 200]


@contextmanager
def blocked() -> Iterator[None]:
    """The stop and reload signals blocked in this thread, so a child spawned meanwhile starts with them blocked
    (as `up --detach` starts the reconciler)."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def spawn_up(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    config = tmp_path / "sentinel.yaml"
    config.write_text(CONFIG)
    home = tmp_path / "home"
    argv = [sys.executable, "-m", "sentinel", "--state-dir", str(home), "up", "-f", str(config)]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT), home


def ended(up: subprocess.Popen[bytes]) -> str:
    try:
        output, _ = up.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        up.kill()
        output, _ = up.communicate()
        pytest.fail(f"sentinel up did not stop on SIGTERM:\n{output.decode(errors='replace')}")
    return output.decode(errors="replace")


def assert_clean_exit(up: subprocess.Popen[bytes], text: str, home: Path) -> None:
    assert up.returncode == 0, text
    assert "Traceback" not in text
    assert marked_alive() == []
    assert not (home / "sentinel.sock").exists()


@pytest.mark.parametrize("delay_ms", DELAYS_MS)
def test_sigterm_right_after_a_detached_style_spawn_exits_0(tmp_path: Path, delay_ms: int) -> None:
    with blocked():
        up, home = spawn_up(tmp_path)
    with up:
        time.sleep(delay_ms / 1000)  # the fault: a signal this soon after the start, not a wait for a condition
        up.send_signal(signal.SIGTERM)
        text = ended(up)
    assert_clean_exit(up, text, home)


def test_sigterm_once_up_holds_its_state_directory_exits_0(tmp_path: Path) -> None:
    """The moment the lock is taken, well before the loop runs: a signal there used to kill it (exit -15)."""
    up, home = spawn_up(tmp_path)
    with up:
        wait_for(lambda: (home / "sentinel.pid").exists() or up.poll() is not None, timeout=20.0, interval=0.002)
        up.send_signal(signal.SIGTERM)
        text = ended(up)
    assert_clean_exit(up, text, home)


@pytest.mark.parametrize("delay_ms", DELAYS_MS)
def test_sigterm_right_after_a_plain_spawn_exits_0_or_touched_nothing(tmp_path: Path, delay_ms: int) -> None:
    up, home = spawn_up(tmp_path)
    with up:
        time.sleep(delay_ms / 1000)  # the fault, as above
        up.send_signal(signal.SIGTERM)
        text = ended(up)
    if up.returncode == -signal.SIGTERM:  # before the interpreter ran sentinel's first line
        assert not home.exists(), f"died of SIGTERM after touching its state directory:\n{text}"
        assert marked_alive() == []
    else:
        assert_clean_exit(up, text, home)
