"""`up`, `down`, `apply` and `diff`: starting and stopping the reconciler, and changing what it runs.

`up` is the one command that runs the reconciler itself (in this process); the others talk
to it through the client, or start a detached one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sentinel import collector, early_signals
from sentinel.cli.context import client, local_only, remembered_host, remote, state_dir
from sentinel.cli.main import (
    CONTEXT,
    chosen_host,
    cli,
    default_file,
    env_option,
    file_option,
    host_option,
    hostname_value,
    label_option,
    this_hostname,
)
from sentinel.cli.output import debugging, handles_errors, to_json
from sentinel.client import Client, lock_held
from sentinel.errors import DaemonRunning, DaemonUnavailable, SentinelError
from sentinel.logsettings import LOG_FORMATS, LogFormat
from sentinel.paths import StateDir, open_private
from sentinel.pidfd import ProcessExit

if TYPE_CHECKING:
    from sentinel.config.hosts import Host

DETACH_TIMEOUT = 15.0

running_file_option = click.option(
    "-f", "--file", "file", metavar="FILE", default=None,
    help="The config file (default: the running reconciler's, with its --env; with none running, "
         "$SENTINEL_CONFIG, then ./sentinel.yaml). With --api: a path on the reconciler's machine.",
)


class StartFailed(SentinelError):
    """A detached reconciler exited before it answered (its last log line says why)."""


@cli.command(context_settings=CONTEXT)
@file_option
@env_option
@click.option("-d", "--detach", is_flag=True, help="Run in the background; return once it answers.")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default=None, metavar="FORMAT",
              help="Its own log: console, logfmt or json (default: the file's log.format, else console "
                   "on a terminal and logfmt elsewhere).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, hidden=True)  # set by --detach
@click.option("--wait", is_flag=True, help="With --detach: return once everything has converged, as `apply` waits.")
@click.option("--timeout", type=click.FloatRange(0, 600), default=30.0, show_default=True, metavar="S",
              help="With --wait: how long to wait for the processes to converge.")
@click.option("--hostname", "hostname", metavar="NAME", default=None, callback=hostname_value,
              help="The hostname `hosts:` globs match (default: this machine's); for several reconcilers on one "
                   "machine.")
@label_option
@click.option("--git", "git", metavar="URL", default=None,
              help="Take the config from this git repository instead of FILE (docs/gitops.md): https://, ssh://, "
                   "user@host:path or file://, with your own credentials.")
@click.option("--ref", default="main", show_default=True, metavar="REF", help="With --git: the branch or tag.")
@click.option("--path", "source_path", default="sentinel.yaml", show_default=True, metavar="PATH",
              help="With --git: the file in the repository; {hostname} and {short_hostname} are filled in.")
@click.option("--interval", default="60s", show_default=True, metavar="DURATION",
              help="With --git: how often to fetch (`sentinel sync` fetches at once).")
@click.option("--require-signed", is_flag=True, help="With --git: apply only commits signed by a key of "
              "--allowed-signers (ssh signatures, git's gpg.ssh.allowedSignersFile).")
@click.option("--allowed-signers", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="With --require-signed: the allowed-signers file.")
@handles_errors
def up(*, file: str, env: str | None, detach: bool, log_format: LogFormat | None, log_file: str | None, wait: bool,
       timeout: float, hostname: str | None, labels: tuple[str, ...], git: str | None, ref: str, source_path: str,
       interval: str, require_signed: bool, allowed_signers: str | None) -> None:
    """Run the reconciler on FILE.

    In the foreground (what launchd and systemd run), Ctrl-C or SIGTERM stops every process
    in reverse dependency order, then exits; a second Ctrl-C forces. SIGHUP reloads the file.
    Its own log goes to standard error, or to sentinel.log in the state directory with --detach.
    With --detach --wait it returns once every process has converged (exit 0), or exits 1
    naming what has not, as `apply` does. It runs the processes whose `hosts:` match its
    hostname (--hostname, else this machine's) or its labels (--label KEY=VALUE, repeatable):
    every reload, `apply` and `diff` selects with them, and the state directory keeps them, so
    the next `up` there without --hostname or --label is the same host.

    With --git URL the config comes from a repository (docs/gitops.md): `up` writes these options
    as a bootstrap file (`source:`) in the state directory and runs it; FILE may be such a file.
    """
    if wait and not detach:
        raise click.UsageError("--wait needs --detach (in the foreground, `up` runs until stopped)")
    local_only("up", "it runs the reconciler here", refuse=True)
    from sentinel.config.loader import load

    if detach:
        early_signals.release()  # this process only starts the reconciler: a signal stops it as any command
    sd = state_dir()
    if git is not None:
        file = _git_bootstrap(sd, git, ref=ref, path=source_path, interval=interval, require_signed=require_signed,
                              allowed_signers=allowed_signers)
    path = os.path.abspath(file)
    host = _host_to_be(sd, hostname, labels)
    loaded = load(path, env=env, host=host)  # an invalid file exits 2 before anything starts
    if detach:
        if client().alive():
            raise DaemonRunning(f"a reconciler is already running on {sd.root}")
        pid = start_detached(sd, path, env, log_format=log_format, hostname=hostname, labels=labels)
        click.echo(f"reconciler started (pid {pid}); state in {sd.root}, its log in {sd.daemon_log}")
        if wait:
            _apply_and_wait(client(), path, env, timeout, since_start=True)
        return
    collector.hold()  # until the first pass has started everything (sentinel/collector.py)
    try:
        from sentinel.daemon import DaemonOptions, Handover, run

        config = Handover(loaded)
        del loaded  # the reconciler holds the config it takes alone: a reload lets this one go (Handover)
        run(DaemonOptions(config=path, environment=env, state_dir=sd, strict=debugging(), log_format=log_format,
                          log_file=Path(log_file) if log_file else None, host=host), config)
    finally:
        collector.resume()


def _host_to_be(sd: StateDir, hostname: str | None, labels: tuple[str, ...]) -> Host:
    """Who the reconciler is for `hosts:`: --hostname and --label when either is given (replacing what was
    kept), else who the last reconciler on this state directory was, else this machine's hostname alone."""
    from sentinel.config.hosts import Host

    return chosen_host(hostname, labels) or remembered_host(sd) or Host(this_hostname())


def _git_bootstrap(sd: StateDir, url: str, *, ref: str, path: str, interval: str, require_signed: bool,
                   allowed_signers: str | None) -> str:
    """`up --git …` written as the bootstrap file it stands for; the file's path (loading it checks the values)."""
    context = click.get_current_context()
    if context.get_parameter_source("file") is click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--git and -f are two sources of the config: give one (a file may hold `source:`)")
    from sentinel.cli.source import write_bootstrap

    source: dict[str, object] = {"git": url, "ref": ref, "path": path, "interval": interval}
    if require_signed or allowed_signers:
        source.update(require_signed=require_signed,
                      allowed_signers=os.path.abspath(allowed_signers) if allowed_signers else None)
    return write_bootstrap(sd, source)


def start_detached(sd: StateDir, path: str, env: str | None, *, log_format: LogFormat | None = None,
                   hostname: str | None = None, labels: tuple[str, ...] = ()) -> int:
    """Start `sentinel up` in its own session and wait until it answers. It writes its log to sentinel.log
    (rotated); its standard output and error go there too, for what the interpreter itself might print."""
    sd.ensure()
    argv = [sys.executable, "-m", "sentinel", "--state-dir", str(sd.root), "up", "-f", path,
            "--log-file", str(sd.daemon_log)]
    if env:
        argv += ["--env", env]
    if log_format:
        argv += ["--log-format", log_format]
    if hostname:
        argv += ["--hostname", hostname]
    for label in labels:
        argv += ["--label", label]
    start = os.path.getsize(sd.daemon_log) if sd.daemon_log.exists() else 0
    with sd.in_use():
        log = open_private(sd.daemon_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, log, 1),
        (os.POSIX_SPAWN_DUP2, log, 2),
    ]
    # posix_spawn, not Popen: the reconciler outlives this command, which never waits for it. It starts with
    # the stop and reload signals blocked: one sent before its handlers exist waits for them (early_signals).
    try:
        pid = os.posix_spawn(sys.executable, argv, dict(os.environ), file_actions=actions, setsid=True,
                             setsigmask=early_signals.HELD)
    except OSError as err:
        raise StartFailed(f"cannot start the reconciler: {sys.executable}: {err.strerror or err}") from None
    finally:
        os.close(log)
    deadline = time.monotonic() + DETACH_TIMEOUT
    probe = client(timeout=1.0)
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            raise StartFailed(_last_error(sd, start) or f"the reconciler exited with code {code}")
        if probe.alive():
            return pid
        time.sleep(0.02)
    raise DaemonUnavailable(f"the reconciler did not answer within {DETACH_TIMEOUT:.0f}s; see {sd.daemon_log}")


