"""What every importer shares: the translation being built (processes and notes), names and literal text made
safe for sentinel.yaml, and the last pass that makes the result valid whatever the input held.

Pure: text in, data out; nothing here reads a file or runs anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from sentinel.config import units
from sentinel.config.fields import NAME_MAX, NAME_PATTERN

FILE_NOTES = ""  # the key of the notes about the whole file rather than one process
MAX_PROCESSES = 5_000  # an import making more is a mistake (or hostile), and would take long to validate


class TooManyProcesses(ValueError):
    """The source declares more than MAX_PROCESSES processes (counting supervisord's numprocs copies)."""


@dataclass
class Translation:
    """A sentinel.yaml being built: `processes` as plain data, and `notes` (per process name, or FILE_NOTES)
    saying what could not be carried over. `environments` holds overlays (PM2's `env_production`)."""

    source_format: str
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def note(self, process: str | None, text: str) -> None:
        self.notes.setdefault(process or FILE_NOTES, []).append(text)

    def new_name(self, wanted: str) -> str:
        """A process name of sentinel's syntax for `wanted`, not yet taken; noted when it differs. TooManyProcesses
        past MAX_PROCESSES."""
        if len(self.processes) >= MAX_PROCESSES:
            raise TooManyProcesses(f"declares more than {MAX_PROCESSES} processes")
        name = process_name(wanted, self.processes)
        if name != wanted:
            self.note(name, f"renamed from {wanted!r} (names match {NAME_PATTERN})")
        return name


def process_name(wanted: str, taken: Container[str]) -> str:
    """`wanted` with what a process name cannot hold replaced by `-`, unique among `taken`."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", wanted.strip()).lstrip("_.-")[:NAME_MAX] or "process"
    candidate, number = name, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        number += 1
    return candidate


def literal(text: str) -> str:
    """`text` written so that sentinel's `${VAR}` interpolation reads it back unchanged: each `$` that
    interpolation would take (before `$` or `{`) is doubled; a lone `$VAR` is already kept as it is."""
    return re.sub(r"\$(?=[${])", "$$", text)


def seconds(value: float) -> str:
    """A duration in sentinel's spelling (`10s`, `1m30s`, `500ms`)."""
    return units.format_duration(float(value))


def size(value: int) -> str:
    """A size in sentinel's spelling (`512MiB`)."""
    return units.format_size(value)


def as_int(value: Any) -> int | None:
    """An integer from a number or its text; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        return int(value)
    return None


def as_number(value: Any) -> float | None:
    """A finite number from a number or its text; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value)):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str | None:
    """A scalar as the text a config file means by it (`true`, `3`), None for a list, mapping or null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def environment(pairs: Any, translation: Translation, process: str | None) -> dict[str, str]:
    """Environment variables from a mapping or a list of `NAME=value`, each value literal text."""
    found: dict[str, str] = {}
    items: list[tuple[Any, Any]] = []
    if isinstance(pairs, dict):
        items = list(pairs.items())
    elif isinstance(pairs, list):
        for item in pairs:
            if isinstance(item, str) and "=" in item:
                items.append(tuple(item.split("=", 1)))  # type: ignore[arg-type]
            else:
                translation.note(process, f"environment entry {item!r} is not NAME=value: not carried over")
    elif pairs is not None:
        translation.note(process, "environment is neither a mapping nor a list: not carried over")
    for name, value in items:
        text = as_text(value)
        if not isinstance(name, str) or not name or "=" in name or text is None:
            translation.note(process, f"environment variable {name!r}: not carried over (not NAME: text)")
            continue
        found[name] = literal(text)
    return found
