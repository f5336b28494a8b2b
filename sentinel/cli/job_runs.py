"""`run` and `runs`: run a job now, and list a job's past runs (from state.db when no reconciler runs)."""

from __future__ import annotations

import click

from sentinel.cli.context import client
from sentinel.cli.main import CONTEXT, cli
from sentinel.cli.output import handles_errors, to_json
from sentinel.cli.table import duration
from sentinel.errors import DaemonUnavailable


@cli.command(context_settings=CONTEXT)
@click.argument("name")
@handles_errors
def run(name: str) -> None:
    """Run the job NAME now, whatever its schedule.

    If a run is still going: with `concurrency: forbid` (the default) this one is skipped (and
    recorded as skipped), with `replace` the one going is stopped first, and with `allow` this one
    runs beside it.
    """
    answer = client().post(f"/v1/processes/{name}/run", {}, wait=30.0)
    for row in answer.get("processes", []):
        why = row.get("reason")
        click.echo(f"{row['name']}: {row['state']}" + (f" ({why})" if why and why != row["state"] else ""))


@cli.command(context_settings=CONTEXT, short_help="List a job's past runs.")
@click.argument("name")
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