class StillStopping(SentinelError):
    """`down` waited its whole timeout."""


class NoReconciler(SentinelError):
    """`down` with no reconciler running on the state directory (exit 1, as the README says)."""


def _lock_released(sd: StateDir) -> bool:
    """True once no reconciler holds the state directory's lock (its process has ended or is ending)."""
    return not lock_held(sd)


def _last_error(sd: StateDir, offset: int) -> str:
    with open(sd.daemon_log, "rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


@cli.command(context_settings=CONTEXT, short_help="Stop every process, then the reconciler.")
@click.option("--keep", is_flag=True, help="Leave the processes running for the next reconciler to adopt.")
@click.option("--timeout", type=float, default=120.0, show_default=True, metavar="S",
              help="How long to wait for everything to stop.")
@handles_errors
def down(keep: bool, timeout: float) -> None:
    """Stop every process in reverse dependency order, then the reconciler.

    With --keep only the reconciler stops (for upgrades): the next `sentinel up` adopts the
    processes it left running. Returns once the reconciler's process has exited; exit 1 when no
    reconciler is running.
    """
    api = client()
    if api.remote is not None:
        _down_remote(api, keep, timeout)
    else:
        stop_reconciler_here(api, keep=keep, timeout=timeout)
    click.echo("reconciler stopped; processes left running" if keep else "reconciler stopped")


def stop_reconciler_here(api: Client, *, keep: bool, timeout: float) -> None:
    """Ask this machine's reconciler to stop; return once its process has exited and its lock is released."""
    try:
        pid = int(api.get("/healthz")["pid"])
        process = ProcessExit(pid)
        try:
            api.post("/v1/shutdown", {"keep": keep})
            _wait_stopped(api.state_dir, process, timeout)
        finally:
            process.close()
    except DaemonUnavailable:
        raise NoReconciler(f"no reconciler is running on {api.state_dir.root}") from None


def _down_remote(api: Client, keep: bool, timeout: float) -> None:
    """Ask a remote reconciler (`--api`) to stop; return once it no longer answers (its process cannot be watched
    from here)."""
    api.post("/v1/shutdown", {"keep": keep})
    deadline = time.monotonic() + timeout
    while api.alive():
        if time.monotonic() > deadline:
            raise StillStopping(f"the reconciler at {api.where} is still stopping after {timeout:.0f}s; "
                                "see `sentinel status`")
        time.sleep(0.1)


def _wait_stopped(sd: StateDir, process: ProcessExit, timeout: float) -> None:
    """Until the reconciler's process has exited and its lock is released; StillStopping after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (process.exited(0.02) and _lock_released(sd)):
        if time.monotonic() > deadline:
            raise StillStopping(f"the reconciler is still stopping after {timeout:.0f}s; see `sentinel status`")


@cli.command(context_settings=CONTEXT)
@running_file_option
@env_option
@click.option("--dry-run", is_flag=True, help="Print what would be done, like `diff`, and change nothing.")
@click.option("--timeout", type=float, default=30.0, show_default=True, metavar="S",
              help="How long to wait for the processes to converge.")
@handles_errors
def apply(file: str | None, env: str | None, dry_run: bool, timeout: float) -> None:
    """Make FILE the desired state and wait until it is reached.

    Starts a detached reconciler if none runs. Prints what was done. Exit 0 when converged
    (each process healthy, or up for 0.5s if it has no health check), 1 when not converged in
    time (or a process failed), 2 when FILE is invalid.
    """
    from sentinel.config.loader import load

    path, env = _config_to_use(file, env)
    if remote() is None:
        load(path, env=env)  # a remote reconciler reads FILE on its machine, and answers 422 when it is invalid
    if dry_run:
        _print_diff(path, env)
        return
    api = client()
    started = False
    if api.remote is None and not api.alive():
        start_detached(api.state_dir, path, env)
        started = True
    _apply_and_wait(api, path, env, timeout, since_start=started)


def _apply_and_wait(api: Client, path: str, env: str | None, timeout: float, *, since_start: bool) -> None:
    """Apply `path` (a no-op when it is the running file) and wait for convergence: print what was done,
    then `converged`, or exit 1 naming what has not converged."""
    from sentinel.cli.progress import progress

    body = {"file": path, "environment": env, "timeout": timeout, "since_start": since_start}
    with progress(api, f"applying {path}", timeout):
        result = api.post("/v1/config/apply", body, wait=timeout)
    for line in result.get("done", []):
        click.echo(line)
    if not result.get("converged"):
        for line in result.get("waiting", []):
            click.echo(f"not converged: {line}", err=True)
        sys.exit(1)
    click.echo("converged")


@cli.command(context_settings=CONTEXT)
@running_file_option
@env_option
@click.option("--base", "base", metavar="OLD", default=None,
              help="Compare FILE with the config file OLD instead of what a reconciler runs: no reconciler is asked "
                   "(for review in CI).")
@host_option
@label_option
@click.option("--json", "as_json", is_flag=True,
              help="Print the changes as a JSON array: action, instance, fields, reason.")
@handles_errors
def diff(*, file: str | None, env: str | None, base: str | None, host: str | None, labels: tuple[str, ...],
         as_json: bool) -> None:
    """Print what `apply` would do, changing nothing.

    One line per change: `+ web.1 start`, `- old stop`, `~ web restart (command)`,
    `~ web update (restart.max_retries)`. Exit 0 with no changes, 1 with changes, 2 when FILE
    (or OLD) is invalid.

    With --base OLD: what applying FILE would change on a host that runs OLD, each as host
    --host NAME with --label KEY=VALUE would select it (neither: every process). Without it, the
    running reconciler plans FILE as its own host; with none running, the state it last recorded
    is used, as this machine (or --host/--label) selects.
    """
    from sentinel.config.loader import load

    chosen = chosen_host(host, labels)
    if base is not None:
        local_only("diff --base", "it compares two files here", refuse=True)
        from sentinel.cli.offline import diff_between

        answer = diff_between(os.path.abspath(base), os.path.abspath(file or default_file()), env, chosen)
        if _show_diff(answer, as_json=as_json):
            sys.exit(1)
        return
    path, env = _config_to_use(file, env)
    if remote() is None:
        load(path, env=env)
    if _print_diff(path, env, as_json=as_json, host=chosen):
        sys.exit(1)


def _config_to_use(file: str | None, env: str | None) -> tuple[str, str | None]:
    """The file (absolute) and environment `apply` and `diff` use: FILE if given; else the running
    reconciler's (and its environment, unless --env says another), named on stderr; else the default file.
    With `--api`, FILE is a path on the remote reconciler's machine, sent as given."""
    if file is not None:
        return (file if remote() else os.path.abspath(file)), env
    try:
        running = client().get("/healthz")
    except DaemonUnavailable:
        return os.path.abspath(default_file()), env
    path, environment = str(running["config"]), env if env is not None else running.get("environment")
    where = f" (environment {environment})" if environment else ""
    click.echo(f"using {path}{where}, the file the running reconciler was given", err=True)
    return path, environment


def _print_diff(path: str, env: str | None, *, as_json: bool = False, host: Host | None = None) -> bool:
    """Print the diff the running reconciler answers (as its own host), or with none running the one against
    the state it recorded (as `host`, default this machine); True when there are changes."""
    api = client()
    try:
        answer = api.post("/v1/config/diff", {"file": path, "environment": env})
        if host is not None:
            click.echo("--host and --label are not used: the running reconciler diffs as its own host "
                       "(its hostname and labels)", err=True)
    except DaemonUnavailable:
        from sentinel.cli.offline import offline_diff

        answer = offline_diff(api.state_dir, path, env, host or _host_to_be(api.state_dir, None, ()))
    return _show_diff(answer, as_json=as_json)


def _show_diff(answer: dict[str, Any], *, as_json: bool) -> bool:
    """Print a diff answer (`lines`, or `changes` as JSON); True when there are changes."""
    if as_json:
        click.echo(to_json(answer["changes"]), nl=False)
    else:
        for line in answer["lines"]:
            click.echo(line)
    return bool(answer["lines"])
