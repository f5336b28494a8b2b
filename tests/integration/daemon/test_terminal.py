"""The friendlier terminal (README.md#colour) under a real pseudo-terminal: `status`, `events` and `logs` colour
what they print, `apply` draws its progress line on stderr while it waits; NO_COLOR and TERM=dumb turn colour off,
and without a terminal (every other test of the CLI) the output is the plain text it always was."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sentinel.terminal import colour_wanted
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

ESC = "\x1b["
GREEN, RED = f"{ESC}32m", f"{ESC}31m"
WEB = """
processes:
  web:
    command: sh -c 'echo hello; exec sleep 1000'
"""
CRASHY = """
  crashy:
    command: sh -c 'exit 3'
    restart: {max_retries: 0}
"""
SLOW = """
  slow:
    command: sleep 1000
    health: {exec: "test -f ready", interval: 100ms}
"""


class Terminal:
    """A CLI command running with a pty as its stdin, stdout and stderr; what it wrote, read as it comes."""

    def __init__(self, r: Reconciler, *args: str, env: dict[str, str] | None = None) -> None:
        self.master, slave = os.openpty()
        environ = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", **(env or {})}
        if "NO_COLOR" not in (env or {}):
            environ.pop("NO_COLOR", None)
        self.process = subprocess.Popen([sys.executable, "-m", "sentinel", "--state-dir", str(r.state_dir.root),
                                         *args], stdin=slave, stdout=slave, stderr=slave, env=environ,
                                        cwd=r.config.parent)
        os.close(slave)
        self.output = ""

    def read(self) -> str:
        """What arrived since last time (not blocking)."""
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the command exited and closed its side
                break
            if not chunk:
                break
            self.output += chunk.decode(errors="replace")
        return self.output

    def finish(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            select.select([self.master], [], [], 0.05)
            self.read()
        assert self.process.wait(max(0.0, deadline - time.monotonic())) == 0, self.read()
        self.read()
        os.close(self.master)
        return self.output


def test_status_events_and_logs_colour_a_terminal_unless_no_color_and_apply_shows_its_progress(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    r = make_reconciler(WEB + CRASHY)
    r.start()
    r.wait_state("web", "running")
    r.wait_state("crashy", "failed")

    status = Terminal(r, "status").finish()
    assert f"{GREEN}running{ESC}0m" in status and f"{RED}failed{ESC}0m" in status
    events = Terminal(r, "events").finish()
    assert f"{RED}crashy exited 3" in events and f"{GREEN}started" in events
    wait_for(lambda: "hello" in r.cli("logs", "web").output)
    logs = Terminal(r, "logs", "web").finish()
    assert logs.startswith(f"{ESC}90m") and "hello" in logs
    for off, command in (({"NO_COLOR": "1"}, ("status",)), ({"TERM": "dumb"}, ("events",))):
        plain = Terminal(r, *command, env=off).finish()
        assert ESC not in plain and plain.strip(), (off, command, plain)

    # `apply` says what it waits for (slow: its check fails until `ready` exists), counting down; then the result
    # (crashy, gone from the file, is removed).
    r.config.write_text(WEB + SLOW)
    apply = Terminal(r, "apply", "-f", str(r.config), "--timeout", "60")
    wait_for(lambda: "waiting for slow (health unknown) (" in apply.read(), timeout=15, message=apply.read)
    assert "s left)" in apply.output
    (r.config.parent / "ready").touch()
    applied = apply.finish()
    assert applied.rstrip().endswith("converged") and "\r\x1b[K" in applied


def test_colour_is_wanted_on_a_terminal_only() -> None:
    master, slave = os.openpty()
    try:
        with os.fdopen(os.dup(slave), "w") as terminal, open(os.devnull, "w") as null:
            assert colour_wanted(terminal, {"TERM": "xterm"})
            assert colour_wanted(terminal, {"NO_COLOR": ""})  # no-color.org: set and not empty
            assert not colour_wanted(terminal, {"NO_COLOR": "1"})
            assert not colour_wanted(terminal, {"TERM": "dumb"})
            assert not colour_wanted(null, {})
            assert not colour_wanted(None, {})
    finally:
        os.close(master)
        os.close(slave)
