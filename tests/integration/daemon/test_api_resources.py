"""The API's resources black-box over the socket (docs/api.md): one process, groups (read and acted on), the
filters of `/v1/processes` and `/v1/events`, and paging (`limit`, `after`/`before`, `next`) on every list."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.support.daemon import Reconciler
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for

CONFIG = """
processes:
  web: {command: sleep 1000, group: front, replicas: 3}
  api: {command: sleep 1000, group: front}
  worker: {command: sleep 1000, group: back}
  lone: {command: sleep 1000}
  tick: {command: "true", schedule: manual}
"""
SERVICES = ["api", "lone", "web.0", "web.1", "web.2", "worker"]


def _get(r: Reconciler, url: str, expected: int = 200) -> dict[str, Any]:
    status, _, text = raw_request(r.state_dir.socket, "GET", url)
    assert status == expected, (url, text)
    answer: dict[str, Any] = json.loads(text)
    return answer


def _post(r: Reconciler, url: str, body: dict[str, Any], expected: int = 200) -> dict[str, Any]:
    status, _, text = raw_request(r.state_dir.socket, "POST", url, json.dumps(body).encode())
    assert status == expected, (url, text)
    answer: dict[str, Any] = json.loads(text)
    return answer


def _names(answer: dict[str, Any]) -> list[str]:
    return [row["name"] for row in answer["processes"]]


def _running(r: Reconciler) -> Reconciler:
    r.start()
    for name in SERVICES:
        r.wait_state(name, "running")
    return r


def test_processes_are_filtered_by_name_glob_group_and_state_and_one_is_read_alone(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = _running(make_reconciler(CONFIG))
    assert _names(_get(r, "/v1/processes?name=web")) == ["web.0", "web.1", "web.2"]
    assert _names(_get(r, "/v1/processes?name=web.1&name=api")) == ["api", "web.1"]
    assert _names(_get(r, "/v1/processes?name=w*")) == ["web.0", "web.1", "web.2", "worker"]
    assert _names(_get(r, "/v1/processes?name=*.1")) == ["web.1"]
    assert _names(_get(r, "/v1/processes?name=nothing*")) == []  # a glob filters: matching nothing is no error
    assert _get(r, "/v1/processes?name=nope", 404)["error"]["message"] == "unknown process: nope"
    assert _names(_get(r, "/v1/processes?group=front")) == ["api", "web.0", "web.1", "web.2"]
    assert _names(_get(r, "/v1/processes?group=front&name=web.2")) == ["web.2"]
    _post(r, "/v1/processes/lone/stop", {"timeout": 10})
    assert _names(_get(r, "/v1/processes?state=stopped")) == ["lone"]
    assert _names(_get(r, "/v1/processes?state=stopped&state=running")) == SERVICES  # not tick: a job
    error = _get(r, "/v1/processes?state=dead", 422)["error"]
    assert (error["code"], error["field"]) == ("invalid_query", "state")
    assert _names(_get(r, "/v1/processes/web")) == ["web.0", "web.1", "web.2"]
    assert _names(_get(r, "/v1/processes/web.2")) == ["web.2"]
    assert _get(r, "/v1/processes/nope", 404)["error"]["code"] == "not_found"


def test_groups_are_listed_read_and_acted_on(make_reconciler: Callable[..., Reconciler]) -> None:
    r = _running(make_reconciler(CONFIG))
    assert _get(r, "/v1/groups") == {"groups": [
        {"name": "back", "processes": ["worker"], "states": {"running": 1}},
        {"name": "front", "processes": ["api", "web.0", "web.1", "web.2"], "states": {"running": 4}},
    ], "next": None}
    front = _get(r, "/v1/groups/front")
    assert (front["name"], _names(front)) == ("front", ["api", "web.0", "web.1", "web.2"])
    assert _get(r, "/v1/groups/nope", 404)["error"]["message"] == "unknown group: nope"
    stopped = _post(r, "/v1/groups/front/stop", {"timeout": 10})
    assert (stopped["done"], stopped["settled"]) == (["api", "web.0", "web.1", "web.2"], True)
    assert _get(r, "/v1/groups")["groups"][1]["states"] == {"stopped": 4}
    assert r.row("worker")["state"] == "running"
    _post(r, "/v1/groups/front/start", {"timeout": 10, "converge": True})
    assert _get(r, "/v1/groups")["groups"][1]["states"] == {"running": 4}
    assert _post(r, "/v1/groups/nope/restart", {}, 404)["error"]["message"] == "unknown group: nope"
    error = _post(r, "/v1/groups/front/stop", {"targets": ["worker"]}, 422)["error"]
    assert error["field"] == "targets"  # the group is in the path: a body naming targets is refused, not ignored
    assert r.row("worker")["state"] == "running"


def _follow(r: Reconciler, url: str, key: str) -> list[list[Any]]:
    """Every page, following `next` from `url`: the ids (or names) of each."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        answer = _get(r, next_url)
        pages.append([item["id" if key != "processes" else "name"] for item in answer[key]])
        next_url = answer["next"]
    return pages


