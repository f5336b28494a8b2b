"""`completion`: the shell's completion script for `sentinel` (click's shell completion), completing commands,
options and process names (`sentinel.cli.names`)."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from sentinel.cli.main import CONTEXT, cli

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VARIABLE = "_SENTINEL_COMPLETE"


@cli.command(context_settings=CONTEXT, short_help="Print the shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL: commands, options and process names (from the running
    reconciler, or from the config file when none runs).

    \b
    bash:  eval "$(sentinel completion bash)"       in ~/.bashrc
    zsh:   eval "$(sentinel completion zsh)"        in ~/.zshrc
    fish:  sentinel completion fish > ~/.config/fish/completions/sentinel.fish
    """
    completer = get_completion_class(shell)
    if completer is None:  # click knows all three; a click without one is a broken install
        raise click.UsageError(f"this click has no {shell} completion")
    click.echo(completer(cli, {}, "sentinel", COMPLETE_VARIABLE).source())
