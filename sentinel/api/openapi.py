"""The API's OpenAPI document, generated from the routes (`app.ROUTES`, through Starlette's schema
generator) and the pydantic models of their bodies and answers (`bodies`, `answers`), never
written by hand. `sentinel schema --openapi` prints it, `schema/openapi.json` is its checked-in
copy (`scripts/schema` regenerates it; a test fails when it drifts) and the API serves it at
`/openapi.json`.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute
from starlette.schemas import BaseSchemaGenerator

from sentinel.api.answers import ErrorAnswer
from sentinel.api.app import ROUTES, Query, describe
from sentinel.api.tcp import OPEN_PATHS
from sentinel.api.turns import READ_METHODS

REF = "#/components/schemas/{model}"
PATH_PARAMETERS = {
    "name": "a process, or one instance of it (`web.2`)",
    "group": "a group (`group:` in the config)",
}
STATUS_TEXT = {200: "OK", 202: "Accepted", 400: "Bad request: a body that is not JSON",
               404: "Unknown process or endpoint", 409: "Conflicts with the process or with the reconciler's state",
               401: "On TCP: no valid token (`Authorization: Bearer TOKEN`)",
               403: "On TCP: a write with the read-only token",
               413: "Body over 1 MiB",
               422: "Invalid body or query value (the field at fault) or invalid config (its problems)"}


BEARER = {"type": "http", "scheme": "bearer",
          "description": "On TCP (`api.listen`): the token of `api.token_file` (`sentinel api token`), or the "
                         "read-only one of `api.read_token_file` for GET; 401 without a valid one, 403 for a write "
                         "with the read-only one. The unix socket needs none (its mode 0600 is its authentication)."}


class _Generator(BaseSchemaGenerator):
    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        endpoints = self.get_endpoints(routes)
        models: set[type[BaseModel]] = {ErrorAnswer}
        for endpoint in endpoints:
            doc = describe(endpoint.func)
            assert doc is not None, f"{endpoint.path}: its handler has no @documented"
            models |= {model for model in (doc.answer, doc.body) if model is not None}
        modes = sorted(((model, "validation" if model in _bodies(endpoints) else "serialization") for model in models),
                       key=lambda pair: pair[0].__name__)
        _, top = models_json_schema(modes, ref_template=REF)  # type: ignore[arg-type]
        paths: dict[str, dict[str, Any]] = {}
        for endpoint in endpoints:
            paths.setdefault(endpoint.path, {})[endpoint.http_method] = _operation(endpoint.path, endpoint.http_method,
                                                                                   endpoint.func)
        return {**self.base, "security": [{"bearer": []}], "paths": paths,
                "components": {"schemas": top.get("$defs", {}), "securitySchemes": {"bearer": BEARER}}}


def _bodies(endpoints: list[Any]) -> set[type[BaseModel]]:
    return {doc.body for e in endpoints if (doc := describe(e.func)) is not None and doc.body is not None}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(path: str, method: str, handler: Any) -> dict[str, Any]:
    doc = describe(handler)
    assert doc is not None
    summary = (handler.__doc__ or "").strip().splitlines()[0]
    parameters = [{"name": name, "in": "path", "required": True, "description": PATH_PARAMETERS[name],
                   "schema": {"type": "string"}} for name in re.findall(r"\{(\w+)\}", path)]
    parameters += [_query_parameter(name, query) for name, query in doc.query.items()]
    if doc.answer is not None:
        schema: dict[str, str] = _ref(doc.answer)
    else:
        schema = {"type": "object" if doc.media_type == "application/json" else "string"}
    responses: dict[str, Any] = {
        str(doc.status): {"description": STATUS_TEXT[doc.status], "content": {doc.media_type: {"schema": schema}}},
    }
    errors = sorted({*doc.errors, *((400, 413) if doc.body is not None else ()),  # every body: not JSON, too large
                     *(() if path in OPEN_PATHS else (401,)),  # the TCP listener's token check (`tcp.TcpAccess`)
                     *(() if path in OPEN_PATHS or method.upper() in READ_METHODS else (403,))})
    for status in errors:
        responses[str(status)] = {"description": STATUS_TEXT[status],
                                  "content": {"application/json": {"schema": _ref(ErrorAnswer)}}}
    operation: dict[str, Any] = {"operationId": handler.__name__, "summary": summary}
    if path in OPEN_PATHS:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    if doc.body is not None:
        operation["requestBody"] = {"required": False,
                                    "content": {"application/json": {"schema": _ref(doc.body)}}}
    operation["responses"] = responses
    return operation


def _query_parameter(name: str, query: Query) -> dict[str, Any]:
    schema = {"type": "array", "items": query.schema} if query.repeat else query.schema
    return {"name": name, "in": "query", "required": False, "description": query.description, "schema": schema}


@functools.cache
def openapi() -> dict[str, Any]:
    """The document, as a JSON value."""
    base = {"openapi": "3.1.0", "info": {
        "title": "SentinelZero API", "version": "1",
        "description": "The reconciler's API on the state directory's unix socket (`sentinel.sock`), and on "
                       "TCP with a bearer token when `api.listen` is set.",
    }}
    return _Generator(base).get_schema(ROUTES)


@functools.cache
def openapi_text() -> str:
    return json.dumps(openapi(), indent=2) + "\n"
