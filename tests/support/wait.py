"""Waiting for conditions, not durations (docs/conventions.md#wait-for-conditions): `wait_for` and its asyncio twin."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Message = str | Callable[[], str]


def wait_for(
    predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.01, message: Message = ""
) -> None:
    """Call `predicate` until it returns something truthy; AssertionError once `timeout` seconds have passed.

    `message` (a string, or a function computing one at the deadline) explains what was awaited.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(_failure(predicate, timeout, message))
        time.sleep(interval)


async def wait_for_async(
    predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.01, message: Message = ""
) -> None:
    """`wait_for` for code running in an event loop: the loop keeps running while we wait."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            raise AssertionError(_failure(predicate, timeout, message))
        await asyncio.sleep(interval)


def _failure(predicate: Callable[[], object], timeout: float, message: Message) -> str:
    text = message() if callable(message) else message
    return f"condition not met within {timeout} s: {text or getattr(predicate, '__qualname__', repr(predicate))}"
