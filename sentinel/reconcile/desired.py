"""The desired state: a validated Config expanded into one `DesiredProcess` per instance.

Replicas become `web.0 … web.N-1` (`web` alone when there is one). Each instance carries the
digests the planner compares (docs/conventions.md#run-defining-fields): one per run-defining field
(docs/contract.md#reconcile-semantics: command, shell, each environment variable, cwd, user, limits.nofile) whose
change means a restart, one per file in `reload.watch` (a reload field: its change reloads the process), and one
per other setting, whose change is applied in place. Values are hashed, never kept, so a `diff` line
can name `env.API_TOKEN` without showing the secret. Pure.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sentinel.config.fields import split_command
from sentinel.config.models import Config, OnMissed, Process, Schedule, StopMode
from sentinel.config.models import Health as HealthCheck
from sentinel.instances import instance_names
from sentinel.reconcile.limits import LimitRule

# Fields of a process whose change restarts it (docs/contract.md#reconcile-semantics). Everything else is updated in
# place.
RUN_FIELDS = ("command", "shell", "env", "cwd", "user")
NOFILE = "limits.nofile"  # a run field too when set: a process takes its limits when it starts
# Reload fields: the digest of each file in `reload.watch` (`watch:nginx.conf`); a change reloads the process.
WATCH_PREFIX = "watch:"
# Fields that shape the instances rather than any one of them.
_NOT_SETTINGS = frozenset({*RUN_FIELDS, "env_file", "replicas", "hosts"})  # hosts: where, not how


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartRule:
    """The restart policy of one process, as numbers."""

    policy: str  # always | on-failure | never
    max_retries: int | None
    initial: float
    factor: float
    max_delay: float
    reset_after: float
    exit_codes: frozenset[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredProcess:
    """One instance the config asks for, with everything the runtime needs to start it."""

    name: str  # the instance: web, web.0
    process: str  # the config entry it comes from: web
    argv: tuple[str, ...]
    env: Mapping[str, str]  # env_file then env; the child gets the reconciler's environment under these
    cwd: str
    user: str | None
    group: str | None
    depends_on: Mapping[str, str]  # process → started | healthy | completed
    restart: RestartRule
    stop_signal: str
    stop_timeout: float
    stop_mode: StopMode  # group | main | mixed
    reload_signal: str | None  # `reload: {signal: HUP}`
    reload_argv: tuple[str, ...] | None  # `reload: {command: …}`
    nofile: int | None  # `limits.nofile`: the soft open-file limit it starts with
    log_max_size: int
    log_keep: int
    is_job: bool
    health: HealthCheck | None  # the check to run while it runs, if any
    restart_dependents: bool  # restart the processes that depend on this one after it restarts
    limits: LimitRule
    schedule: Schedule | None  # set for a job
    concurrency: str  # jobs: forbid | allow | replace
    run_timeout: float | None  # jobs: a run longer than this is stopped
    on_missed: OnMissed  # jobs: run-once | skip
    keep_runs: int  # jobs: run history kept
    spec_hash: str
    digests: Mapping[str, str]  # field path → digest, run fields, settings and watched files alike

    @property
    def reloads(self) -> bool:
        """It has a `reload:` way (a signal or a command)."""
        return self.reload_signal is not None or self.reload_argv is not None


Desired = Mapping[str, DesiredProcess]


def reuse_unchanged(previous: Desired, new: dict[str, DesiredProcess]) -> dict[str, DesiredProcess]:
    """`new`, with each instance equal to the one in `previous` replaced by that one: what runs keeps the spec it
    was started from, so an edit that leaves an instance as it was holds one copy of it, not two (memory)."""
    return {name: old if (old := previous.get(name)) == spec else spec for name, spec in new.items()}


def expand(config: Config, env_files: Mapping[str, Mapping[str, str]] | None = None,
           watched: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, DesiredProcess]:
    """Every instance of every process in `config`, keyed by instance name, in name order. `watched`:
    process → {file in `reload.watch`: digest of its content} (read by `config.loader`)."""
    env_files, watched = env_files or {}, watched or {}
    settings: dict[str, dict[str, str]] = {}  # setting digests by the settings they hash (`setting_digests`)
    out: dict[str, DesiredProcess] = {}
    for name in sorted(config.processes):
        process = config.processes[name]
        for instance in instance_names(name, process.replicas):
            out[instance] = _instance(instance, name, process, env_files.get(name, {}), watched.get(name, {}),
                                      settings=settings)
    return out


def argv_of(process: Process) -> tuple[str, ...]:
    if process.shell:
        text = process.command if isinstance(process.command, str) else shlex.join(process.command)
        return ("/bin/sh", "-c", text)
    return tuple(split_command(process.command))


def run_digests(process: Process, env_file: Mapping[str, str]) -> dict[str, str]:
    """Digests of the run-defining fields: a change to any of them restarts the process."""
    env = {**env_file, **process.env}
    digests = {
        "command": digest(list(argv_of(process))),
        "shell": digest(process.shell),
        "cwd": digest(process.cwd),
        "user": digest(process.user),
    }
    digests.update({f"env.{key}": digest(value) for key, value in env.items()})
    if process.limits.nofile is not None:  # only when set: records written before it existed stay equal
        digests[NOFILE] = digest(process.limits.nofile)
    return digests


def setting_digests(process: Process, known: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """Digests of every other leaf setting (restart.max_retries, logs.keep, …): applied in place.

    `known`: the digests already made for other processes, by the settings they hash; most processes share
    their settings (the defaults), so each distinct set is hashed leaf by leaf once (cold start,
    docs/limitations.md). Read only: the dict returned may be one of them."""
    dumped = process.model_dump(mode="json", exclude=set(_NOT_SETTINGS))
    if known is None:
        return _leaf_digests(dumped)
    settings = _json(dumped)
    found = known.get(settings)
    if found is None:
        found = known[settings] = _leaf_digests(dumped)
    return found


def changed_fields(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[str, ...]:
    """Field paths whose digest differs, or that exist on one side only, sorted."""
    return tuple(sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key)))


def is_run_field(path: str) -> bool:
    return path.split(".", 1)[0] in RUN_FIELDS or path == NOFILE


def reload_fields(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[str, ...]:
    """The watched files whose content changed, sorted (`nginx.conf`). A file that only starts being
    watched is no change: its process already runs with whatever it read."""
    return tuple(sorted(key.removeprefix(WATCH_PREFIX) for key in old.keys() & new.keys()
                        if key.startswith(WATCH_PREFIX) and old[key] != new[key]))


def digest(value: Any) -> str:
    return hashlib.sha256(_json(value).encode()).hexdigest()[:16]


def _json(value: Any) -> str:
    """The one JSON text of `value` that its digest hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _leaf_digests(dumped: dict[str, Any]) -> dict[str, str]:
    return {path: digest(value) for path, value in _leaves(dumped, "") if path != NOFILE}


