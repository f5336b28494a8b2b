"""`sentinel top` in a real terminal: tmux runs it in a 120x40 pane on its own server (`-L`), the test sends it
keys and reads the pane (`capture-pane -p`). Under the `tui` marker, run by its own step of .ci/run; the view's
behaviour in detail is tests/integration/daemon/test_top.py (Textual's harness)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port
from tests.support.wait import wait_for

TMUX = shutil.which("tmux") or "tmux"
pytestmark = pytest.mark.tui


class Terminal:
    """A tmux server of the test's own, with one 120x40 pane."""

    def __init__(self) -> None:
        self.server = [TMUX, "-L", f"sentinel-top-{uuid.uuid4().hex[:12]}"]

    def tmux(self, *args: str) -> str:
        return subprocess.run([*self.server, *args], capture_output=True, text=True, check=True, timeout=10).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def shows(self, *texts: str, timeout: float = 15.0) -> None:
        wait_for(lambda: all(text in self.screen() for text in texts), timeout=timeout, interval=0.1,
                 message=lambda: f"{texts} not on the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    if shutil.which(TMUX) is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    found = Terminal()
    try:
        yield found
    finally:
        subprocess.run([*found.server, "kill-server"], capture_output=True, check=False, timeout=10)


def test_top_in_a_real_terminal_on_a_remote_reconciler(make_reconciler: Callable[..., Reconciler], terminal: Terminal,
                                                       tmp_path: Path) -> None:
    """Over TCP with a token (`--api URL --token-file F`, from another, empty state directory): the table, a filter
    typed fast, a stop, the log pane following over the WebSocket, and `q` quitting at once with that stream open."""
    port, token = free_port(), tmp_path / "token"
    r = make_reconciler(f'api: {{listen: "127.0.0.1:{port}", token_file: {token}}}\n'
                        "processes:\n  web: {command: sleep 1000, group: front}\n"
                        "  chatty: {command: \"sh -c 'echo hello from chatty; exec sleep 1000'\"}\n")
    r.start()
    r.wait_state("web", "running")
    top = shlex.join([sys.executable, "-m", "sentinel", "--state-dir", str(tmp_path / "elsewhere"), "--api",
                      f"http://127.0.0.1:{port}", "--token-file", str(token), "top", "--interval", "0.3"])
    # The shell says how `top` ended and stays, so the pane can still be read once it has quit.
    terminal.tmux("new-session", "-d", "-x", "120", "-y", "40", f"{top}; echo \"top exited $?\"; exec sleep 600")
    pid = r.row("web")["pid"]
    terminal.shows(f"http://127.0.0.1:{port}", "chatty", "web", "front", "running", str(pid))

    # Typed at once, as a paste or a fast typist sends it: `/` and a filter holding r (restart), o (sort), n (run).
    terminal.keys("/", "f", "r", "o", "n", "t")
    terminal.shows("1 of 2 processes", "filter: front")
    terminal.keys("Enter")  # keeps the filter; web, the only row, is selected
    terminal.shows("x Stop")  # the table's keys are back in the footer
    assert (r.row("web")["pid"], r.row("web")["restarts"]) == (pid, 0)
    terminal.keys("x")
    terminal.shows("web: stopped (stopped by user)")
    assert r.row("web")["state"] == "stopped"
    terminal.keys("Escape")  # clears the filter
    terminal.shows("2 processes")
    terminal.keys("Up")  # chatty, above web
    terminal.keys("Enter")  # follows chatty's log
    terminal.shows("log of chatty", "hello from chatty")
    terminal.keys("q")  # with the log pane open: its stream is closed, nothing waits on it
    terminal.shows("top exited 0")
    assert "Traceback" not in terminal.screen() and token.read_text().strip() not in terminal.screen()
    events = r.client.get("/v1/events", process="web")["events"]
    assert not [event["message"] for event in events if "restart" in event["message"]]
