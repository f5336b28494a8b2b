"""Supervision goes first (`sentinel.api.turns`, docs/architecture.md#the-api-and-supervision-share-one-loop):
reads compute their answers one at a time, give their turn up when they start sending, and wait for a
reconcile pass that is due. A real controller (its runtime, state.db and pass loop) under the middleware;
the app inside stands for the API's routes and records what it saw."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from sentinel.api.turns import ReadsTakeTurns
from sentinel.clock import SystemClock
from sentinel.controller.loop import Controller
from sentinel.paths import StateDir
from sentinel.runtime.manager import Runtime
from sentinel.state.store import Store


@dataclass
class Routes:
    """An ASGI app whose answers take a few loop turns to compute; it records how many computed at once."""

    controller: Controller
    computing: int = 0
    most_at_once: int = 0
    passes_seen: list[int] = field(default_factory=list)
    sending: asyncio.Event | None = None  # when set to an unset event, the first answer's send waits on it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.passes_seen.append(self.controller.passes)
        self.computing += 1
        self.most_at_once = max(self.most_at_once, self.computing)
        for _ in range(3):
            await asyncio.sleep(0)  # a computation spread over loop turns
        self.computing -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@contextlib.asynccontextmanager
async def controller_in(home: Path, *, looping: bool) -> AsyncIterator[Controller]:
    state_dir = StateDir(home)
    state_dir.ensure()
    clock = SystemClock()
    store = Store.open(state_dir.db)
    controller = Controller(runtime=Runtime(state_dir, on_exit=lambda *_: None, utc=clock.now_utc), store=store,
                            clock=clock, environ={})
    passes = asyncio.get_running_loop().create_task(controller.run()) if looping else None
    try:
        yield controller
    finally:
        controller.closing = True
        controller.wake()
        if passes is not None:
            await passes
        await controller.writer.drain(timeout=5.0)
        store.close()


def request(method: str) -> Scope:
    return {"type": "http", "method": method, "path": "/v1/processes", "headers": []}


async def answer(app: ReadsTakeTurns, method: str, send: Any = None) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def collect(message: Message) -> None:
        sent.append(message)
        if send is not None:
            await send(message)

    await app(request(method), receive, collect)
    return sent


async def _reads_and_actions(home: Path) -> tuple[int, int]:
    async with controller_in(home, looping=True) as controller:
        reads = Routes(controller)
        turns = ReadsTakeTurns(reads, controller)
        await asyncio.gather(*(answer(turns, method) for method in ["GET", "HEAD"] * 5))
        actions = Routes(controller)
        acting = ReadsTakeTurns(actions, controller)
        await asyncio.gather(*(answer(acting, "POST") for _ in range(10)))
        return reads.most_at_once, actions.most_at_once


def test_reads_compute_one_at_a_time_and_actions_do_not_take_turns(tmp_path: Path) -> None:
    reads_at_once, actions_at_once = asyncio.run(_reads_and_actions(tmp_path / "home"))
    assert reads_at_once == 1
    assert actions_at_once == 10


async def _slow_reader(home: Path) -> tuple[list[Message], bool]:
    async with controller_in(home, looping=True) as controller:
        turns = ReadsTakeTurns(Routes(controller), controller)
        reader_reads = asyncio.Event()

        async def slow(message: Message) -> None:
            await reader_reads.wait()  # the client does not read: uvicorn's send waits for the buffer to drain

        stuck = asyncio.create_task(answer(turns, "GET", send=slow))
        other = await asyncio.wait_for(answer(turns, "GET"), timeout=10.0)
        still_stuck = not stuck.done()
        reader_reads.set()
        await stuck
        return other, still_stuck


def test_a_read_gives_its_turn_up_when_it_starts_sending_so_a_slow_reader_holds_no_one_up(tmp_path: Path) -> None:
    other, still_stuck = asyncio.run(_slow_reader(tmp_path / "home"))
    assert [message["type"] for message in other] == ["http.response.start", "http.response.body"]
    assert still_stuck


async def _read_after_a_wake(home: Path, *, looping: bool) -> tuple[int, list[int]]:
    async with controller_in(home, looping=looping) as controller:
        await asyncio.sleep(0)  # the pass loop is waiting
        routes = Routes(controller)
        turns = ReadsTakeTurns(routes, controller)
        before = controller.passes
        controller.wake()  # an exit, say: a pass is due (its task is ready to run)
        await answer(turns, "GET")  # in this task, at once: only the middleware lets the pass go first
        return before, routes.passes_seen


def test_a_read_waits_for_the_pass_that_is_due(tmp_path: Path) -> None:
    before, seen = asyncio.run(_read_after_a_wake(tmp_path / "home", looping=True))
    assert seen == [before + 1]


def test_a_read_does_not_wait_when_no_pass_loop_runs(tmp_path: Path) -> None:
    before, seen = asyncio.run(_read_after_a_wake(tmp_path / "home", looping=False))
    assert seen == [before]
