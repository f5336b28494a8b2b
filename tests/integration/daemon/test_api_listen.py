"""`api.listen` asks for a TCP API this version does not serve yet (docs/limitations.md): the reconciler
says so when it starts and when a reload asks for it (a warning, an event, a key of /healthz), and
nothing listens on the address."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_an_unserved_api_listen_is_reported_at_start(make_reconciler: Callable[..., Reconciler]) -> None:
    port = _free_port()
    r = make_reconciler(f'api: {{listen: "127.0.0.1:{port}"}}\nprocesses: {{a: {{command: sleep 1000}}}}')
    r.start()
    expected = f"api.listen 127.0.0.1:{port} is not served: this version serves the API only on {r.state_dir.socket}"
    events = r.cli("events")
    assert expected in events.output
    assert r.client.get("/healthz")["api_listen_not_served"] == f"127.0.0.1:{port}"
    assert f"event=api_not_served listen=127.0.0.1:{port}" in r.log
    assert _refused(port)


@pytest.mark.parametrize("reloads", [1, 2], ids=["added", "unchanged-again"])
def test_a_reload_that_adds_api_listen_reports_it_once(make_reconciler: Callable[..., Reconciler],
                                                       reloads: int) -> None:
    port = _free_port()
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    assert r.client.get("/healthz")["api_listen_not_served"] is None
    for number in range(reloads):  # the second edit changes a process, not api.listen: no second report
        r.config.write_text(f'api: {{listen: "127.0.0.1:{port}"}}\n'
                            f"processes: {{a: {{command: sleep 1000}}, b{number}: {{command: sleep 1000}}}}")
        r.wait_state(f"b{number}", "running")
    wait_for(lambda: r.client.get("/healthz")["api_listen_not_served"] == f"127.0.0.1:{port}")
    assert r.cli("events").output.count("is not served") == 1
