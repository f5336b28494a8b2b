"""Writing config files for tests: dedented text into a directory, returning the path as a string."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write(directory: Path, name: str, text: str) -> str:
    """Write `text` (dedented) to directory/name, creating folders; return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)
