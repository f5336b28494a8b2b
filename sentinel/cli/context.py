"""What every daemon-facing command needs: the state directory, the remote reconciler if `--api` names one,
and a client for whichever it is."""

from __future__ import annotations

import os

import click

from sentinel.client import Client, Remote
from sentinel.errors import SentinelError
from sentinel.paths import StateDir


class LocalOnly(SentinelError):
    """A command that acts on this machine only, asked with `--api` (exit 2, as a usage error)."""

    exit_code = 2


def state_dir() -> StateDir:
    """The state directory from `--state-dir`, `$SENTINEL_HOME` or the platform default."""
    root = click.get_current_context().find_root()
    given = root.params.get("state_dir")
    return StateDir.resolve(given, os.environ)


def remote() -> Remote | None:
    """The reconciler `--api` (or `$SENTINEL_API`) names, with its token and CA file; None for this machine's.
    Parsed once per command (the token file is read once)."""
    root = click.get_current_context().find_root()
    url = root.params.get("api")
    if not url:
        return None
    if "remote" not in root.meta:
        root.meta["remote"] = Remote.parse(url, token_file=root.params.get("token_file"),
                                           ca_file=root.params.get("ca_file"))
    found: Remote = root.meta["remote"]
    return found


def client(timeout: float = 10.0) -> Client:
    return Client(state_dir(), timeout=timeout, remote=remote())


def local_only(command: str, why: str, *, refuse: bool = False) -> None:
    """With `--api`, say in one line that `command` works on this machine only: on stderr, or as an error
    (exit 2) when `refuse`, for a command that would otherwise act here when a remote was meant."""
    root = click.get_current_context().find_root()
    url = root.params.get("api")
    if not url:
        return
    if refuse:
        raise LocalOnly(f"`sentinel {command}` works on this machine only ({why}): drop --api {url} "
                        "(or unset $SENTINEL_API)")
    click.echo(f"`sentinel {command}` works on this machine only ({why}); --api is not used", err=True)
