"""A connection flood on the API socket (docs/limitations.md "The API"): 2,000 half-open connections
against a reconciler with few descriptors. Supervision keeps the descriptors it needs (a killed
child is replaced meanwhile), `status` answers or says the reconciler is not answering (never that
none runs), refusals are logged once per burst, and everything answers again afterwards."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.integration.daemon.test_api_tls import self_signed
from tests.integration.daemon.test_reconciler_log import events, lines_of, logfmt
from tests.support.daemon import Reconciler
from tests.support.tcphttp import free_port
from tests.support.wait import wait_for

FLOOD = 2000


def _children(daemon: psutil.Process) -> set[int]:
    return {child.pid for child in daemon.children() if child.is_running() and child.status() != "zombie"}


def _flood(address: str | tuple[str, int]) -> list[socket.socket]:
    """Up to FLOOD connections that never send a byte (a full backlog refuses some: they are dropped); to
    the unix socket at a path, or to a TCP (host, port)."""
    held: list[socket.socket] = []
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    for _ in range(FLOOD):
        client = socket.socket(family, socket.SOCK_STREAM)
        client.setblocking(False)
        if client.connect_ex(address) in (0, errno.EINPROGRESS):
            held.append(client)
        else:
            client.close()
    return held


@pytest.mark.skipif(not hasattr(psutil.Process, "rlimit"), reason="setting another process's rlimit is Linux only")
@pytest.mark.parametrize("listener", ["socket", "tls"])
def test_a_connection_flood_does_not_starve_supervision(make_reconciler: Callable[..., Reconciler], tmp_path: Path,
                                                        listener: str) -> None:
    """On the unix socket; and on a TLS listener, where a connection that never starts its handshake must be
    refused as early (asyncio's own TLS took the connection first and asked the app only after the handshake)."""
    port = free_port()
    api = ""
    if listener == "tls":
        cert, key = self_signed(tmp_path)
        api = f'api: {{listen: "127.0.0.1:{port}", token_file: token, tls: {{cert: {cert}, key: {key}}}}}\n'
    r = make_reconciler(api + "processes: {a: {command: sleep 1000}}")
    r.start()
    first = r.wait_state("a", "running")["pid"]
    assert r.process is not None
    daemon = psutil.Process(r.process.pid)
    soft, hard = daemon.rlimit(psutil.RLIMIT_NOFILE)
    held: list[socket.socket] = []
    try:
        daemon.rlimit(psutil.RLIMIT_NOFILE, (daemon.num_fds() + 100, hard))
        held = _flood(str(r.state_dir.socket) if listener == "socket" else ("127.0.0.1", port))
        assert len(held) > 200  # the flood is real: more than the reconciler has descriptors for
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: bool(_children(daemon) - {first}), timeout=20,
                 message=lambda: f"a was not replaced during the flood\n{r.log[-3000:]}")
        during = r.cli("status")
        assert during.exit_code == 0 or "is not answering" in during.stderr, during.stderr
        assert "no reconciler is running" not in during.stderr
    finally:
        daemon.rlimit(psutil.RLIMIT_NOFILE, (soft, hard))
        for client in held:
            with contextlib.suppress(OSError):
                client.close()
    wait_for(lambda: r.cli("status").exit_code == 0, timeout=20, message=lambda: r.log[-3000:])
    row = r.wait_state("a", "running")
    assert row["pid"] != first
    records = [logfmt(line) for line in lines_of(r.log)]
    refused = events(records, "api_connection_refused")
    assert 1 <= len(refused) <= 2, refused  # once per burst (again at most once a minute while it lasts)
    assert "Too many open files" not in r.log and "Traceback" not in r.log  # the reserve was never touched


def test_a_held_lock_without_an_answer_is_not_answering_rather_than_not_running(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sentinel.cli.main import cli
    from sentinel.paths import StateDir

    home = StateDir(tmp_path / "home")
    home.ensure()
    runner = CliRunner()
    assert "no reconciler has run there" in runner.invoke(cli, ["--state-dir", str(home.root), "status"]).stderr
    with open(home.pidfile, "w") as held:  # as a reconciler holds it: here, one that never answers
        fcntl.flock(held, fcntl.LOCK_EX)
        result = runner.invoke(cli, ["--state-dir", str(home.root), "status"])
    assert result.exit_code == 1
    assert result.stderr == f"the reconciler on {home.root} is not answering (No such file or directory)\n"
