"""Key paths as errors print them: `processes.web.restart.policy`, `command[1]`, `processes["web.1"]`.

A name that is not a plain word (it holds a dot, a slash, …) is quoted in brackets, so the
path reads unambiguously. Pure; used wherever a Problem is made.
"""

from __future__ import annotations

import json
import re

_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def join(path: str, key: str | int) -> str:
    """`path` followed by one more key or list index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _WORD.fullmatch(key):  # fullmatch: `$` alone also matches before a final newline
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def dotted(*parts: str | int) -> str:
    """The path of several keys from the top of the document."""
    path = ""
    for part in parts:
        path = join(path, part)
    return path
