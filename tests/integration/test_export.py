"""`sentinel export` black-box (docs/service.md#export): systemd units that `systemd-analyze verify` accepts, plists
with launchd.plist(5)'s keys only, Nomad job JSON with the job API's field names, and every field a format cannot
express named on stderr."""

from __future__ import annotations

import datetime as dt
import json
import os
import plistlib
import re
import stat
import subprocess
import sys
from contextlib import chdir
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sentinel.cli.main import cli
from sentinel.config.models import Schedule
from sentinel.schedule.cron import cron_fields
from sentinel.schedule.next_run import next_run
from sentinel.service.export.calendar import on_calendar
from tests.support.launchd_keys import LAUNCHD_KEYS

CONFIG = """\
processes:
  db:
    command: sleep 1000
    health: {tcp: "127.0.0.1:5432"}
    limits: {memory: 100MB, cpu: 50%, nofile: 4096}
    env_file: [db.env]
  web:
    command: [PYTHON, -m, http.server, "8080"]
    replicas: 2
    env: {API_TOKEN: "s3cret-value", MODE: "a b$$c%d"}
    depends_on: {db: healthy}
    health: {http: "http://127.0.0.1:8080/health", interval: 5s}
    stop: {signal: INT, timeout: 20s}
    reload: {signal: HUP}
    restart: {exit_codes: [0, 3]}
  backup:
    command: [/bin/sh, -c, "echo backup $$1"]
    schedule: {cron: "30 2 * * 1-5", timezone: Europe/Paris}
    concurrency: replace
    timeout: 1h
  tick:
    command: /bin/true
    schedule: {every: 5m}
  once:
    command: /bin/true
    schedule: manual
"""
# Field names of Nomad's job API (developer.hashicorp.com/nomad/api-docs/json-jobs) that an export may use.
NOMAD_FIELDS = frozenset({
    "Job", "ID", "Name", "Type", "Datacenters", "TaskGroups", "Periodic", "ParameterizedJob", "Count",
    "RestartPolicy", "Tasks", "Networks", "Attempts", "Interval", "Delay", "Mode", "Driver", "Config", "Env",
    "KillSignal", "KillTimeout", "User", "Resources", "MemoryMB", "Services", "Provider", "PortLabel", "Checks",
    "Timeout", "Path", "Protocol", "ReservedPorts", "Label", "Value", "Enabled", "SpecType", "Spec",
    "ProhibitOverlap", "TimeZone", "Payload",
})


def _export(tmp_path: Path, *args: str) -> Result:
    config = tmp_path / "sentinel.yaml"
    if not config.exists():
        config.write_text(CONFIG.replace("PYTHON", sys.executable))
        (tmp_path / "db.env").write_text("DB_PASSWORD=hunter2\n")
    with chdir(tmp_path):
        return CliRunner().invoke(cli, ["export", *args], catch_exceptions=False)


