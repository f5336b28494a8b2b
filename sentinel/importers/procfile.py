"""Procfile (Heroku, foreman, honcho) → sentinel processes.

Each `name: command` line is a process; its command runs through a shell, as foreman runs it.
foreman gives each process type a `$PORT` (5000, 5100, …); a command that uses it gets the same
value in `env`. Heroku's `release` type runs once per deploy: here it is a job run by hand
(`sentinel run release`).
"""

from __future__ import annotations

import re

from sentinel.importers.common import FILE_NOTES, Translation, literal

_LINE = re.compile(r"^([A-Za-z0-9_-]+)[ \t]*:[ \t]?(.*)$")
_PORT = re.compile(r"\$\{?PORT\b")
BASE_PORT = 5000  # foreman's default --port
PORT_STEP = 100  # foreman's distance between process types


def from_procfile(text: str) -> Translation:
    translation = Translation("procfile")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None or not match.group(2).strip():
            translation.note(FILE_NOTES, f"line {number}: not `name: command`, skipped: {line[:80]!r}")
            continue
        wanted, command = match.group(1), match.group(2).strip()
        name = translation.new_name(wanted)
        body: dict[str, object] = {"command": literal(command), "shell": True}
        if _PORT.search(command):
            port = BASE_PORT + PORT_STEP * len(translation.processes)
            body["env"] = {"PORT": str(port)}
            translation.note(name, f"PORT={port}, as foreman would give it")
        if wanted == "release":
            body["schedule"] = "manual"
            translation.note(name, "Heroku runs `release` once per deploy: here `sentinel run release` runs it")
        translation.processes[name] = body
    return translation
