"""Completing process names on the command line (`sentinel completion`): from the running reconciler, else from
the config file when none runs. Imported by the commands that take names; what it needs is imported only
when the shell asks for a completion."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

COMPLETION_TIMEOUT = 2.0  # seconds: a shell waiting for its completions is a person waiting


def complete_names(context: click.Context, parameter: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Process and instance names (and `group:NAME` for targets) starting with `incomplete`; none when neither
    the reconciler nor the file can tell."""
    from click.shell_completion import CompletionItem

    names, groups = _known(context)
    if parameter.name == "targets":
        names |= {f"group:{group}" for group in groups}
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


def complete_groups(context: click.Context, _parameter: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Group names starting with `incomplete` (`status --group`)."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(group) for group in sorted(_known(context)[1]) if group.startswith(incomplete)]


def _known(context: click.Context) -> tuple[set[str], set[str]]:
    """Names and groups, from the reconciler, else the file. Never fails: an error would print into the shell."""
    try:
        found = _running(context)
    except Exception:  # noqa: BLE001 (no reconciler, a remote that refuses, …: the file may still tell)
        found = None
    if found is not None:
        return found
    try:
        return _declared()
    except Exception:  # noqa: BLE001 (no file, an invalid one: nothing to offer)
        return set(), set()


def _running(context: click.Context) -> tuple[set[str], set[str]] | None:
    """Instance and process names, and groups, of what the reconciler runs; None when none answers."""
    from sentinel.client import Client
    from sentinel.client.remote import Remote
    from sentinel.errors import DaemonUnavailable
    from sentinel.instances import REPLICA, numbered
    from sentinel.paths import StateDir

    root = context.find_root().params
    remote = Remote.parse(root["api"], token_file=root.get("token_file"), ca_file=root.get("ca_file")) \
        if root.get("api") else None
    api = Client(StateDir.resolve(root.get("state_dir"), os.environ), timeout=COMPLETION_TIMEOUT, remote=remote)
    try:
        rows: list[dict[str, Any]] = api.get("/v1/processes")["processes"]
    except DaemonUnavailable:
        return None
    names = {row["name"] for row in rows} | {numbered(row["name"], REPLICA) or row["name"] for row in rows}
    return names, {row["group"] for row in rows if row.get("group")}


def _declared() -> tuple[set[str], set[str]]:
    """The same from the config file (`$SENTINEL_CONFIG`, then ./sentinel.yaml, with `$SENTINEL_ENV`)."""
    from sentinel.cli.main import default_file
    from sentinel.config.loader import load
    from sentinel.instances import instance_names

    config = load(default_file(), env=os.environ.get("SENTINEL_ENV")).config
    names = set(config.processes)
    for name, process in config.processes.items():
        names.update(instance_names(name, process.replicas))
    return names, {process.group for process in config.processes.values() if process.group}
