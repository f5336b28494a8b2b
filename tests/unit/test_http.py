"""The API's routing (sentinel/api/http.py): path parameters, first match wins, 404 and 405."""

from __future__ import annotations

import asyncio
import json

from sentinel.api.http import Request, Response, Route, Router, json_response


async def named(context: str, request: Request) -> Response:
    return json_response({"context": context, "route": "named", **request.path_params})


async def runs(context: str, request: Request) -> Response:
    return json_response({"route": "runs", "limit": request.param("limit"), **request.path_params})


ROUTER: Router[str] = Router([
    Route("/v1/processes/{name}/{verb}", named, methods=("POST",)),
    Route("/v1/processes/{name}/runs", runs),
])


def answer(method: str, target: str) -> tuple[int, object]:
    response = asyncio.run(ROUTER.dispatch("ctx", Request.parse(method, target)))
    return response.status, json.loads(response.body)


def test_a_parameter_matches_one_path_segment_percent_decoded() -> None:
    assert answer("POST", "/v1/processes/web%201/stop") == (
        200, {"context": "ctx", "route": "named", "name": "web 1", "verb": "stop"})
    assert answer("POST", "/v1/processes/a/b/stop")[0] == 404  # a segment never spans a slash


def test_the_method_picks_among_routes_with_the_same_path() -> None:
    assert answer("GET", "/v1/processes/backup/runs?limit=5") == (
        200, {"route": "runs", "limit": "5", "name": "backup"})
    assert answer("POST", "/v1/processes/backup/runs")[1] == {
        "context": "ctx", "route": "named", "name": "backup", "verb": "runs"}


def test_unknown_paths_are_404_and_wrong_methods_405() -> None:
    assert answer("GET", "/v2/nothing") == (404, {"error": "no such endpoint: /v2/nothing"})
    assert answer("DELETE", "/v1/processes/web/runs") == (
        405, {"error": "method DELETE not allowed on /v1/processes/web/runs"})


def test_query_parameters_keep_every_value() -> None:
    request = Request.parse("get", "/v1/processes?name=a&name=b&group=")
    assert (request.method, request.params("name"), request.param("group"), request.param("x", "d")) == (
        "GET", ["a", "b"], "", "d")
