"""The importers' pure translations (sentinel/importers/): what each source's odd corners become, and the last
pass that keeps every result valid by the checks `sentinel validate` runs."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.config.graph import check_processes
from sentinel.config.interpolate import interpolate
from sentinel.config.loader import load
from sentinel.config.models import Config
from sentinel.errors import ConfigError
from sentinel.importers import guess_format, translate
from sentinel.importers.common import FILE_NOTES, Translation, literal, process_name
from sentinel.importers.finish import finish, render
from sentinel.importers.pm2 import parse_javascript


def valid(processes: dict[str, Any], translation: Translation | None = None) -> Config:
    """The processes pass the models and the cross-process checks; with their translation, its rendered text also
    loads as `sentinel validate` loads a file (YAML, interpolation, the same checks)."""
    if translation is None:
        config = Config.model_validate({"processes": processes})
        assert check_processes(config) == []
        return config
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "sentinel.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(render(translation, ["test"]))
        loaded = load(path, environ={"HOME": "/home/app"})
    assert set(loaded.config.processes) == set(processes)
    return loaded.config


@given(st.text())
def test_literal_text_reads_back_unchanged_through_interpolation(text: str) -> None:
    assert interpolate(literal(text), {}) == text


names = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
commands = st.text(st.characters(codec="utf-8", blacklist_characters="\0"), min_size=1, max_size=60)


@given(st.lists(st.tuples(names, commands), min_size=1, max_size=8))
def test_any_procfile_translates_to_a_valid_config(lines: list[tuple[str, str]]) -> None:
    text = "\n".join(f"{name}: {command}" for name, command in lines)
    try:
        _, translation = translate(text.encode(), "Procfile", "procfile")
    except ConfigError as error:
        assert "no process found" in str(error)
        return
    valid(translation.processes, translation)


@pytest.mark.parametrize(("source", "text", "expected"), [
    ("Procfile.dev", "", "procfile"),
    ("supervisord.conf", "", "supervisord"),
    ("app.ini", "", "supervisord"),
    ("process-compose.override.yml", "", "process-compose"),
    ("ecosystem.config.cjs", "", "pm2"),
    ("deploy.yaml", "version: 1\nprocesses:\n  a: {command: x}\n", "process-compose"),
    ("deploy.yaml", "apps:\n  - script: a.js\n", "pm2"),
    ("conf", "[program:a]\ncommand=x\n", "supervisord"),
    ("Runfile", "# dev\nweb: rails s\n\nworker: sidekiq\n", "procfile"),
])
def test_the_format_is_guessed_from_the_name_then_the_content(source: str, text: str, expected: str) -> None:
    assert guess_format(source, text) == expected


def test_names_are_made_valid_and_unique() -> None:
    assert process_name("web app/1", set()) == "web-app-1"
    assert process_name("__x", set()) == "x"
    assert process_name("$$$", set()) == "process"
    assert process_name("web", {"web", "web-2"}) == "web-3"


def test_dependencies_that_cannot_be_met_are_relaxed_or_dropped_with_a_note() -> None:
    text = """
processes:
  a:
    command: run a
    depends_on: {b: {condition: process_healthy}, ghost: {condition: process_started}}
  b:
    command: run b
    availability: {restart: always}
    depends_on: {c: {condition: process_completed_successfully}}
  c:
    command: run c
    availability: {restart: always}
    depends_on: {a: {condition: process_started}}
    shutdown: {signal: NOSUCH}
  d:
    command: "unclosed 'quote"
    entrypoint: ["sh", "-c"]
    replicas: 5000
  e.1: {command: x}
  e: {command: y, replicas: 2}
