"""Health checks end to end: a real HTTP server that turns unhealthy, a TCP dependency, status and events."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

# Answers 200 until the file `sick` appears next to it, then 503.
SERVER = """
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503 if os.path.exists('sick') else 200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _events(r: Reconciler, name: str) -> list[str]:
    return [e["message"] for e in r.client.get("/v1/events", process=name, limit=100)["events"]]


def test_unhealthy_process_is_restarted_and_its_dependent_waited_for_it(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    port = _free_port()
    server = tmp_path / "server.py"  # beside the config, which is also the processes' cwd
    server.write_text(SERVER)
    r = make_reconciler(f"""
processes:
  api:
    command: ["{sys.executable}", "{server}", "{port}"]
    health: {{http: "http://127.0.0.1:{port}/", interval: 200ms, timeout: 1s, retries: 2}}
  worker:
    command: sleep 1000
    depends_on: {{api: healthy}}
""")
    r.start()
    worker = r.wait_state("worker", "running")
    api = r.row("api")
    assert api["health"] == "healthy"
    assert worker["started_at"] >= api["started_at"]
    assert "api is healthy" in _events(r, "api")
    (r.config.parent / "sick").write_text("")  # the server runs in the config's directory (its cwd)
    wait_for(lambda: r.row("api")["restarts"] >= 1, timeout=10)
    messages = _events(r, "api")
    assert "api is unhealthy (HTTP 503)" in messages
    assert "stopped api: unhealthy (HTTP 503), restarting in 1s (attempt 1)" in messages  # with the back-off
    assert "restarted api: backoff over" in messages
    assert r.row("worker")["pid"] == worker["pid"]  # a running dependent is left alone


def test_report_only_check_does_not_restart(make_reconciler: Callable[..., Reconciler]) -> None:
    port = _free_port()
    r = make_reconciler(f"""
processes:
  quiet:
    command: sleep 1000
    health: {{tcp: "127.0.0.1:{port}", interval: 100ms, retries: 1, restart: false, start_period: 0s}}
""")
    r.start()
    wait_for(lambda: r.row("quiet")["health"] == "unhealthy")
    row = r.row("quiet")
    assert row["restarts"] == 0 and row["state"] == "running"
    assert r.cli("status").output.splitlines()[1].split()[:3] == ["quiet", "running", "unhealthy"]


HOG = "x = bytearray(30_000_000)\nimport time\ntime.sleep(1000)\n"


def test_process_over_its_memory_limit_is_restarted_with_a_reason(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    (tmp_path / "hog.py").write_text(HOG)
    r = make_reconciler(f"""
processes:
  hog:
    command: ["{sys.executable}", "hog.py"]
    limits: {{memory: 20MB}}
    restart: {{backoff: {{initial: 0}}}}
""")
    r.start()
    wait_for(lambda: r.row("hog")["restarts"] >= 1, timeout=10)
    stopped = [m for m in _events(r, "hog") if m.startswith("stopped hog: memory ")]
    assert stopped, _events(r, "hog")
    assert stopped[0].endswith("MB > 20MB, restarting in 0s (attempt 1)")  # the restart policy's back-off
    assert "restarted hog: backoff over" in _events(r, "hog")


def test_slow_starter_gets_interval_times_retries_before_it_is_unhealthy(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    port = _free_port()
    r = make_reconciler(f"""
processes:
  slow:
    command: ["sh", "-c", "sleep 1.5; exec {sys.executable} -m http.server {port} --bind 127.0.0.1"]
    health: {{http: "http://127.0.0.1:{port}/", interval: 1s, retries: 2}}
""")
    r.start()
    wait_for(lambda: r.row("slow")["health"] == "healthy", timeout=10)
    assert r.row("slow")["restarts"] == 0
    assert not any("unhealthy" in m for m in _events(r, "slow"))


def test_a_slow_starter_with_a_short_interval_is_given_its_start_period(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    """The issue's server: listens after 1.5 s, checked every 200 ms (3 failures in 0.6 s); with the default
    start period it is not restarted, is seen healthy at once, and its dependent starts."""
    port = _free_port()
    r = make_reconciler(f"""
processes:
  db:
    command: ["sh", "-c", "sleep 1.5; exec {sys.executable} -m http.server {port} --bind 127.0.0.1"]
    health: {{tcp: "127.0.0.1:{port}", interval: 200ms}}
  web:
    command: sleep 1000
    depends_on: {{db: healthy}}
""")
    r.start()
    r.wait_state("web", "running", timeout=15)
    db = r.row("db")
    assert (db["health"], db["restarts"]) == ("healthy", 0)
    assert not any("unhealthy" in m for m in _events(r, "db"))


def test_a_process_that_never_turns_healthy_is_given_up_after_max_retries(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    port = _free_port()  # nothing listens there: the check always fails
    r = make_reconciler(f"""
processes:
  never:
    command: sleep 1000
    health: {{tcp: "127.0.0.1:{port}", interval: 100ms, timeout: 100ms, retries: 1, start_period: 0s}}
    restart: {{max_retries: 1, backoff: {{initial: 100ms}}}}
""")
    r.start()
    row = r.wait_state("never", "failed", timeout=15)
    assert row["restarts"] == 1  # one restart after its first failed run, then given up, as for crashes
    assert row["reason"] == "unhealthy (connection refused); gave up after 2 runs in a row failed"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
def test_an_exec_check_runs_as_the_process_user_in_its_cwd_with_its_environment(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    """As Docker runs a container's checks: `user: nobody` → the check's `id -u` is nobody's, never root's."""
    nobody = pwd.getpwnam("nobody")
    shared = Path(tempfile.mkdtemp(prefix="sentinel-check-user-"))  # pytest's tmp_path is not readable by nobody
    try:
        shared.chmod(0o777)
        (shared / "work").mkdir(mode=0o755)
        out = shared / "seen"
        r = make_reconciler(f"""
processes:
  pg:
    command: sleep 1000
    user: nobody
    cwd: {shared / "work"}
    env: {{CHECK_MARK: from-the-process}}
    health:
      exec: ["sh", "-c", 'echo "$(id -u) $(id -g) $PWD $CHECK_MARK $HOME $USER" > {out}']
      interval: 200ms
""")
        r.start()
        wait_for(lambda: r.row("pg")["health"] == "healthy", timeout=15)
        uid, gid, cwd, mark, home, user = out.read_text().split()
        assert (int(uid), int(gid)) == (nobody.pw_uid, nobody.pw_gid)
        assert (cwd, mark, home, user) == (str(shared / "work"), "from-the-process", nobody.pw_dir, "nobody")
    finally:
        shutil.rmtree(shared, ignore_errors=True)
