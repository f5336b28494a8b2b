"""Can a spec be started at all? A pure decision on facts the runtime gathered (docs/security.md).

The planner asks before it stops a running process for an edit: an edit whose program, `cwd`
or `user` is missing, or whose `limits.nofile` is above the hard limit, would leave nothing
running, so the running process is kept and the edit waits (said once). `launch_problem` says
what is wrong, in the words `spawn` uses when a start fails, or None.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LaunchFacts:
    """What was found about one spec's program (`argv[0]`), working directory and user."""

    program: str
    program_found: bool  # on PATH, or the path given exists
    program_runnable: bool  # a file we may execute
    cwd: str
    cwd_found: bool  # a directory
    user: str | None
    user_found: bool
    nofile: int | None = None  # limits.nofile
    nofile_hard: int | None = None  # the hard open-file limit it must fit under; None: unlimited


def nofile_problem(nofile: int | None, hard: int | None) -> str | None:
    """`limits.nofile` above the hard open-file limit: only a privileged process may raise that."""
    if nofile is not None and hard is not None and nofile > hard:
        return f"limits.nofile {nofile} is above the hard open-file limit ({hard})"
    return None


def launch_problem(facts: LaunchFacts) -> str | None:
    """Why the spec cannot be started ("command not found: nosuchprog"), or None."""
    if facts.user is not None and not facts.user_found:
        return f"unknown user '{facts.user}'"
    if not facts.cwd_found:
        return f"cwd {facts.cwd}: no such directory"
    if not facts.program_found:
        return f"command not found: {facts.program}"
    if not facts.program_runnable:
        return f"permission denied: {facts.program}"
    return nofile_problem(facts.nofile, facts.nofile_hard)
