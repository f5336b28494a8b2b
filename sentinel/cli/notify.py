"""`sentinel notify test TARGET`: send one test notification to a target of the config's `notify:` list, signed as
the reconciler signs them, and say what the server answered (README.md#notifications)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import click

from sentinel.cli.main import CONTEXT, cli, env_option, file_option
from sentinel.cli.output import handles_errors
from sentinel.errors import SentinelError


class NotifyFailed(SentinelError):
    """The test notification got no 2xx answer (exit 1)."""


class NoSuchTarget(SentinelError):
    exit_code = 2


@cli.group(context_settings=CONTEXT)
def notify() -> None:
    """Webhook notifications (the config's notify: targets)."""


@notify.command(context_settings=CONTEXT)
@click.argument("target")
@file_option
@env_option
@handles_errors
def test(target: str, file: str, env: str | None) -> None:
    """Send a test notification to TARGET (its name, or its index in notify:).

    It is built, signed and sent as the reconciler sends notifications (one try, the
    target's timeout); exit 0 when the server answers 2xx, 1 otherwise.
    """
    from sentinel.cli.context import local_only
    from sentinel.config.loader import load
    from sentinel.reconcile.notify import TEST, Notice, body_of, headers_for, target_label, target_shown
    from sentinel.state.values import iso
    from sentinel.webhook import post, read_secret

    local_only("notify test", "it sends from here, with the config file here")
    loaded = load(file, env=env)
    targets = loaded.config.notify
    labels = [target_label(index, each) for index, each in enumerate(targets)]
    if target.isdigit() and int(target) < len(targets):
        index = int(target)
    elif target in labels:
        index = labels.index(target)
    else:
        known = ", ".join(labels) if labels else "none: the config has no notify: targets"
        raise NoSuchTarget(f"{file}: no notify target {target!r} (targets: {known})")
    chosen = targets[index]
    secret = read_secret(chosen.secret_file, file) if chosen.secret_file is not None else None
    at = iso(datetime.now(UTC)) or ""
    notice = Notice(TEST, None, None, None, "a test notification from `sentinel notify test`", None, at)
    body = body_of(notice, chosen, host=socket.gethostname(), revision=None)
    answer = post(chosen.url, body, headers_for(body, secret), timeout=chosen.timeout)
    shown = target_shown(index, chosen)
    if not answer.ok:
        raise NotifyFailed(f"{shown}: {answer}")
    click.echo(f"{shown}: {answer}")
