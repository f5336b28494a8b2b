"""`sentinel import`: another supervisor's file → an equivalent sentinel.yaml, with notes on what did not carry over.

One module per format (procfile, supervisord, process_compose, pm2), each a pure translation of the
source's text or data into a `Translation`; `finish` makes it valid and renders it. The result always
validates. Nothing is run: a PM2 JavaScript file is read only when it is a plain object literal.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal

from sentinel.errors import ConfigError
from sentinel.importers.common import TooManyProcesses, Translation

Format = Literal["procfile", "supervisord", "process-compose", "pm2"]
FORMATS: tuple[Format, ...] = ("procfile", "supervisord", "process-compose", "pm2")


_BY_NAME: tuple[tuple[Format, tuple[str, ...], tuple[str, ...]], ...] = (  # format, name starts, name ends
    ("procfile", ("procfile",), ()),
    ("process-compose", ("process-compose", "process_compose"), ()),
    ("pm2", ("ecosystem", "pm2"), (".js", ".cjs", ".json")),
    ("supervisord", ("supervisor",), (".conf", ".ini")),
)
_BY_CONTENT: tuple[tuple[Format, str], ...] = (
    ("supervisord", r"^\s*\[program:"),
    ("process-compose", r"^processes\s*:"),
    ("pm2", r"^apps\s*:"),
)
_PROCFILE_LINE = re.compile(r"[A-Za-z0-9_-]+[ \t]*:")


def guess_format(source: str, text: str) -> Format:
    """The format of `source` from its name, else from its lines."""
    name = os.path.basename(source).lower()
    for form, starts, ends in _BY_NAME:
        if name.startswith(starts) or (ends and name.endswith(ends)):
            return form
    for form, pattern in _BY_CONTENT:
        if re.search(pattern, text, re.MULTILINE):
            return form
    if _looks_like_procfile(text):
        return "procfile"
    raise ConfigError.single(source, "format not recognised: name it with --from "
                                     "procfile|supervisord|process-compose|pm2")


def _looks_like_procfile(text: str) -> bool:
    """Every line blank, a comment, or `name: …`, and at least one of those."""
    lines = [line.strip() for line in text.splitlines()]
    declared = [line for line in lines if line and not line.startswith("#")]
    return bool(declared) and all(_PROCFILE_LINE.match(line) for line in declared)


def translate(data: bytes, source: str, form: Format | None = None) -> tuple[Format, Translation]:
    """The format (`form`, else guessed) and the finished translation of a source file's bytes; ConfigError (one
    line) when they cannot be read."""
    from sentinel.config.source import decode
    from sentinel.importers.finish import finish

    text = decode(data, source)
    form = form or guess_format(source, text)
    try:
        translation = _translation(data, text, source, form)
    except TooManyProcesses as exc:
        raise ConfigError.single(source, f"{exc}: split it, and import the parts") from None
    if not translation.processes:
        raise ConfigError.single(source, f"no process found to import as {form}"
                                         + _first_note(translation))
    return form, finish(translation)


def _translation(data: bytes, text: str, source: str, form: Format) -> Translation:
    from sentinel.config.source import parse_or_raise

    if form == "procfile":
        from sentinel.importers.procfile import from_procfile

        return from_procfile(text)
    if form == "supervisord":
        from sentinel.importers.supervisord import from_supervisord

        return from_supervisord(text, source)
    if form == "process-compose":
        from sentinel.importers.process_compose import from_process_compose

        return from_process_compose(parse_or_raise(data, source), source)
    from sentinel.importers.pm2 import from_pm2

    return from_pm2(_pm2_data(data, text, source), source)


def _first_note(translation: Translation) -> str:
    notes = [note for notes in translation.notes.values() for note in notes]
    return f" ({notes[0]})" if notes else ""


def _pm2_data(data: bytes, text: str, source: str) -> Any:
    from sentinel.config.source import parse_or_raise

    stripped = text.lstrip()
    if source.endswith((".js", ".cjs")) or stripped.startswith(("module.exports", "//", "/*", "export")):
        from sentinel.importers.pm2 import parse_javascript

        return parse_javascript(text, source)
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError.single(source, f"is not valid JSON: {exc.msg}", line=exc.lineno, col=exc.colno) from None
        except RecursionError:
            raise ConfigError.single(source, "is nested too deeply to read") from None
    return parse_or_raise(data, source)


def header(source: str, form: Format) -> list[str]:
    """The comment lines that open an imported file."""
    return [f"Imported from {source} ({form}) by `sentinel import`.",
            "Lines starting NOTE say what did not carry over exactly: read them, then `sentinel validate`."]
