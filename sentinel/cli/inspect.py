"""`status` (alias `ps`), `events` and `logs`: what runs, what was done, and what the processes printed.

`status` and `events` ask the reconciler, or read state.db when none runs (saying so on
stderr); `logs` reads the log files in the state directory directly.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from sentinel.cli.colour import EVENTS, STAMP, on_stdout, paint
from sentinel.cli.context import client, remote, state_dir
from sentinel.cli.main import CONTEXT, cli
from sentinel.cli.names import complete_groups, complete_names
from sentinel.cli.output import handles_errors, to_json
from sentinel.cli.table import status_table
from sentinel.errors import DaemonUnavailable, SentinelError
from sentinel.instances import is_instance_of

if TYPE_CHECKING:
    from sentinel.client import Client


class NoLogs(SentinelError):
    exit_code = 1


class BadName(SentinelError):
    exit_code = 2


def _status(names: tuple[str, ...], group: str | None, as_json: bool) -> None:
    api = client()
    try:
        answer = api.get("/v1/processes", name=list(names) or None, group=group)
        rows: list[dict[str, Any]] = answer["processes"]
        if answer.get("source") and not as_json:  # docs/gitops.md: the commit in force, first
            from sentinel.cli.source import source_line

            click.echo(source_line(answer["source"]))
        if answer.get("config_error"):
            click.echo(f"config not applied: {answer['config_error']}", err=True)
        for problem in answer.get("storage_problems") or ():  # docs/reliability.md#f34-disk-full
            click.echo(f"warning: {problem}", err=True)
    except DaemonUnavailable:
        from sentinel.cli.offline import offline_rows

        rows = [r for r in offline_rows(api.state_dir, group) if not names or _matches(r["name"], names)]
        click.echo(f"no reconciler is running; last recorded state from {api.state_dir.db}", err=True)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(status_table(rows, colour=on_stdout()), nl=False)


def _matches(instance: str, names: tuple[str, ...]) -> bool:
    return any(is_instance_of(instance, name) for name in names)


status_options = [
    click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_names),
    click.option("--group", metavar="G", help="Only the processes of group G.", shell_complete=complete_groups),
    click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per process."),
]


def _with_options(function: Any) -> Any:
    for option in reversed(status_options):
        function = option(function)
    return function


@cli.command(context_settings=CONTEXT, short_help="Show each process: state, pid, uptime, cpu, memory.")
@_with_options
@handles_errors
def status(names: tuple[str, ...], group: str | None, as_json: bool) -> None:
    """Show each process: state, health, pid, uptime, restarts, cpu, memory.

    Works when no reconciler runs, from the state it last recorded (said on stderr).
    """
    _status(names, group, as_json)


@cli.command(context_settings=CONTEXT)
@_with_options
@handles_errors
def ps(names: tuple[str, ...], group: str | None, as_json: bool) -> None:
    """Alias of `status`."""
    _status(names, group, as_json)


@cli.command(context_settings=CONTEXT)
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("-n", "limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per event.")
@handles_errors
def events(name: str | None, limit: int, as_json: bool) -> None:
    """What the reconciler did and why, newest last."""
    api = client()
    try:
        rows = api.get("/v1/events", process=name, limit=limit)["events"]
    except DaemonUnavailable:
        from sentinel.cli.offline import offline_events

        rows = offline_events(api.state_dir, name, limit)
    if as_json:
        click.echo(to_json(rows), nl=False)
        return
    colour = on_stdout()
    for row in rows:
        if colour:
            click.echo(f"{paint(row['at'], STAMP)}  {paint(row['message'], EVENTS.get(row['kind']))}")
        else:
            click.echo(f"{row['at']}  {row['message']}")


@cli.command(context_settings=CONTEXT, short_help="Print a process's captured output.")
@click.argument("name", shell_complete=complete_names)
@click.option("-f", "--follow", "keep_following", is_flag=True, help="Keep printing new output.")
@click.option("-n", "lines", type=click.IntRange(0), default=100, show_default=True, help="Lines to show first.")
@click.option("--run", "run", type=click.IntRange(1), metavar="ID", help="Only the lines of this run of a job.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line: time, text, run.")
@click.option("--through-api", is_flag=True,
              help="Ask the running reconciler (over its socket; a WebSocket for -f) instead of reading the log "
              "files; implied by --api.")
@handles_errors
def logs(name: str, *, keep_following: bool, lines: int, run: int | None, as_json: bool, through_api: bool) -> None:
    """Print what NAME wrote to stdout and stderr, each line stamped with its time.

    NAME is a process (all its instances, merged by time) or one instance such as web.1. A job's
    lines carry the run that wrote them (#ID, as `sentinel runs` lists them), between lines
    marking the run's start and end.
    """
    from sentinel.cli.logfiles import follow, last_lines, log_files, of_run, printable, run_lines
    from sentinel.config.fields import check_name  # here: `status` does not pay for pydantic (nor for logfiles)

    try:
        check_name(name)  # never a path: `../sentinel` or `/etc/x` would name files outside logs/
    except ValueError as err:
        raise BadName(f"'{printable(name[:40])}{'…' if len(name) > 40 else ''}' is not a process name: {err}") from None
    if through_api or remote() is not None:
        _logs_through_api(client(), name, keep_following=keep_following, lines=lines, run=run, as_json=as_json)
        return
    sd = state_dir()
    files = log_files(sd, name)
    if not files:
        raise NoLogs(f"no logs for '{name}' in {sd.logs}")
    show = _json_line if as_json else _plain_line
    first = last_lines(files, lines) if run is None else run_lines(files, run, lines)
    for line in first:
        show(line)
    if keep_following:
        try:
            for line in follow(files, time.sleep):
                if run is None or of_run(line, run):
                    show(line)
        except KeyboardInterrupt:
            return


def _logs_through_api(through: Client, name: str, *, keep_following: bool, lines: int, run: int | None,
                      as_json: bool) -> None:
    """`logs` from the reconciler's API (`Client.log_lines`): its lines, printed as those of the files are."""
    from sentinel.cli.logfiles import streamed_line

    try:
        for line in through.log_lines(name, lines if run is None else 1000, follow=keep_following):
            if run is not None and line["run"] != run:
                continue
            if as_json:
                click.echo(json.dumps({"time": line["time"], "text": line["text"], "run": line["run"]},
                                      ensure_ascii=False))
            else:
                _plain_line(streamed_line(line))
    except KeyboardInterrupt:
        return


def _plain_line(line: str) -> None:
    from sentinel.cli.logfiles import printable

    if not sys.stdout.isatty():
        click.echo(line, nl=False)
        return
    line = printable(line)  # a terminal gets no control character raw
    if on_stdout():
        stamp, space, text = line.partition(" ")
        line = f"{paint(stamp, STAMP)}{space}{text}"
    click.echo(line, nl=False)


def _json_line(line: str) -> None:
    from sentinel.cli.logfiles import parsed_line

    click.echo(json.dumps(parsed_line(line), ensure_ascii=False))
