"""`start`, `stop` and `restart`: act on processes by name, instance, `group:NAME` or `--all`;
`reload` and `signal`: reach one process's main process without restarting it.

`stop` holds a process stopped until `start` (or until the file changes it), across reconciler
restarts. Unknown targets exit 1 naming them, and change nothing. `start` and `restart` with
`--wait` return once their targets have converged, by `apply`'s rule (healthy, or up for 0.5 s
without a health check), and exit 1 naming what has not when that fails or `--timeout` runs out.
"""

from __future__ import annotations

import sys

import click

from sentinel.cli.context import client
from sentinel.cli.main import CONTEXT, cli
from sentinel.cli.names import complete_names
from sentinel.cli.output import handles_errors
from sentinel.errors import SentinelError


class NoTargets(SentinelError):
    exit_code = 1


def _act(verb: str, targets: tuple[str, ...], everything: bool, *, wait: bool = False, timeout: float = 60.0) -> None:
    if not targets and not everything:
        raise NoTargets(f"name what to {verb}: a process, an instance (web.1), group:NAME, or --all")
    body: dict[str, object] = {"targets": list(targets), "all": everything}
    if wait:
        body.update(converge=True, timeout=timeout)
    answer = client().post(f"/v1/processes/{verb}", body, wait=timeout if wait else 60.0)
    from sentinel.reconcile.render import answer_line

    for row in answer.get("processes", []):
        health = f", {row['health']}" if wait and row.get("health") not in (None, "none", "-") else ""
        click.echo(answer_line(row["name"], row["state"], row.get("reason")) + health)
    if wait and not answer.get("converged"):
        for line in answer.get("waiting", []):
            click.echo(f"not converged: {line}", err=True)
        sys.exit(1)
    if not answer.get("settled", True):
        click.echo("still settling; see `sentinel status`", err=True)


def _command(verb: str, doc: str, *, waits: bool = False) -> None:
    @click.argument("targets", nargs=-1, metavar="TARGET...", shell_complete=complete_names)
    @click.option("--all", "everything", is_flag=True, help=f"{verb.capitalize()} every process.")
    @handles_errors
    def command(targets: tuple[str, ...], everything: bool, wait: bool = False, timeout: float = 60.0) -> None:
        _act(verb, targets, everything, wait=wait, timeout=timeout)

    if waits:
        command = click.option("--timeout", type=click.FloatRange(0, 600), default=60.0, show_default=True,
                               metavar="S", help="With --wait: how long to wait.")(command)
        command = click.option("--wait", is_flag=True, help="Return once they are healthy (or up for 0.5s without "
                               "a health check), as `apply` waits; exit 1 if they are not in time.")(command)
    command.__doc__ = doc
    cli.command(name=verb, context_settings=CONTEXT)(command)


_command("start", "Start processes, dropping a hold from `stop`.\n\n"
         "TARGET is a process, an instance (web.1) or group:NAME.", waits=True)
_command("stop", "Stop processes and hold them stopped until `start`.\n\n"
         "The hold survives reconciler restarts. TARGET is a process, an instance (web.1) or group:NAME.")
_command("restart", "Restart processes (start them if they are not running).\n\n"
         "TARGET is a process, an instance (web.1) or group:NAME.", waits=True)


@cli.command(context_settings=CONTEXT, short_help="Reload a process without restarting it.")
@click.argument("name", shell_complete=complete_names)
@handles_errors
def reload(name: str) -> None:
    """Reload the process NAME as its `reload:` says (a signal, or a command), without restarting it.

    Like systemd's ExecReload: the main process keeps running and rereads its config files.
    """
    answer = client().post(f"/v1/processes/{name}/reload", {}, wait=60.0)
    done = answer.get("done", [])
    click.echo(f"reloading {', '.join(done)}" if done else f"{name}: not running, nothing to reload")


@cli.command(name="signal", context_settings=CONTEXT, short_help="Send a signal to a process's main process.")
@click.argument("name", shell_complete=complete_names)
@click.argument("signal_name", metavar="SIGNAL")
@handles_errors
def send_signal(name: str, signal_name: str) -> None:
    """Send SIGNAL (HUP, USR1, SIGUSR2, 10, …) to the main process of NAME (supervisorctl's `signal`).

    Only the main process gets it, not its children; nothing is recorded about the process.
    """
    answer = client().post(f"/v1/processes/{name}/signal", {"signal": signal_name}, wait=10.0)
    pids = answer.get("pids", {})
    for instance, pid in sorted(pids.items()):
        click.echo(f"{instance}: sent {signal_name} to pid {pid}")
    if not pids:
        click.echo(f"{name}: not running, no signal sent")
