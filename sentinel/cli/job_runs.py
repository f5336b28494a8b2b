"""`run` and `runs`: run a job now, and list a job's past runs (from state.db when no reconciler runs)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from sentinel.cli.context import client, local_only
from sentinel.cli.logfiles import follow, parsed_line, printable
from sentinel.cli.main import CONTEXT, cli
from sentinel.cli.names import complete_names
from sentinel.cli.output import handles_errors, to_json
from sentinel.cli.table import duration
from sentinel.client import Client
from sentinel.errors import DaemonUnavailable
from sentinel.signames import signal_name


@cli.command(context_settings=CONTEXT, short_help="Run a job now; --wait follows it and exits with its code.")
@click.argument("name", shell_complete=complete_names)
@click.option("--wait", is_flag=True, help="Follow the run's output, say how it ended, and exit with its exit code.")
@handles_errors
def run(name: str, wait: bool) -> None:
    """Run the job NAME now, whatever its schedule (a job with `schedule: manual` runs only so).

    If a run is still going: with `concurrency: forbid` (the default) this one is skipped (and
    recorded as skipped), with `replace` the one going is stopped first, and with `allow` this one
    runs beside it. With --wait: print the run's output as it comes, then how it ended
    (`backup: run #3 exited 1 after 2.1s`, on standard error), and exit with the run's exit code
    (128 + N when killed by signal N, 1 when it was skipped or its end is unknown).
    """
    api = client()
    if wait:
        local_only("run --wait", "it follows the job's log file here", refuse=True)
        sys.exit(_run_and_follow(api, name))
    answer = api.post(f"/v1/processes/{name}/run", {}, wait=30.0)
    for row in answer.get("processes", []):
        why = row.get("reason")
        click.echo(f"{row['name']}: {row['state']}" + (f" ({why})" if why and why != row["state"] else ""))


def _run_and_follow(api: Client, name: str) -> int:
    """Ask for a run of `name`, print its output until it has ended, say how it ended; its exit code."""
    before = max((row["id"] for row in api.get(f"/v1/processes/{name}/runs", limit=5)["runs"]), default=0)
    ours: dict[str, Any] = {}

    def ended() -> bool:
        for row in api.get(f"/v1/processes/{name}/runs", limit=20)["runs"]:
            if row["id"] > before and (not ours or row["id"] == ours["id"]):
                ours.update(row)
                break
        return bool(ours) and ours["ended_at"] is not None

    lines = follow([api.state_dir.log_file(name)], time.sleep, until=ended)  # before asking: no line is missed
    api.post(f"/v1/processes/{name}/run", {}, wait=30.0)
    try:
        for line in lines:
            parsed = parsed_line(line)
            if ours and parsed["run"] == ours["id"]:
                click.echo(printable(f"{parsed['text']}\n"), nl=False)
    except KeyboardInterrupt:
        click.echo(f"{name}: stopped following; the run goes on (`sentinel runs {name}`)", err=True)
        return 130
    return _say_how_it_ended(name, ours)


def _say_how_it_ended(name: str, run: dict[str, Any]) -> int:
    """`backup: run #3 exited 1 after 2.1s` on standard error; the exit code to give."""
    took = f" after {_took(run['duration_s'])}" if run.get("duration_s") is not None else ""
    if run.get("exit_signal"):
        how, code = f"was killed by {signal_name(int(run['exit_signal']))}", 128 + int(run["exit_signal"])
    elif run.get("exit_code") is not None:
        how, code = f"exited {run['exit_code']}", int(run["exit_code"])
    else:
        how, code = f"ended: {run['outcome']}", 1
    if run["outcome"] not in ("succeeded", "failed") and not how.endswith(run["outcome"]):
        how += f" ({run['outcome']})"
    click.echo(f"{name}: run #{run['id']} {how}{took}", err=True)
    return code


@cli.command(context_settings=CONTEXT, short_help="List a job's past runs.")
@click.argument("name", shell_complete=complete_names)
@click.option("-n", "limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per run.")
@handles_errors
def runs(name: str, limit: int, as_json: bool) -> None:
    """List the past runs of the job NAME, newest last: start, end, duration, exit code, outcome.

    RUN is the number its lines carry in the job's log (`sentinel logs NAME --run RUN`).
    """
    api = client()
    try:
        rows = api.get(f"/v1/processes/{name}/runs", limit=limit)["runs"]
    except DaemonUnavailable:
        from sentinel.cli.offline import offline_runs

        rows = offline_runs(api.state_dir, name, limit)
    if as_json:
        click.echo(to_json(rows), nl=False)
        return
    header = ("RUN", "STARTED", "ENDED", "DURATION", "EXIT", "OUTCOME", "TRIGGER")
    cells = [header] + [(
        str(row["id"]), row["started_at"] or "-", row["ended_at"] or "-", _took(row["duration_s"]),
        "-" if row["exit_code"] is None else str(row["exit_code"]), row["outcome"], row["trigger"],
    ) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _took(seconds: float | None) -> str:
    """A run's duration: tenths of a second under a minute (most jobs are short), else as uptimes are shown."""
    return f"{seconds:.1f}s" if seconds is not None and seconds < 60 else duration(seconds)
