"""The API's answers as pydantic models, and its one error shape (docs/contract.md#api).

Every error is `{"error": {"code": "...", "message": "one line"}}` with the status that fits:
400 a body that is not JSON, 404 an unknown process or endpoint, 405 a
known path asked with another method, 409 an action that conflicts with what the process is or
what the reconciler is doing, 413 a body over the limit, 422 a body of the wrong shape (with
`field`, the field at fault) or a bad query value (`invalid_query`, with `field`, the parameter) or an
invalid config (with `problems`). The models are what
`sentinel schema --openapi` documents (`openapi`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response


class Answer(BaseModel):
    # Each model's validator and serializer are built when it is first used, not at import: a reconciler holds
    # only those of the answers it has given (about 20 KB each).
    model_config = ConfigDict(frozen=True, defer_build=True)


class ErrorDetail(Answer):
    code: str = Field(description="what went wrong, for programs: not_found, conflict, invalid_body, …")
    message: str = Field(description="what went wrong, one line, for people")
    field: str | None = Field(None, description="422 invalid_body: the field at fault (`targets.0`)")
    problems: list[str] | None = Field(None, description="422 invalid_config: each problem, file:line:col")


class ErrorAnswer(Answer):
    error: ErrorDetail


class SourceStatus(Answer):
    """The git source (docs/gitops.md): what it pulls, the commit in force, and what went wrong."""

    url: str = Field(description="the repository, credentials masked")
    ref: str
    path: str = Field(description="the file it applies, placeholders filled in")
    revision: str | None = Field(description="the commit in force (full hash), null before the first apply")
    subject: str | None = Field(description="the first line of its message")
    refused: str | None = Field(description="the newest commit not applied (full hash)")
    refused_why: str | None = Field(description="why, one line: file:line:col for an invalid file")
    fetch_error: str | None = Field(description="why the last fetch failed, null when it worked")
    fetched_at: str | None = Field(description="when the last fetch worked")
    suspended_since: str | None = Field(description="`sentinel source suspend`: since when; null when pulling")


class Health(Answer):
    ok: bool
    pid: int
    config: str
    environment: str | None
    state_writes_waiting: int
    api_listen_not_served: str | None
    storage_problems: list[str] = Field(description="no space left for state.db or logs, a log that cannot rotate")
    hostname: str | None = Field(None, description="the hostname `hosts:` selectors match (`up --hostname`)")
    labels: dict[str, str] = Field({}, description="the labels `hosts:` items KEY=GLOB match (`up --label`)")
    source: SourceStatus | None = Field(None, description="the git source, when the config comes from one")


class Access(Answer):
    access: Literal["all", "read"] = Field(
        description="what the caller may do: all (the socket, or the TCP token of `api.token_file`) or read "
                    "(the read-only token of `api.read_token_file`: GET only)")


class Synced(Answer):
    synced: bool = Field(description="the fetch (and the apply it led to) ended within `wait`")
    source: SourceStatus


class RevisionEntry(Answer):
    at: str
    revision: str | None = Field(description="the git source's commit, null for a file given on this host")
    subject: str | None
    path: str
    changes: list[str] = Field(description="what applying it changed, as `diff` prints it")


class History(Answer):
    revisions: list[RevisionEntry] = Field(description="newest first")


class Processes(Answer):
    processes: list[dict[str, Any]] = Field(description="one status row per instance, as `sentinel status --json`")
    config_error: str | None
    source: SourceStatus | None = Field(None, description="as in /healthz: `sentinel status` shows it first")
    storage_problems: list[str] = Field(description="as in /healthz: shown by `sentinel status` on stderr")
    next: str | None = Field(None, description="the URL of the next page (docs/api.md#paging), null on the last")


class GroupSummary(Answer):
    name: str
    processes: list[str] = Field(description="its instances")
    states: dict[str, int] = Field(description="state: how many of its instances are in it")


class Groups(Answer):
    groups: list[GroupSummary]
    next: str | None = Field(None, description="the URL of the next page (docs/api.md#paging), null on the last")


class Group(Answer):
    name: str
    processes: list[dict[str, Any]] = Field(description="its instances' status rows, as `sentinel status --json`")


class Reloaded(Answer):
    done: list[str] = Field(description="the running instances reloaded")


class Signalled(Answer):
    done: list[str] = Field(description="the running instances signalled")
    pids: dict[str, int] = Field(description="instance: the pid of its main process that got the signal")


class Acted(Answer):
    done: list[str]
    settled: bool
    converged: bool | None = Field(None, description="with `converge`: whether they converged in time")
    waiting: list[str] | None = Field(None, description="with `converge`: what had not converged, and why")
    processes: list[dict[str, Any]]


class Runs(Answer):
    runs: list[dict[str, Any]] = Field(description="oldest first; `id` is the run's number, the paging key")
    next: str | None = Field(None, description="the URL of the next page (docs/api.md#paging), null on the last")


class ConfigAnswer(Answer):
    path: str
    environment: str | None
    error: str | None
    loading: bool
    config: dict[str, Any] | None = Field(description="the config in force, secrets masked")


class Diff(Answer):
    lines: list[str]
    changes: list[dict[str, Any]]


class Applied(Answer):
    converged: bool
    done: list[str]
    waiting: list[str]


class Event(Answer):
    id: int = Field(description="grows with each event: the paging key")
    at: str | None
    process: str | None
    kind: str
    message: str
    revision: str | None = Field(None, description="the git source's commit in force then (short hash)")


class Events(Answer):
    events: list[Event] = Field(description="oldest first")
    next: str | None = Field(None, description="the URL of the next page (docs/api.md#paging), null on the last")


class LogLine(Answer):
    time: str = Field(description="when the line was written, UTC with milliseconds (2026-11-26T02:35:57.123Z)")
    stream: str = Field(description="output (the process's stdout and stderr: one pipe) or sentinel (the "
                                    "reconciler's own lines: a job run's start and end)")
    text: str = Field(description="the line without its newline: invalid UTF-8 replaced, at most 64 KiB "
                                  "(a longer line goes on in a line starting ↪), config secrets masked (***)")
    run: int | None = Field(description="the job run that wrote it (`sentinel runs`), or null")


class LogLines(Answer):
    lines: list[LogLine]


class Stopping(Answer):
    stopping: bool


class ApiError(Exception):
    """Raised by a route to answer with the error shape instead."""

    def __init__(self, status: int, code: str, message: str, *, close: bool = False, **extra: Any) -> None:
        """`close`: hang up after the answer (the rest of the request is not read: a body over the limit)."""
        super().__init__(message)
        self.status, self.code, self.message, self.extra, self.close = status, code, message, extra, close

    def response(self, mask: Callable[[str], str] = str) -> Response:
        """The error answer, its text passed through `mask` (the config's secrets masked: it may echo what the
        caller sent, docs/security.md)."""
        extra = {key: [mask(v) for v in value] if isinstance(value, list) else mask(value) if isinstance(value, str)
                 else value for key, value in self.extra.items()}
        response = error_response(self.status, self.code, mask(self.message), **extra)
        if self.close:
            response.headers["connection"] = "close"
        return response


def answer(model: Answer, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status, media_type="application/json")


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    return Response(error_body(code, message, **extra), status, media_type="application/json")


def error_body(code: str, message: str, **extra: Any) -> bytes:
    """The error shape's bytes (also for answers written below the app: the server's own refusals)."""
    detail = ErrorDetail(code=code, message=message, **extra)
    return ErrorAnswer(error=detail).model_dump_json(exclude_none=True).encode()
