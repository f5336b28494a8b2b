"""The little HTTP the API needs: a request, a response, and routes with `{name}` parameters.

Pure values and matching (no I/O): `server` turns bytes into a `Request` and a `Response` into
bytes; `app` declares the routes. A path that matches no route is a 404, a known path asked with
another method a 405, both with the API's `{"error": "one line"}` body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, unquote

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-decoded
    query: Mapping[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    path_params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, method: str, target: str, body: bytes = b"") -> Request:
        """From a request line's method and target (`/v1/runs?limit=5`)."""
        path, _, query = target.partition("?")
        return cls(method.upper(), unquote(path), parse_qs(query, keep_blank_values=True), body)

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter `name`."""
        values = self.query.get(name)
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        """Every value of query parameter `name` (`?name=a&name=b`)."""
        return list(self.query.get(name, []))


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def text_response(text: str, content_type: str = "text/plain; charset=utf-8", status: int = 200) -> Response:
    return Response(status, text.encode(), content_type)


def error_response(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


Handler = Callable[[C, Request], Awaitable[Response]]
App = Callable[[Request], Awaitable[Response]]  # what `app.create_app` builds and `server` serves


@dataclass(frozen=True, slots=True)
class Route(Generic[C]):
    path: str  # `/v1/processes/{name}/runs`: a `{name}` matches one path segment
    handler: Handler[C]
    methods: tuple[str, ...] = ("GET",)

    def match(self, path: str) -> dict[str, str] | None:
        found = _pattern(self.path).fullmatch(path)
        return found.groupdict() if found else None


class Router(Generic[C]):
    """Routes tried in order; the first whose path and method match answers."""

    def __init__(self, routes: list[Route[C]]) -> None:
        self.routes = routes

    async def dispatch(self, context: C, request: Request) -> Response:
        allowed = False
        for route in self.routes:
            params = route.match(request.path)
            if params is None:
                continue
            if request.method in route.methods:
                return await route.handler(context, replace(request, path_params=params))
            allowed = True
        if allowed:
            return error_response(405, f"method {request.method} not allowed on {request.path}")
        return error_response(404, f"no such endpoint: {request.path}")


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(path: str) -> re.Pattern[str]:
    if path not in _PATTERNS:
        parts = re.split(r"\{(\w+)\}", path)
        regex = "".join(f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts))
        _PATTERNS[path] = re.compile(regex)
    return _PATTERNS[path]
