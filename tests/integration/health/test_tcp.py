"""TCP probes against real sockets: an accepting listener, a closed port, IPv6, a listener whose queue is full."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time

import pytest

from sentinel.config.models import Health
from sentinel.health.checks import CheckResult, run_check
from tests.integration.health.servers import closed_port


def probe(address: str, timeout: float = 2.0) -> CheckResult:
    return asyncio.run(run_check(Health(tcp=address), timeout=timeout, cwd="/", env=dict(os.environ)))


def test_listener_that_accepts_is_healthy_and_the_connection_is_closed_at_once() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert probe(f"127.0.0.1:{port}") == CheckResult(True, "connection accepted")
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(2.0)
            assert conn.recv(1) == b""  # the probe sent nothing and hung up


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["ip", "name-with-several-addresses"])
def test_closed_port_is_connection_refused(host: str) -> None:
    assert probe(f"{host}:{closed_port()}") == CheckResult(False, "connection refused")


def test_ipv6_address_in_brackets() -> None:
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with listener:
        assert probe(f"[::1]:{listener.getsockname()[1]}") == CheckResult(True, "connection accepted")


def test_listener_with_a_full_queue_is_cut_at_the_timeout() -> None:
    """A listener that never accepts: once its backlog is full the kernel drops SYNs and the connect hangs."""
    with socket.socket() as listener, contextlib.ExitStack() as fillers:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(3):  # fill the accept queue (its size for backlog 0 differs between kernels)
            filler = fillers.enter_context(socket.socket())
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(address)
        started = time.monotonic()
        result = probe(f"127.0.0.1:{address[1]}", timeout=0.3)
        elapsed = time.monotonic() - started
    assert result == CheckResult(False, "timed out after 300ms")
    assert elapsed < 1.0