def _leaves(value: Any, prefix: str) -> list[tuple[str, Any]]:
    """Dotted leaf paths and values; an unset (None) or empty mapping has no leaves, so setting one
    names only what it sets (`depends_on.db`, not also `depends_on`)."""
    if isinstance(value, dict):
        pairs: list[tuple[str, Any]] = []
        for key in sorted(value):
            pairs.extend(_leaves(value[key], f"{prefix}.{key}" if prefix else key))
        return pairs
    return [] if value is None else [(prefix, value)]


def _instance(instance: str, name: str, process: Process, env_file: Mapping[str, str],
              watched: Mapping[str, str], *, settings: dict[str, dict[str, str]]) -> DesiredProcess:
    runs = run_digests(process, env_file)
    reload = process.reload
    restart = process.restart
    return DesiredProcess(
        name=instance,
        process=name,
        argv=argv_of(process),
        env={**env_file, **process.env},
        cwd=process.cwd or ".",
        user=process.user,
        group=process.group,
        depends_on=dict(process.depends_on),
        restart=RestartRule(
            policy=restart.policy,
            max_retries=restart.max_retries,
            initial=restart.backoff.initial,
            factor=restart.backoff.factor,
            max_delay=restart.backoff.max,
            reset_after=restart.reset_after,
            exit_codes=frozenset(restart.exit_codes),
        ),
        stop_signal=process.stop.signal,
        stop_timeout=process.stop.timeout,
        stop_mode=process.stop.mode,
        reload_signal=reload.signal if reload is not None else None,
        reload_argv=tuple(split_command(reload.command)) if reload is not None and reload.command else None,
        nofile=process.limits.nofile,
        log_max_size=process.logs.max_size,
        log_keep=process.logs.keep,
        is_job=process.is_job,
        health=process.health,
        restart_dependents=process.restart_dependents,
        limits=LimitRule(memory=process.limits.memory, cpu=process.limits.cpu, cpu_window=process.limits.cpu_window),
        schedule=process.schedule,
        concurrency=process.concurrency or "forbid",
        run_timeout=process.timeout,
        on_missed=process.on_missed or "run-once",
        keep_runs=process.keep_runs or 20,
        spec_hash=digest(runs),
        digests={**runs, **setting_digests(process, settings), **{f"{WATCH_PREFIX}{path}": value
                                                         for path, value in watched.items()}},
    )
