"""The `sentinel` command group: parse arguments, call the library, render. Nothing else.

Heavy modules (pydantic, ruamel.yaml, croniter) are imported inside the commands that need
them, so `sentinel --help` and `--version` answer at once.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from sentinel import __version__, early_signals
from sentinel.cli.output import handles_errors, to_json, to_yaml

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
    if context.invoked_subcommand != "up":
        early_signals.release()  # only the reconciler acts on signals itself


@cli.command(context_settings=CONTEXT)
@file_option
@env_option
@handles_errors
def validate(file: str, env: str | None) -> None:
    """Check a config file and list every problem.

    Exit 0 when it is valid; otherwise exit 2 and print each problem on its own line as
    FILE:LINE:COL: key.path: message.
    """
    from sentinel.cli.context import local_only
    from sentinel.config.loader import load

    local_only("validate", "it checks the file here")
    loaded = load(file, env=env)
    jobs = sum(1 for p in loaded.config.processes.values() if p.is_job)
    services = len(loaded.config.processes) - jobs
    where = f", environment {env}" if env else ""
    included = f", {len(loaded.files) - 1} included file(s)" if len(loaded.files) > 1 else ""
    click.echo(f"{file}: valid ({_count(services, 'service')}, {_count(jobs, 'job')}{included}{where})")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@cli.command(context_settings=CONTEXT)
@file_option
@env_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.option("--show-secrets", is_flag=True,
              help="Show secrets (env values whose names look secret, values from env_file) instead of ***.")
@handles_errors
def config(file: str, env: str | None, as_json: bool, show_secrets: bool) -> None:
    """Print the fully resolved config.

    Includes, the environment overlay, templates, defaults and ${VAR} are applied, and every
    default is filled in, like `docker compose config`. The YAML output is itself a valid
    config that resolves to the same thing (with --show-secrets when env values are masked;
    a literal $ is printed as $$). --json prints the values exactly as processes get them.
    """
    from sentinel.cli.context import local_only
    from sentinel.config.loader import load
    from sentinel.config.secrets import masked, masked_tree

    local_only("config", "it resolves the file here")
    loaded = load(file, env=env)
    data: dict[str, Any] = loaded.config.model_dump(mode="json", exclude_none=True)
    if not show_secrets:
        data = masked_tree(data, loaded.tainted)
        for process in data.get("processes", {}).values():
            process["env"] = masked(process["env"])
    if as_json:
        click.echo(to_json(data), nl=False)
    else:
        overlay = f" with environment {env}" if env else ""
        header = f"# {file} resolved{overlay} by sentinel {__version__}\n"
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

