"""Watching the config file and its includes (docs/conventions.md#watching-the-file,
docs/reliability.md#f21-a-half-written-config).

Watches the directories that hold the files, not the files: an editor that saves by writing
a temporary file and renaming it over the original replaces the inode, and a watch on the old
file would go quiet. Only the config files themselves pass the filter, so swap and backup
files never trigger a reload. Changes are grouped until 50 ms pass without another one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from watchfiles.main import Change, awatch

QUIET_MS = 50  # a burst of writes ends after this long without another
MAX_WAIT_MS = 1000  # a steady stream of writes still reloads this often


async def watch_config(files: Callable[[], frozenset[str]], on_change: Callable[[], Awaitable[None]],
                       stop: asyncio.Event, moved: asyncio.Event) -> None:
    """Call `on_change` after each burst of changes to any of `files()`, until `stop` is set.

    `files` is asked again each time `moved` is set (the reconciler now runs another file, `apply -f`,
    or the includes changed), so the watch follows the files the reconciler runs. Once the new watch
    is in place, `on_change` is called once more: a write between the switch and the watch is not lost.
    """
    loop = asyncio.get_running_loop()
    first = True
    while not stop.is_set():
        moved.clear()
        watched = files()
        directories = sorted({os.path.dirname(path) for path in watched if os.path.isdir(os.path.dirname(path))})
        if not directories:
            return

        def only_config(change: Change, path: str, watched: frozenset[str] = watched) -> bool:
            return os.path.abspath(path) in watched

        this_round = asyncio.Event()  # ends this watch: the reconciler stops, or its files moved
        ender = loop.create_task(_set_on_first(this_round, stop, moved))
        # Runs once the loop turns, i.e. after `awatch` below has set up its watch (it does so before it
        # first waits).
        catch_up = None if first else loop.create_task(_call(on_change))
        first = False
        try:
            async for _ in awatch(*directories, watch_filter=only_config, debounce=MAX_WAIT_MS, step=QUIET_MS,
                                  stop_event=this_round, recursive=False):
                await on_change()
        finally:
            ender.cancel()
            if catch_up is not None:
                await asyncio.gather(catch_up, return_exceptions=True)


async def _call(function: Callable[[], Awaitable[None]]) -> None:
    await function()


async def _set_on_first(target: asyncio.Event, *sources: asyncio.Event) -> None:
    """Set `target` as soon as one of `sources` is set."""
    waits = [asyncio.ensure_future(source.wait()) for source in sources]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        target.set()
    finally:
        for wait in waits:
            wait.cancel()
