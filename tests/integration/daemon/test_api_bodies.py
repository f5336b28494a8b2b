"""Request bodies are validated strictly by type (docs/security.md), black-box over the socket: a body
that is not what the route takes is a 422 naming the field, an unknown target a 404, and nothing is
stopped by either."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.integration.daemon.test_api_and_cli import _raw
from tests.support.daemon import Reconciler

WRONG = [
    ({"targets": ["nosuch"], "all": "no"}, "all"),  # a non-empty string was true: everything stopped
    ({"all": 1}, "all"),
    ({"targets": [1]}, "targets.0"),
    ({"targets": ["a"], "all": True}, "all"),
    ({"targets": ["a"], "timeout": True}, "timeout"),
    ({"targets": ["a"], "timeout": -1}, "timeout"),
    ({"targets": ["a"], "al": True}, "al"),
]


def test_a_body_of_the_wrong_shape_is_a_422_naming_the_field_and_stops_nothing(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}, b: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    r.wait_state("b", "running")
    for body, field in WRONG:
        status, text = _raw(r, "POST", "/v1/processes/stop", json.dumps(body).encode())
        assert status == 422, (body, text)
        error = json.loads(text)["error"]
        assert (error["code"], error["field"]) == ("invalid_body", field)
        assert error["message"].startswith(f"{field}: ")
    assert {name: row["state"] for name, row in r.rows().items()} == {"a": "running", "b": "running"}


def test_an_unknown_target_is_a_404_and_nothing_is_stopped(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    assert _raw(r, "POST", "/v1/processes/stop", b'{"targets": ["nosuch"], "all": false}') == (
        404, '{"error":{"code":"not_found","message":"unknown process: nosuch"}}')
    assert _raw(r, "POST", "/v1/shutdown", b'{"keep": "yes"}')[0] == 422
    assert _raw(r, "POST", "/v1/config/apply", b'{"file": 7}')[0] == 422
    assert _raw(r, "POST", "/v1/processes/stop", b"[" * 100_000 + b"]" * 100_000)[0] == 400
    assert r.row("a")["state"] == "running"
    assert "Traceback" not in r.log
