"""Writing systemd unit files (systemd.syntax(7), systemd.service(5)), the one home of it: `sentinel service install`
and `sentinel export --format systemd` both build sections of (key, value) pairs and render them here. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence

Entries = Sequence[tuple[str, str]]
Section = tuple[str, Entries]

# A word systemd reads back unchanged without quotes: no space, quote, backslash or specifier/variable sign.
_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def render_unit(sections: Sequence[Section], *, header: str = "") -> str:
    """The unit file's text: `header` (comment lines), then each `[Section]` with its `Key=value` lines."""
    lines = [line if line.startswith("#") else f"# {line}" for line in header.splitlines()] if header else []
    for name, entries in sections:
        if lines:
            lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{key}={value}" for key, value in entries)
    return "\n".join(lines) + "\n"


def escape_specifiers(text: str) -> str:
    """`%` starts a specifier (%h, %n…) in almost every setting: doubled, the text is read as written."""
    return text.replace("%", "%%")


def quote_word(word: str) -> str:
    """One argument of a command line (ExecStart=): quoted when needed, `%` and `$` doubled so systemd neither
    expands a specifier nor an environment variable, and the process gets exactly `word`."""
    escaped = word.replace("%", "%%").replace("$", "$$")
    if escaped and _PLAIN.match(escaped):
        return escaped
    inner = escaped.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{inner}"'


def command_line(argv: Sequence[str]) -> str:
    """An argv as the value of ExecStart= (its first word is an absolute path or a name systemd looks up)."""
    return " ".join(quote_word(word) for word in argv)


def environment_line(name: str, value: str) -> str:
    """The value of one `Environment=` line: `"NAME=value"`, quoted and escaped so it holds any text."""
    escaped = escape_specifiers(f"{name}={value}")
    inner = escaped.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{inner}"'


def seconds(value: float) -> str:
    """A duration as systemd reads it (`30s`, `1.5s`); whole seconds without a fraction."""
    return f"{int(value)}s" if float(value).is_integer() else f"{value:g}s"
