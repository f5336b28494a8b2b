"""The listeners are made when the reconciler starts (docs/limitations.md): a reload that asks for another
`api.listen` reports it as not served (a warning, an event, a key of /healthz) and nothing listens there;
one that changes other api settings says they take effect at the next start."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port, tcp_request
from tests.support.wait import wait_for


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("reloads", [1, 2], ids=["added", "unchanged-again"])
def test_a_reload_that_adds_api_listen_reports_it_once(make_reconciler: Callable[..., Reconciler],
                                                       reloads: int, tmp_path: Path) -> None:
    port = free_port()
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    assert r.client.get("/healthz")["api_listen_not_served"] is None
    for number in range(reloads):  # the second edit changes a process, not api.listen: no second report
        r.config.write_text(f'api: {{listen: "127.0.0.1:{port}", token_file: {tmp_path / "token"}}}\n'
                            f"processes: {{a: {{command: sleep 1000}}, b{number}: {{command: sleep 1000}}}}")
        r.wait_state(f"b{number}", "running")
    wait_for(lambda: r.client.get("/healthz")["api_listen_not_served"] == f"127.0.0.1:{port}")
    events = r.cli("events").output
    assert events.count("is not served") == 1
    assert f"api.listen 127.0.0.1:{port} is not served: the API listens as the config said when the reconciler " \
           "started: restart it (down, then up) for new api settings" in events
    assert _refused(port)


def test_a_reload_that_changes_other_api_settings_says_so(make_reconciler: Callable[..., Reconciler],
                                                          tmp_path: Path) -> None:
    port = free_port()
    first = tmp_path / "first"
    r = make_reconciler(f'api: {{listen: "127.0.0.1:{port}", token_file: {first}}}\n'
                        "processes: {a: {command: sleep 1000}}")
    r.start()
    r.config.write_text(f'api: {{listen: "127.0.0.1:{port}", token_file: {tmp_path / "second"}}}\n'
                        "processes: {a: {command: sleep 1000}, b: {command: sleep 1000}}")
    r.wait_state("b", "running")
    wait_for(lambda: "api settings changed" in r.cli("events").output)
    assert r.client.get("/healthz")["api_listen_not_served"] is None
    assert tcp_request(port, "GET", "/v1/processes", token=first.read_text().strip())[0] == 200
