"""Webhook receivers for the notification tests: real HTTP servers (the standard library's) on loopback, each on
its own thread, that answer as told (200, 500, slowly, or not at all) and keep every request they got."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Behaviour = Literal["ok", "fail", "slow", "hang"]
SLOW = 0.3  # seconds a `slow` receiver takes to answer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """One server: its URL and what it received (the requests a `hang` receiver holds included)."""

    url: str
    behaviour: Behaviour
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # set: a hanging receiver lets go


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            if receiver.behaviour == "hang":
                receiver.release.wait(30)
                return
            if receiver.behaviour == "slow":
                receiver.release.wait(SLOW)
            status = 500 if receiver.behaviour == "fail" else 200
            answer = b"internal trouble" if status == 500 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receivers(*behaviours: Behaviour, path: str = "/hooks/T000/SECRETPATH") -> Iterator[list[Receiver]]:
    """One running receiver per behaviour, stopped (and a hanging one released) on the way out. `path` is where
    the URLs point: a token in it must never be printed."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread, Receiver]] = []
    try:
        for behaviour in behaviours:
            receiver = Receiver("", behaviour)
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
            server.daemon_threads = True
            receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            servers.append((server, thread, receiver))
        yield [receiver for _, _, receiver in servers]
    finally:
        for server, thread, receiver in servers:
            receiver.release.set()
            server.shutdown()
            server.server_close()
            thread.join(5)
