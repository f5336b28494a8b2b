"""`sentinel up` stopped by the machine says why in one line, exit 1, never "internal error" (exit 70), and
starts nothing (docs/reliability.md#rules, docs/limitations.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.integration.conftest import process_marker  # noqa: F401  (fails a test that leaves processes behind)
from tests.support.procs import marked_alive

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("process_marker")]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "processes:\n  s1:\n    command: sleep 1000\n"


def up(tmp_path: Path, home: Path, *extra: str, argv0: str | None = None) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "sentinel.yaml"
    config.write_text(CONFIG)
    argv = [argv0 or sys.executable, "-m", "sentinel", "--state-dir", str(home), "up", "-f", str(config), *extra]
    env = dict(os.environ)
    if argv0 is not None:  # the interpreter runs under another name: find sentinel and its libraries by path
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])
    return subprocess.run(argv, executable=sys.executable, capture_output=True, text=True, timeout=60, env=env,
                          check=False)


def one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 1 and expected in lines[-1], result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert marked_alive() == []


@pytest.mark.parametrize("detach", [False, True])
def test_a_file_where_the_state_directory_should_be_is_one_line(tmp_path: Path, detach: bool) -> None:
    (tmp_path / "in-the-way").write_text("")
    result = up(tmp_path, tmp_path / "in-the-way" / "home", *(["--detach"] if detach else []))
    one_clear_line(result, f"cannot use the state directory {tmp_path}/in-the-way/home: {tmp_path}/in-the-way: ")


def test_a_state_directory_too_long_for_its_socket_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / ("d" * (110 - len(str(tmp_path))))
    result = up(tmp_path, home)
    one_clear_line(result, "AF_UNIX path too long")


def test_up_detach_with_an_interpreter_it_cannot_execute_is_one_line(tmp_path: Path) -> None:
    python = tmp_path / "python"  # what sys.executable will say: a file without the execute bit
    python.write_text("")
    python.chmod(0o644)
    result = up(tmp_path, tmp_path / "home", "--detach", argv0=str(python))
    one_clear_line(result, f"cannot start the reconciler: {python}: Permission denied")


def test_a_directory_where_the_socket_goes_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "sentinel.sock").mkdir(parents=True)
    home.chmod(0o700)
    result = up(tmp_path, home)
    one_clear_line(result, f"cannot use the state directory {home}: {home}/sentinel.sock: Is a directory")
    assert (home / "sentinel.sock").is_dir()  # what was in the way is left as it was
