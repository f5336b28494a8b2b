"""The last step of every import: make the translation valid, then write it as sentinel.yaml with its notes.

Whatever a source file held, the result validates: a value the config models refuse is dropped
(and noted), a dependency that could never be met is relaxed to `started` or dropped (and noted),
by the same checks `sentinel validate` runs (`sentinel.config.models`, `sentinel.config.graph`).
"""

from __future__ import annotations

import io
import re
from typing import Any

from sentinel.importers.common import FILE_NOTES, Translation, process_name

MAX_PASSES = 100  # each pass removes at least one problem; a source cannot hold more kinds than this


def finish(translation: Translation) -> Translation:
    """`translation` with what would not validate removed or relaxed, each change noted."""
    from pydantic import ValidationError

    from sentinel.config.graph import check_processes
    from sentinel.config.models import Config

    for _ in range(MAX_PASSES):
        try:
            config = Config.model_validate({"processes": translation.processes})
        except ValidationError as exc:
            for error in exc.errors():
                _drop_refused(translation, error["loc"], error["msg"])
            continue
        issues = check_processes(config)
        if not issues:
            break
        for path, message in issues:
            _relax(translation, path, message)
    _drop_stale_overlays(translation)
    return translation


def _drop_refused(translation: Translation, loc: tuple[Any, ...], message: str) -> None:
    """Drop the key a validation error is about (the whole process when it is its command)."""
    if len(loc) < 2 or loc[0] != "processes" or loc[1] not in translation.processes:
        return
    name = str(loc[1])
    if len(loc) < 3 or loc[2] in ("command", "shell"):
        del translation.processes[name]
        translation.note(FILE_NOTES, f"{name}: not carried over ({message})")
        return
    key = str(loc[2])
    if translation.processes[name].pop(key, None) is not None:
        place = ".".join(str(part) for part in loc[2:])
        translation.note(name, f"{key}: dropped ({place}: {message})")


def _relax(translation: Translation, path: tuple[str, ...], message: str) -> None:
    """Resolve one cross-process issue: a dependency that cannot be met, a cycle, an instance name clash."""
    name = path[1]
    process = translation.processes.get(name)
    if process is None:
        return
    depends_on: dict[str, str] = process.get("depends_on", {})
    if len(path) == 4 and path[2] == "depends_on":
        dependency = path[3]
        if dependency in translation.processes and depends_on.get(dependency) != "started":
            depends_on[dependency] = "started"
            translation.note(name, f"depends_on {dependency}: waits for started only ({message})")
        else:
            depends_on.pop(dependency, None)
            translation.note(name, f"depends_on {dependency}: dropped ({message})")
    elif len(path) == 3 and path[2] == "depends_on":
        process.pop("depends_on", None)
        translation.note(name, f"depends_on: dropped ({message})")
    else:
        renamed = process_name(f"{name}-process", translation.processes)
        translation.processes[renamed] = translation.processes.pop(name)
        translation.note(renamed, f"renamed from {name!r} ({message})")
        if name in translation.notes:
            translation.notes[renamed] = translation.notes.pop(name) + translation.notes.get(renamed, [])
    if process.get("depends_on") == {}:
        process.pop("depends_on")


def _drop_stale_overlays(translation: Translation) -> None:
    """An environment overlay of a process that was dropped would add a process with no command."""
    for overlay in translation.environments.values():
        processes = overlay.get("processes", {})
        for name in [name for name in processes if name not in translation.processes]:
            del processes[name]


def render(translation: Translation, header: list[str]) -> str:
    """sentinel.yaml text: `header` and the file's notes as comments first, each process's notes above it."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    processes = CommentedMap()
    for name, body in translation.processes.items():
        processes[name] = body
        notes = translation.notes.get(name)
        if notes:
            processes.yaml_set_comment_before_after_key(name, before="\n".join(_comment(n) for n in notes), indent=2)
    document = CommentedMap(version=1)
    document["processes"] = processes
    if translation.environments:
        document["environments"] = translation.environments
    notes = [*translation.notes.get(FILE_NOTES, []),
             *(f"{name}: {note}" for name, notes in translation.notes.items()
               if name != FILE_NOTES and name not in translation.processes for note in notes)]
    lines = [*(_printable(line) for line in header), *(_comment(note) for note in notes)]
    document.yaml_set_start_comment("\n".join(lines))
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # a long command stays on one line
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _comment(text: str) -> str:
    """One note as comment text."""
    return "NOTE: " + _printable(text)


_NOT_IN_COMMENTS = re.compile("[^\t\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\x85]")


def _printable(text: str) -> str:
    """`text` on one line of characters YAML allows in a comment, whatever the source held."""
    return _NOT_IN_COMMENTS.sub("?", " ".join(text.split()))
