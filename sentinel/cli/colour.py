"""Colour for the CLI's output on a terminal (README.md#colour): states and health in `status`, events by kind, the
stamps of `logs`. Off unless stdout is a terminal (`sentinel.terminal.colour_wanted`: NO_COLOR, TERM=dumb), so
scripts and pipes get exactly the plain text. click.style only: nothing new on the path of `status`."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import click

from sentinel.terminal import colour_wanted

GOOD, BAD, BUSY, WAITING, QUIET = "green", "red", "yellow", "cyan", "bright_black"
STATES: Mapping[str, str] = {
    "running": GOOD, "failed": BAD, "backoff": BUSY, "starting": WAITING, "stopping": BUSY, "pending": WAITING,
    "stopped": QUIET, "exited": QUIET, "scheduled": WAITING,
}
HEALTH: Mapping[str, str] = {"healthy": GOOD, "unhealthy": BAD, "unknown": BUSY}
EVENTS: Mapping[str, str] = {
    "failed": BAD, "spawn_failed": BAD, "unhealthy": BAD, "config_invalid": BAD, "killed": BAD, "lost": BAD,
    "notify_failed": BAD, "state_rebuilt": BAD, "reload_failed": BAD,
    "backoff": BUSY, "timed_out": BUSY, "waiting": BUSY, "skipped": BUSY, "stray_stopped": BUSY,
    "started": GOOD, "restarted": GOOD, "healthy": GOOD, "adopted": GOOD, "config_applied": GOOD,
    "config_error_cleared": GOOD, "notify_delivered": GOOD, "reloaded": GOOD,
}
STAMP = QUIET


def on_stdout() -> bool:
    """Colour what goes to stdout?"""
    return colour_wanted(sys.stdout)


def paint(text: str, colour: str | None) -> str:
    """`text` in `colour` (none: as it is)."""
    return click.style(text, fg=colour) if colour else text