"""
    _, translation = translate(text.encode(), "pc.yaml", "process-compose")
    config = valid(translation.processes)
    assert config.processes["b"].depends_on == {"c": "started"}  # c restarts always: it never completes
    assert "replicas" not in translation.processes["d"]
    notes = " | ".join(note for notes in translation.notes.values() for note in notes)
    for expected in ("depends_on ghost: dropped", "depends_on b: waits for started only",
                     "depends_on c: waits for started only", "dependency cycle", "NOSUCH",
                     "replicas: dropped", "renamed from 'e.1'"):
        assert expected in notes, notes


def test_supervisord_corners() -> None:
    text = b"""
[program:a]
command=run %(program_name)s %(nosuch)s %(process_num)d
numprocs=2
process_name=%(program_name)s_%(process_num)d
environment=A="1",B
autorestart=sometimes
exitcodes=0,300
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
user=nobody
autostart=false
[program:b]
command=x
environment=K='unclosed
[program:c]
[fcgi-program:f]
command=x
"""
    _, translation = translate(text, "s.conf", "supervisord")
    valid(translation.processes, translation)
    assert translation.processes["a_0"]["command"] == "run a %(nosuch)s 0"
    notes = " | ".join(note for notes in translation.notes.values() for note in notes)
    for expected in ("not KEY=value", "read as unexpected", "only the codes 0 to 255", "always rotated",
                     "at least one rotated", "autostart=false", "No closing quotation", "no command",
                     "FastCGI"):
        assert expected in notes, notes
    assert "# NOTE: c: [program:c] has no command" not in render(translation, [])  # a file note, not c's
    assert "# NOTE: [program:c] has no command: not carried over" in render(translation, [])
    with pytest.raises(ConfigError, match="no \\[program:NAME\\] section"):
        translate(b"[supervisord]\nlogfile=x\n", "s.conf", "supervisord")


def test_pm2_corners() -> None:
    data = b"""{"apps": [{"script": "a.js", "args": "'unclosed", "instances": -1, "max_memory_restart": "lots",
               "stop_exit_codes": 3, "env": ["A=1", 7], "namespace": "g", "uid": "app", "min_uptime": 5000,
               "env_staging": {"A": 2}, "wait_ready": true},
              {"name": "no script"}]}"""
    _, translation = translate(data, "ecosystem.json", "pm2")
    valid(translation.processes, translation)
    body = translation.processes["a"]
    assert body["command"] == ["node", "a.js", "'unclosed"] and body["group"] == "g" and body["user"] == "app"
    assert body["restart"] == {"policy": "on-failure", "exit_codes": [3], "reset_after": "5s"}
    assert translation.environments == {"staging": {"processes": {"a": {"env": {"A": "2"}}}}}
    notes = " | ".join(note for notes in translation.notes.values() for note in notes)
    for expected in ("cannot be split", "one per CPU", "not a size", "not NAME=value", "wait_ready", "no script"):
        assert expected in notes, notes
    translation.processes.pop("a")  # dropped at the end: its notes are kept, at the top, with its name
    assert "# NOTE: a: wait_ready: not carried over" in render(translation, [])
    with pytest.raises(ConfigError, match="no `apps` list"):
        translate(b'{"apps": []}', "ecosystem.json", "pm2")


def test_javascript_is_read_only_as_a_literal() -> None:
    text = """/* header */ module.exports = {apps: [{name: 'a', script: "b.js", n: 1.5, e: 1e3, x: null,
    u: undefined, s: 'tab\\there \\u00e9', t: true, list: [1, 2,],},],};"""
    assert parse_javascript(text, "e.js") == {"apps": [{"name": "a", "script": "b.js", "n": 1.5, "e": 1000.0,
                                                        "x": None, "u": None, "s": "tab\there é", "t": True,
                                                        "list": [1, 2]}]}
    for bad in ("const a = 1;", "module.exports = {a: b};", "module.exports = {a: 1}; run();",
                "module.exports = {a: `x`}", "module.exports = {a: [1 2]}", "module.exports = {a: {b: 1 c: 2}}",
                "module.exports = {a: 1", "module.exports = {1: 2}"):
        with pytest.raises(ConfigError, match="pm2 ecosystem"):
            parse_javascript(bad, "e.js")


def test_a_file_with_nothing_to_import_says_why() -> None:
    with pytest.raises(ConfigError, match="no process found"):
        translate(b"# only a comment\n", "Procfile", "procfile")
    with pytest.raises(ConfigError, match="no `processes:` mapping"):
        translate(b"processes: [a]\n", "pc.yaml", "process-compose")
    _, translation = translate(b"processes:\n  a: 3\n  b: {command: x, schedule: {interval: 5m, jitter: 1}}\n",
                               "pc.yaml", "process-compose")
    assert translation.notes[FILE_NOTES][-1] == "a: not a mapping, not carried over"
    assert translation.processes["b"]["schedule"] == {"every": "5m"}


SUPERVISORD_KEYS = ("command", "numprocs", "numprocs_start", "process_name", "directory", "user", "environment",
                    "autorestart", "exitcodes", "startretries", "startsecs", "stopsignal", "stopwaitsecs",
                    "stopasgroup", "stdout_logfile_maxbytes", "stdout_logfile_backups", "priority", "umask")
ini_values = st.one_of(
    st.sampled_from(["true", "false", "unexpected", "0", "3", "-1", "2000", "0,2", "KILL", "NOPE", "1KB", "50MB",
                     "%(program_name)s_%(process_num)d", "A=1,B='x y'", "%(ENV_HOME)s", "run it", "x %(nosuch)s"]),
    st.from_regex(r"[A-Za-z0-9 _=,.%()'\"\x01\x85-]{1,20}", fullmatch=True).filter(lambda text: "ENV_" not in text),
)


@given(st.dictionaries(st.sampled_from(SUPERVISORD_KEYS), ini_values, min_size=1))
def test_any_supervisord_program_translates_to_a_valid_config(options: dict[str, str]) -> None:
    text = "[program:app]\n" + "".join(f"{key}={value}\n" for key, value in options.items())
    try:
        _, translation = translate(text.encode(), "s.conf", "supervisord")
    except ConfigError as error:
        assert "no process found" in str(error) or "INI" in str(error)
        return
    valid(translation.processes, translation)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.text(max_size=12),
                    st.sampled_from(["process_healthy", "process_completed_successfully", "always", "on_failure",
                                     "*/5 * * * *", "5m", "9", "INT"]))
probe = st.fixed_dictionaries({}, optional={
    "exec": st.fixed_dictionaries({"command": scalars}), "http_get": st.dictionaries(
        st.sampled_from(["host", "port", "path", "scheme"]), scalars),
    "period_seconds": scalars, "failure_threshold": scalars, "initial_delay_seconds": scalars})
process_spec = st.fixed_dictionaries({"command": st.text(min_size=1, max_size=20)}, optional={
    "depends_on": st.dictionaries(st.sampled_from(["a", "b", "c", "zz"]),
                                  st.fixed_dictionaries({"condition": scalars}), max_size=3),
    "availability": st.dictionaries(st.sampled_from(["restart", "backoff_seconds", "max_restarts"]), scalars),
    "readiness_probe": probe, "liveness_probe": probe, "replicas": scalars, "working_dir": scalars,
    "environment": st.one_of(st.lists(st.text(max_size=8), max_size=3), st.dictionaries(st.text(max_size=5), scalars)),
    "schedule": st.dictionaries(st.sampled_from(["cron", "interval", "timezone"]), scalars),
    "shutdown": st.dictionaries(st.sampled_from(["signal", "timeout_seconds", "parent_only"]), scalars),
    "disabled": st.booleans(), "namespace": scalars,
})


@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d e"]), process_spec, min_size=1))
def test_any_process_compose_file_translates_to_a_valid_config(processes: dict[str, Any]) -> None:
    from sentinel.importers.process_compose import from_process_compose

    translation = finish(from_process_compose({"processes": processes}, "pc.yaml"))
    valid(translation.processes, translation)
