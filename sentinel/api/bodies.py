"""The request bodies of the POST routes, validated strictly by type (docs/security.md).

`parse(Model, raw)` answers the body as a frozen model, or the error response: 400 when the body
is not a JSON object, 422 naming the field at fault (`"all": "no"` is not a boolean, an unknown
key is refused rather than ignored). Only `app` uses them.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sentinel.api.http import Response, error_response, json_response

MAX_WAIT = 600.0  # seconds a request may ask to wait, at most


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Waits(Body):
    timeout: float = Field(30.0, ge=0, allow_inf_nan=False, description=f"seconds to wait, at most {MAX_WAIT:.0f}")

    @property
    def wait(self) -> float:
        return min(self.timeout, MAX_WAIT)


class Act(Waits):
    """`start`, `stop` or `restart`: the named targets, or every process with `all`."""

    targets: list[str] = Field(default_factory=list)
    all: bool = False
    converge: bool = Field(False, description="wait until they have converged, by `apply`'s rule (--wait)")


class RunJob(Waits):
    pass


class ConfigFile(Body):
    """`config/diff`: which file and environment (the running ones when missing)."""

    file: str | None = None
    environment: str | None = None


class Apply(ConfigFile, Waits):
    since_start: bool = False


class Shutdown(Body):
    keep: bool = False


B = TypeVar("B", bound=Body)


def parse(model: type[B], raw: bytes) -> B | Response:
    """`raw` as a `model`, or the error response to send instead."""
    try:
        value = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):
        return error_response(400, "request body is not JSON")
    if not isinstance(value, dict):
        return error_response(400, "request body must be a JSON object")
    try:
        return model.model_validate(value)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"][:1].lower() + first["msg"][1:]
        return json_response({"error": f"{field}: {message}", "field": field}, 422)
