"""The `sentinel` command: validate, config, schema, exit codes and defaults (docs/contract.md#cli)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sentinel import __version__
from sentinel.cli.main import cli
from sentinel.cli.output import handles_errors
from sentinel.config.schema import schema_text
from tests.support.files import write
from tests.support.loaded import loaded_by

GOOD = """
    processes:
      web:
        command: python -m http.server ${PORT:-8000}
        env: {DB_PASSWORD: hunter2, PRICE: "5$$", MODE: dev}
      nightly: {command: ./backup.sh, schedule: {cron: "0 3 * * *"}}
    environments:
      prod: {processes: {web: {env: {MODE: prod}}}}
"""


def run(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def test_validate_reports_a_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", GOOD)
    result = run("validate", "-f", path)
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"{path}: valid (1 service, 1 job)\n", "")


def test_validate_lists_every_problem_on_stderr_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", "processes:\n  web: {comand: x, replicas: many}\n")
    result = run("validate", "-f", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:2:3: processes.web.command: is required",
        f"{path}:2:9: processes.web.comand: unknown key; did you mean 'command'?",
        f"{path}:2:30: processes.web.replicas: must be a whole number (got 'many')",
    ]


def test_the_file_defaults_to_sentinel_config_then_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "sentinel.yaml", GOOD)
    other = write(tmp_path, "other/prod.yaml", "processes: {a: {command: a}}\n")
    monkeypatch.chdir(tmp_path)
    assert run("validate").stdout == "sentinel.yaml: valid (1 service, 1 job)\n"
    assert run("validate", env={"SENTINEL_CONFIG": other}).stdout == f"{other}: valid (1 service, 0 jobs)\n"


def test_a_missing_default_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("validate")
    assert (result.exit_code, result.stderr) == (2, "sentinel.yaml: file not found\n")


def test_environment_comes_from_the_flag_or_sentinel_env(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", GOOD)
    flag = json.loads(run("config", "-f", path, "--json", "--env", "prod").stdout)
    from_env = json.loads(run("config", "-f", path, "--json", env={"SENTINEL_ENV": "prod"}).stdout)
    assert flag["processes"]["web"]["env"]["MODE"] == from_env["processes"]["web"]["env"]["MODE"] == "prod"
    assert run("validate", "-f", path, "--env", "prod").stdout.endswith("1 job, environment prod)\n")


def test_config_masks_secrets_unless_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", GOOD)
    masked = json.loads(run("config", "-f", path, "--json").stdout)["processes"]["web"]["env"]
    shown = json.loads(run("config", "-f", path, "--json", "--show-secrets").stdout)["processes"]["web"]["env"]
    assert masked["DB_PASSWORD"] == "***" and shown["DB_PASSWORD"] == "hunter2"
    assert "hunter2" not in run("config", "-f", path).stdout


def test_config_yaml_escapes_dollars_and_json_shows_values(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", GOOD)
    yaml_text = run("config", "-f", path).stdout
    assert yaml_text.startswith(f"# {path} resolved by sentinel {__version__}\n")
    assert 'PRICE: "5$$"' in yaml_text
    assert "command: python -m http.server 8000" in yaml_text
    data = json.loads(run("config", "-f", path, "--json").stdout)
    assert data["processes"]["web"]["env"]["PRICE"] == "5$"
    assert data["processes"]["nightly"]["restart"]["policy"] == "never"
    printed = write(tmp_path, "printed.yaml", run("config", "-f", path, "--show-secrets").stdout)
    assert run("config", "-f", printed, "--json", "--show-secrets").stdout == \
        run("config", "-f", path, "--json", "--show-secrets").stdout


def test_config_errors_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", "processes: {a: {command: a}}\n")
    result = run("config", "-f", path, "--env", "prod")
    assert (result.exit_code, result.stderr) == (2, f"{path}:1:1: --env: unknown environment 'prod' (defined: none)\n")


def test_schema_prints_the_checked_in_schema() -> None:
    result = run("schema")
    checked_in = (Path(__file__).parents[2] / "schema" / "sentinel.schema.json").read_text()
    assert result.stdout == schema_text() == checked_in, "regenerate: sentinel schema > schema/sentinel.schema.json"


def test_unknown_commands_and_options_are_usage_errors() -> None:
    result = CliRunner().invoke(cli, ["valdate"])
    assert result.exit_code == 2
    assert "No such command 'valdate'" in result.stderr


def test_an_unexpected_error_is_one_line_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command()
    @handles_errors
    def broken() -> None:
        raise RuntimeError("boom")

    result = CliRunner().invoke(broken, [])
    assert result.exit_code == 70
    assert result.stderr == (
        "sentinel: internal error: RuntimeError: boom "
        "(run again with SENTINEL_DEBUG=1 for a traceback, and please report it)\n"
    )
    monkeypatch.setenv("SENTINEL_DEBUG", "1")
    assert isinstance(CliRunner().invoke(broken, []).exception, RuntimeError)


def test_the_installed_command_answers_without_tracebacks(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "sentinel"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout == f"sentinel {__version__}\n"
    bad = write(tmp_path, "sentinel.yaml", "processes:\n\tweb: x\n")
    result = subprocess.run([exe, "validate", "-f", bad], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"{bad}:2:1: a tab character is not allowed in indentation; indent with spaces\n"
    module = subprocess.run([sys.executable, "-m", "sentinel", "--help"], capture_output=True, text=True, check=True)
    assert "validate" in module.stdout and "Traceback" not in module.stderr


def test_every_command_is_listed_with_the_module_that_defines_it() -> None:
    """`COMMAND_MODULES` is how a command's module gets imported (lazily): a command missing from it would not run."""
    import pkgutil

    import sentinel.cli
    from sentinel.cli.main import COMMAND_MODULES

    for module in pkgutil.iter_modules(sentinel.cli.__path__):
        __import__(f"sentinel.cli.{module.name}")
    defined = {name: command.callback.__module__ for name, command in cli.commands.items() if command.callback}
    assert {name: f"sentinel.cli.{module}" for name, module in COMMAND_MODULES.items()} == {
        name: module for name, module in defined.items() if module != "sentinel.cli.main"}
    assert "status" in run("--help").stdout and "up" in run("--help").stdout


