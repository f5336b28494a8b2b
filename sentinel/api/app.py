"""The API's routes (Starlette): GET reads, POST acts; bodies and answers are pydantic models
(`bodies`, `answers`), every error the one shape of `answers`.

`create_app(daemon)` builds a fresh app around one running daemon (held in the app's state, not
in a module global); `ROUTES` is the one list of endpoints, which `openapi` documents and the
app serves at `/openapi.json`. Routes stay thin: they parse, call the controller or daemon, and
shape the answer. `serving` carries them over HTTP (uvicorn).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sentinel.api import answers as a
from sentinel.api.answers import ApiError, answer, error_response
from sentinel.api.bodies import (
    Act,
    ActOnOne,
    Apply,
    B,
    Body,
    ConfigFile,
    ReloadProcess,
    RunJob,
    SendSignal,
    Shutdown,
    SourceRequest,
    Sync,
    parse,
)
from sentinel.api.paging import MAX_LIMIT, RECENT, page_of
from sentinel.api.status import RowCache, status_rows
from sentinel.api.streaming import MAX_LINES, follow_events, follow_logs, process_logs
from sentinel.api.turns import ReadsTakeTurns
from sentinel.config.secrets import masked_config
from sentinel.errors import BadSignal, ConfigError, NotAJob, NotReloadable, TargetError
from sentinel.instances import is_instance_of
from sentinel.reconcile.desired import expand
from sentinel.reconcile.render import diff_items, diff_lines
from sentinel.reconcile.targets import target_error
from sentinel.state.values import iso
from sentinel.states import ProcessState

if TYPE_CHECKING:
    from sentinel.controller.source import GitSource
    from sentinel.daemon import Daemon

VERBS = ("start", "stop", "restart")
MAX_BODY = 1024 * 1024  # bytes a request body may have (413 past it; docs/limitations.md)
Handler = Callable[[Request], Awaitable[Response]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True, slots=True)
class Query:
    """A query parameter, as `openapi` documents it."""

    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    repeat: bool = False  # may be given more than once (`?state=running&state=backoff`)


@dataclass(frozen=True, slots=True)
class Doc:
    """What `openapi` says of an endpoint beyond its path and methods: its body, answer, errors, query."""

    answer: type[a.Answer] | None  # None: not JSON (`/metrics`, `/openapi.json`)
    body: type[Body] | None = None
    errors: tuple[int, ...] = ()
    query: dict[str, Query] = field(default_factory=dict)
    status: int = 200
    media_type: str = "application/json"


def documented(doc: Doc) -> Callable[[H], H]:
    def mark(handler: H) -> H:
        handler.__dict__["api_doc"] = doc
        return handler
    return mark


def daemon_of(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon


def rows_of(request: Request) -> list[dict[str, Any]]:
    """Every instance's status row, shared by the requests that come before anything changes (`RowCache`)."""
    cache: RowCache = request.app.state.rows
    return cache.rows(daemon_of(request).controller)


async def body_of(request: Request, model: type[B]) -> B:
    """The request's body as `model`: read up to MAX_BODY bytes (413 past it), then `bodies.parse`."""
    too_large = ApiError(413, "body_too_large", f"request body over {MAX_BODY} bytes", close=True)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    return parse(model, b"".join(chunks))


