"""What every daemon-facing command needs: the state directory, the remote reconciler if `--api` names one,
and a client for whichever it is."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from sentinel.client import Client
from sentinel.errors import SentinelError
from sentinel.paths import StateDir, open_private

if TYPE_CHECKING:
    from sentinel.client.remote import Remote
    from sentinel.config.hosts import Host


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
        from sentinel.client.remote import Remote

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


class BadHostFile(SentinelError):
    """The state directory's host.json cannot be read back (exit 2)."""

    exit_code = 2


def remembered_host(sd: StateDir) -> Host | None:
    """The hostname and labels the last reconciler on `sd` ran with (`host.json`), None when none was kept."""
    from sentinel.config.hosts import host_from_json

    if not os.path.lexists(sd.host_file):  # no state directory yet, or no reconciler has kept one
        return None
    try:
        fd = open_private(sd.host_file, os.O_RDONLY)
    except OSError as err:
        raise BadHostFile(f"{sd.host_file}: cannot be read: {err.strerror or err}") from None
    with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
        text = handle.read(64 * 1024)
    try:
        return host_from_json(text)
    except ValueError as err:
        raise BadHostFile(f"{sd.host_file}: {err}; start the reconciler with --hostname (and its --label options) "
                          "to replace it") from None
