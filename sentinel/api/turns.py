"""Supervision goes first: the API's reads take turns, and wait for a reconcile pass that is due.

The API and the controller share one event loop (`serving`), which runs every callback that is
ready, in order, before it looks for new events. Under a load of reads (20 clients polling
`/v1/processes`), a loop turn held twenty answers being computed, each about a millisecond, so a
process's exit waited behind them to be noticed, its pass behind twenty more, and the start of its
replacement behind as many again: kill → replacement went from 29 to 51 ms (`bench/api_load.py`).

So a read (GET, HEAD) computes its answer only in its turn, one read at a time (the answer is computed
on this one thread anyway, so this costs no throughput), and gives the turn up as soon as it starts
sending; a loop turn then holds at most one read, and the loop looks for exits between reads. A read
also waits, first, for the pass that is due (an exit or a request has woken the controller) to run,
for at most `PASS_WAIT` seconds. Actions (POST), which wait for the controller themselves, and
WebSockets, which stream, do not take turns. docs/architecture.md#the-api-and-supervision-share-one-loop.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_METHODS = frozenset({"GET", "HEAD"})  # reads: what the read-only token may do, and what takes turns
PASS_WAIT = 0.5  # seconds a read waits at most for a due pass (a pass takes milliseconds)


class Supervision(Protocol):
    """What reads wait for: `controller.loop.Controller`."""

    async def after_due_pass(self, longest: float) -> None: ...


class ReadsTakeTurns:
    """ASGI middleware: reads compute their answers one at a time, after any pass that is due."""

    def __init__(self, app: ASGIApp, supervision: Supervision) -> None:
        self.app, self.supervision = app, supervision
        self._turn = asyncio.Semaphore(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in READ_METHODS:
            await self.app(scope, receive, send)
            return
        await self.supervision.after_due_pass(PASS_WAIT)
        await self._turn.acquire()
        holding = True

        def give_up_turn() -> None:
            nonlocal holding
            if holding:
                holding = False
                self._turn.release()

        async def sending(message: Message) -> None:
            give_up_turn()  # the answer is computed: a slow reader never holds the others up
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            give_up_turn()
