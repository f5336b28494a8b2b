"""The request bodies of the POST routes, validated strictly by type (docs/security.md).

`parse(Model, raw)` answers the body as a frozen model, or raises the `ApiError` to answer
instead: 400 when the body is not a JSON object (nested too deep counts as not JSON), 422 naming
the field at fault (`"all": "no"` is not a boolean, an unknown key is refused rather than
ignored). Only `app` uses them; `openapi` documents them.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sentinel.api.answers import ApiError

MAX_WAIT = 600.0  # seconds a request may ask to wait, at most


class Body(BaseModel):
    # Built at the first request that sends one (defer_build): a reconciler nobody POSTs to holds none of them.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class Waits(Body):
    timeout: float = Field(30.0, ge=0, allow_inf_nan=False, description=f"seconds to wait, at most {MAX_WAIT:.0f}")

    @property
    def wait(self) -> float:
        return min(self.timeout, MAX_WAIT)


class ActOnOne(Waits):
    """`start`, `stop` or `restart` of one process or group (named in the path)."""

    converge: bool = Field(False, description="wait until they have converged, by `apply`'s rule (--wait)")


class Act(ActOnOne):
    """`start`, `stop` or `restart`: the named targets, or every process with `all`."""

    targets: list[str] = Field(default_factory=list, description="processes, instances (`web.1`) or `group:NAME`")
    all: bool = False


class RunJob(Waits):
    """`run`: start a run of the job now."""


class ReloadProcess(Body):
    """`reload`: no options."""


class SendSignal(Body):
    """`signal`: the signal's name (HUP, SIGUSR1) or number."""

    signal: str = Field(min_length=1, max_length=32)


class Sync(Waits):
    """`source/sync`: fetch now; the answer comes once that fetch (and the apply it leads to) is done, or after
    `wait` seconds."""


class SourceRequest(Body):
    """`source/suspend` and `source/resume`: no options."""


class ConfigFile(Body):
    """`config/diff`: which file and environment (the running ones when missing)."""

    file: str | None = None
    environment: str | None = None


class Apply(ConfigFile, Waits):
    """`config/apply`: make the file (the running one when missing) the config in force."""

    since_start: bool = False


class Shutdown(Body):
    """`shutdown`: stop every process, then the reconciler; with `keep`, leave the processes running."""

    keep: bool = False


B = TypeVar("B", bound=Body)


def parse(model: type[B], raw: bytes) -> B:
    """`raw` as a `model`; ApiError (400 or 422) when it is not one."""
    try:
        value = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):
        raise ApiError(400, "not_json", "request body is not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "not_json", "request body must be a JSON object")
    try:
        return model.model_validate(value)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"][:1].lower() + first["msg"][1:]
        raise ApiError(422, "invalid_body", f"{field}: {message}", field=field) from None
