"""The WebSocket protocol the API's connections upgrade to: uvicorn's on `websockets`' sans-I/O core.

Imported by `serving` with the first upgrade only (a reconciler nobody streams from does not pay for
`websockets`: CHANGELOG "Decisions"). uvicorn waits for the connection to be writable before each
message, which is what keeps a reader that does not read from growing the transport's buffer; a close
is the exception here: it is written at once, so a reader dropped for being too slow is closed even
while its connection is full (the close frame is a few bytes; the connection closes after uvicorn's
close timeout if the reader never answers it).
"""

from __future__ import annotations

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class ApiWebSocket(WebSocketsSansIOProtocol):
    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "websocket.close" and self.handshake_complete:
            self.writable.set()
        await super().send(message)
