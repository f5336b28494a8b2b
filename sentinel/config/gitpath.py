"""The git source's paths (docs/gitops.md#the-path): placeholders, and files that must stay inside the checkout.

`source.path` names the file to load in the repository, with placeholders filled in per host:
`{hostname}` (the host name as `hostname` prints it) and `{short_hostname}` (up to its first dot). It is
relative to the repository's root and never leaves it: no absolute path, no `..`; and once loaded, every file
it read (includes, env files) must resolve (symlinks followed) inside the checkout.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

PLACEHOLDERS = ("hostname", "short_hostname")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholders(hostname: str) -> dict[str, str]:
    """The values of the placeholders on this host."""
    return {"hostname": hostname, "short_hostname": hostname.split(".", 1)[0]}


def path_problem(template: str) -> str | None:
    """Why `template` cannot be a source path (None when it can): for `validate`, before any host fills it in."""
    if not template.strip():
        return "is empty"
    unknown = sorted({name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})
    if unknown:
        known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        return f"has an unknown placeholder {{{unknown[0]}}} (known: {known})"
    if os.path.isabs(template) or template.startswith("~"):
        return "must be relative to the repository's root"
    if ".." in re.split(r"[\\/]", template):
        return "must not contain `..` (it stays inside the repository)"
    return None


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with its placeholders replaced; ValueError when the result leaves the repository (a host name
    holding `/` or `..`)."""
    filled = _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
    problem = path_problem(filled)
    if problem is not None:
        raise ValueError(f"source path {filled!r} {problem}")
    return filled


def outside(root: str, files: Iterable[str]) -> str | None:
    """The first of `files` that resolves (symlinks followed) outside `root`, or None when all stay inside."""
    top = os.path.realpath(root)
    for name in files:
        real = os.path.realpath(name)
        if real != top and not real.startswith(top + os.sep):
            return name
    return None


def escaping_links(root: str) -> str | None:
    """The first symbolic link under `root` that resolves outside it (or nowhere inside it), or None."""
    for directory, subdirectories, files in os.walk(root):
        for name in (*subdirectories, *files):
            path = os.path.join(directory, name)
            if os.path.islink(path) and outside(root, (path,)) is not None:
                return path
    return None
