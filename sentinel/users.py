"""Running as a process's `user:`, the one place a user name becomes credentials. No processes started here.

Used by `runtime.spawn` (the process itself) and `health.checks` (its `exec` check, which runs
as the same user, in the same directory, with the same environment, as Docker runs a
container's checks): a check never runs as a more privileged user than its process.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass


class UserProblem(Exception):
    """The user cannot be switched to; the message completes "<name>: …"."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """The uid, gid and groups to run as, and the environment with that user's HOME, USER and LOGNAME."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    env: Mapping[str, str]


def credentials(user: str | None, env: Mapping[str, str]) -> Credentials | None:
    """The credentials to run as `user` with `env`; None to run as ourselves (no user, or it is us).

    Raises UserProblem for an unknown user, or another user while we are not root.
    """
    if user is None:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise UserProblem(f"unknown user '{user}'") from None
    if entry.pw_uid == os.geteuid():
        return None
    if os.geteuid() != 0:
        raise UserProblem(f"user '{user}' needs the reconciler to run as root")
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    switched = {**env, "HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name}
    return Credentials(entry.pw_uid, entry.pw_gid, groups, switched)
