"""Pydantic models of a resolved `sentinel.yaml` (docs/contract.md#the-config-language): what the user asked for,
validated.

These are the spec types: frozen, unknown keys forbidden, every value already parsed
(durations in seconds, sizes in bytes). They hold user input only; derived values (replica
names, argv, spec hashes) belong to the planner's own types. Built by
`sentinel.config.loader` after includes, environments, templates, defaults and
interpolation have been applied, so `extends`, `templates` and friends do not appear here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sentinel.config.fields import (
    Command,
    Duration,
    EnvName,
    EnvValue,
    EveryDuration,
    FieldProblem,
    Name,
    Percent,
    PositiveDuration,
    ProbeCommand,
    SignalName,
    Size,
    TextList,
    split_command,
)
from sentinel.config.hosts import HOSTNAME_MAX, SELECTOR_ITEMS_MAX, check_selector_item
from sentinel.config.validators import (
    AT_EARLIEST,
    AT_LATEST,
    check_at,
    check_cron,
    check_host_port,
    check_http_url,
    check_timezone,
    is_loopback,
)
from sentinel.logsettings import LogFormat, LogLevel

KEEP_MAX = 1000  # rotated log files of one process (docs/limitations.md)
RestartPolicy = Literal["always", "on-failure", "never"]
DependencyCondition = Literal["started", "healthy", "completed"]
Concurrency = Literal["forbid", "allow", "replace"]
OnMissed = Literal["run-once", "skip"]
StopMode = Literal["group", "main", "mixed"]
NOFILE_MAX = 1 << 30  # limits.nofile: the kernel's own ceiling (fs.nr_open) is far below this

HOSTS_DESCRIPTION = (
    "where this runs: hostname globs (web-*, db-[12]) and KEY=GLOB label items (role=web); on a host when any "
    "item matches; elsewhere it is left out, as if not declared")


def _one_or_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


HostSelector = Annotated[
    list[Annotated[str, AfterValidator(check_selector_item)]],
    BeforeValidator(_one_or_list),
    Field(min_length=1, max_length=SELECTOR_ITEMS_MAX),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": HOSTNAME_MAX},
                              {"type": "array", "minItems": 1, "maxItems": SELECTOR_ITEMS_MAX,
                               "items": {"type": "string", "maxLength": HOSTNAME_MAX}}]}),
]

JOB_DEFAULTS: dict[str, Any] = {"concurrency": "forbid", "on_missed": "run-once", "keep_runs": 20}


def _exactly_one(model: BaseModel, names: tuple[str, ...]) -> None:
    found = [name for name in names if getattr(model, name) is not None]
    if len(found) != 1:
        listed = ", ".join(found) or "none"
        raise ValueError(f"needs exactly one of {', '.join(names[:-1])} or {names[-1]} (found {listed})")


class Spec(BaseModel):
    """Base of every config model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Backoff(Spec):
    initial: Duration = Field(1.0, description="delay before the first restart")
    factor: float = Field(
        2.0, ge=1.0, le=100.0, allow_inf_nan=False, description="each further delay is the previous one times this"
    )
    max: Duration = Field(60.0, description="the longest delay")

    @model_validator(mode="after")
    def _max_not_below_initial(self) -> Backoff:
        if self.max < self.initial:
            raise FieldProblem("max", "must not be shorter than initial")
        return self


class Restart(Spec):
    policy: RestartPolicy = Field("always", description="services default to always, jobs to never")
    max_retries: int | None = Field(
        None, ge=0, le=1_000_000, description="restarts after consecutive failures before `failed`; null = forever"
    )
    backoff: Backoff = Backoff()
    reset_after: Duration = Field(60.0, description="a run this long clears the failure count")
    exit_codes: list[Annotated[int, Field(ge=0, le=255)]] = Field([0], description="exit codes that are not failures")


class Stop(Spec):
    signal: SignalName = Field("TERM", description="sent first, to what `mode` says")
    timeout: Duration = Field(10.0, description="then SIGKILL after this long")
    mode: StopMode = Field(
        "group", description="group: the signal to every process of the tree; mixed: to the main process only, "
        "SIGKILL to everything left after the timeout; main: to the main process only, SIGKILL to everything "
        "left once it has exited (or after the timeout)")


