"""`reload: {command: …}` run for real: how it ended, in a few words."""

from __future__ import annotations

import asyncio
import os

from sentinel.runtime.reload import run_reload_command


def run(*argv: str, timeout: float = 30.0) -> str:
    return asyncio.run(run_reload_command(argv, cwd=os.getcwd(), env={"PATH": os.environ["PATH"], "MAINPID": "41"},
                                          timeout=timeout))


def test_outcomes() -> None:
    assert run("sh", "-c", 'test "$MAINPID" = 41') == "exit 0"
    assert run("sh", "-c", "echo checking; echo 'bad config line 3'; exit 1") == "exit 1: bad config line 3"
    assert run("sh", "-c", "kill -KILL $$") == "killed by SIGKILL"
    assert run("no-such-reload-program") == "cannot run: no-such-reload-program: No such file or directory"
    assert run("sleep", "30", timeout=0.2) == "timed out after 0.2s"
