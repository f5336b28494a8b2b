"""Serving the API app with uvicorn on a socket we bound ourselves, inside the reconciler's loop.

uvicorn's own signal handling is turned off: the daemon owns the signals (STYLE rule 10).
We bind the socket ourselves because uvicorn makes unix sockets world-writable (0666).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from sentinel.api.app import create_app

if TYPE_CHECKING:
    from sentinel.daemon import Daemon


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    def __init__(self, daemon: Daemon, sock: socket.socket) -> None:
        # h11 and no websockets: uvicorn would otherwise import whichever optional protocol packages are
        # installed, a few MB of memory for nothing the API uses.
        config = uvicorn.Config(create_app(daemon), log_config=None, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=2, http="h11", ws="none")
        self._server = _Server(config)
        self._sock = sock

    async def serve(self) -> None:
        await self._server.serve(sockets=[self._sock])

    def close(self) -> None:
        self._server.should_exit = True
