"""The dashboard's server side without a browser (docs/api.md#the-dashboard, docs/security.md#the-dashboard): its
files at /ui/ on TCP only, without a token and with their security headers; `GET /v1/whoami`; a WebSocket's token
as the `bearer.TOKEN` subprotocol, answered with `sentinel.v1`. The browser scenarios are tests/browser/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port, tcp_request
from tests.support.unixhttp import raw_request


def test_the_dashboard_is_served_on_tcp_and_its_calls_need_the_token(make_reconciler: Callable[..., Reconciler],
                                                                      tmp_path: Path) -> None:
    port = free_port()
    r = make_reconciler(f'api: {{listen: "127.0.0.1:{port}", token_file: {tmp_path / "token"}, '
                        f'read_token_file: {tmp_path / "read"}}}\n'
                        "processes: {a: {command: sleep 1000}}")
    r.start()
    token, read = ((tmp_path / name).read_text().strip() for name in ("token", "read"))

    status, headers, page = tcp_request(port, "GET", "/ui/")  # no token: the page is the same for everyone
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert '<script src="app.js" defer></script>' in page and "<script>" not in page
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    for asset, kind in (("/ui/app.js", "javascript"), ("/ui/app.css", "text/css")):
        status, headers, _ = tcp_request(port, "GET", asset)
        assert (status, kind in headers["content-type"]) == (200, True), asset
        assert "content-security-policy" in headers
    status, headers, _ = tcp_request(port, "GET", "/ui")
    assert (status, headers["location"]) == (308, "/ui/")
    status, _, body = tcp_request(port, "GET", "/ui/nope.js")
    assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")
    status, _, body = tcp_request(port, "POST", "/ui/", body=b"{}")
    assert (status, json.loads(body)["error"]["code"]) == (405, "method_not_allowed")
    for sneaky in ("/ui/../v1/processes", "/ui/%2e%2e/v1/processes"):  # never the API without a token
        status, _, body = tcp_request(port, "GET", sneaky)
        assert (status, json.loads(body)["error"]["code"]) == (404, "not_found"), sneaky
    assert raw_request(r.state_dir.socket, "GET", "/ui/")[0] == 404  # TCP only

    assert tcp_request(port, "GET", "/v1/whoami")[0] == 401
    assert json.loads(tcp_request(port, "GET", "/v1/whoami", token=token)[2]) == {"access": "all"}
    assert json.loads(tcp_request(port, "GET", "/v1/whoami", token=read)[2]) == {"access": "read"}
    assert r.client.get("/v1/whoami") == {"access": "all"}  # the socket may do everything

    url = f"ws://127.0.0.1:{port}/v1/events?follow=true"
    for offered in (token, read):
        with connect(url, subprotocols=["sentinel.v1", f"bearer.{offered}"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "sentinel.v1"  # never the token back
            r.cli("restart", "a")
            assert json.loads(ws.recv(timeout=10))["process"] == "a"
    for wrong in ([f"bearer.{token}x"], ["sentinel.v1"], ["sentinel.v1", "bearer."]):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, subprotocols=wrong)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403, wrong
    assert token not in r.log and read not in r.log
