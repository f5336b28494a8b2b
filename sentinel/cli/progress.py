"""The progress line `apply` draws on stderr while it waits (README.md#colour): a spinner, what it waits for (the
processes not yet running, or not yet healthy, as `status` shows them) and the time left before `--timeout`.
Only on a terminal (never in a pipe or a log); the line is erased before the result is printed, so what stays on
the screen, and all a script sees, is what `apply` printed before. The reconciler decides when `apply` is done
(docs/contract.md); this line only shows what is going on meanwhile."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sentinel.client import Client
from sentinel.errors import SentinelError

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FRAME = 0.1  # seconds between redraws
POLL = 0.5  # seconds between asking the reconciler what runs
MOVING = frozenset({"pending", "starting", "stopping", "backoff"})


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Draw it? stderr is a terminal that can move its cursor back (not TERM=dumb)."""
    return sys.stderr.isatty() and environ.get("TERM") != "dumb"


def waiting_for(rows: list[dict[str, Any]]) -> list[str]:
    """What the rows say is still on its way: `web (starting)`, `db (health unknown)`."""
    found = []
    for row in rows:
        if row["state"] in MOVING:
            found.append(f"{row['name']} ({row['state']})")
        elif row["state"] == "running" and row.get("health") == "unknown":
            found.append(f"{row['name']} (health unknown)")
    return found


def line(frame: int, what: str, waiting: list[str], left: float, width: int) -> str:
    """One frame of the line, cut to `width` so that it never wraps (a wrapped line cannot be redrawn)."""
    names = ", ".join(waiting) if waiting else "the reconciler"
    text = f"{SPINNER[frame % len(SPINNER)]} {what}: waiting for {names} ({max(0, round(left))}s left)"
    return text if len(text) < width else text[:max(0, width - 2)] + "…"


@contextmanager
def progress(api: Client, what: str, timeout: float) -> Iterator[None]:
    """Draw the line while the body runs (if `wanted`), and erase it afterwards."""
    if not wanted():
        yield
        return
    done = threading.Event()
    watcher = Client(api.state_dir, timeout=POLL * 4, remote=api.remote)  # its own connection, for its thread
    thread = threading.Thread(target=_draw, args=(watcher, what, time.monotonic() + timeout, done), daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(1.0)
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _draw(watcher: Client, what: str, deadline: float, done: threading.Event) -> None:
    waiting: list[str] = []
    asked_at = 0.0
    frame = 0
    while not done.is_set():
        now = time.monotonic()
        if now - asked_at >= POLL:
            asked_at = now
            with contextlib.suppress(SentinelError, OSError, KeyError):  # the last answer stands; `apply` reports
                waiting = waiting_for(watcher.get("/v1/processes")["processes"])
        width = shutil.get_terminal_size((80, 24)).columns
        sys.stderr.write("\r\x1b[K" + line(frame, what, waiting, deadline - now, width))
        sys.stderr.flush()
        frame += 1
        done.wait(FRAME)