def test_every_list_is_paged_by_limit_and_cursor(make_reconciler: Callable[..., Reconciler]) -> None:
    r = _running(make_reconciler(CONFIG))
    assert _follow(r, "/v1/processes?limit=4", "processes") == [["api", "lone", "tick", "web.0"],
                                                               ["web.1", "web.2", "worker"]]
    assert _follow(r, "/v1/processes?limit=2&group=front", "processes") == [["api", "web.0"], ["web.1", "web.2"]]
    assert _get(r, "/v1/processes?limit=2&after=web.0")["next"] == "/v1/processes?limit=2&after=web.2"
    assert _names(_get(r, "/v1/processes?limit=2&before=web.0")) == ["lone", "tick"]
    assert [g["name"] for g in _get(r, "/v1/groups?limit=1&after=back")["groups"]] == ["front"]
    assert _get(r, "/v1/groups?limit=1")["next"] == "/v1/groups?limit=1&after=back"

    for _ in range(5):
        _post(r, "/v1/processes/tick/run", {"timeout": 10})
    wait_for(lambda: [run["outcome"] for run in _get(r, "/v1/processes/tick/runs")["runs"]] == ["succeeded"] * 5)
    assert _follow(r, "/v1/processes/tick/runs?limit=2", "runs") == [[4, 5], [2, 3], [1]]
    assert _follow(r, "/v1/processes/tick/runs?limit=3&after=1", "runs") == [[2, 3, 4], [5]]

    every = [event["id"] for event in _get(r, "/v1/events?limit=10000")["events"]]
    assert every == sorted(every) and len(every) > 6
    pages = _follow(r, "/v1/events?limit=3", "events")
    assert [event_id for page in reversed(pages) for event_id in page] == every
    assert all(len(page) == 3 for page in pages[:-1])
    assert [i for page in _follow(r, f"/v1/events?limit=4&after={every[1]}", "events") for i in page] == every[2:]


def test_events_are_filtered_by_process_and_kind(make_reconciler: Callable[..., Reconciler]) -> None:
    r = _running(make_reconciler(CONFIG))
    _post(r, "/v1/processes/worker/restart", {"timeout": 10})
    restarts = _get(r, "/v1/events?kind=restart_requested")["events"]
    assert [(e["process"], e["kind"]) for e in restarts] == [("worker", "restart_requested")]
    mixed = _get(r, "/v1/events?process=worker&kind=restart_requested&kind=started&limit=100")["events"]
    assert {e["kind"] for e in mixed} == {"restart_requested", "started"}
    assert {e["process"] for e in mixed} == {"worker"}
    assert _get(r, f"/v1/events?kind={quote('no such kind')}")["events"] == []


def test_bad_paging_values_are_a_422_naming_the_parameter(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    for url, field in [("/v1/events?limit=0", "limit"), ("/v1/events?limit=10001", "limit"),
                       ("/v1/processes?limit=-1", "limit"), ("/v1/groups?limit=x", "limit"),
                       ("/v1/events?after=x", "after"), ("/v1/events?before=1.5", "before"),
                       ("/v1/processes?after=a&before=b", "before"),
                       ("/v1/events?limit=99999999999999999999", "limit")]:
        error = _get(r, url, 422)["error"]
        assert (error["code"], error["field"]) == ("invalid_query", field), url
    assert _get(r, "/v1/processes?limit=10000")["next"] is None
