"""examples/servers/ end to end: the real servers where they are installed (skipped, naming what is missing,
elsewhere), and always the stand-in variant (`--env standin`): every server healthy in dependency order, the
manual `backup` job run with `run --wait`, and everything stopped with each server's own signal."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "servers" / "sentinel.yaml"
SERVERS = ("redis-server", "postgres", "initdb", "pg_isready", "pg_dump", "gunicorn", "nginx")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_the_stack(r: Reconciler, timeout: float) -> None:
    r.start()
    try:
        wait_for(lambda: r.rows().get("nginx", {}).get("health") == "healthy", timeout=timeout,
                 message=lambda: f"nginx never became healthy: {r.rows()}\n{r.log[-3000:]}")
        rows = r.rows()
        for name in ("postgres", "redis", "app", "nginx"):
            assert (rows[name]["state"], rows[name]["health"]) == ("running", "healthy"), rows[name]
        assert rows["pg-init"]["state"] == "exited"
        backup = r.cli("run", "backup", "--wait")
        assert backup.exit_code == 0, (backup.stdout, backup.stderr)
        assert backup.stderr.startswith("backup: run #1 exited 0 after ")
    finally:
        r.stop()
    assert r.process is not None and r.process.returncode == 0, r.log[-3000:]


def test_the_stand_in_stack_runs_anywhere(tmp_path: Path) -> None:
    ports = {name: str(_free_port()) for name in ("PG_PORT", "REDIS_PORT", "APP_PORT", "WEB_PORT")}
    r = Reconciler(home=tmp_path / "home", config=EXAMPLE, environment="standin", extra_env=ports)
    _run_the_stack(r, timeout=30)


def test_the_real_stack_runs_where_its_servers_are_installed(tmp_path: Path) -> None:
    missing = [program for program in SERVERS if shutil.which(program) is None]
    if missing:
        pytest.skip(f"examples/servers needs {', '.join(missing)} on PATH (the stand-in variant ran instead)")
    if os.geteuid() != 0:
        pytest.skip("examples/servers runs postgres as the `postgres` user: needs root")
    pgdata = Path(tempfile.mkdtemp(prefix="sentinel-servers-pg-", dir="/var/tmp"))  # postgres cannot enter tmp_path
    try:
        shutil.chown(pgdata, "postgres")
        r = Reconciler(home=tmp_path / "home", config=EXAMPLE, extra_env={"PGDATA": str(pgdata)})
        _run_the_stack(r, timeout=120)
    finally:
        shutil.rmtree(pgdata, ignore_errors=True)