def test_systemd_units_verify_and_the_rest_is_named(tmp_path: Path) -> None:
    result = _export(tmp_path, "--format", "systemd", "-o", "units")
    assert result.exit_code == 0, result.stderr
    units = tmp_path / "units"
    names = sorted(path.name for path in units.iterdir())
    assert names == ["sentinel-backup.service", "sentinel-backup.timer", "sentinel-db.service",
                     "sentinel-once.service", "sentinel-tick.service", "sentinel-tick.timer",
                     "sentinel-web.0.service", "sentinel-web.1.service"]
    verify = subprocess.run(["systemd-analyze", "verify", *sorted(str(path) for path in units.iterdir())],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    assert "sentinel-" not in verify.stderr, verify.stderr
    assert result.stderr.splitlines() == [
        "systemd: backup: concurrency: not expressible in systemd; left out",
        "systemd: db: health: not expressible in systemd; left out",
        "systemd: db: limits.cpu: not expressible in systemd; left out",
        "systemd: db: limits.memory: MemoryMax=: the kernel kills the process over it (sentinel restarts it)",
        "systemd: web: health: not expressible in systemd; left out",
        "systemd: web: depends_on.db: systemd cannot wait for health: ordered after it starts",
    ]
    timer = (units / "sentinel-backup.timer").read_text().splitlines()
    assert "OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00 Europe/Paris" in timer
    assert "OnUnitActiveSec=300s" in (units / "sentinel-tick.timer").read_text().splitlines()
    web = (units / "sentinel-web.1.service").read_text().splitlines()
    for line in ('Environment="MODE=a b$c%%d"', 'Environment="SENTINEL_INSTANCE=web.1"', "KillSignal=SIGINT",
                 "After=sentinel-db.service", "SuccessExitStatus=0 3", "ExecReload=/bin/kill -HUP $MAINPID"):
        assert line in web
    assert stat.S_IMODE((units / "sentinel-web.1.service").stat().st_mode) == 0o600  # it holds API_TOKEN
    assert stat.S_IMODE((units / "sentinel-tick.service").stat().st_mode) == 0o644
    backup = (units / "sentinel-backup.service").read_text().splitlines()
    assert 'ExecStart=/bin/sh -c "echo backup $$1"' in backup and "TimeoutStartSec=3600s" in backup
    assert f"EnvironmentFile={tmp_path / 'db.env'}" in (units / "sentinel-db.service").read_text().splitlines()


def test_launchd_plists_carry_documented_keys(tmp_path: Path) -> None:
    result = _export(tmp_path, "--format", "launchd", "-o", "plists")
    assert result.exit_code == 0, result.stderr
    jobs = {path.name: plistlib.loads(path.read_bytes()) for path in (tmp_path / "plists").iterdir()}
    assert sorted(jobs) == [f"io.sentinelzero.process.{name}.plist"
                            for name in ("backup", "db", "once", "tick", "web.0", "web.1")]
    for job in jobs.values():
        assert set(job) <= LAUNCHD_KEYS, set(job) - LAUNCHD_KEYS
    backup = jobs["io.sentinelzero.process.backup.plist"]
    assert backup["StartCalendarInterval"] == [{"Weekday": day, "Hour": 2, "Minute": 30} for day in range(1, 6)]
    assert jobs["io.sentinelzero.process.tick.plist"]["StartInterval"] == 300
    web = jobs["io.sentinelzero.process.web.0.plist"]
    assert (web["KeepAlive"], web["RunAtLoad"], web["ExitTimeOut"]) == (True, True, 20)
    assert web["EnvironmentVariables"]["SENTINEL_INSTANCE"] == "web.0"
    assert jobs["io.sentinelzero.process.db.plist"]["SoftResourceLimits"] == {"NumberOfFiles": 4096}
    once = jobs["io.sentinelzero.process.once.plist"]
    assert "RunAtLoad" not in once and "StartInterval" not in once  # started on request: launchctl kickstart
    assert result.stderr.splitlines() == [
        "launchd: backup: concurrency: not expressible in launchd; left out",
        "launchd: backup: timeout: not expressible in launchd; left out",
        "launchd: backup: schedule.timezone: launchd uses the system's time zone",
        "launchd: db: health: not expressible in launchd; left out",
        "launchd: db: limits.cpu: not expressible in launchd; left out",
        "launchd: db: limits.memory: not expressible in launchd; left out",
        "launchd: db: env_file: launchd reads no environment file; add its variables to EnvironmentVariables "
        "yourself",
        "launchd: web: depends_on: not expressible in launchd; left out",
        "launchd: web: health: not expressible in launchd; left out",
        "launchd: web: reload: not expressible in launchd; left out",
        "launchd: web: restart.exit_codes: not expressible in launchd; left out",
        "launchd: web: stop.signal: launchd always stops with SIGTERM",
    ]


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = set(value)
        for key, item in value.items():
            if key not in ("Env", "Config"):  # their keys are the process's variables and the driver's options
                found |= _keys(item)
        return found
    if isinstance(value, list):
        return set().union(*(_keys(item) for item in value)) if value else set()
    return set()


def test_nomad_jobs_use_the_job_api_names_and_secrets_stay_off_the_terminal(tmp_path: Path) -> None:
    result = _export(tmp_path, "--format", "nomad")
    assert result.exit_code == 0, result.stderr
    assert "s3cret-value" not in result.stdout
    files: dict[str, Any] = {}
    for chunk in result.stdout.split("==> ")[1:]:
        name, text = chunk.split(" <==\n", 1)
        files[name] = json.loads(text)
    assert sorted(files) == ["sentinel-backup.nomad.json", "sentinel-once.nomad.json", "sentinel.nomad.json"]
    for job in files.values():
        assert _keys(job) <= NOMAD_FIELDS, _keys(job) - NOMAD_FIELDS
    services = files["sentinel.nomad.json"]["Job"]
    assert services["Type"] == "service"
    web = next(group for group in services["TaskGroups"] if group["Name"] == "web")
    assert web["Count"] == 2 and web["Tasks"][0]["Env"]["API_TOKEN"] == "***"
    assert web["Tasks"][0]["KillTimeout"] == 20 * 10**9
    assert web["Tasks"][0]["Services"][0]["Checks"][0]["Path"] == "/health"
    backup = files["sentinel-backup.nomad.json"]["Job"]
    assert backup["Periodic"] == {"Enabled": True, "SpecType": "cron", "Spec": "30 2 * * 1-5",
                                  "ProhibitOverlap": True, "TimeZone": "Europe/Paris"}
    assert files["sentinel-once.nomad.json"]["Job"]["ParameterizedJob"] == {"Payload": "forbidden"}
    notes = result.stderr.splitlines()
    assert "nomad: tick: schedule.every: Nomad's periodic jobs take cron only; no job written" in notes
    assert "nomad: web: depends_on.db: Nomad orders no task groups or jobs; left out" in notes
    assert "nomad: db: limits.cpu: not expressible in nomad; left out" in notes
    shown = _export(tmp_path, "--format", "nomad", "--show-secrets")
    assert "s3cret-value" in shown.stdout


def test_a_bad_output_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    result = _export(tmp_path, "--format", "nomad", "-o", "taken")
    assert result.exit_code == 1
    assert result.stderr == "taken: cannot write: File exists\n"


def _systemd_elapses(values: list[str], count: int) -> list[dt.datetime]:
    """The next `count` times systemd's calendar parser gives for these OnCalendar= values together."""
    shown = subprocess.run(["systemd-analyze", "calendar", "--iterations", str(count), *values],
                           capture_output=True, text=True, check=True, env={**os.environ, "TZ": "UTC"}).stdout
    found = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", shown)
    return sorted({dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC) for text in found})[:count]


def _sentinel_runs(expression: str, after: dt.datetime, count: int) -> list[dt.datetime]:
    schedule = Schedule(cron=expression, timezone="UTC")
    runs: list[dt.datetime] = []
    while len(runs) < count:
        found = next_run(schedule, runs[-1] if runs else after, system_tz=dt.UTC)
        assert found is not None
        runs.append(found)
    return runs


@pytest.mark.parametrize("expression", ["30 2 * * 1-5", "0 0 1,15 * 0", "15 */10 * * * *", "0 9,17 * 2-4 *"])
def test_on_calendar_elapses_when_sentinel_runs(expression: str) -> None:
    """systemd itself parses the OnCalendar= values and names the same next five runs as sentinel's scheduler."""
    values = on_calendar(cron_fields(expression), "UTC")
    for _ in range(2):  # a run falling due between the two looks at the clock: look again
        now = dt.datetime.now(dt.UTC)
        if _systemd_elapses(values, 5) == _sentinel_runs(expression, now, 5):
            return
    assert _systemd_elapses(values, 5) == _sentinel_runs(expression, dt.datetime.now(dt.UTC), 5)
