"""`sentinel export --format nomad`: Nomad jobs in the JSON of its job API (`{"Job": {...}}`, durations in
nanoseconds): one service job with a task group per service (Count: its replicas) and a `raw_exec` task, and a batch
job per scheduled process (`Periodic` for cron, `ParameterizedJob` for `schedule: manual`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from sentinel.config.loader import Loaded
from sentinel.config.models import Health, Process
from sentinel.reconcile.desired import argv_of
from sentinel.service.export import Exported, untranslated
from sentinel.signames import signal_name, signal_number

NANOSECONDS = 1_000_000_000
MEBIBYTE = 1 << 20
TRANSLATED = (
    "command", "shell", "env", "user", "replicas", "restart.policy", "restart.max_retries", "restart.backoff.initial",
    "restart.reset_after", "stop.signal", "stop.timeout", "limits.memory", "health.http", "health.tcp",
    "health.interval", "health.timeout", "schedule", "concurrency",
    "cwd", "env_file", "depends_on", "health.exec",  # each with a note of its own
)


def _ns(value: float) -> int:
    return round(value * NANOSECONDS)


def export_nomad(loaded: Loaded, job_name: str = "sentinel") -> Exported:
    """`JOB.nomad.json` for the services; `JOB-NAME.nomad.json` for each job."""
    exported = Exported()
    processes = loaded.config.processes
    groups = []
    for name in sorted(processes):
        process = processes[name]
        untranslated(exported, name, process, TRANSLATED, "nomad")
        for dependency in sorted(process.depends_on):
            exported.note(name, f"depends_on.{dependency}", "Nomad orders no task groups or jobs; left out")
        group = _group(exported, name, process)
        if not process.is_job:
            groups.append(group)
            continue
        batch = _job(f"{job_name}-{name}", "batch", [group])
        trigger = _trigger(exported, name, process)
        if trigger is None:
            continue
        batch.update(trigger)
        exported.files[f"{job_name}-{name}.nomad.json"] = _json(batch)
    if groups:
        exported.files[f"{job_name}.nomad.json"] = _json(_job(job_name, "service", groups))
    return exported


def _json(job: dict[str, Any]) -> bytes:
    return (json.dumps({"Job": job}, indent=2, ensure_ascii=False) + "\n").encode()


def _job(job_id: str, kind: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ID": job_id, "Name": job_id, "Type": kind, "Datacenters": ["*"], "TaskGroups": groups}


def _group(exported: Exported, name: str, process: Process) -> dict[str, Any]:
    argv = argv_of(process)
    instance = "${NOMAD_GROUP_NAME}.${NOMAD_ALLOC_INDEX}" if process.replicas > 1 else name
    task: dict[str, Any] = {
        "Name": name,
        "Driver": "raw_exec",
        "Config": {"command": argv[0], "args": list(argv[1:])},
        "Env": {"SENTINEL_INSTANCE": instance, **process.env},
        "KillSignal": signal_name(signal_number(process.stop.signal)),
        "KillTimeout": _ns(process.stop.timeout),
    }
    if process.user:
        task["User"] = process.user
    if process.limits.memory is not None:
        task["Resources"] = {"MemoryMB": max(1, -(-process.limits.memory // MEBIBYTE))}
    if process.cwd:
        exported.note(name, "cwd", "raw_exec runs in the task's directory; left out")
    if process.env_file:
        exported.note(name, "env_file", "Nomad reads no environment file here (use a template stanza); left out")
    restart = _restart(exported, name, process)
    group: dict[str, Any] = {"Name": name, "Count": process.replicas, "RestartPolicy": restart, "Tasks": [task]}
    if process.health is not None:
        _check(exported, name, process.health, group, task)
    return group


def _restart(exported: Exported, name: str, process: Process) -> dict[str, Any]:
    """Nomad restarts `Attempts` times within `Interval`, `Delay` apart; then waits (`delay`) or fails (`fail`)."""
    restart = process.restart
    delay = _ns(restart.backoff.initial)
    if restart.policy == "never":
        return {"Attempts": 0, "Interval": _ns(restart.reset_after), "Delay": delay, "Mode": "fail"}
    if restart.policy == "on-failure" and not process.is_job:
        exported.note(name, "restart.policy", "a Nomad service restarts on any exit: always")
    attempts = restart.max_retries if restart.max_retries is not None else 2
    interval = max(_ns(restart.reset_after), (attempts + 1) * delay)
    return {"Attempts": attempts, "Interval": interval, "Delay": delay,
            "Mode": "fail" if restart.max_retries is not None else "delay"}


def _check(exported: Exported, name: str, health: Health, group: dict[str, Any], task: dict[str, Any]) -> None:
    """A Nomad service with an http or tcp check on a static port; an exec check has no Nomad-provider form."""
    if health.exec is not None:
        exported.note(name, "health.exec", "the Nomad service provider has no script checks; left out")
        return
    address = urlsplit(health.http).netloc if health.http is not None else health.tcp or ""
    port = int(address.rsplit(":", 1)[1]) if ":" in address else 80
    check: dict[str, Any] = {"Name": f"{name}-health", "Type": "http" if health.http else "tcp",
                             "PortLabel": "health", "Interval": _ns(health.interval), "Timeout": _ns(health.timeout)}
    if health.http is not None:
        parts = urlsplit(health.http)
        check["Path"] = parts.path or "/"
        check["Protocol"] = parts.scheme
    group["Networks"] = [{"ReservedPorts": [{"Label": "health", "Value": port}]}]
    task["Services"] = [{"Name": name, "Provider": "nomad", "PortLabel": "health", "Checks": [check]}]


def _trigger(exported: Exported, name: str, process: Process) -> dict[str, Any] | None:
    """`Periodic` for cron (seconds first in a 7-field spec), `ParameterizedJob` for manual; None otherwise."""
    schedule = process.schedule
    assert schedule is not None
    if schedule.manual:
        return {"ParameterizedJob": {"Payload": "forbidden"}}
    if schedule.cron is None:
        field = "schedule.every" if schedule.every is not None else "schedule.at"
        exported.note(name, field, "Nomad's periodic jobs take cron only; no job written")
        return None
    fields = schedule.cron.split()
    spec = " ".join([*fields, "*"]) if len(fields) == 6 else schedule.cron
    periodic: dict[str, Any] = {"Enabled": True, "SpecType": "cron", "Spec": spec,
                                "ProhibitOverlap": process.concurrency != "allow"}
    if schedule.timezone:
        periodic["TimeZone"] = schedule.timezone
    if process.concurrency == "replace":
        exported.note(name, "concurrency", "Nomad cannot replace a running run: it skips the new one (forbid)")
    return {"Periodic": periodic}

