"""Upgrading without restarting the processes (docs/service.md#upgrading): version A's reconciler runs them, `sentinel
down --keep` stops it alone, version B is installed into the same virtual environment, and B's reconciler adopts
every process: same pids, new version. Both versions are built from this tree with their own version strings and
installed with pip (slow: marked `upgrade`, run by its own step of .ci/run)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from sentinel.client import Client
from sentinel.paths import StateDir
from tests.support.wait import wait_for

pytestmark = [pytest.mark.upgrade, pytest.mark.usefixtures("process_marker")]

ROOT = Path(__file__).resolve().parents[2]


def _tree(tmp_path: Path, version: str) -> Path:
    """A copy of the project's source whose version is `version`."""
    tree = tmp_path / f"sentinelzero-{version}"
    shutil.copytree(ROOT / "sentinel", tree / "sentinel", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    init = tree / "sentinel" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', f'__version__ = "{version}"  # was "', 1))
    return tree


def _install(venv: Path, tree: Path) -> None:
    """pip builds the wheel (setuptools from the package index, as for any install) and installs it over the last."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", str(tree)], check=True, timeout=300)


def _sentinel(venv: Path, home: Path, *args: str) -> str:
    done = subprocess.run([str(venv / "bin" / "sentinel"), "--state-dir", str(home), *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _pids(client: Client) -> dict[str, int]:
    rows = client.get("/v1/processes")["processes"]
    return {row["name"]: row["pid"] for row in rows if row["state"] == "running"}


def test_an_upgrade_in_place_keeps_every_process(tmp_path: Path) -> None:
    venv, home, config = tmp_path / "venv", tmp_path / "state", tmp_path / "sentinel.yaml"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python*/site-packages"))
    # The dependencies come from this virtualenv's site-packages; sentinel from the install.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _install(venv, _tree(tmp_path, "9.0.0"))
    assert _sentinel(venv, home, "--version") == "sentinel 9.0.0\n"
    config.write_text("processes:\n  web: {command: sleep 1000, replicas: 2}\n  worker: {command: sleep 1001}\n")
    client = Client(StateDir(home), timeout=10.0)
    try:
        _sentinel(venv, home, "up", "-d", "-f", str(config))
        wait_for(lambda: len(_pids(client)) == 3, timeout=20, message="version A never ran the three instances")
        before, first = _pids(client), client.get("/healthz")["pid"]
        assert _sentinel(venv, home, "down", "--keep") == "reconciler stopped; processes left running\n"

        _install(venv, _tree(tmp_path, "9.1.0"))
        assert _sentinel(venv, home, "--version") == "sentinel 9.1.0\n"
        _sentinel(venv, home, "up", "-d", "-f", str(config))
        wait_for(lambda: len(_pids(client)) == 3, timeout=20, message="version B did not adopt the instances")
        assert _pids(client) == before
        assert client.get("/healthz")["pid"] != first
    finally:
        if client.alive():
            _sentinel(venv, home, "down")
