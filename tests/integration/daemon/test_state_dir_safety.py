"""A state directory someone else could write (docs/security.md), black-box through `sentinel up`:
refused with one line, nothing outside it touched, never chmod'ed; no file inside followed through a
symbolic link."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sentinel.errors import UnsafeStateDir
from sentinel.paths import StateDir, open_private
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")


def _up(home: Path, config: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "sentinel", "--state-dir", str(home), "up", "-d", "-f", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "sentinel.yaml"
    config.write_text("processes:\n  svc: {command: sleep 1000}\n")
    return config


def _target(tmp_path: Path) -> Path:
    target = tmp_path / "root-owned"
    target.write_text("precious\n")
    target.chmod(0o644)
    return target


def _unchanged(target: Path) -> None:
    assert target.read_text() == "precious\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


@as_root
def test_a_state_dir_of_another_user_full_of_links_is_refused_and_nothing_is_followed(tmp_path: Path) -> None:
    target = _target(tmp_path)
    home = tmp_path / "theirs"
    (home / "logs").mkdir(parents=True)
    for link in ("sentinel.pid", "state.db", "sentinel.log", "logs/svc.log"):
        (home / link).symlink_to(target)
    for path in (home, home / "logs"):
        os.chown(path, NOBODY, NOBODY)
    home.chmod(0o700)

    done = _up(home, _config(tmp_path))

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"state directory {home} belongs to uid {NOBODY}, not to uid 0 that runs the reconciler; refusing to use it "
        "(choose another --state-dir, or fix it yourself if it is yours alone)"
    ]
    _unchanged(target)
    assert not (home / "run").exists()


def test_a_shared_directory_is_refused_and_never_chmodded(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)

    done = _up(shared, _config(tmp_path))

    assert done.returncode == 1
    assert "is not private (mode 1777" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert os.listdir(shared) == []


def test_a_link_in_a_private_state_dir_is_refused(tmp_path: Path) -> None:
    target = _target(tmp_path)
    home = tmp_path / "mine"
    home.mkdir(mode=0o700)
    (home / "state.db").symlink_to(target)

    done = _up(home, _config(tmp_path))

    assert done.returncode == 1
    assert done.stderr.strip() == f"{home}/state.db is a symbolic link; refusing to follow it in a state directory"
    _unchanged(target)


def test_a_log_file_that_is_a_link_is_never_written_through(
        tmp_path: Path, make_reconciler: Callable[..., Reconciler]) -> None:
    target = _target(tmp_path)
    r = make_reconciler("processes:\n  svc: {command: [sh, -c, 'echo forged; sleep 1000']}\n")
    (r.home / "logs").mkdir(parents=True, mode=0o700)
    r.home.chmod(0o700)
    (r.home / "logs" / "svc.log").symlink_to(target)
    r.start()

    def refused() -> bool:
        return any("svc.log is a symbolic link" in e["message"] for e in r.client.get("/v1/events")["events"])

    wait_for(refused, timeout=10, message=lambda: r.log)
    _unchanged(target)


def test_a_state_dir_that_is_a_link_or_a_file_that_is_not_regular_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UnsafeStateDir, match="is a symbolic link"):
        StateDir(tmp_path / "link").ensure()
    (tmp_path / "file").write_text("")
    with pytest.raises(UnsafeStateDir, match="Not a directory"):
        StateDir(tmp_path / "file").ensure()
    os.mkfifo(real / "sentinel.pid", 0o600)
    with pytest.raises(UnsafeStateDir, match="is not a regular file"):
        open_private(real / "sentinel.pid", os.O_RDWR | os.O_NONBLOCK)
    with pytest.raises(FileNotFoundError):
        open_private(real / "missing", os.O_RDONLY)
