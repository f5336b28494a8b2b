"""Watching the config file and its includes (STYLE rule 17, FAILURES F21).

Watches the directories that hold the files, not the files: an editor that saves by writing
a temporary file and renaming it over the original replaces the inode, and a watch on the old
file would go quiet. Only the config files themselves pass the filter, so swap and backup
files never trigger a reload. Changes are grouped until 50 ms pass without another one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from watchfiles import Change, awatch

QUIET_MS = 50  # a burst of writes ends after this long without another
MAX_WAIT_MS = 1000  # a steady stream of writes still reloads this often


async def watch_config(files: Callable[[], frozenset[str]], on_change: Callable[[], Awaitable[None]],
                       stop: asyncio.Event) -> None:
    """Call `on_change` after each burst of changes to any of `files()`, until `stop` is set.

    `files` is asked again after every change, so a new include is watched from then on.
    """
    while not stop.is_set():
        watched = files()
        directories = sorted({os.path.dirname(path) for path in watched if os.path.isdir(os.path.dirname(path))})
        if not directories:
            return

        def only_config(change: Change, path: str, watched: frozenset[str] = watched) -> bool:
            return os.path.abspath(path) in watched

        async for _ in awatch(*directories, watch_filter=only_config, debounce=MAX_WAIT_MS, step=QUIET_MS,
                              stop_event=stop, recursive=False):
            await on_change()
            if files() != watched:
                break
