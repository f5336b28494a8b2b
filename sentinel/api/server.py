"""Serving the API app with uvicorn on a socket we bound ourselves, inside the reconciler's loop.

uvicorn's own signal handling is turned off: the daemon owns the signals (STYLE rule 10).
We bind the socket ourselves because uvicorn makes unix sockets world-writable (0666).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from sentinel.api.app import create_app

if TYPE_CHECKING:
    from sentinel.daemon import Daemon


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handling and without its 10-per-second tick.

    The tick only refreshes the Date header and polls `should_exit`; an idle reconciler should
    not wake ten times a second for that (DESIGN §9: idle CPU), so the server waits on an event.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the default headers once
        await self._exit.wait()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit.set()


class ApiServer:
    def __init__(self, daemon: Daemon, sock: socket.socket) -> None:
        # h11 and no websockets: uvicorn would otherwise import whichever optional protocol packages are
        # installed, a few MB of memory for nothing the API uses.
        config = uvicorn.Config(create_app(daemon), log_config=None, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=2, http="h11", ws="none",
                                date_header=False)
        self._server = _Server(config)
        self._sock = sock

    async def serve(self) -> None:
        await self._server.serve(sockets=[self._sock])

    def close(self) -> None:
        self._server.request_exit()
