"""The web dashboard (docs/api.md#the-dashboard): static files shipped in the package (`sentinel/api/ui/`), served
at `/ui/` on the TCP listener only, in front of the API app.

The page needs no token (it is the same for everyone and holds nothing of the reconciler's); every call it makes
to the API does (`tcp.TcpAccess`). Its answers carry a Content-Security-Policy that allows only its own script,
style and connections (no inline script, no other origin), and headers that keep it out of frames, caches and
referrers. No build step: the files are what the browser runs.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sentinel.api.answers import error_response

PREFIX = "/ui"
FILES = Path(__file__).parent / "ui"
HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def is_dashboard(path: str) -> bool:
    """Whether `path` is one of the dashboard's (served without a token)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


class _SecurityHeaders:
    """Adds `HEADERS` to every answer of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      *((name.encode(), value.encode()) for name, value in HEADERS.items())]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _to_index(request: Request) -> Response:
    return RedirectResponse(PREFIX + "/", status_code=308)


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(405, "method_not_allowed", f"method {request.method} not allowed on {request.url.path}")
    return error_response(exc.status_code, "not_found", f"no such file: {request.url.path}")


def with_dashboard(api: ASGIApp) -> ASGIApp:
    """`api`, with the dashboard's files at `/ui/` (and `/ui` sent there)."""
    files = _SecurityHeaders(StaticFiles(directory=FILES, html=True))
    return Starlette(routes=[Route(PREFIX, _to_index), Mount(PREFIX, app=files), Mount("", app=api)],
                     exception_handlers={HTTPException: _not_found})
