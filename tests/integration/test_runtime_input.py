"""Careless or hostile input at run time, through the real CLI: `logs.keep` has a range, and
`sentinel logs` reads only the logs of a process, whatever name it is given (docs/security.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sentinel.cli.main import cli
from tests.support.files import write


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={}, catch_exceptions=False)


def test_logs_keep_has_a_range_that_validate_reports_with_its_place(tmp_path: Path) -> None:
    text = "processes:\n  web:\n    command: x\n    logs: {max_size: 1, keep: 100000000}\n"
    path = write(tmp_path, "sentinel.yaml", text)
    result = run("validate", "-f", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:4:31: processes.web.logs.keep: must be at most 1000 (got 100000000)",
    ]


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "../sentinel", "x" * 10_000, "web/../../x", "\x1b[2J"])
def test_logs_refuses_anything_but_a_process_name_on_one_line(tmp_path: Path, name: str) -> None:
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "sentinel.log").write_text("the reconciler's own log\n")
    (tmp_path / "x.log").write_text("a file outside the state directory\n")
    result = run("--state-dir", str(home), "logs", name)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "is not a process name: " in line and len(line) < 250
    assert "\x1b" not in line
