"""Properties of loading: nothing but ConfigError ever escapes, and `sentinel config` round-trips.

- Arbitrary bytes, and arbitrary YAML documents built from the language's own keys, either
  load or raise ConfigError (whose every line names a place) — never another exception.
- A valid config, printed by `sentinel config` (YAML), loads back to an equal Config.
- The YAML emitter reads back to the same data for any strings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sentinel.cli.main import cli
from sentinel.cli.output import to_yaml
from sentinel.config.loader import load
from sentinel.config.models import Backoff, Config, Health, Limits, Logs, Process, Restart, Schedule, Stop
from sentinel.config.source import parse_or_raise
from sentinel.errors import ConfigError

KEYS = sorted({
    *Config.model_fields, *Process.model_fields, *Restart.model_fields, *Backoff.model_fields,
    *Health.model_fields, *Schedule.model_fields, *Stop.model_fields, *Limits.model_fields, *Logs.model_fields,
    "include", "defaults", "templates", "environments", "extends", "web", "db", "prod",
})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def load_text(directory: Path, data: bytes) -> None:
    path = directory / "sentinel.yaml"
    path.write_bytes(data)
    try:
        load(str(path), environ={})
    except ConfigError as error:
        assert error.problems
        for line in str(error).splitlines():
            assert line.startswith(str(path)), line


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_ever_raise_config_errors(workdir: Path, data: bytes) -> None:
    load_text(workdir, data)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), st.sampled_from(["10s", "1h30m", "512MB", "90%", "0 3 * * *", "TERM", "${X:-1}", "a b 'c"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=40,
)


@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=6))
def test_arbitrary_documents_only_ever_raise_config_errors(workdir: Path, document: dict[str, Any]) -> None:
    load_text(workdir, json.dumps(document, allow_nan=False).encode())


texts = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=20)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}", fullmatch=True)
durations = st.one_of(st.integers(0, 10**6), st.floats(0, 10**5, allow_nan=False), st.sampled_from(["250ms", "1h"]))
processes = st.fixed_dictionaries(
    {"command": st.one_of(st.lists(texts, min_size=1, max_size=4), st.sampled_from(["run it", "python -m app"]))},
    optional={
        "env": st.dictionaries(st.from_regex(r"[A-Z_]{1,8}", fullmatch=True), texts, max_size=4),
        "group": names,
        "replicas": st.integers(0, 5),
        "restart": st.fixed_dictionaries({}, optional={
            "policy": st.sampled_from(["always", "on-failure", "never"]),
            "max_retries": st.one_of(st.none(), st.integers(0, 10)),
            "backoff": st.fixed_dictionaries({"initial": st.just("1s"), "factor": st.floats(1, 10), "max": durations})
            .filter(lambda b: Backoff.model_validate(b) if _valid_backoff(b) else False),
            "exit_codes": st.lists(st.integers(0, 255), max_size=3),
        }),
        "stop": st.fixed_dictionaries({}, optional={"signal": st.sampled_from(["INT", "SIGQUIT", 15]),
                                                    "timeout": durations}),
        "limits": st.fixed_dictionaries({}, optional={"memory": st.integers(0, 2**40), "cpu": st.floats(1, 800)}),
        "health": st.one_of(
            st.fixed_dictionaries({"tcp": st.just("127.0.0.1:5432")}),
            st.fixed_dictionaries({"exec": st.lists(texts, min_size=1, max_size=3), "retries": st.integers(1, 9)}),
            st.fixed_dictionaries({"http": st.just("http://localhost:8080/health"),
                                   "expect_status": st.integers(100, 599)}),
        ),
        "schedule": st.one_of(
            st.fixed_dictionaries({"every": st.sampled_from(["15m", 30, "1h30m"])}),
            st.fixed_dictionaries({"cron": st.sampled_from(["0 3 * * *", "*/5 * * * * *", "@daily"]),
                                   "timezone": st.sampled_from(["UTC", "Europe/Paris"])}),
            st.fixed_dictionaries({"at": st.just("2026-12-01T03:00:00Z")}),
        ),
    },
)


def _valid_backoff(backoff: dict[str, Any]) -> bool:
    try:
        Backoff.model_validate(backoff)
    except ValueError:
        return False
    return True


@given(st.dictionaries(names, processes, max_size=4))
def test_printed_config_loads_back_to_the_same_config(workdir: Path, procs: dict[str, Any]) -> None:
    source = workdir / "sentinel.yaml"
    source.write_text(json.dumps({"version": 1, "processes": procs}))
    try:
        first = load(str(source), environ={}).config
    except ConfigError:
        return  # e.g. instance names that collide; other tests cover errors
    result = CliRunner().invoke(cli, ["config", "-f", str(source), "--show-secrets"], env={})
    assert result.exit_code == 0, result.output
    printed = workdir / "printed.yaml"
    printed.write_text(result.stdout)
    assert load(str(printed), environ={}).config == first


TRICKY = ["a: b", "a:b", "a:", "a #b", "a#b", "*x", "x*", "#x", "- x", "? x", "true", "True", "null", "~", "1e3",
          "0x1F", "0o7", ".5", "2026-01-01", "12:30", "1:20:30", "@x", "`x", "'x", '"x"', "x ", " x", "", "x\ny",
          "%x", "!x", "&x", "|", ">", "a,b", "[x]", "{x}", "yes", "on", "y", "NULL", "-1", "+1", ".inf", "-.inf",
          ".nan", "1_000", "x: y: z", "http://h:1/", "0 3 * * *", "512MB", "90%", "1h30m", "a\tb", "\x85", "\u2028"]


@given(st.recursive(
    st.one_of(texts, st.sampled_from(TRICKY), st.integers(), st.booleans(), st.none(),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.one_of(texts, st.sampled_from(TRICKY)), children, max_size=3)),
    max_leaves=20,
))
def test_emitted_yaml_reads_back_to_the_same_data(data: Any) -> None:
    document = {"root": data}
    assert parse_or_raise(to_yaml(document).encode(), "x.yaml") == document


def test_environment_is_not_read_when_a_mapping_is_given(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_TEST_VAR", "from-os")
    (workdir / "sentinel.yaml").write_text('processes: {a: {command: "x ${SENTINEL_TEST_VAR:-default}"}}')
    assert load(str(workdir / "sentinel.yaml"), environ={}).config.processes["a"].command == "x default"
    assert load(str(workdir / "sentinel.yaml")).config.processes["a"].command == "x from-os"
    assert os.environ["SENTINEL_TEST_VAR"] == "from-os"
