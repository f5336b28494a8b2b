"""The `sentinel` command group: parse arguments, call the library, render. Nothing else.

Heavy modules (pydantic, ruamel.yaml, croniter) are imported inside the commands that need
them, so `sentinel --help` and `--version` answer at once.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from sentinel import __version__, collector, early_signals
from sentinel.cli.output import handles_errors, to_json, to_yaml

if TYPE_CHECKING:
    from sentinel.config.hosts import Host

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def default_file() -> str:
    """`$SENTINEL_CONFIG`, then `./sentinel.yaml` (docs/contract.md#cli)."""
    return os.environ.get("SENTINEL_CONFIG") or "sentinel.yaml"


file_option = click.option(
    "-f", "--file", "file", metavar="FILE", default=default_file,
    help="The config file (default: $SENTINEL_CONFIG, then ./sentinel.yaml).",
)
env_option = click.option(
    "--env", "env", metavar="NAME", envvar="SENTINEL_ENV", default=None,
    help="Apply the environments.NAME overlay (default: $SENTINEL_ENV).",
)


def hostname_value(_context: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from sentinel.config.hosts import check_hostname

    try:
        return None if value is None else check_hostname(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _labels(_context: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from sentinel.config.hosts import LABELS_MAX, parse_label

    if len(values) > LABELS_MAX:
        raise click.BadParameter(f"at most {LABELS_MAX} labels")
    for value in values:
        try:
            parse_label(value)
        except ValueError as err:
            raise click.BadParameter(str(err)) from None
    return values


label_option = click.option(
    "--label", "labels", metavar="KEY=VALUE", multiple=True, callback=_labels,
    help="A label of the host, matched by `hosts:` items KEY=GLOB; repeat for more.",
)
host_option = click.option(
    "--host", "host", metavar="NAME", default=None, callback=hostname_value,
    help="Only what host NAME runs (`hosts:` selectors), with the --label given (--label alone: this machine's "
         "hostname).",
)


def this_hostname() -> str:
    """The hostname `hosts:` globs match when none is given (`up` without --hostname): the system's."""
    import socket

    return socket.gethostname()


def chosen_host(host: str | None, labels: tuple[str, ...]) -> Host | None:
    """The `Host` of `--host` (or `up --hostname`) and `--label`, both checked by their options; None when
    neither is given: every process of the file. `--label` alone: this machine's hostname."""
    if host is None and not labels:
        return None
    from sentinel.config.hosts import Host, parse_label

    return Host(host or this_hostname(), dict(parse_label(text) for text in labels))


# The commands that drive the reconciler are defined in these modules (sentinel.cli.NAME), each imported when
# one of its commands runs, so that `status` does not load what `up`, `logs` or `run` need
# (docs/contract.md#performance-budgets); `--help` imports them all. tests/integration/test_cli.py checks
# that this lists every command they define.
COMMAND_MODULES = {
    "start": "control", "stop": "control", "restart": "control", "reload": "control", "signal": "control",
    "status": "inspect", "ps": "inspect", "events": "inspect", "logs": "inspect",
    "run": "job_runs", "runs": "job_runs",
    "up": "lifecycle", "down": "lifecycle", "apply": "lifecycle", "diff": "lifecycle",
    "api": "api_token",
    "service": "service", "export": "export",
    "import": "importing", "completion": "completion",
    "notify": "notify",
    "top": "top",
    "sync": "source", "source": "source", "history": "source",
}


class CommandGroup(click.Group):
    """The `sentinel` group: a command of COMMAND_MODULES is registered by importing its module."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None:
            importlib.import_module(f"sentinel.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(f"sentinel.cli.{module}")
        return super().list_commands(ctx)


@click.group(cls=CommandGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="sentinel", message="%(prog)s %(version)s")
@click.option("--state-dir", "state_dir", metavar="DIR", default=None,
              help="The reconciler's state directory (default: $SENTINEL_HOME, then the platform's).")
@click.option("--api", "api", metavar="URL", envvar="SENTINEL_API", default=None,
              help="Drive the reconciler at this URL (http[s]://HOST:PORT, its api.listen) instead of this "
                   "machine's (default: $SENTINEL_API).")
@click.option("--token-file", "token_file", metavar="FILE", envvar="SENTINEL_TOKEN_FILE", default=None,
              help="With --api: the file holding its bearer token (default: $SENTINEL_TOKEN_FILE).")
@click.option("--ca-file", "ca_file", metavar="FILE", envvar="SENTINEL_CA_FILE", default=None,
              help="With an https:// --api: the CA certificate(s) that verify it, PEM (default: "
                   "$SENTINEL_CA_FILE, else the system's).")
@click.pass_context
def cli(context: click.Context, state_dir: str | None, api: str | None, token_file: str | None,
        ca_file: str | None) -> None:
    """SentinelZero: a declarative process supervisor.

    Declare processes in sentinel.yaml; SentinelZero keeps them running as declared.
    With --api URL (or $SENTINEL_API), every command that talks to a reconciler drives
    the one at URL, over its TCP API.
    """
    collector.command_starts(reconciler=context.invoked_subcommand == "up")
    if context.invoked_subcommand != "up":
        early_signals.release()  # only the reconciler acts on signals itself


@cli.command(context_settings=CONTEXT)
@file_option
@env_option
@host_option
@label_option
@click.argument("files", nargs=-1, metavar="[FILE]...")
@handles_errors
def validate(file: str, env: str | None, host: str | None, labels: tuple[str, ...], files: tuple[str, ...]) -> None:
    """Check a config file (-f, or each FILE given) and list every problem.

    Exit 0 when it is valid; otherwise exit 2 and print each problem on its own line as
    FILE:LINE:COL: key.path: message. With several FILEs (as the pre-commit hook passes them),
    each is checked, and the exit is 2 when any is invalid. Every process is checked, whatever its
    `hosts:`; with --host or --label, also as that host (a dependency on a process it leaves out is
    an error), counting what that host runs.
    """
    from sentinel.cli.context import local_only
    from sentinel.config.loader import load
    from sentinel.errors import ConfigError

    local_only("validate", "it checks the file here")
    chosen = chosen_host(host, labels)
    invalid: ConfigError | None = None
    for path in files or (file,):
        try:
            if chosen is not None:
                load(path, env=env)  # every process first, whatever host it runs on
            loaded = load(path, env=env, host=chosen)
        except ConfigError as error:
            if len(files) <= 1:
                raise
            click.echo(str(error), err=True)
            invalid = error
            continue
        jobs = sum(1 for p in loaded.config.processes.values() if p.is_job)
        services = len(loaded.config.processes) - jobs
        where = f", environment {env}" if env else ""
        included = f", {len(loaded.files) - 1} included file(s)" if len(loaded.files) > 1 else ""
        on_host = f", on host {chosen.describe()}: {len(loaded.left_out)} left out" if chosen is not None else ""
        click.echo(f"{path}: valid ({_count(services, 'service')}, {_count(jobs, 'job')}{included}{where}{on_host})")
    if invalid is not None:
        sys.exit(invalid.exit_code)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@cli.command(context_settings=CONTEXT)
@file_option
@env_option
@host_option
@label_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.option("--show-secrets", is_flag=True,
              help="Show secrets (env values whose names look secret, values from env_file) instead of ***.")
@handles_errors
def config(*, file: str, env: str | None, host: str | None, labels: tuple[str, ...], as_json: bool,
           show_secrets: bool) -> None:
    """Print the fully resolved config.

    Includes, the environment overlay, templates, defaults and ${VAR} are applied, and every
    default is filled in, like `docker compose config`. The YAML output is itself a valid
    config that resolves to the same thing (with --show-secrets when env values are masked;
    a literal $ is printed as $$). --json prints the values exactly as processes get them.
    With --host NAME and --label KEY=VALUE: only what that host would run (`hosts:`), no
    reconciler needed.
    """
    from sentinel.cli.context import local_only
    from sentinel.config.loader import load
    from sentinel.config.secrets import mask_dumped, masked_tree

    local_only("config", "it resolves the file here")
    chosen = chosen_host(host, labels)
    loaded = load(file, env=env, host=chosen)
    data: dict[str, Any] = loaded.config.model_dump(mode="json", exclude_none=True)
    if not data.get("groups"):
        data.pop("groups", None)  # a file without `groups:` prints as it did before they existed
    if not show_secrets:
        data = mask_dumped(masked_tree(data, loaded.tainted))
    if as_json:
        click.echo(to_json(data), nl=False)
    else:
        overlay = f" with environment {env}" if env else ""
        for_host = f" for host {chosen.describe()}" if chosen is not None else ""
        left_out = f"# not on this host: {', '.join(loaded.left_out)}\n" if loaded.left_out else ""
        header = f"# {file} resolved{overlay}{for_host} by sentinel {__version__}\n{left_out}"
        click.echo(to_yaml(escape_dollars(data), header), nl=False)


def escape_dollars(data: Any) -> Any:
    """Every `$` in a string value doubled, so printed YAML is read back to the same values."""
    if isinstance(data, str):
        return data.replace("$", "$$")
    if isinstance(data, dict):
        return {key: escape_dollars(value) for key, value in data.items()}
    if isinstance(data, list):
        return [escape_dollars(item) for item in data]
    return data


@cli.command(context_settings=CONTEXT)
@click.option("--openapi", is_flag=True, help="Print the API's OpenAPI document instead (schema/openapi.json).")
@handles_errors
def schema(openapi: bool) -> None:
    """Print the JSON Schema of sentinel.yaml.

    Editors use it to complete and check the file; see the README for the one-line setup.
    With --openapi, the API's OpenAPI document (what the reconciler serves at /openapi.json).
    """
    if openapi:
        from sentinel.api.openapi import openapi_text

        click.echo(openapi_text(), nl=False)
        return
    from sentinel.config.schema import schema_text

    click.echo(schema_text(), nl=False)


def main() -> None:
    """Entry point of the `sentinel` command."""
    cli(prog_name="sentinel")

