"""Hostile and careless config files (issue #11), seen through `sentinel validate`.

Names match in full; every duration, count, size and date has a range (docs/limitations.md);
files that are not regular files are refused without being read; each is reported with
file:line:col like any other error.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinel.cli.main import cli
from sentinel.config.budget import MAX_EXPANDED_VALUES, MAX_FILES, MAX_TEMPLATE_LAYERS
from sentinel.config.localize import ENV_FILE_MAX_BYTES
from tests.support.files import write


def validate(path: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["validate", "-f", path], env={}, catch_exceptions=False)
    return result.exit_code, result.stderr.splitlines()


def test_a_name_with_a_final_newline_is_refused_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", 'processes:\n  "web\\n": {command: sleep 1}\n')
    code, lines = validate(path)
    assert code == 2
    assert lines == [f'{path}:2:3: processes["web\\n"]: must start with a letter or digit and hold only letters,'
                     " digits, '_', '.' and '-' (got 'web\\n')"]


@pytest.mark.parametrize(
    ("body", "value", "key", "message"),
    [
        pytest.param("schedule: {every: 1e-9}", "1e-9", "schedule.every", "must be at least 1s (got 1e-09)",
                     id="every-tiny"),
        pytest.param("schedule: {every: 1e300}", "1e300", "schedule.every",
                     "must be at most 8760h (365 days) (got 1e+300)",
                     id="every-huge"),
        pytest.param("schedule: {at: '9999-12-31T23:59:59', timezone: Etc/GMT+12}", "'9999", "schedule.at",
                     "must be from 1970-01-01 to 9998-12-31 (got '9999-12-31T23:59:59')", id="at-far-future"),
        pytest.param("schedule: {at: '0001-01-01T00:00:00Z'}", "'0001", "schedule.at",
                     "must be from 1970-01-01 to 9998-12-31 (got '0001-01-01T00:00:00Z')", id="at-far-past"),
        pytest.param("restart: {backoff: {initial: 1e300}}", "1e300", "restart.backoff.initial",
                     "must be at most 8760h (365 days) (got 1e+300)", id="backoff-initial"),
        pytest.param("restart: {backoff: {factor: 1e300}}", "1e300", "restart.backoff.factor",
                     "must be at most 100.0 (got 1e+300)", id="backoff-factor"),
        pytest.param("restart: {max_retries: 100000000000000000000}", "1000000", "restart.max_retries",
                     "must be at most 1000000 (got 100000000000000000000)", id="max-retries"),
        pytest.param("schedule: {every: 1h}, keep_runs: 100000000000000000000", "1000000", "keep_runs",
                     "must be at most 10000 (got 100000000000000000000)", id="keep-runs"),
        pytest.param("stop: {timeout: 99999h}", "99999h", "stop.timeout",
                     "must be at most 8760h (365 days) (got '99999h')",
                     id="stop-timeout"),
        pytest.param("limits: {memory: 1e300}", "1e300", "limits.memory", "must be at most 1024TiB (got 1e+300)",
                     id="memory"),
        pytest.param("limits: {cpu: 1e300}", "1e300", "limits.cpu", "must be at most 100000% (got 1e+300)", id="cpu"),
        pytest.param("health: {exec: 'true', interval: 1e-9}", "1e-9", "health.interval",
                     "must be at least 1ms (got 1e-09)",
                     id="interval"),
        pytest.param("health: {exec: 'true', retries: 100000000000}", "100000000000", "health.retries",
                     "must be at most 1000 (got 100000000000)", id="health-retries"),
    ],
)
def test_values_out_of_range_are_refused_with_their_place(
    tmp_path: Path, body: str, value: str, key: str, message: str
) -> None:
    line = f"  p: {{command: 'true', {body}}}"
    path = write(tmp_path, "sentinel.yaml", f"processes:\n{line}\n")
    column = line.index(value) + 1
    assert validate(path) == (2, [f"{path}:2:{column}: processes.p.{key}: {message}"])


def test_values_at_the_edges_of_their_ranges_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", """
        processes:
          early: {command: 'true', schedule: {at: '1970-01-01T00:00:00', timezone: Etc/GMT-14}}
          late: {command: 'true', schedule: {at: '9998-12-31T23:59:59+14:00'}, keep_runs: 10000}
          often: {command: 'true', schedule: {every: 1s}, timeout: 1ms}
          slow: {command: 'true', restart: {backoff: {initial: 8760h, max: 8760h, factor: 100}, max_retries: 1000000}}
    """)
    assert validate(path) == (0, [])


def validate_in_child(path: str) -> subprocess.CompletedProcess[str]:
    """`sentinel validate` as a separate process, so a load that blocks fails the test instead of hanging it.

    The deadline is generous: the largest file here takes ~2 s of CPU to refuse, ~7 s under branch coverage
    (counted in the child too), which passed 30 s on a loaded machine."""
    return subprocess.run([sys.executable, "-m", "sentinel", "validate", "-f", path], capture_output=True,
                          text=True, timeout=100, check=False)


@pytest.mark.parametrize(
    ("special", "kind"),
    [
        pytest.param("fifo", "a FIFO (named pipe)", id="fifo"),
        pytest.param("/dev/zero", "a character device", id="dev-zero"),
        pytest.param("/dev/urandom", "a character device", id="dev-urandom"),
    ],
)
def test_an_env_file_that_is_not_a_regular_file_is_refused_without_reading_it(
    tmp_path: Path, special: str, kind: str
) -> None:
    target = special
    if special == "fifo":
        target = str(tmp_path / "fifo.env")
        os.mkfifo(target)
    path = write(tmp_path, "sentinel.yaml", f"processes:\n  web: {{command: sleep 1, env_file: {target}}}\n")
    result = validate_in_child(path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"{path}:2:37: processes.web.env_file: env file '{target}' is {kind},"
                             " not a regular file\n")


def test_an_env_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.env"
    big.write_text("A=" + "x" * ENV_FILE_MAX_BYTES + "\n")
    path = write(tmp_path, "sentinel.yaml", f"processes:\n  web: {{command: sleep 1, env_file: {big}}}\n")
    size = big.stat().st_size
    assert validate(path) == (2, [f"{path}:2:37: processes.web.env_file: env file '{big}' is too large"
                                  f" ({size} bytes; the limit is {ENV_FILE_MAX_BYTES})"])


def test_a_config_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "sentinel.yaml"
    os.mkfifo(fifo)
    result = validate_in_child(str(fifo))
    assert (result.returncode, result.stderr) == (2, f"{fifo}: is a FIFO (named pipe), not a regular file\n")


def test_an_extends_diamond_fails_early_at_the_template_that_doubles(tmp_path: Path) -> None:
    templates = ["  t0: {env: {A: x}}", *(f"  t{i}: {{extends: [t{i - 1}, t{i - 1}]}}" for i in range(1, 21))]
    text = "templates:\n" + "\n".join(templates) + "\nprocesses:\n  web: {command: sleep 1, extends: t20}\n"
    path = write(tmp_path, "sentinel.yaml", text)
    assert len(text) < 700
    result = validate_in_child(path)
    assert (result.returncode, result.stderr) == (2, (
        f"{path}:10:17: templates.t8.extends: pulls in more than {MAX_TEMPLATE_LAYERS} templates (counting each"
        " time a template is reached through extends; an extends diamond?)\n"))


def test_an_include_diamond_fails_early_at_the_include_over_the_file_limit(tmp_path: Path) -> None:
    for level in range(16):
        twice = f"include: [l{level + 1}.yaml, l{level + 1}.yaml]\n"
        body = twice if level < 15 else "processes: {leaf: {command: x}}\n"
        write(tmp_path, f"l{level}.yaml", body)
    path = write(tmp_path, "sentinel.yaml", "include: l0.yaml\nprocesses: {web: {command: sleep 1}}\n")
    result = validate_in_child(path)
    assert (result.returncode, result.stderr) == (2, (
        f"{tmp_path}/l11.yaml:1:11: include: reads more than {MAX_FILES} config files (counting each time a file is"
        " included; an include diamond?)\n"))


@pytest.mark.reliability  # 10 s of a config at its size budget: CI's reliability step
@pytest.mark.timeout(120)  # validate_in_child's deadline, and then some
def test_large_defaults_times_many_processes_fail_early_at_the_process_over_the_limit(tmp_path: Path) -> None:
    keys = 20_000
    env = "\n".join(f"    K{i}: v" for i in range(keys))
    processes = "\n".join(f"  p{i}: {{command: sleep 1}}" for i in range(300))
    path = write(tmp_path, "sentinel.yaml", f"defaults:\n  env:\n{env}\nprocesses:\n{processes}\n")
    result = validate_in_child(path)
    found = re.fullmatch(r".*:(\d+):8: processes\.p(\d+): (.*)\n", result.stderr)
    assert result.returncode == 2 and found is not None, result.stderr
    line, number, message = int(found.group(1)), int(found.group(2)), found.group(3)
    assert line == keys + 4 + number  # the line of that process
    assert number <= MAX_EXPANDED_VALUES // keys  # it stops at the process that goes over, not later
    assert message == (f"expands to more than {MAX_EXPANDED_VALUES} values once includes, templates and defaults"
                       " are applied (an extends diamond, or a large defaults?)")


def test_commands_and_exec_checks_are_split_before_values_are_pasted_in(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", """
        processes:
          web:
            command: serve --name "${NAME}" ${NAME:-x y}
            health: {exec: "check ${NAME}"}
          sh: {command: 'echo "$NAME" ${NAME}', shell: true}
          plain: {command: "sleep 1"}
    """)
    result = CliRunner().invoke(cli, ["config", "-f", path, "--json"], env={"NAME": "a 'b"}, catch_exceptions=False)
    processes = json.loads(result.stdout)["processes"]
    assert shlex.split(processes["web"]["command"]) == ["serve", "--name", "a 'b", "a 'b"]
    assert shlex.split(processes["web"]["health"]["exec"]) == ["check", "a 'b"]
    assert processes["sh"]["command"] == "echo \"$NAME\" a 'b"  # shell text: the value is pasted in (README)
    assert processes["plain"]["command"] == "sleep 1"


def test_a_command_with_a_variable_that_cannot_be_split_is_one_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "sentinel.yaml", """processes:\n  web: {command: "run '${NAME}"}\n""")
    result = CliRunner().invoke(cli, ["validate", "-f", path], env={"NAME": "s3cret"}, catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (2, f"{path}:2:18: processes.web.command: cannot be split into"
                                                    " arguments: no closing quotation (got \"run 's3cret\")\n")