def test_status_imports_only_what_it_needs(tmp_path: Path) -> None:
    """`status` loads neither the other commands' modules nor the reconciler's (docs/contract.md#performance-budgets:
    every module is start-up time); with no reconciler running, it reads state.db instead (the live path:
    tests/integration/daemon/test_status.py)."""
    loaded = loaded_by(tmp_path / "loaded.json", "--state-dir", str(tmp_path / "state"), "status")
    assert loaded.of(("sentinel.cli.lifecycle", "sentinel.cli.job_runs", "sentinel.cli.control", "sentinel.daemon",
                      "asyncio", "pydantic")) == []
    assert loaded.yaml_patterns == 0


PROGRAM = """
import atexit, gc, sys
from sentinel.cli.main import main
paused = not gc.isenabled()
atexit.register(lambda: print(f"paused={paused} on={gc.isenabled()} frozen={gc.get_freeze_count() > 0}",
                              file=sys.stderr))
main()
"""


@pytest.mark.parametrize(("args", "frozen"), [(("status",), True), (("up", "-f", "missing.yaml"), False)])
def test_the_program_starts_without_the_garbage_collector_and_runs_every_command_with_it(
        tmp_path: Path, args: tuple[str, ...], frozen: bool) -> None:
    """The `sentinel` program pauses the cyclic collector while it imports (sentinel/cli/__init__.py) and `cli` turns
    it back on before any command runs; a short-lived command freezes what the start-up built, the reconciler (`up`)
    does not, so nothing the start-up left to collect is kept for its whole life."""
    program = write(tmp_path, "sentinel", PROGRAM)  # named so: the program, not a library import
    done = subprocess.run([sys.executable, program, "--state-dir", str(tmp_path / "state"), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stderr.splitlines()[-1] == f"paused=True on=True frozen={frozen}", done.stderr
