"""process-compose YAML → sentinel processes.

Commands run through a shell (process-compose runs `bash -c`, here `shell: true` runs `/bin/sh -c`).
`depends_on` conditions, a liveness or readiness probe (one health check), `availability`,
`replicas`, `schedule`, `environment` (the file's and each process's), `working_dir`, `namespace`
(a group) and `shutdown` carry over. process-compose replaces `${VAR}` from its environment when
it reads the file, an unset one with nothing: that is `${VAR:-}` here.
"""

from __future__ import annotations

import re
from typing import Any

from sentinel.errors import ConfigError
from sentinel.importers.common import (
    FILE_NOTES,
    Translation,
    as_int,
    as_number,
    environment,
    literal,
    seconds,
)
from sentinel.signames import short_signal_name

_CONDITIONS = {
    "process_started": "started", "process_healthy": "healthy", "process_completed_successfully": "completed",
    "process_completed": "completed", "process_log_ready": "started",
}
_RESTART = {"always": "always", "on_failure": "on-failure", "exit_on_failure": "on-failure", "no": "never"}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CARRIED = {
    "command", "entrypoint", "working_dir", "environment", "depends_on", "readiness_probe", "liveness_probe",
    "availability", "replicas", "schedule", "shutdown", "namespace", "disabled", "description",
}
_TOP_LEVEL = {"version", "processes", "environment", "log_location", "log_level", "shell", "is_strict"}


def from_process_compose(data: Any, source: str) -> Translation:
    if not isinstance(data, dict) or not isinstance(data.get("processes"), dict):
        raise ConfigError.single(source, "has no `processes:` mapping: not a process-compose file")
    translation = Translation("process-compose")
    shell = data.get("shell")
    if isinstance(shell, dict) and shell.get("shell_command") not in (None, "sh", "/bin/sh"):
        translation.note(FILE_NOTES, f"shell {shell.get('shell_command')}: commands run with /bin/sh -c here; "
                                     "one that needs that shell: `command: [bash, -c, '…']`")
    elif shell is None:
        translation.note(FILE_NOTES, "process-compose runs commands with bash -c; here `shell: true` runs "
                                     "/bin/sh -c: a command that needs bash: `command: [bash, -c, '…']`")
    for key in sorted(set(data) - _TOP_LEVEL):
        translation.note(FILE_NOTES, f"{key}: not carried over")
    shared = environment(data.get("environment"), translation, None)
    names = {wanted: translation.new_name(str(wanted)) for wanted in data["processes"]}
    for wanted, spec in data["processes"].items():
        name = names[wanted]
        if not isinstance(spec, dict):
            translation.note(FILE_NOTES, f"{wanted}: not a mapping, not carried over")
            continue
        translation.processes[name] = _process(translation, name, spec, shared, names)
    _strip_empty(translation)
    return translation


def _text(value: Any) -> str:
    """process-compose's text: its own `${VAR}` (empty when unset) kept as interpolation, the rest literal."""
    parts = _VARIABLE.split(str(value))
    return "".join(literal(part) if index % 2 == 0 else "${" + part + ":-}" for index, part in enumerate(parts))


