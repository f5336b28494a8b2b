"""Running a `reload: {command: …}` (systemd's ExecReload): in the process's cwd, with its environment
plus `MAINPID`, in its own session, killed with its group after a timeout. Called by the controller."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping

from sentinel.signames import signal_name


async def run_reload_command(argv: tuple[str, ...], *, cwd: str, env: Mapping[str, str], timeout: float) -> str:
    """Run `argv`; returns how it ended in a few words: `exit 0`, `exit 1: <its last line>`, `timed out
    after 60s`, `cannot run: <why>`."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=dict(env), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except OSError as err:
        return f"cannot run: {argv[0]}: {err.strerror or err}"
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return f"timed out after {timeout:g}s"
    lines = output.decode(errors="replace").strip().splitlines()
    last = f": {lines[-1][:200]}" if lines and proc.returncode else ""
    code = proc.returncode or 0
    return f"killed by {signal_name(-code)}{last}" if code < 0 else f"exit {code}{last}"
