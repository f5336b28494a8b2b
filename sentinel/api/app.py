"""The API routes: GET reads, POST acts. Every error is `{"error": "one line"}`.

`create_app(daemon)` builds a fresh app around one running daemon; there is no module-level
app. Each handler gets the daemon and the request. Routes stay thin: they parse, call the
controller or daemon, and shape JSON. `server` carries them over HTTP.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sentinel.api.bodies import Act, Apply, ConfigFile, RunJob, Shutdown, parse
from sentinel.api.http import App, Request, Response, Route, Router, error_response, json_response, text_response
from sentinel.api.status import metrics_text, status_rows
from sentinel.config.secrets import masked_config
from sentinel.errors import ConfigError, NotAJob, TargetError
from sentinel.instances import is_instance_of
from sentinel.reconcile.desired import expand
from sentinel.reconcile.planner import plan
from sentinel.reconcile.render import diff_items, diff_lines
from sentinel.reconcile.targets import target_error
from sentinel.state.values import iso

if TYPE_CHECKING:
    from sentinel.controller.loop import Controller
    from sentinel.daemon import Daemon

VERBS = ("start", "stop", "restart")


def create_app(daemon: Daemon) -> App:
    """A fresh app serving `daemon` (held by the app, not in a module global)."""
    router: Router[Daemon] = Router([
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/v1/processes", list_processes),
        Route("/v1/processes/{verb}", act, methods=("POST",)),
        Route("/v1/processes/{name}/{verb}", act, methods=("POST",)),
        Route("/v1/processes/{name}/runs", list_runs),
        Route("/v1/config", config_get),
        Route("/v1/config/diff", config_diff, methods=("POST",)),
        Route("/v1/config/apply", config_apply, methods=("POST",)),
        Route("/v1/events", events),
        Route("/v1/shutdown", shutdown, methods=("POST",)),
    ])

    async def app(request: Request) -> Response:
        return await router.dispatch(daemon, request)

    return app


async def healthz(daemon: Daemon, request: Request) -> Response:
    return json_response({"ok": True, "pid": os.getpid(), "config": daemon.path, "environment": daemon.environment,
                          "state_writes_waiting": daemon.controller.writer.pending,
                          "api_listen_not_served": daemon.unserved_listen})


async def list_processes(daemon: Daemon, request: Request) -> Response:
    controller = daemon.controller
    names = request.params("name")
    group = request.param("group")
    rows = status_rows(controller)
    unknown = [n for n in names if not any(is_instance_of(row["name"], n) for row in rows)]
    if unknown:
        return _error(404, str(target_error(unknown, controller.desired)))
    if names:
        rows = [row for row in rows if any(is_instance_of(row["name"], n) for n in names)]
    if group is not None:
        rows = [row for row in rows if row["group"] == group]
    return json_response({"processes": rows, "config_error": controller.config_error})


async def act(daemon: Daemon, request: Request) -> Response:
    controller = daemon.controller
    verb = request.path_params["verb"]
    if verb == "run" and "name" in request.path_params:
        return await run_job(daemon, request)
    if verb not in VERBS:
        return _error(404, f"unknown action '{verb}' (use start, stop or restart)")
    body = parse(Act, request.body)
    if isinstance(body, Response):
        return body
    if body.all and body.targets:
        return json_response({"error": "all: cannot be given with targets", "field": "all"}, 422)
    targets = [request.path_params["name"]] if "name" in request.path_params else body.targets
    try:
        names = controller.request(verb, targets, everything=body.all)
    except TargetError as err:
        return _error(404, str(err))
    return await _acted(controller, names, body)


async def _acted(controller: Controller, names: list[str], body: Act) -> Response:
    """The answer to `start`/`stop`/`restart`, once `names` have settled, or converged when `body.converge`."""
    if body.converge:
        converged = await controller.converge(body.wait, names)
        return json_response({"done": names, "converged": converged, "waiting": controller.unsettled(names),
                              "processes": status_rows(controller, names)})
    settled = await controller.settle(names, timeout=body.wait)
    return json_response({"done": names, "settled": settled, "processes": status_rows(controller, names)})


async def run_job(daemon: Daemon, request: Request) -> Response:
    controller = daemon.controller
    name = request.path_params["name"]
    body = parse(RunJob, request.body)
    if isinstance(body, Response):
        return body
    try:
        controller.jobs.request_run(name)
    except TargetError as err:
        return _error(404, str(err))
    except NotAJob as err:
        return _error(400, str(err))
    settled = await controller.settle([name], timeout=body.wait)
    return json_response({"done": [name], "settled": settled, "processes": status_rows(controller, [name])})


async def list_runs(daemon: Daemon, request: Request) -> Response:
    name = request.path_params["name"]
    d = daemon.controller.desired.get(name)
    if d is None:
        return _error(404, str(target_error([name], daemon.controller.desired)))
    if not d.is_job:
        return _error(400, f"{name} is not a job (it has no schedule)")
    try:
        limit = max(1, min(10_000, int(request.param("limit", "20") or "20")))
    except ValueError:
        return _error(400, "limit must be a whole number")
    return json_response({"runs": [run.as_json() for run in daemon.store.runs(name, limit=limit)]})


async def config_get(daemon: Daemon, request: Request) -> Response:
    loaded = daemon.controller.loaded
    return json_response({
        "path": daemon.path,
        "environment": daemon.environment,
        "error": daemon.controller.config_error,
        "loading": daemon.loading > 0,
        "config": masked_config(loaded.config, loaded.tainted) if loaded else None,
    })


async def config_diff(daemon: Daemon, request: Request) -> Response:
    controller = daemon.controller
    body = parse(ConfigFile, request.body)
    if isinstance(body, Response):
        return body
    try:
        loaded = await daemon.load(body.file or daemon.path, body.environment)
    except ConfigError as err:
        return _config_error(err)
    desired = expand(loaded.config, loaded.env_files)
    result = plan(desired, controller.observe(), controller.records, controller.clock.monotonic())
    return json_response({"lines": diff_lines(result), "changes": diff_items(result)})


async def config_apply(daemon: Daemon, request: Request) -> Response:
    controller = daemon.controller
    body = parse(Apply, request.body)
    if isinstance(body, Response):
        return body
    mark = 0 if body.since_start else len(controller.journal)
    try:
        await daemon.reload("apply", path=body.file, environment=body.environment, switch=True)
    except ConfigError as err:
        return _config_error(err)
    controller.wake()
    converged = await controller.converge(body.wait)
    return json_response({"converged": converged, "done": controller.journal[mark:], "waiting": controller.unsettled()})


async def events(daemon: Daemon, request: Request) -> Response:
    try:
        limit = max(1, min(10_000, int(request.param("limit", "20") or "20")))
    except ValueError:
        return _error(400, "limit must be a whole number")
    rows = daemon.store.events(process=request.param("process"), limit=limit)
    return json_response({"events": [
        {"at": iso(e.at), "process": e.process, "kind": e.kind, "message": e.message} for e in rows
    ]})


async def shutdown(daemon: Daemon, request: Request) -> Response:
    body = parse(Shutdown, request.body)
    if isinstance(body, Response):
        return body
    daemon.request_stop(keep=body.keep)
    return json_response({"stopping": True}, 202)


async def metrics(daemon: Daemon, request: Request) -> Response:
    return text_response(metrics_text(daemon.controller), "text/plain; version=0.0.4; charset=utf-8")


def _error(status: int, message: str) -> Response:
    return error_response(status, message)


def _config_error(err: ConfigError) -> Response:
    return json_response({"error": str(err), "problems": [str(p) for p in err.problems]}, 422)

