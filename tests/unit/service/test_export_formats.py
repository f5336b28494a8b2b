"""The translations of sentinel/service/export/ on what the black-box tests (tests/integration/test_export.py) do
not reach: users, reload commands, stop modes, one-time and odd schedules, restart policies, per format."""

from __future__ import annotations

import json
import plistlib
from pathlib import Path
from typing import Any

from sentinel.config.loader import load
from sentinel.service.export import Exported, export, program_path

CONFIG = """\
processes:
  svc:
    command: ./bin/server --port 1
    user: nobody
    reload: {command: "kill -USR2 $$MAINPID"}
    stop: {mode: main}
    restart: {policy: on-failure, max_retries: 3}
    health: {exec: "true"}
  quiet:
    command: /bin/true
    restart: {policy: never}
  last:
    command: /bin/true
    schedule: {cron: "0 0 L * *"}
    restart: {policy: always}
  precise:
    command: /bin/true
    schedule: {cron: "30 0 4 * * *"}
    replicas: 2
  later:
    command: /bin/true
    schedule: {at: "2030-01-02T03:04:05", timezone: UTC}
    on_missed: skip
"""


def _export(tmp_path: Path, format_name: Any) -> Exported:
    path = tmp_path / "sentinel.yaml"
    path.write_text(CONFIG)
    return export(load(str(path), environ={}), format_name, home="/Users/me")


def _notes(exported: Exported) -> set[str]:
    return {str(note) for note in exported.notes}


def test_systemd(tmp_path: Path) -> None:
    exported = _export(tmp_path, "systemd")
    svc = exported.files["sentinel-svc.service"].decode().splitlines()
    assert f"ExecStart={tmp_path}/bin/server --port 1" in svc
    assert {"User=nobody", "KillMode=mixed", "Restart=on-failure"} <= set(svc)
    assert any(line.startswith("ExecReload=") and line.endswith('"$$MAINPID"') for line in svc)
    assert "Restart=no" in exported.files["sentinel-quiet.service"].decode().splitlines()
    assert "sentinel-last.timer" not in exported.files
    assert "OnCalendar=*-*-* 04:00:30" in exported.files["sentinel-precise.0.timer"].decode().splitlines()
    later = exported.files["sentinel-later.timer"].decode().splitlines()
    assert {"OnCalendar=2030-01-02 03:04:05 UTC", "Persistent=false"} <= set(later)
    assert {
        "last: schedule.cron: uses L or #, which OnCalendar= cannot express; no timer",
        "last: restart.policy: systemd restarts a oneshot job on failure only: on-failure",
        "svc: restart.max_retries: not expressible in systemd; left out",
        "svc: health: not expressible in systemd; left out",
    } <= _notes(exported)


def test_launchd(tmp_path: Path) -> None:
    exported = _export(tmp_path, "launchd")
    jobs = {name: plistlib.loads(content) for name, content in exported.files.items()}
    svc = jobs["io.sentinelzero.process.svc.plist"]
    assert (svc["UserName"], svc["KeepAlive"]) == ("nobody", {"SuccessfulExit": False})
    assert svc["StandardOutPath"] == "/Users/me/Library/Logs/SentinelZero/svc.log"
    assert "KeepAlive" not in jobs["io.sentinelzero.process.quiet.plist"]
    assert jobs["io.sentinelzero.process.precise.1.plist"]["StartCalendarInterval"] == {"Hour": 4, "Minute": 0}
    assert "StartCalendarInterval" not in jobs["io.sentinelzero.process.last.plist"]
    assert {
        "last: schedule.cron: uses L or #; no trigger",
        "last: restart.policy: a scheduled launchd job is not restarted; left out",
        "precise: schedule.cron: launchd starts on whole minutes: the seconds field is left out",
        "later: schedule.at: launchd has no one-time start (only yearly calendars); no trigger",
        "svc: reload: not expressible in launchd; left out",
    } <= _notes(exported)


def test_nomad(tmp_path: Path) -> None:
    exported = _export(tmp_path, "nomad")
    assert sorted(exported.files) == ["sentinel-last.nomad.json", "sentinel-precise.nomad.json", "sentinel.nomad.json"]
    services = json.loads(exported.files["sentinel.nomad.json"])["Job"]["TaskGroups"]
    restart = {group["Name"]: group["RestartPolicy"] for group in services}
    assert restart["svc"]["Mode"] == "fail" and restart["svc"]["Attempts"] == 3
    assert restart["quiet"]["Attempts"] == 0
    assert "Services" not in services[1]["Tasks"][0]
    assert services[1]["Tasks"][0]["User"] == "nobody"
    precise = json.loads(exported.files["sentinel-precise.nomad.json"])["Job"]
    assert precise["Periodic"]["Spec"] == "30 0 4 * * * *" and precise["TaskGroups"][0]["Count"] == 2
    assert {
        "svc: health.exec: the Nomad service provider has no script checks; left out",
        "svc: restart.policy: a Nomad service restarts on any exit: always",
        "later: schedule.at: Nomad's periodic jobs take cron only; no job written",
    } <= _notes(exported)


def test_program_path() -> None:
    assert program_path(("/bin/x", "a"), "/srv") == ("/bin/x", "a")
    assert program_path(("./run", "a"), "/srv") == ("/srv/run", "a")
    assert program_path(("x",), "/srv", which=lambda name: None) == ("x",)
    assert program_path(("x",), "/srv", which=lambda name: f"/usr/bin/{name}") == ("/usr/bin/x",)
