"""Fixtures of the state-loss tests (docs/reliability.md#f33-a-corrupt-state-database,
docs/reliability.md#f34-disk-full): the integration tests' process marker (a test that leaves a process
running fails), reconcilers on temp state directories, and the processes carrying a state directory's tag."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from sentinel.runtime.probe import tag_index
from sentinel.runtime.signals import TREE_VAR
from tests.integration.conftest import process_marker
from tests.integration.daemon.conftest import make_reconciler

__all__ = ["make_reconciler", "process_marker", "tagged"]


def tagged(home: Path) -> list[int]:
    """Pids of live (non-zombie) processes carrying a tag of the state directory `home`."""
    prefix = f"{home / 'run'}{os.sep}"
    found = []
    for tag, pids in tag_index(TREE_VAR).items():
        for pid in pids if tag.startswith(prefix) else ():
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    found.append(pid)
            except psutil.Error:
                continue
    return sorted(found)
