"""`sentinel service install|uninstall|status|restart`: the reconciler itself run by launchd or systemd
(docs/service.md). Parses options and prints; sentinel/service/ writes the files and runs the init system's commands."""

from __future__ import annotations

import os
import shlex
import time

import click

from sentinel.cli.context import client, local_only
from sentinel.cli.main import CONTEXT, cli, env_option, file_option
from sentinel.cli.output import handles_errors
from sentinel.client import RemoteError
from sentinel.errors import DaemonUnavailable
from sentinel.service import manager as services
from sentinel.service.manager import PLATFORMS, Platform, Reconciler, ServiceError, ServiceManager, run_command

RESTART_TIMEOUT = 30.0

platform_option = click.option(
    "--platform", type=click.Choice(PLATFORMS), default=None,
    help="launchd or systemd (default: the running system's: launchd on macOS, systemd elsewhere).")
scope_option = click.option(
    "--user/--system", "user", default=True,
    help="The user's LaunchAgent / systemd user unit (default, no root needed), or a LaunchDaemon / system unit.")
force_option = click.option("--force", is_flag=True, help="Replace or remove a file `service install` did not write.")


@cli.group(context_settings=CONTEXT)
def service() -> None:
    """Run the reconciler as a launchd or systemd service.

    `install` writes a LaunchAgent plist (macOS) or a systemd user unit (Linux) that runs
    `sentinel up -f FILE`, kept alive and started at login or boot, then loads and starts it.
    """


def _manager(platform: Platform | None, user: bool, file: str = "sentinel.yaml", env: str | None = None
             ) -> ServiceManager:
    """The ServiceManager asked for, of this machine only (`--api` is refused). FILE shapes the service file's
    content; its path and the init system's commands do not depend on it."""
    local_only("service", "it drives this machine's init system", refuse=True)
    root = click.get_current_context().find_root()
    reconciler = Reconciler.for_config(
        os.path.abspath(file), environment_name=env, system=not user, environ=os.environ,
        state_home=root.params.get("state_dir") or os.environ.get("SENTINEL_HOME"))
    return services.service_manager(platform or services.default_platform(), reconciler)


@service.command(context_settings=CONTEXT, short_help="Install the reconciler as a service; load and start it.")
@file_option
@env_option
@platform_option
@scope_option
@click.option("--dry-run", is_flag=True, help="Print the file and the commands; change nothing.")
@click.option("--no-start", is_flag=True, help="Write the file only; do not load or start it.")
@force_option
@handles_errors
def install(*, file: str, env: str | None, platform: Platform | None, user: bool, dry_run: bool, no_start: bool,
            force: bool) -> None:
    """Install the reconciler of FILE as a service, then load and start it.

    Writes ~/Library/LaunchAgents/io.sentinelzero.reconciler.plist (launchd) or
    ~/.config/systemd/user/sentinel.service (systemd), then runs `launchctl bootstrap` or
    `systemctl --user enable --now`. Running it again changes nothing; a file there that it did
    not write is refused without --force. The state directory (--state-dir, $SENTINEL_HOME) is
    passed on to the service.
    """
    from sentinel.config.loader import load

    manager = _manager(platform, user, file, env)
    load(file, env=env)  # an invalid file exits 2 before anything is written
    plan = services.install_plan(manager, run_command, force=force, start=not no_start)
    if dry_run:
        click.echo(f"# would write {manager.path}" if plan.changed else f"# {manager.path} is up to date")
        click.echo(plan.content.decode(), nl=False)
        for argv in plan.commands:
            click.echo(f"# would run: {shlex.join(argv)}")
        return
    services.install(manager, run_command, plan)
    click.echo(f"{'wrote' if plan.changed else 'unchanged:'} {manager.path}")
    for argv in plan.commands:
        click.echo(f"ran: {shlex.join(argv)}")
    if no_start:
        click.echo(f"not started (--no-start): {shlex.join(manager.load_commands(loaded=False, changed=True)[-1])}")


