"""`import`: another supervisor's file (Procfile, supervisord, process-compose, PM2) as a sentinel.yaml.

The translation is `sentinel.importers`; this prints it, or writes it with `-o`.
"""

from __future__ import annotations

import os

import click

from sentinel.cli.context import local_only
from sentinel.cli.main import CONTEXT, cli
from sentinel.cli.output import handles_errors
from sentinel.errors import SentinelError
from sentinel.importers import FORMATS, Format, header, translate


class OutputRefused(SentinelError):
    """-o names a file that exists (without --force), or one that cannot be written."""

    exit_code = 2


@cli.command(name="import", context_settings=CONTEXT,
             short_help="Translate a Procfile, supervisord, process-compose or PM2 file to sentinel.yaml.")
@click.argument("source", metavar="FILE")
@click.option("--from", "form", type=click.Choice(FORMATS), default=None,
              help="The format of FILE (default: guessed from its name, then its content).")
@click.option("-o", "--output", metavar="OUT", default=None, help="Write to OUT instead of standard output.")
@click.option("--force", is_flag=True, help="With -o: replace OUT if it exists.")
@handles_errors
def import_file(source: str, form: Format | None, output: str | None, force: bool) -> None:
    """Print an equivalent sentinel.yaml for FILE: a Procfile, a supervisord INI file, a
    process-compose YAML file or a PM2 ecosystem file (JSON, YAML, or a plain object literal in JS).

    What could not be carried over exactly is said in comments starting NOTE, above the process
    it concerns. The result always validates. Nothing in FILE is run.
    """
    from sentinel.config.loader import read_bytes
    from sentinel.importers.finish import render

    local_only("import", "it reads the file here")
    found, translation = translate(read_bytes(source), source, form)
    text = render(translation, header(source, found))
    if output is None:
        click.echo(text, nl=False)
        return
    if os.path.lexists(output) and not force:
        raise OutputRefused(f"{output}: exists; add --force to replace it")
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputRefused(f"{output}: cannot be written: {exc.strerror or exc}") from None
    notes = sum(len(notes) for notes in translation.notes.values())
    click.echo(f"{output}: {len(translation.processes)} process(es) from {source} ({found}), {notes} note(s)",
               err=True)
