"""What every daemon-facing command needs: the state directory and a client for it."""

from __future__ import annotations

import os

import click

from sentinel.client import Client
from sentinel.paths import StateDir


def state_dir() -> StateDir:
    """The state directory from `--state-dir`, `$SENTINEL_HOME` or the platform default."""
    root = click.get_current_context().find_root()
    given = root.params.get("state_dir")
    return StateDir.resolve(given, os.environ)


def client(timeout: float = 10.0) -> Client:
    return Client(state_dir(), timeout=timeout)
