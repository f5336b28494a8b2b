"""`sentinel export --format launchd`: a property list per instance (launchd.plist(5) keys only): services kept
alive, jobs started by `StartCalendarInterval` (cron) or `StartInterval` (every). Rendered by
sentinel/service/plists.py."""

from __future__ import annotations

import os
from typing import Any

from sentinel.config.loader import Loaded
from sentinel.config.models import Process
from sentinel.instances import instance_names
from sentinel.reconcile.desired import argv_of
from sentinel.schedule.cron import cron_fields
from sentinel.service.export import Exported, program_path, untranslated
from sentinel.service.export.calendar import calendar_intervals
from sentinel.service.plists import render_plist

LABEL_PREFIX = "io.sentinelzero.process."
TRANSLATED = (
    "command", "shell", "cwd", "env", "user", "replicas", "restart.policy", "restart.backoff.initial",
    "stop.timeout", "limits.nofile", "schedule",
    "env_file", "stop.signal",  # each with a note of its own
)


def export_launchd(loaded: Loaded, *, home: str) -> Exported:
    """One plist per instance; their output goes to HOME/Library/Logs/SentinelZero/INSTANCE.log."""
    exported = Exported()
    processes = loaded.config.processes
    for name in sorted(processes):
        process = processes[name]
        untranslated(exported, name, process, TRANSLATED, "launchd")
        if process.env_file:
            exported.note(name, "env_file", "launchd reads no environment file; add its variables to "
                                            "EnvironmentVariables yourself")
        for instance in instance_names(name, process.replicas):
            job = _job(exported, name, instance, process, os.path.join(home, "Library", "Logs", "SentinelZero"))
            exported.files[f"{job['Label']}.plist"] = render_plist(job)
    return exported


def _job(exported: Exported, name: str, instance: str, process: Process, logs: str) -> dict[str, Any]:
    cwd = process.cwd or "/"
    job: dict[str, Any] = {
        "Label": f"{LABEL_PREFIX}{instance}",
        "ProgramArguments": list(program_path(argv_of(process), cwd)),
        "WorkingDirectory": cwd,
        "EnvironmentVariables": {"SENTINEL_INSTANCE": instance, **process.env},
    }
    if process.user:
        job["UserName"] = process.user
    if process.limits.nofile is not None:
        job["SoftResourceLimits"] = {"NumberOfFiles": process.limits.nofile}
    job["ExitTimeOut"] = max(1, round(process.stop.timeout))
    job["ThrottleInterval"] = max(1, round(process.restart.backoff.initial))
    if process.stop.signal != "TERM":
        exported.note(name, "stop.signal", "launchd always stops with SIGTERM")
    job.update(_triggers(exported, name, process))
    job["StandardOutPath"] = job["StandardErrorPath"] = os.path.join(logs, f"{instance}.log")
    return job


def _triggers(exported: Exported, name: str, process: Process) -> dict[str, Any]:
    """When launchd starts it: at load and kept alive (a service), on a calendar or an interval (a job)."""
    restart = process.restart.policy
    keep_alive: dict[str, Any] = {}
    if restart == "always":
        keep_alive = {"KeepAlive": True}
    elif restart == "on-failure":
        keep_alive = {"KeepAlive": {"SuccessfulExit": False}}
    schedule = process.schedule
    if schedule is None:
        return {"RunAtLoad": True, **keep_alive}
    if restart != "never":
        exported.note(name, "restart.policy", "a scheduled launchd job is not restarted; left out")
    if schedule.every is not None:
        return {"StartInterval": max(1, round(schedule.every))}
    if schedule.cron is not None:
        return _calendar(exported, name, schedule.cron, schedule.timezone)
    if schedule.at is not None:
        exported.note(name, "schedule.at", "launchd has no one-time start (only yearly calendars); no trigger")
    return {}  # manual, or an `at`: started on request only (`launchctl kickstart`)


def _calendar(exported: Exported, name: str, cron: str, timezone: str | None) -> dict[str, Any]:
    fields = cron_fields(cron)
    intervals = calendar_intervals(fields) if fields.plain else None
    if intervals is None:
        why = "uses L or #" if not fields.plain else "needs too many StartCalendarInterval entries"
        exported.note(name, "schedule.cron", f"{why}; no trigger")
        return {}
    if fields.seconds != (0,):
        exported.note(name, "schedule.cron", "launchd starts on whole minutes: the seconds field is left out")
    if timezone is not None:
        exported.note(name, "schedule.timezone", "launchd uses the system's time zone")
    return {"StartCalendarInterval": intervals if len(intervals) != 1 else intervals[0]}
