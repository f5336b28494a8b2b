"""`sentinel export`: the config's processes as systemd units, launchd plists or Nomad jobs (docs/service.md#export).
Parses options, writes or prints the files and the notes; sentinel/service/export/ translates."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sentinel.cli.context import local_only
from sentinel.cli.main import CONTEXT, cli, env_option, file_option
from sentinel.cli.output import handles_errors
from sentinel.errors import SentinelError


class ExportDirectoryError(SentinelError):
    """-o names something that is not a directory we can write to."""


@cli.command(context_settings=CONTEXT, name="export")
@file_option
@env_option
@click.option("--format", "format_name", type=click.Choice(("systemd", "launchd", "nomad")), required=True,
              help="systemd: .service (+ .timer) per instance; launchd: a plist per instance; nomad: job JSON.")
@click.option("-o", "--output", "output", metavar="DIR", default=None,
              help="Write the files into DIR (made if missing) instead of printing them.")
@click.option("--show-secrets", is_flag=True, help="Print secret env values instead of *** (files in DIR always "
                                                   "hold them, readable by their owner only).")
@handles_errors
def export_command(file: str, env: str | None, format_name: str, output: str | None, show_secrets: bool) -> None:
    """Write FILE's processes as another process manager's files.

    What a format cannot express (a health check, `depends_on: healthy`, limits, …) is listed
    on standard error, one line per process and field. Without -o the files are printed,
    each after a `==> NAME <==` line.
    """
    from sentinel.config.loader import load
    from sentinel.config.secrets import all_secrets, named_secret_values, redact
    from sentinel.service.export import Format, export

    local_only("export", "it reads the file here")
    loaded = load(file, env=env)
    chosen: Format = "systemd" if format_name == "systemd" else "launchd" if format_name == "launchd" else "nomad"
    exported = export(loaded, chosen, home=os.environ.get("HOME") or str(Path.home()))
    secrets = all_secrets(loaded.tainted) | named_secret_values(
        [process.env for process in loaded.config.processes.values()])
    if output is None:
        for name, content in exported.files.items():
            text = content.decode()
            click.echo(f"==> {name} <==")
            click.echo(text if show_secrets else redact(text, secrets), nl=False)
    else:
        _write(Path(output), exported.files, secrets)
    for note in exported.notes:
        click.echo(f"{format_name}: {note}", err=True)


def _write(directory: Path, files: dict[str, bytes], secrets: frozenset[str]) -> None:
    """Each file into `directory`; one holding a secret value is made readable by its owner only."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            path = directory / name
            path.write_bytes(content)
            path.chmod(0o600 if any(secret.encode() in content for secret in secrets) else 0o644)
    except OSError as err:
        raise ExportDirectoryError(f"{directory}: cannot write: {err.strerror or err}") from None
    click.echo(f"wrote {len(files)} file(s) to {directory}")
