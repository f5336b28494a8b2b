"""`top`: a live, full-screen view of every process, with keys to act on them and to follow a log.

The view itself (sentinel.cli.top_view) is built on Textual, imported only when `top` runs: no other
command loads it (docs/contract.md#performance-budgets). It talks to the reconciler through the client every
other command uses, so it works over the socket and against a remote one (`--api URL --token-file F`).
"""

from __future__ import annotations

import sys

import click

from sentinel.cli.context import client
from sentinel.cli.main import CONTEXT, cli
from sentinel.cli.output import handles_errors
from sentinel.errors import SentinelError

# Seconds a request of `top` may take: a reconciler slower than that is shown as lost (and asked again).
TOP_TIMEOUT = 5.0


class NotATerminal(SentinelError):
    exit_code = 2


@cli.command(context_settings=CONTEXT, short_help="A live view of every process, with keys to act on them.")
@click.option("--group", metavar="G", help="Only the processes of group G.")
@click.option("--interval", type=click.FloatRange(0.2, 60), default=1.0, show_default=True, metavar="S",
              help="Seconds between refreshes.")
@handles_errors
def top(group: str | None, interval: float) -> None:
    """Watch every process live: state, health, pid, uptime, restarts, cpu, memory, next run.

    Keys: arrows select; / filters by name or group (Escape clears); o sorts by the next column,
    O reverses; s start, x stop, r restart, n run a job now; l or Enter follows the selected
    process's log in a pane (l again closes it); q quits. A reconciler that cannot be reached
    is shown in a banner and asked again at every refresh.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise NotATerminal("`sentinel top` needs a terminal; in a script, use `sentinel status` (or --json)")
    api = client(timeout=TOP_TIMEOUT)
    from sentinel.cli.top_view import TopApp

    TopApp(api, group=group, interval=interval).run()