@service.command(context_settings=CONTEXT, short_help="Stop the service and remove its file.")
@platform_option
@scope_option
@force_option
@handles_errors
def uninstall(platform: Platform | None, user: bool, force: bool) -> None:
    """Stop the reconciler's service and remove its file.

    The init system stops the reconciler, which stops its processes (run `sentinel down --keep`
    first to leave them running). Nothing to do when it is not installed (exit 0).
    """
    manager = _manager(platform, user)
    if services.uninstall(manager, run_command, force=force):
        click.echo(f"removed {manager.path}")
    else:
        click.echo(f"not installed: no {manager.path}")


@service.command(context_settings=CONTEXT, short_help="Installed? Loaded? Does the reconciler answer?")
@platform_option
@scope_option
@handles_errors
def status(platform: Platform | None, user: bool) -> None:
    """Whether the service is installed, what the init system says of it, and whether the reconciler answers.

    Exit 0 when it is installed and the reconciler answers, 1 otherwise.
    """
    manager = _manager(platform, user)
    found = services.installed(manager)
    state = {True: "installed", False: "not installed", None: "not written by `sentinel service install`"}[found]
    click.echo(f"{manager.platform} {manager.name}: {manager.path} ({state})")
    if found is not False:
        ran = run_command(manager.status_command())
        click.echo(f"{shlex.join(ran.argv)}: " + ("ok" if ran.code == 0 else f"exit {ran.code}: {ran.first_line}"))
    pid = _reconciler_pid()
    click.echo(f"reconciler: running (pid {pid})" if pid else "reconciler: not answering")
    if not (found and pid):
        raise SystemExit(1)


def _reconciler_pid() -> int | None:
    """The pid of this machine's reconciler; None when none answers."""
    api = client(timeout=2.0)
    if not api.alive():
        return None
    try:
        return int(api.get("/healthz")["pid"])
    except (DaemonUnavailable, RemoteError):
        return None  # it stopped between the two questions


@service.command(context_settings=CONTEXT, short_help="Restart the reconciler, leaving its processes running.")
@platform_option
@scope_option
@click.option("--timeout", type=click.FloatRange(1, 600), default=RESTART_TIMEOUT, show_default=True, metavar="S",
              help="How long to wait for the new reconciler to answer.")
@handles_errors
def restart(platform: Platform | None, user: bool, timeout: float) -> None:
    """Restart the reconciler through the init system, leaving its processes running.

    The running reconciler exits as with `sentinel down --keep`; launchd or systemd starts it
    again (the installed version, after an upgrade), and it adopts every process.
    """
    from sentinel.cli.lifecycle import stop_reconciler_here

    manager = _manager(platform, user)
    if services.installed(manager) is not True:
        raise ServiceError(f"the reconciler is not installed as a {manager.platform} service ({manager.path}): "
                           "run `sentinel service install`")
    loaded = run_command(manager.loaded_command())
    if loaded.code != 0:  # asked before stopping anything: nothing would start the reconciler again
        raise ServiceError(f"{manager.platform} has not loaded {manager.name} (`{shlex.join(loaded.argv)}`: exit "
                           f"{loaded.code}: {loaded.first_line}); nothing was stopped; run `sentinel service install`")
    before = _reconciler_pid()
    if before is not None:
        stop_reconciler_here(client(), keep=True, timeout=timeout)
    for argv in manager.start_commands():
        services.check(run_command(argv), f"the reconciler stopped, but {manager.platform} did not start it")
    deadline = time.monotonic() + timeout
    after = _reconciler_pid()
    while after is None or after == before:
        if time.monotonic() > deadline:
            raise ServiceError(f"{manager.platform} started no reconciler within {timeout:.0f}s; "
                               "see `sentinel service status`")
        time.sleep(0.1)
        after = _reconciler_pid()
    was = f"pid {before} → {after}" if before else f"pid {after}"
    click.echo(f"reconciler restarted by {manager.platform} ({was}); its processes kept running")