def paging_query(order: str, key: dict[str, Any], *, default: int) -> dict[str, Query]:
    """The paging parameters of a list route (`paging.page_of`): `order` says how the list is sorted, `key` is the
    schema of its key."""
    return {
        "limit": Query(f"how many, {order} (1 to {MAX_LIMIT}, default {default})",
                       {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
        "after": Query("the page after this key (a `next` link carries it)", key),
        "before": Query("the page before this key (a `next` link carries it); not with `after`", key),
    }


def _name(row: dict[str, Any]) -> str:
    name: str = row["name"]
    return name


def _is_glob(name: str) -> bool:
    return any(char in name for char in "*?[")


def _unknown(err: TargetError) -> ApiError:
    return ApiError(404, "not_found", str(err))


@documented(Doc(a.Health))
async def healthz(request: Request) -> Response:
    """Whether the reconciler answers, its pid and config."""
    daemon = daemon_of(request)
    return answer(a.Health(ok=True, pid=os.getpid(), config=daemon.path, environment=daemon.environment,
                           state_writes_waiting=daemon.controller.writer.pending,
                           api_listen_not_served=daemon.unserved_listen,
                           storage_problems=daemon.controller.storage_problems(),
                           hostname=host.name if (host := daemon.options.host) else None,
                           labels=dict(host.labels) if host else {}, source=_source_status(daemon)))


@documented(Doc(a.Access))
async def whoami(request: Request) -> Response:
    """What the caller's token allows (all, or read only), so a client can offer only what it may do."""
    access = request.scope.get("state", {}).get("access")  # set on TCP (`tcp.TcpAccess`); the socket may do all
    return answer(a.Access(access=access or "all"))


def _source_status(daemon: Daemon) -> a.SourceStatus | None:
    """The git source as /healthz, /v1/processes and /v1/source show it; None without one."""
    source, state = daemon.source, daemon.controller.source_state
    if source is None or state is None:
        return None
    return a.SourceStatus(
        url=source.settings.masked_url, ref=source.settings.ref, path=source.path,
        revision=state.applied.hash if state.applied else None,
        subject=state.applied.subject if state.applied else None,
        refused=state.refused.hash if state.refused else None, refused_why=state.refused_why,
        fetch_error=state.fetch_error, fetched_at=iso(state.fetched_at) if state.fetched_at else None,
        suspended_since=iso(state.suspended_since) if state.suspended_since else None)


def _source_of(daemon: Daemon) -> GitSource:
    if daemon.source is None:
        raise ApiError(409, "conflict", "this reconciler has no git source (start it with `sentinel up --git URL`)")
    return daemon.source


@documented(Doc(a.SourceStatus, errors=(409,)))
async def source_get(request: Request) -> Response:
    """The git source: what it pulls, the commit in force, the commit refused and why."""
    daemon = daemon_of(request)
    _source_of(daemon)
    status = _source_status(daemon)
    assert status is not None
    return answer(status)


@documented(Doc(a.Synced, body=Sync, errors=(409, 422)))
async def source_sync(request: Request) -> Response:
    """Fetch the git source now (as a CI job would after a merge) and apply what it finds; answers once done."""
    from sentinel.controller.source import SourceSuspended

    daemon = daemon_of(request)
    source = _source_of(daemon)
    body = await body_of(request, Sync)
    try:
        synced = await source.sync(body.wait)
    except SourceSuspended as err:
        raise ApiError(409, "conflict", str(err)) from None
    status = _source_status(daemon)
    assert status is not None
    return answer(a.Synced(synced=synced, source=status))


def _suspending(suspend: bool) -> Handler:
    @documented(Doc(a.SourceStatus, body=SourceRequest, errors=(409, 422)))
    async def handler(request: Request) -> Response:
        daemon = daemon_of(request)
        source = _source_of(daemon)
        await body_of(request, SourceRequest)
        if suspend:
            source.suspend()
        else:
            source.resume()
        status = _source_status(daemon)
        assert status is not None
        return answer(status)

    handler.__name__ = "suspend_source" if suspend else "resume_source"
    handler.__doc__ = ("Stop pulling the git source until `resume` (kept across restarts)." if suspend
                       else "Pull the git source again, from its newest commit (a fetch at once).")
    return handler


@documented(Doc(a.History, errors=(422,), query={"limit": Query("how many, newest first (1 to 50, default 20)",
                                                 {"type": "integer", "minimum": 1, "maximum": 50})}))
async def history(request: Request) -> Response:
    """The configs applied on this host, newest first: the git source's commit, when, what each changed."""
    daemon = daemon_of(request)
    raw = request.query_params.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise ApiError(422, "invalid_query", "limit must be an integer from 1 to 50", field="limit")
    entries = [a.RevisionEntry(at=iso(row.at), revision=row.revision, subject=row.subject, path=row.path,
                               changes=list(row.changes)) for row in daemon.store.revisions(int(raw))]
    return answer(a.History(revisions=entries))


STATES = tuple(str(state) for state in ProcessState)
PROCESS_QUERY = {
    "name": Query("a process or instance (404 when unknown), or a glob of instance names (`web*`, `*.1`); "
                  "repeat for more", repeat=True),
    "group": Query("only the processes of this group"),
    "state": Query("only the instances in this state; repeat for more", {"type": "string", "enum": list(STATES)},
                   repeat=True),
    **paging_query("by name", {"type": "string"}, default=MAX_LIMIT),
}


@documented(Doc(a.Processes, errors=(404, 422), query=PROCESS_QUERY))
async def list_processes(request: Request) -> Response:
    """Each process instance's status row, by name."""
    controller = daemon_of(request).controller
    query = request.query_params
    names, group, states = query.getlist("name"), query.get("group"), query.getlist("state")
    page = page_of(request, default=MAX_LIMIT)
    if bad := next((state for state in states if state not in STATES), None):
        raise ApiError(422, "invalid_query", f"state: unknown state '{bad}' (one of {', '.join(STATES)})",
                       field="state")
    rows = rows_of(request)
    unknown = [n for n in names if not _is_glob(n) and not any(is_instance_of(row["name"], n) for row in rows)]
    if unknown:
        raise _unknown(target_error(unknown, controller.desired))
    if names:
        rows = [row for row in rows if any(_named(row["name"], n) for n in names)]
    if group is not None:
        rows = [row for row in rows if row["group"] == group]
    if states:
        rows = [row for row in rows if row["state"] in states]
    rows, more = page.window(rows, _name)
    return answer(a.Processes(processes=rows, config_error=controller.config_error,
                              storage_problems=controller.storage_problems(), source=_source_status(daemon_of(request)),
                              next=page.next_url(request, rows, _name, more)))


def _named(instance: str, name: str) -> bool:
    """`instance` is `name` or one of its replicas, or matches `name` as a glob."""
    return fnmatchcase(instance, name) if _is_glob(name) else is_instance_of(instance, name)


@documented(Doc(a.Processes, errors=(404,)))
async def get_process(request: Request) -> Response:
    """One process's status rows (one per instance), or one instance's."""
    controller = daemon_of(request).controller
    name = request.path_params["name"]
    rows = [row for row in rows_of(request) if is_instance_of(row["name"], name)]
    if not rows:
        raise _unknown(target_error([name], controller.desired))
    return answer(a.Processes(processes=rows, config_error=controller.config_error,
                              storage_problems=controller.storage_problems()))


def _groups(daemon: Daemon) -> dict[str, list[str]]:
    """Each group's instances, by name."""
    groups: dict[str, list[str]] = {}
    for name, desired in sorted(daemon.controller.desired.items()):
        if desired.group is not None:
            groups.setdefault(desired.group, []).append(name)
    return dict(sorted(groups.items()))


def _group_members(daemon: Daemon, group: str) -> list[str]:
    members = _groups(daemon).get(group)
    if members is None:
        raise ApiError(404, "not_found", f"unknown group: {group}")
    return members


@documented(Doc(a.Groups, errors=(422,), query=paging_query("by name", {"type": "string"}, default=MAX_LIMIT)))
async def list_groups(request: Request) -> Response:
    """Each group (`group:` in the config): its instances and how many are in each state."""
    daemon = daemon_of(request)
    page = page_of(request, default=MAX_LIMIT)
    groups, more = page.window(list(_groups(daemon).items()), lambda item: item[0])
    states = {row["name"]: row["state"] for row in status_rows(daemon.controller, measure=False)}
    summaries = [a.GroupSummary(name=group, processes=members,
                                states=dict(sorted(Counter(states[name] for name in members).items())))
                 for group, members in groups]
    return answer(a.Groups(groups=summaries, next=page.next_url(request, summaries, lambda g: g.name, more)))


@documented(Doc(a.Group, errors=(404,)))
async def get_group(request: Request) -> Response:
    """One group's instances and their status rows."""
    daemon = daemon_of(request)
    group = request.path_params["group"]
    members = _group_members(daemon, group)
    return answer(a.Group(name=group, processes=status_rows(daemon.controller, members)))


def _acting(verb: str, scope: str) -> Handler:
    """The handler of `verb` (start, stop, restart) on the targets of a body (`scope` "processes"), on the
    process of the path ("process") or on the group of the path ("group")."""
    model = Act if scope == "processes" else ActOnOne

    @documented(Doc(a.Acted, body=model, errors=(404, 409, 422)))
    async def handler(request: Request) -> Response:
        daemon = daemon_of(request)
        body = await body_of(request, model)
        everything = False
        if isinstance(body, Act):
            if body.all and body.targets:
                raise ApiError(422, "invalid_body", "all: cannot be given with targets", field="all")
            targets, everything = body.targets, body.all
        elif scope == "group":
            _group_members(daemon, request.path_params["group"])
            targets = [f"group:{request.path_params['group']}"]
        else:
            targets = [request.path_params["name"]]
        _not_stopping(daemon)
        try:
            names = daemon.controller.request(verb, targets, everything=everything)
        except TargetError as err:
            raise _unknown(err) from None
        return await _settled(daemon, names, body.wait, converge=body.converge)

    what = {"processes": "the targets (or every process with `all`)", "process": "one process (or instance)",
            "group": "every process of one group"}[scope]
    handler.__name__ = handler.__qualname__ = f"{verb}_{scope}"
    handler.__doc__ = f"{verb.capitalize()} {what} and wait for them to settle."
    return handler


@documented(Doc(a.Acted, body=RunJob, errors=(404, 409, 422)))
async def run_job(request: Request) -> Response:
    """Start a run of a job now and wait for it to settle."""
    return await _run_job(daemon_of(request), request.path_params["name"], await body_of(request, RunJob))


@documented(Doc(a.Reloaded, body=ReloadProcess, errors=(404, 409, 422)))
async def reload_process(request: Request) -> Response:
    """Reload a process's running instances as its `reload:` says."""
    await body_of(request, ReloadProcess)
    return await _reload(daemon_of(request), request.path_params["name"])


@documented(Doc(a.Signalled, body=SendSignal, errors=(404, 409, 422)))
async def signal_process(request: Request) -> Response:
    """Send a signal to the main process of each running instance of a process."""
    daemon = daemon_of(request)
    return await _signal(daemon, request.path_params["name"], await body_of(request, SendSignal))


async def _run_job(daemon: Daemon, name: str, body: RunJob) -> Response:
    _not_stopping(daemon)
    try:
        daemon.controller.jobs.request_run(name)
    except TargetError as err:
        raise _unknown(err) from None
    except NotAJob as err:
        raise ApiError(409, "conflict", str(err)) from None
    return await _settled(daemon, [name], body.wait)


async def _reload(daemon: Daemon, name: str) -> Response:
    """Reload the running instances of `name` as its `reload:` says."""
    _not_stopping(daemon)
    try:
        names = daemon.controller.reload_request(name)
    except TargetError as err:
        raise _unknown(err) from None
    except NotReloadable as err:
        raise ApiError(409, "conflict", str(err)) from None
    return answer(a.Reloaded(done=names))


async def _signal(daemon: Daemon, name: str, body: SendSignal) -> Response:
    """Send `body.signal` to the main process of each running instance of `name`."""
    _not_stopping(daemon)
    try:
        sent = daemon.controller.signal_request(name, body.signal)
    except TargetError as err:
        raise _unknown(err) from None
    except BadSignal as err:
        raise ApiError(422, "invalid_body", f"signal: {err}", field="signal") from None
    return answer(a.Signalled(done=sorted(sent), pids=sent))


def _not_stopping(daemon: Daemon) -> None:
    if daemon.stop_requested.is_set():
        raise ApiError(409, "conflict", "the reconciler is stopping")


async def _settled(daemon: Daemon, names: list[str], wait: float, *, converge: bool = False) -> Response:
    """The answer to an action on `names`, once they have settled, or converged by `apply`'s rule (`converge`)."""
    controller = daemon.controller
    if converge:
        converged = await controller.converge(wait, names)
        return answer(a.Acted(done=names, settled=converged, converged=converged,
                              waiting=controller.unsettled(names), processes=status_rows(controller, names)))
    settled = await controller.settle(names, timeout=wait)
    return answer(a.Acted(done=names, settled=settled, processes=status_rows(controller, names)))


ID = {"type": "integer"}


@documented(Doc(a.Runs, errors=(404, 409, 422), query=paging_query("the newest, oldest first", ID, default=RECENT)))
async def list_runs(request: Request) -> Response:
    """A job's runs, by number: the newest, oldest first."""
    daemon = daemon_of(request)
    name = request.path_params["name"]
    desired = daemon.controller.desired.get(name)
    if desired is None:
        raise _unknown(target_error([name], daemon.controller.desired))
    if not desired.is_job:
        raise ApiError(409, "conflict", f"{name} is not a job (it has no schedule)")
    page = page_of(request, default=RECENT, from_tail=True)
    after, before = page.int_cursor()
    runs, more = page.trim([run.as_json() for run in daemon.store.runs(name, limit=page.probe, after=after,
                                                                        before=before)])
    return answer(a.Runs(runs=runs, next=page.next_url(request, runs, lambda run: run["id"], more)))


@documented(Doc(a.ConfigAnswer))
async def config_get(request: Request) -> Response:
    """The config in force (secrets masked), its file, and the last load error."""
    daemon = daemon_of(request)
    loaded = daemon.controller.loaded
    return answer(a.ConfigAnswer(
        path=daemon.path, environment=daemon.environment, error=daemon.controller.config_error,
        loading=daemon.loading > 0, config=masked_config(loaded.config, loaded.tainted) if loaded else None,
    ))


@documented(Doc(a.Diff, body=ConfigFile, errors=(422,)))
async def config_diff(request: Request) -> Response:
    """What applying the file would do."""
    daemon = daemon_of(request)
    controller = daemon.controller
    body = await body_of(request, ConfigFile)
    try:
        loaded = await daemon.load(body.file or daemon.path, body.environment)
    except ConfigError as err:
        raise _config_error(err) from None
    desired = expand(loaded.config, loaded.env_files, loaded.watched)
    result = controller.plan_for(desired, controller.clock.monotonic())
    return answer(a.Diff(lines=diff_lines(result), changes=diff_items(result)))


@documented(Doc(a.Applied, body=Apply, errors=(422,)))
async def config_apply(request: Request) -> Response:
    """Make the file the config in force and wait for the processes to converge."""
    daemon = daemon_of(request)
    controller = daemon.controller
    body = await body_of(request, Apply)
    mark = 0 if body.since_start else len(controller.journal)
    try:
        await daemon.reload("apply", path=body.file, environment=body.environment, switch=True)
    except ConfigError as err:
        raise _config_error(err) from None
    controller.wake()
    converged = await controller.converge(body.wait)
    return answer(a.Applied(converged=converged, done=controller.journal[mark:], waiting=controller.unsettled()))


logs = documented(Doc(a.LogLines, errors=(404, 422), query={
    "lines": Query(f"how many of the last lines, oldest first (0 to {MAX_LINES}, 100)", {"type": "integer"}),
    "stream": Query("only output (the process's stdout and stderr) or only sentinel (the reconciler's own lines)",
                    {"type": "string", "enum": ["output", "sentinel"]}),
}))(process_logs)


EVENT_QUERY = {
    "process": Query("only the events of this process and its instances"),
    "kind": Query("only events of this kind (`started`, `exited`, …); repeat for more", repeat=True),
    **paging_query("the newest, oldest first", ID, default=RECENT),
}


@documented(Doc(a.Events, errors=(422,), query=EVENT_QUERY))
async def events(request: Request) -> Response:
    """What the reconciler did and why: the newest events, oldest first."""
    daemon = daemon_of(request)
    page = page_of(request, default=RECENT, from_tail=True)
    after, before = page.int_cursor()
    rows = daemon.store.events(process=request.query_params.get("process"), kinds=request.query_params.getlist("kind"),
                               limit=page.probe, after=after, before=before)
    found, more = page.trim([a.Event(id=e.id, at=iso(e.at), process=e.process, kind=e.kind, message=e.message,
                                     revision=e.revision)
                             for e in rows])
    return answer(a.Events(events=found, next=page.next_url(request, found, lambda event: event.id, more)))


@documented(Doc(a.Stopping, body=Shutdown, errors=(422,), status=202))
async def shutdown(request: Request) -> Response:
    """Stop every process (unless `keep`), then the reconciler."""
    daemon = daemon_of(request)
    body = await body_of(request, Shutdown)
    daemon.request_stop(keep=body.keep)
    return answer(a.Stopping(stopping=True), 202)


@documented(Doc(None, media_type="text/plain; version=0.0.4"))
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    from sentinel.api.metrics import CONTENT_TYPE, exposition  # prometheus-client: loaded on the first scrape

    return Response(exposition(daemon_of(request).controller), media_type=CONTENT_TYPE)


@documented(Doc(None))
async def openapi_document(request: Request) -> Response:
    """This API's OpenAPI document."""
    from sentinel.api.openapi import openapi_text

    return Response(openapi_text(), media_type="application/json")


def _config_error(err: ConfigError) -> ApiError:
    return ApiError(422, "invalid_config", str(err), problems=[str(p) for p in err.problems])


ROUTES: list[BaseRoute] = [
    Route("/healthz", healthz),
    Route("/metrics", metrics),
    Route("/openapi.json", openapi_document),
    Route("/v1/whoami", whoami),
    Route("/v1/processes", list_processes),
    *(Route(f"/v1/processes/{verb}", _acting(verb, "processes"), methods=["POST"]) for verb in VERBS),
    Route("/v1/processes/{name}", get_process),
    Route("/v1/processes/{name}/runs", list_runs),
    Route("/v1/processes/{name}/logs", logs),
    WebSocketRoute("/v1/processes/{name}/logs", follow_logs),  # not in OpenAPI: docs/contract.md#logs-over-the-api
    *(Route(f"/v1/processes/{{name}}/{verb}", _acting(verb, "process"), methods=["POST"]) for verb in VERBS),
    Route("/v1/processes/{name}/run", run_job, methods=["POST"]),
    Route("/v1/processes/{name}/reload", reload_process, methods=["POST"]),
    Route("/v1/processes/{name}/signal", signal_process, methods=["POST"]),
    Route("/v1/groups", list_groups),
    Route("/v1/groups/{group}", get_group),
    *(Route(f"/v1/groups/{{group}}/{verb}", _acting(verb, "group"), methods=["POST"]) for verb in VERBS),
    Route("/v1/config", config_get),
    Route("/v1/config/diff", config_diff, methods=["POST"]),
    Route("/v1/config/apply", config_apply, methods=["POST"]),
    Route("/v1/events", events),
    WebSocketRoute("/v1/events", follow_events),
    Route("/v1/source", source_get),
    Route("/v1/source/sync", source_sync, methods=["POST"]),
    Route("/v1/source/suspend", _suspending(True), methods=["POST"]),
    Route("/v1/source/resume", _suspending(False), methods=["POST"]),
    Route("/v1/history", history),
    Route("/v1/shutdown", shutdown, methods=["POST"]),
]


def _mask(request: Request) -> Callable[[str], str]:
    """What masks the config's secrets in an error answer (it may echo what the caller sent)."""
    daemon: Daemon | None = request.app.state.daemon
    return daemon.controller.redact if daemon is not None else str


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response(_mask(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = _mask(request)(request.url.path)
    if exc.status_code == 405:
        return error_response(405, "method_not_allowed", f"method {request.method} not allowed on {path}")
    if exc.status_code == 404:
        return error_response(404, "not_found", f"no such endpoint: {path}")
    return error_response(exc.status_code, "bad_request", str(exc.detail))  # pragma: no cover - Starlette's own


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal", "internal error")


def create_app(daemon: Daemon | None) -> Starlette:
    """A fresh app serving `daemon` (None: only to list the routes)."""
    around = [Middleware(_CountRequests, daemon=daemon), Middleware(ReadsTakeTurns, supervision=daemon.controller)] \
        if daemon is not None else []
    app = Starlette(routes=ROUTES, middleware=around, exception_handlers={
        ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error,
    })
    app.state.daemon = daemon
    app.state.rows = RowCache()
    return app


class _CountRequests:
    """Counts every answer by method and status, for `/metrics` (`controller.counters.api_request`)."""

    def __init__(self, app: ASGIApp, daemon: Daemon) -> None:
        self.app, self.daemon = app, daemon

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.daemon.controller.counters.api_request(scope["method"], message["status"])
            await send(message)

        await self.app(scope, receive, counted)


def describe(handler: Any) -> Doc | None:
    """The `Doc` a route's handler was marked with."""
    doc: Doc | None = getattr(handler, "api_doc", None)
    return doc
