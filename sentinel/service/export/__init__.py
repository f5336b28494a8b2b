"""`sentinel export`: a config's processes as another manager's files (docs/service.md#export).

Each format (systemd.py, launchd.py, nomad.py) turns a loaded config into files and `Note`s. A format declares the
fields it translates (`TRANSLATED`); every other field a process sets to something other than its default becomes a
note (`untranslated`), so nothing is dropped without a word; a field translated only in part gets its own note.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sentinel.config.loader import Loaded
from sentinel.config.models import Process

Format = Literal["systemd", "launchd", "nomad"]
FORMATS: tuple[Format, ...] = ("systemd", "launchd", "nomad")


@dataclass(frozen=True, slots=True)
class Note:
    """Something of a process the format cannot express: the process, the field path, and what became of it."""

    process: str
    field: str
    why: str

    def __str__(self) -> str:
        return f"{self.process}: {self.field}: {self.why}"


@dataclass(slots=True)
class Exported:
    """The files of one export (name → content, in order) and what they could not express."""

    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def note(self, process: str, field_path: str, why: str) -> None:
        """Add a note once (a process's instances share theirs)."""
        found = Note(process, field_path, why)
        if found not in self.notes:
            self.notes.append(found)


def changed_fields(process: Process) -> list[str]:
    """The dotted leaf paths where `process` differs from a process of the same kind with only its defaults."""
    baseline: dict[str, Any] = {"command": process.command}
    if process.schedule is not None:
        baseline["schedule"] = process.schedule.model_dump(mode="json", exclude_none=True)
    default = Process.model_validate(baseline).model_dump(mode="json")
    return sorted(_differences(process.model_dump(mode="json"), default, ""))


def _differences(value: Any, default: Any, prefix: str) -> Iterable[str]:
    if isinstance(value, dict) and value and (isinstance(default, dict) or default is None):
        for key in value:
            below = default.get(key) if isinstance(default, dict) else None
            yield from _differences(value[key], below, f"{prefix}.{key}" if prefix else key)
    elif value != default and not (default is None and value in (None, [], {})):
        yield prefix


def untranslated(exported: Exported, name: str, process: Process, translated: Iterable[str], format_name: str) -> None:
    """Note each field `process` sets that the format does not translate (`translated`: field paths or prefixes): a
    whole section at once (`health`) when the format translates nothing of it."""
    known = tuple(translated)
    for path in changed_fields(process):
        if any(path == prefix or path.startswith(f"{prefix}.") for prefix in known):
            continue
        section = path.split(".", 1)[0]
        whole = not any(prefix == section or prefix.startswith(f"{section}.") for prefix in known)
        exported.note(name, section if whole else path, f"not expressible in {format_name}; left out")


def program_path(argv: tuple[str, ...], cwd: str, which: Callable[[str], str | None] = shutil.which
                 ) -> tuple[str, ...]:
    """argv with its program made absolute, as systemd and launchd want it: a bare name looked up on this machine's
    PATH (kept as it is when not found), a relative path taken from `cwd`."""
    program = argv[0]
    if os.path.isabs(program):
        return argv
    if "/" in program:
        return (os.path.normpath(os.path.join(cwd, program)), *argv[1:])
    return (which(program) or program, *argv[1:])


def export(loaded: Loaded, format_name: Format, *, home: str) -> Exported:
    """The files of `loaded`'s processes in `format_name`; `home` is where launchd log paths start."""
    if format_name == "systemd":
        from sentinel.service.export.systemd import export_systemd

        return export_systemd(loaded)
    if format_name == "launchd":
        from sentinel.service.export.launchd import export_launchd

        return export_launchd(loaded, home=home)
    from sentinel.service.export.nomad import export_nomad

    return export_nomad(loaded)


def environment_of(loaded: Loaded, name: str) -> Mapping[str, str]:
    """The variables the process's `env` sets (its `env_file` is the format's business)."""
    return dict(loaded.config.processes[name].env)