class Reload(Spec):
    signal: SignalName | None = Field(None, description="reload by sending this signal to the main process")
    command: Command | None = Field(None, description="or by running this command (argv; split like a shell)")
    watch: TextList = Field([], description="files (relative to cwd) whose change reloads the process")

    @model_validator(mode="after")
    def _one_way(self) -> Reload:
        if (self.signal is None) == (self.command is None):
            raise ValueError("needs exactly one of signal or command")
        if self.command is not None:
            try:
                split_command(self.command)
            except ValueError as exc:
                raise FieldProblem("command", str(exc)) from None
        return self


class Limits(Spec):
    memory: Size | None = Field(None, description="resident memory of the whole process tree")
    cpu: Percent | None = Field(None, description="CPU of the whole process tree, averaged over cpu_window")
    cpu_window: PositiveDuration = 30.0
    nofile: int | None = Field(
        None, ge=1, le=NOFILE_MAX, description="soft open-file limit (RLIMIT_NOFILE) of the process, at most the "
        "hard limit; default: the soft limit the reconciler started with")


class Logs(Spec):
    max_size: Size = Field(10_000_000, gt=0, description="rotate the log file at this size")
    keep: int = Field(5, ge=1, le=KEEP_MAX, description=f"rotated files kept, 1 to {KEEP_MAX}")


class Health(Spec):
    http: str | None = Field(None, description="healthy when a GET answers 2xx (or expect_status)")
    tcp: str | None = Field(None, description="host:port; healthy when it accepts a connection")
    exec: ProbeCommand | None = Field(None, description="healthy when the command exits 0")
    expect_status: int | None = Field(None, ge=100, le=599)
    interval: PositiveDuration = 10.0
    timeout: PositiveDuration = 1.0
    retries: int = Field(3, ge=1, le=1000, description="consecutive failures before unhealthy")
    start_period: Duration = Field(
        30.0, description="until a check first passes, failures during this time after start do not count")
    restart: bool = Field(True, description="restart when unhealthy; false only reports")

    @field_validator("http")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("tcp")
    @classmethod
    def _tcp_address(cls, value: str | None) -> str | None:
        return None if value is None else check_host_port(value)

    @model_validator(mode="after")
    def _exactly_one_probe(self) -> Health:
        _exactly_one(self, ("http", "tcp", "exec"))
        if self.expect_status is not None and self.http is None:
            raise FieldProblem("expect_status", "applies to http checks only")
        return self


def _manual_in_schema(schema: dict[str, Any]) -> None:
    """`schedule: manual` is written as a string; the model holds it as `Schedule(manual=True)`."""
    schema["anyOf"] = [{"const": "manual"}, *schema.get("anyOf", [])]


