"""`sync`, `source suspend|resume|show` and `history`: the git source of a running reconciler (docs/gitops.md).

They talk to the reconciler over its socket, or with `--api` to a remote one (a CI job calling
`sentinel sync` after a merge). `up --git` itself is in `lifecycle`; `source_line` is what `status` shows first.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from sentinel.cli.context import client
from sentinel.cli.main import CONTEXT, cli
from sentinel.cli.output import handles_errors, to_json
from sentinel.errors import DaemonUnavailable, SentinelError
from sentinel.paths import StateDir, open_private


class SyncIncomplete(SentinelError):
    """`sync` waited its whole timeout."""


def source_line(source: dict[str, Any]) -> str:
    """`sentinel status`'s header: the commit in force, where from, and what stands in the way."""
    revision = source.get("revision")
    running = f"revision {revision[:12]} ({source.get('subject') or ''})" if revision else "no revision applied yet"
    parts = [f"{running} from {source['url']}@{source['ref']} {source['path']}"]
    if source.get("suspended_since"):
        parts.append(f"suspended since {source['suspended_since']}")
    if source.get("refused"):
        parts.append(f"refused {source['refused'][:12]}: {source.get('refused_why')}")
    if source.get("fetch_error"):
        parts.append(str(source["fetch_error"]))
    return "; ".join(parts)


def write_bootstrap(sd: StateDir, source: dict[str, Any]) -> str:
    """`up --git URL …` as a bootstrap file in the state directory (what a service unit can carry too); its path.
    JSON is YAML: the file is `{"source": {…}}`."""
    sd.ensure()
    directory = sd.ensure_source()
    path = directory / "bootstrap.yaml"
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps({"source": source}, indent=2) + "\n")
    return str(path)


@cli.command(context_settings=CONTEXT, short_help="Fetch the git source now and apply what it finds.")
@click.option("--timeout", type=click.FloatRange(0, 600), default=60.0, show_default=True, metavar="S",
              help="How long to wait for the fetch and the apply it leads to.")
@handles_errors
def sync(timeout: float) -> None:
    """Fetch the git source now and apply what it finds (a CI job can call it with --api after a merge).

    Prints the commit in force. Exit 0 once the fetch is done, 1 when it failed, when the commit was
    refused, or when it did not end within --timeout.
    """
    answer = client().post("/v1/source/sync", {"timeout": timeout}, wait=timeout)
    source = answer["source"]
    click.echo(source_line(source))
    if not answer["synced"]:
        raise SyncIncomplete(f"the fetch did not end within {timeout:g}s; see `sentinel events`")
    if source.get("fetch_error") or source.get("refused"):
        sys.exit(1)


@cli.group(context_settings=CONTEXT)
def source() -> None:
    """The git source: show it, suspend pulling, resume."""


@source.command(name="show", context_settings=CONTEXT, short_help="The commit in force, and what was refused.")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@handles_errors
def show(as_json: bool) -> None:
    """What the source pulls, the commit in force, and what was refused and why."""
    answer = client().get("/v1/source")
    click.echo(to_json(answer) if as_json else source_line(answer), nl=not as_json)


@source.command(context_settings=CONTEXT, short_help="Stop pulling until `resume`.")
@handles_errors
def suspend() -> None:
    """Stop pulling (during an incident) until `resume`; kept across restarts of the reconciler."""
    click.echo(source_line(client().post("/v1/source/suspend")))


@source.command(context_settings=CONTEXT)
@handles_errors
def resume() -> None:
    """Pull again, from the newest commit (a fetch at once)."""
    click.echo(source_line(client().post("/v1/source/resume")))


@cli.command(context_settings=CONTEXT, short_help="The configs applied on this host, newest first.")
@click.option("-n", "limit", type=click.IntRange(1, 50), default=20, show_default=True, help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, newest first.")
@handles_errors
def history(limit: int, as_json: bool) -> None:
    """The configs applied on this host, newest first: when, the git commit, and what each changed.

    Read from state.db when no reconciler runs.
    """
    api = client()
    try:
        revisions = api.get("/v1/history", limit=limit)["revisions"]
    except DaemonUnavailable:
        from sentinel.cli.offline import offline_history

        revisions = offline_history(api.state_dir, limit)
        click.echo(f"no reconciler is running; history recorded in {api.state_dir.db}", err=True)
    if as_json:
        click.echo(to_json(revisions), nl=False)
        return
    for entry in revisions:
        commit = f"{entry['revision'][:12]} {entry['subject'] or ''}" if entry["revision"] else entry["path"]
        click.echo(f"{entry['at']}  {commit}")
        for line in entry["changes"] or ["(no change to the processes)"]:
            click.echo(f"    {line}")
