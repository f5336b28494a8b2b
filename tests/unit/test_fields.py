"""Field types users write: commands, names, env, signals, URLs and addresses, and their messages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sentinel.config.fields import split_command
from sentinel.config.models import Config, Process


def process_error(**fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Process.model_validate({"command": "x", **fields})
    errors = caught.value.errors(include_url=False)
    assert len(errors) == 1, errors
    cause = (errors[0].get("ctx") or {}).get("error")
    return str(cause) if cause is not None else errors[0]["msg"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        pytest.param("   ", "must not be empty", id="blank"),
        pytest.param([], "must not be an empty list", id="empty-list"),
        pytest.param(["ok", {"a": 1}], "must be a list of strings", id="mapping-item"),
        pytest.param(["ok", True], "must be a list of strings", id="bool-item"),
        pytest.param({"a": 1}, "must be a string or a list of strings", id="mapping"),
        pytest.param("run 'unclosed", "cannot be split into arguments: no closing quotation", id="unclosed-quote"),
    ],
)
def test_bad_commands(command: Any, message: str) -> None:
    assert process_error(command=command) == message


def test_numbers_in_an_argv_become_strings() -> None:
    assert Process.model_validate({"command": ["sleep", 10, 1.5]}).command == ["sleep", "10", "1.5"]


def test_commands_split_like_a_shell_but_never_run_one() -> None:
    assert split_command("""./backup.sh --dest "my dir" 'it''s' $(touch /tmp/x)""") == [
        "./backup.sh", "--dest", "my dir", "its", "$(touch", "/tmp/x)"
    ]
    assert split_command(["kept", "as is; rm -rf /"]) == ["kept", "as is; rm -rf /"]


def test_shell_needs_a_string_and_takes_it_as_is() -> None:
    assert process_error(shell=True, command=["a", "b"]) == "must be a string when shell is true"
    assert Process.model_validate({"command": "echo 'unclosed", "shell": True}).command == "echo 'unclosed"


@pytest.mark.parametrize(
    ("name", "valid"),
    [("web", True), ("web.1", True), ("0day", True), ("a_b-c", True), ("-web", False), ("a/b", False),
     ("../x", False), ("$(id)", False), ("", False), ("a" * 128, True), ("a" * 129, False), ("wéb", False)],
)
def test_process_names(name: str, valid: bool) -> None:
    try:
        Config.model_validate({"processes": {name: {"command": "x"}}})
    except ValidationError:
        assert not valid
    else:
        assert valid


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"N": 1}, {"N": "1"}), ({"B": True, "F": False}, {"B": "true", "F": "false"}),
     ({"S": "text with = and \n"}, {"S": "text with = and \n"})],
)
def test_env_values(env: dict[str, Any], expected: dict[str, str]) -> None:
    assert Process.model_validate({"command": "x", "env": env}).env == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [({"F": 1.5}, "must be a string; quote it so YAML keeps it as written"), ({"L": [1]}, "must be a string"),
     ({"N": "a\0b"}, "must not contain a NUL character"),
     ({"A=B": "x"}, "an environment variable name must be non-empty without '=' or NUL")],
)
def test_bad_env(env: dict[str, Any], message: str) -> None:
    assert process_error(env=env) == message


@pytest.mark.parametrize(("signal", "name"), [("TERM", "TERM"), ("sigint", "INT"), (" SIGQUIT ", "QUIT"), (1, "HUP")])
def test_signals(signal: Any, name: str) -> None:
    assert Process.model_validate({"command": "x", "stop": {"signal": signal}}).stop.signal == name


@pytest.mark.parametrize(
    ("signal", "message"),
    [("TERMINATE", "must be a signal name such as TERM, INT, QUIT, HUP, USR1 or KILL"),
     (999, "is not a signal number on this system"), (1.5, "must be a signal name such as TERM, INT or QUIT")],
)
def test_bad_signals(signal: Any, message: str) -> None:
    assert process_error(stop={"signal": signal}) == message


@pytest.mark.parametrize(
    ("health", "message"),
    [({"http": "ftp://host/"}, "must be an http:// or https:// URL"),
     ({"http": "http:///path"}, "must name a host"),
     ({"http": "http://host:99999/"}, "has a port out of range (1-65535)"),
     ({"tcp": "5432"}, "must be host:port, such as 127.0.0.1:5432"),
     ({"tcp": "::1:5432"}, "must be host:port; write IPv6 addresses as [::1]:port"),
     ({"tcp": "db:0"}, "has a port out of range (1-65535)"),
     ({"tcp": "db:http"}, "has a port out of range (1-65535)"),
     ({"exec": "check 'unclosed"}, "cannot be split into arguments: no closing quotation"),
     ({}, "needs exactly one of http, tcp or exec (found none)"),
     ({"tcp": "db:1", "exec": "true"}, "needs exactly one of http, tcp or exec (found tcp, exec)"),
     ({"tcp": "db:1", "expect_status": 200}, "applies to http checks only")],
)
def test_bad_health_checks(health: dict[str, Any], message: str) -> None:
    assert process_error(health=health) == message


def test_ipv6_addresses_are_fine_in_brackets() -> None:
    assert Process.model_validate({"command": "x", "health": {"tcp": "[::1]:5432"}}).health is not None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [({"cron": "61 * * * *"}, "is not a valid cron expression"),
     ({"cron": "* * *"}, "has 3 fields; a cron expression has 5, or 6 with seconds first"),
     ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"},
      "is not a known time zone (use an IANA name such as Europe/Paris or UTC)"),
     ({"every": "5m", "timezone": "UTC"}, "applies to cron and at, not every"),
     ({"every": 0}, "must be at least 1s"),
     ({"cron": "@daily", "every": "1h"}, "needs exactly one of cron, every, at or manual (found cron, every)")],
)
def test_bad_schedules(schedule: dict[str, Any], message: str) -> None:
    assert process_error(schedule=schedule) == message


@pytest.mark.parametrize("cron", ["0 3 * * *", "*/15 9-17 * * mon-fri", "30 0 3 * * *", "@daily", "@HOURLY"])
def test_good_cron_expressions(cron: str) -> None:
    process = Process.model_validate({"command": "x", "schedule": {"cron": cron}})
    assert process.schedule is not None and process.schedule.cron == " ".join(cron.split())


def test_job_only_keys_on_a_service() -> None:
    assert process_error(timeout="1h") == "applies to jobs only (processes with a schedule)"