class Schedule(Spec):
    cron: str | None = Field(None, description="5 fields, or 6 with seconds first; or @daily, @hourly, …")
    every: EveryDuration | None = None
    at: dt.datetime | None = Field(
        None, description=f"run once at this time (ISO 8601), from {AT_EARLIEST:%Y-%m-%d} to {AT_LATEST:%Y-%m-%d}",
        json_schema_extra={"formatMinimum": f"{AT_EARLIEST:%Y-%m-%dT%H:%M:%S}Z",
                           "formatMaximum": f"{AT_LATEST:%Y-%m-%dT%H:%M:%S}Z"},
    )
    timezone: str | None = Field(None, description="for cron and a naive at; default: the system's")
    manual: Literal[True] | None = Field(None, description="run only on request (`sentinel run`); "
                                                           "written `schedule: manual`")

    @field_validator("cron")
    @classmethod
    def _cron_expression(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("at")
    @classmethod
    def _representable_time(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else check_at(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @model_validator(mode="after")
    def _exactly_one_trigger(self) -> Schedule:
        _exactly_one(self, ("cron", "every", "at", "manual"))
        if self.timezone is not None and self.every is None and self.at is None and self.cron is None:
            raise FieldProblem("timezone", "applies to cron and at, not manual")
        if self.timezone is not None and self.every is not None:
            raise FieldProblem("timezone", "applies to cron and at, not every")
        return self


class Process(Spec):
    command: Command = Field(description="string (split like a shell, never run by one) or argv list")
    shell: bool = Field(False, description="run the command string with /bin/sh -c")
    cwd: str | None = Field(None, description="relative to the file that declares it")
    env: dict[EnvName, EnvValue] = {}
    env_file: TextList = Field([], description="dotenv files, relative to the file that declares them")
    group: Name | None = None
    hosts: HostSelector | None = Field(None, description=HOSTS_DESCRIPTION)
    user: str | None = Field(None, description="run as this user (the reconciler must run as root)")
    replicas: int = Field(1, ge=0, le=1000, description="instances NAME.0 … NAME.N-1")
    depends_on: dict[Name, DependencyCondition] = Field({}, description="process → started | healthy | completed")
    health: Health | None = None
    restart_dependents: bool = False
    restart: Restart = Restart()
    stop: Stop = Stop()
    reload: Reload | None = Field(None, description="how to reload it: {signal: HUP} or {command: …}; watch: files")
    limits: Limits = Limits()
    logs: Logs = Logs()
    schedule: Schedule | None = Field(None, description="makes this process a job; `manual`: it runs only on request",
                                     json_schema_extra=_manual_in_schema)
    concurrency: Concurrency | None = Field(None, description="jobs: forbid (default) | allow | replace")
    timeout: PositiveDuration | None = Field(None, description="jobs: a run longer than this is stopped")
    on_missed: OnMissed | None = Field(None, description="jobs: run-once (default) | skip")
    keep_runs: int | None = Field(None, ge=1, le=10_000, description="jobs: run history kept (default 20)")

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: Any) -> Any:
        """Jobs (with `schedule`) default to restart policy `never`, services to `always`."""
        if not isinstance(data, dict) or "schedule" not in data or data["schedule"] is None:
            return data
        data = dict(data)
        restart = data.get("restart")
        if restart is None:
            data["restart"] = {"policy": "never"}
        elif isinstance(restart, dict) and "policy" not in restart:
            data["restart"] = {**restart, "policy": "never"}
        for key, default in JOB_DEFAULTS.items():
            if data.get(key) is None:
                data[key] = default
        return data

    @field_validator("schedule", mode="before")
    @classmethod
    def _manual_schedule(cls, value: Any) -> Any:
        return {"manual": True} if value == "manual" else value

    @field_validator("depends_on", mode="before")
    @classmethod
    def _names_mean_started(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {name: "started" for name in value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Process:
        if self.shell and isinstance(self.command, list):
            raise FieldProblem("command", "must be a string when shell is true")
        if not self.shell:
            try:
                split_command(self.command)
            except ValueError as exc:
                raise FieldProblem("command", str(exc)) from None
        if self.schedule is None:
            for key in ("concurrency", "timeout", "on_missed", "keep_runs"):
                if getattr(self, key) is not None:
                    raise FieldProblem(key, "applies to jobs only (processes with a schedule)")
        return self

    @property
    def is_job(self) -> bool:
        return self.schedule is not None


class Tls(Spec):
    cert: str = Field(description="the server's certificate (PEM; the chain after it; relative to this file)")
    key: str = Field(description="its private key (PEM, not encrypted)")


class Api(Spec):
    listen: str | None = Field(
        None, description="host:port for the TCP API too (bearer token required; beyond loopback: tls or insecure)")
    token_file: str | None = Field(
        None,
        description="the token for TCP (a path relative to this file); made (random, mode 0600) if missing; "
                    "default ~/.config/sentinel/token")
    read_token_file: str | None = Field(
        None, description="a second, read-only token for TCP: GET only; created like token_file if missing")
    tls: Tls | None = Field(None, description="serve HTTPS (and WSS) on api.listen")
    insecure: bool = Field(
        False, description="allow plain HTTP on a non-loopback api.listen (tokens then cross the network in clear)")

    @field_validator("listen")
    @classmethod
    def _listen_address(cls, value: str | None) -> str | None:
        return None if value is None else check_host_port(value)

    @model_validator(mode="after")
    def _loopback_or_tls(self) -> Api:
        if self.listen is not None and self.tls is None and not self.insecure and not is_loopback(self.listen):
            raise FieldProblem("listen", "is not a loopback address: add tls: {cert: ..., key: ...}, or "
                                         "insecure: true to send tokens over the network in clear")
        return self


class ReconcilerLog(Logs):
    """The reconciler's own log: stderr in the foreground, `sentinel.log` when detached (rotated like
    a process's log)."""

    format: LogFormat = Field(
        "auto", description="console (aligned, coloured on a terminal), logfmt, json; auto: console on a "
        "terminal, logfmt elsewhere; `sentinel up --log-format` overrides it")
    level: LogLevel = Field(
        "info", description="the least severe lines written; debug adds tracebacks")


NotifyEvent = Literal["failed", "unhealthy", "recovered", "backoff", "job_failed", "job_succeeded", "config_error",
                      "config_applied"]
NotifyFormat = Literal["json", "slack"]
NOTIFY_DEFAULT_EVENTS: list[NotifyEvent] = ["failed", "unhealthy", "recovered", "job_failed", "config_error"]
NOTIFY_TIMEOUT_MAX = 60.0  # seconds one request may take
NOTIFY_RETRY_FOR_MAX = 86_400.0  # a notification is retried for at most a day


class NotifyTarget(Spec):
    name: Name | None = Field(None, description="how events, metrics and `sentinel notify test` name it "
                                               "(default: notify[INDEX])")
    url: str = Field(description="http:// or https:// URL the notifications are POSTed to; it may hold a "
                                 "token (Slack's do): it is never printed")
    events: list[NotifyEvent] = Field(
        NOTIFY_DEFAULT_EVENTS, min_length=1, description="what it is told about (default: failed, unhealthy, "
        "recovered, job_failed, config_error)")
    processes: list[Name] = Field([], description="only these processes (with groups: either matches; "
                                                 "default: every process; config events always pass)")
    groups: list[Name] = Field([], description="only the processes of these groups")
    format: NotifyFormat = Field("json", description="json: the event as JSON; slack: Slack's incoming-webhook shape")
    secret_file: str | None = Field(None, description="HMAC-SHA256 key for X-Sentinel-Signature (a path relative to "
                                                      "this file; its whole content, a final newline removed)")
    timeout: PositiveDuration = Field(5.0, description=f"one request's limit, up to {NOTIFY_TIMEOUT_MAX:g}s")
    retry_for: Duration = Field(300.0, description="retried with exponential backoff for this long, up to "
                                                   f"{NOTIFY_RETRY_FOR_MAX:g}s (24h)")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("timeout")
    @classmethod
    def _timeout_in_range(cls, value: float) -> float:
        if value > NOTIFY_TIMEOUT_MAX:
            raise ValueError(f"must be at most {NOTIFY_TIMEOUT_MAX:g}s")
        return value

    @field_validator("retry_for")
    @classmethod
    def _retry_for_in_range(cls, value: float) -> float:
        if value > NOTIFY_RETRY_FOR_MAX:
            raise ValueError(f"must be at most {NOTIFY_RETRY_FOR_MAX:g}s (24h)")
        return value


class Group(Spec):
    """A group's settings, for every process with `group: NAME`."""

    hosts: HostSelector | None = Field(None, description=HOSTS_DESCRIPTION + " (with all its processes)")


class Source(Spec):
    """A git repository as the desired state (docs/gitops.md): the reconciler fetches it and applies `path`."""

    git: str = Field(description="the repository's URL (https://, ssh://, user@host:path, file://); "
                                 "fetched with the `git` command and the user's own credentials")
    ref: str = Field("main", description="the branch, tag or commit to run")
    path: str = Field("sentinel.yaml", description="the file to load in the repository; placeholders "
                                                    "{hostname}, {short_hostname}")
    interval: PositiveDuration = Field(60.0, description="how often to fetch (also `sentinel sync`)")
    timeout: PositiveDuration = Field(120.0, description="a git command running longer than this is stopped")
    require_signed: bool = Field(False, description="apply only commits signed by a key of allowed_signers")
    allowed_signers: str | None = Field(
        None, description="ssh allowed-signers file (git's gpg.ssh.allowedSignersFile), relative to this file")

    @field_validator("git", "ref")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip() or value.startswith("-"):
            raise ValueError("must not be empty or start with '-'")
        return value

    @field_validator("path")
    @classmethod
    def _path_inside(cls, value: str) -> str:
        from sentinel.config.gitpath import path_problem

        problem = path_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _signers_given(self) -> Source:
        if self.require_signed and self.allowed_signers is None:
            raise FieldProblem("require_signed", "needs allowed_signers: the file of the keys that may sign")
        return self


class Config(Spec):
    version: Literal[1] = 1
    processes: dict[Name, Process] = {}
    groups: dict[Name, Group] = Field({}, description="group name → its settings (hosts:)")
    api: Api | None = None
    log: ReconcilerLog | None = Field(None, description="the reconciler's own log (read when it starts)")
    notify: list[NotifyTarget] = Field([], description="webhooks told about failures, recoveries, job runs and "
                                                       "config changes (README.md#notifications)")
    source: Source | None = Field(None, description="take the processes from a git repository (a bootstrap file: "
                                                    "it declares no processes itself; docs/gitops.md)")

    @model_validator(mode="after")
    def _source_alone(self) -> Config:
        if self.source is not None and self.processes:
            raise FieldProblem("processes", "a file with source: declares no processes: they come from the "
                                            "repository (docs/gitops.md)")
        return self
