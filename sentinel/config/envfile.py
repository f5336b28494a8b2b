"""Parsing `env_file` files (dotenv syntax). Pure: text in, variables out.

Accepted, line by line: blank lines and `# comments`; `KEY=value` with an optional leading
`export `; values unquoted (trailing ` # comment` dropped, whitespace trimmed), in single
quotes (taken literally) or in double quotes (with `\\n`, `\\t`, `\\"`, `\\\\` escapes; may
span lines). No interpolation inside the file: what is written is what the process gets.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


class EnvFileError(ValueError):
    """A line of an env file could not be read; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def parse_env_file(text: str) -> dict[str, str]:
    """The variables a dotenv file defines, later definitions winning."""
    variables: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        number = i + 1
        i += 1
        if not line or line.startswith("#"):
            continue
        match = _KEY.match(line)
        if match is None:
            raise EnvFileError(number, "expected KEY=value")
        key, rest = match.group(1), line[match.end() :]
        if rest.startswith('"'):
            value, i = _double_quoted(rest[1:], lines, i, number)
        elif rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                raise EnvFileError(number, "unclosed single quote")
            value = rest[1:end]
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
        variables[key] = value
    return variables


def _double_quoted(rest: str, lines: list[str], i: int, number: int) -> tuple[str, int]:
    out: list[str] = []
    text = rest
    while True:
        j = 0
        while j < len(text):
            char = text[j]
            if char == "\\" and j + 1 < len(text):
                out.append(_ESCAPES.get(text[j + 1], "\\" + text[j + 1]))
                j += 2
                continue
            if char == '"':
                return "".join(out), i
            out.append(char)
            j += 1
        if i >= len(lines):
            raise EnvFileError(number, "unclosed double quote")
        out.append("\n")
        text = lines[i]
        i += 1
