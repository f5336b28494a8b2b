"""`sentinel api token`: print the TCP API's token (creating its file, random and owner-only, when there is none),
or `--rotate` it (a new file renamed over the old one: a running reconciler takes the new token from its next
request, and the old one gets 401; docs/security.md#the-tcp-api)."""

from __future__ import annotations

import os

import click

from sentinel.cli.main import CONTEXT, cli, env_option
from sentinel.cli.output import handles_errors
from sentinel.errors import SentinelError


@cli.group(context_settings=CONTEXT)
def api() -> None:
    """The API on TCP (api.listen): its tokens."""


@api.command(context_settings=CONTEXT)
@click.option("-f", "--file", "file", metavar="FILE", default=None,
              help="The config whose api.token_file to use (default: $SENTINEL_CONFIG, then ./sentinel.yaml "
                   "when it exists; without one, ~/.config/sentinel/token).")
@env_option
@click.option("--read", "read_only", is_flag=True, help="The read-only token (api.read_token_file) instead.")
@click.option("--rotate", is_flag=True, help="Write a new token (the old one stops working at once) and print it.")
@handles_errors
def token(file: str | None, env: str | None, read_only: bool, rotate: bool) -> None:
    """Print the token the TCP API takes (Authorization: Bearer TOKEN).

    Its file is created with a random token (mode 0600) when there is none. With --rotate, a
    new token replaces it atomically; a running reconciler takes it from its next request.
    """
    from sentinel import tokens

    configured, config_file = _configured(file, env, read_only)
    path = tokens.token_path(configured, config_file)
    if rotate:
        click.echo(tokens.rotate(path))
        click.echo(f"sentinel: new token in {path}; the old one no longer works", err=True)
        return
    value, created = tokens.ensure_token(path)
    if created:
        click.echo(f"sentinel: created {path} with a new token", err=True)
    click.echo(value)


def _configured(file: str | None, env: str | None, read_only: bool) -> tuple[str | None, str | None]:
    """The token file the config names (None: the default) and that config, FILE or the default config file if
    there is one (None: no config)."""
    from sentinel.cli.main import default_file
    from sentinel.config.loader import load

    if file is None:
        file = default_file()
        if not os.path.exists(file):
            if read_only:
                raise click.UsageError("--read needs a config with api.read_token_file (-f FILE)")
            return None, None
    api = load(file, env=env).config.api
    if not read_only:
        return (api.token_file if api else None), file
    if api is None or api.read_token_file is None:
        raise _NoReadToken(f"{file} sets no api.read_token_file")
    return api.read_token_file, file


class _NoReadToken(SentinelError):
    """`--read` on a config without `api.read_token_file`."""