def _process(translation: Translation, name: str, spec: dict[str, Any], shared: dict[str, str],
             names: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    entrypoint = spec.get("entrypoint")
    if isinstance(entrypoint, list) and entrypoint:
        body["command"] = [_text(part) for part in entrypoint]
        if spec.get("command"):
            body["command"].append(_text(spec["command"]))
    else:
        body["command"] = _text(spec.get("command") or "")
        body["shell"] = True
    if spec.get("namespace"):
        body["group"] = str(spec["namespace"])
    env = {**shared, **{key: _text(value) for key, value in environment(spec.get("environment"), translation,
                                                                          name).items()}}
    if env:
        body["env"] = env
    if spec.get("working_dir"):
        body["cwd"] = _text(spec["working_dir"])
    replicas = as_int(spec.get("replicas"))
    if replicas is not None:
        body["replicas"] = replicas
    if spec.get("disabled") is True:
        body["replicas"] = 0
        translation.note(name, "disabled: replicas 0 (declared, not running)")
    body["depends_on"] = _depends_on(translation, name, spec.get("depends_on"), names)
    health = _health(translation, name, spec)
    if health:
        body["health"] = health
    body["restart"] = _availability(translation, name, spec.get("availability"))
    body["stop"] = _shutdown(translation, name, spec.get("shutdown"))
    schedule = _schedule(translation, name, spec.get("schedule"))
    if schedule:
        body["schedule"] = schedule
        body["restart"].pop("policy", None)
    for key in sorted(set(spec) - _CARRIED):
        translation.note(name, f"{key}: not carried over")
    return body


def _depends_on(translation: Translation, name: str, spec: Any, names: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not isinstance(spec, dict):
        return found
    for other, wait in spec.items():
        condition = wait.get("condition", "process_started") if isinstance(wait, dict) else "process_started"
        if condition not in _CONDITIONS:
            translation.note(name, f"depends_on {other}: condition {condition!r} unknown, waits for started")
        elif condition in ("process_completed", "process_log_ready"):
            translation.note(name, f"depends_on {other}: {condition} is read as {_CONDITIONS[condition]}")
        found[names.get(other, str(other))] = _CONDITIONS.get(condition, "started")
    return found


def _health(translation: Translation, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    readiness, liveness = spec.get("readiness_probe"), spec.get("liveness_probe")
    if isinstance(readiness, dict) and isinstance(liveness, dict):
        translation.note(name, "readiness_probe: one health check here; the liveness probe is used")
    probe, restarts = (liveness, True) if isinstance(liveness, dict) else (readiness, False)
    if not isinstance(probe, dict):
        return {}
    health: dict[str, Any] = {}
    exec_probe, http = probe.get("exec"), probe.get("http_get")
    if isinstance(exec_probe, dict) and exec_probe.get("command"):
        health["exec"] = ["sh", "-c", _text(exec_probe["command"])]
    elif isinstance(http, dict) and http.get("port") is not None:
        scheme = str(http.get("scheme") or "http").lower()
        host = str(http.get("host") or "127.0.0.1")
        path = str(http.get("path") or "/")
        health["http"] = _text(f"{scheme}://{host}:{http['port']}{path if path.startswith('/') else '/' + path}")
    else:
        translation.note(name, "probe: neither exec nor http_get; not carried over")
        return {}
    timings = {"period_seconds": "interval", "timeout_seconds": "timeout", "initial_delay_seconds": "start_period"}
    for key, ours in timings.items():
        number = as_number(probe.get(key))
        if number is not None:
            health[ours] = seconds(number)
    retries = as_int(probe.get("failure_threshold"))
    if retries is not None:
        health["retries"] = retries
    if as_int(probe.get("success_threshold")) not in (None, 1):
        translation.note(name, "success_threshold: one passing check counts here")
    health["restart"] = restarts
    return health


def _availability(translation: Translation, name: str, spec: Any) -> dict[str, Any]:
    spec = spec if isinstance(spec, dict) else {}
    policy = str(spec.get("restart", "no"))
    restart: dict[str, Any] = {"policy": _RESTART.get(policy, "never")}
    if policy == "exit_on_failure":
        translation.note(name, "exit_on_failure: restarted on failure; the others are not stopped")
    elif policy not in _RESTART:
        translation.note(name, f"availability.restart {policy!r} unknown: never restarted")
    backoff = as_number(spec.get("backoff_seconds"))
    if backoff is not None:
        restart["backoff"] = {"initial": seconds(backoff), "factor": 1, "max": seconds(backoff)}
    max_restarts = as_int(spec.get("max_restarts"))
    if max_restarts:
        restart["max_retries"] = max_restarts
    return restart


def _shutdown(translation: Translation, name: str, spec: Any) -> dict[str, Any]:
    stop: dict[str, Any] = {}
    if not isinstance(spec, dict):
        return stop
    if spec.get("signal") is not None:
        number = as_int(spec["signal"])
        try:
            stop["signal"] = short_signal_name(number if number is not None else str(spec["signal"]))
        except ValueError:
            translation.note(name, f"shutdown.signal {spec['signal']!r}: no such signal here; TERM is sent")
    timeout = as_number(spec.get("timeout_seconds"))
    if timeout is not None:
        stop["timeout"] = seconds(timeout)
    if spec.get("parent_only") is True:
        stop["mode"] = "mixed"
    if spec.get("command"):
        translation.note(name, f"shutdown.command {spec['command']!r}: not carried over (the signal stops it)")
    return stop


def _schedule(translation: Translation, name: str, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        return {}
    schedule: dict[str, Any] = {}
    if spec.get("cron"):
        schedule["cron"] = str(spec["cron"])
        if spec.get("timezone"):
            schedule["timezone"] = str(spec["timezone"])
    elif spec.get("interval"):
        schedule["every"] = str(spec["interval"])
    else:
        translation.note(name, "schedule: neither cron nor interval; not carried over")
    for key in sorted(set(spec) - {"cron", "interval", "timezone"}):
        translation.note(name, f"schedule.{key}: not carried over")
    return schedule


def _strip_empty(translation: Translation) -> None:
    for body in translation.processes.values():
        for key in ("depends_on", "stop", "restart"):
            if body.get(key) == {}:
                del body[key]
