"""The API on TCP (`api.listen`, docs/security.md#the-tcp-api): the same app as on the socket, behind bearer
tokens, with an access log, optionally over TLS.

`TcpAccess` wraps the app for TCP only (the unix socket's mode 0600 is its authentication): every route
but `/healthz` needs `Authorization: Bearer TOKEN`, compared in constant time with the token file's
(followed as it changes: `tokens.TokenFile`); the read-only token allows GET and HEAD, and WebSocket
reads. Without a valid token an HTTP request gets 401 `unauthorized` (with `WWW-Authenticate: Bearer`),
a write with the read-only token 403 `forbidden`; a WebSocket is closed with 1008 before it is accepted.
Each request is one access-log line: method, path (never the query string), status, duration, client;
never a header or a token. Binding the socket and checking the TLS files is `listen`'s, before anything
starts.

A browser cannot set a header on a WebSocket, so a WebSocket may carry its token as a subprotocol instead
(docs/security.md#the-dashboard): it offers `sentinel.v1` and `bearer.TOKEN`, and is answered with
`sentinel.v1` (never with the token); the app never sees the `bearer.` entry. The dashboard's files
(`dashboard`, `/ui/`) need no token. What a request was granted is in its scope's state as `access`
(`GET /v1/whoami` answers it).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sentinel.api.answers import error_response
from sentinel.api.dashboard import is_dashboard
from sentinel.api.turns import READ_METHODS
from sentinel.log import get_logger
from sentinel.tokens import TokenFile

log = get_logger(__name__)

Grant = Literal["all", "read"]
OPEN_PATHS = frozenset({"/healthz"})  # answered without a token: load balancers and `sentinel` probe it
POLICY_VIOLATION = 1008  # WebSocket close code: no valid token
SUBPROTOCOL = "sentinel.v1"  # what a WebSocket that offers its token as a subprotocol is answered with
BEARER_SUBPROTOCOL = "bearer."  # the prefix of the subprotocol that carries the token


class Tokens:
    """The token files a TCP listener accepts: `full` for everything, `read` (optional) for reads only."""

    def __init__(self, full: TokenFile, read: TokenFile | None = None) -> None:
        self.full, self.read = full, read
        self._problems: dict[str, str | None] = {}

    def grant(self, authorization: str | None) -> Grant | None:
        """What a request with this Authorization header may do; None: nothing (no or a wrong token)."""
        scheme, _, given = (authorization or "").partition(" ")
        offered = given.strip().encode()
        granted: Grant | None = None
        candidates: tuple[tuple[Grant, TokenFile | None], ...] = (("all", self.full), ("read", self.read))
        for kind, file in candidates:
            token = self._token(file)
            # compare_digest on every configured token, so the time taken does not tell which one nearly matched
            if token is not None and hmac.compare_digest(offered, token.encode()) and granted is None:
                granted = kind
        return granted if scheme.lower() == "bearer" and offered else None

    def _token(self, file: TokenFile | None) -> str | None:
        if file is None:
            return None
        token = file.current()
        if file.problem != self._problems.get(str(file.path)):  # said once when it goes bad, once when it is back
            self._problems[str(file.path)] = file.problem
            if file.problem is None:
                log.info("api_token_file_usable", path=str(file.path))
            else:
                log.warning("api_token_file_refused", problem=file.problem)
        return token


class TcpAccess:
    """ASGI middleware for the TCP listener: tokens (HTTP and WebSocket scopes alike) and the access log."""

    def __init__(self, app: ASGIApp, tokens: Tokens) -> None:
        self.app, self.tokens = app, tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = [0]

        async def noted(message: Message) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status[0] = message["status"]
            elif kind == "websocket.accept":
                status[0] = 101
                if SUBPROTOCOL in scope.get("subprotocols", ()) and message.get("subprotocol") is None:
                    message = {**message, "subprotocol": SUBPROTOCOL}
            elif kind == "websocket.close" and not status[0]:
                status[0] = 403  # closed before it was accepted: the server answers 403
            await send(message)

        try:
            grant, refusal = self._access(scope)
            if refusal is None:
                await self.app(_granted(scope, grant), receive, noted)
            elif scope["type"] == "websocket":
                await noted({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": refusal[2]})
            else:
                status_code, code, message = refusal
                headers = {"www-authenticate": "Bearer"} if status_code == 401 else None
                response = error_response(status_code, code, message)
                if headers:
                    response.headers.update(headers)
                await response(scope, receive, noted)
        finally:
            client = scope.get("client")
            log.info("api_request", method=scope.get("method", "GET"), path=scope.get("path", ""),
                     status=status[0] or None, duration_ms=round((time.monotonic() - started) * 1000, 1),
                     client=f"{client[0]}:{client[1]}" if client else None)

    def _access(self, scope: Scope) -> tuple[Grant | None, tuple[int, str, str] | None]:
        """What the request was granted, and (status, code, message) when it may not go on (else None)."""
        if scope["path"] in OPEN_PATHS or (scope["type"] == "http" and is_dashboard(scope["path"])):
            return None, None
        grant = self.tokens.grant(_authorization(scope))
        if grant is None:
            return None, (401, "unauthorized", "a valid token is needed: Authorization: Bearer TOKEN")
        if grant == "read" and scope["type"] == "http" and scope["method"] not in READ_METHODS:
            return grant, (403, "forbidden", "the read-only token allows GET requests only")
        return grant, None


def _authorization(scope: Scope) -> str | None:
    """The request's Authorization header; for a WebSocket without one, its `bearer.TOKEN` subprotocol as one."""
    header = _header(scope["headers"], b"authorization")
    if header is None and scope["type"] == "websocket":
        offered: list[str] = [p for p in scope.get("subprotocols", ()) if p.startswith(BEARER_SUBPROTOCOL)]
        if offered:
            return "Bearer " + offered[0].removeprefix(BEARER_SUBPROTOCOL)
    return header


def _granted(scope: Scope, grant: Grant | None) -> Scope:
    """`scope` as the app gets it: what was granted in its state, the token's subprotocol left out."""
    granted = {**scope, "state": {**scope.get("state", {}), "access": grant}}
    if "subprotocols" in scope:
        granted["subprotocols"] = [p for p in scope["subprotocols"] if not p.startswith(BEARER_SUBPROTOCOL)]
    return granted


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
