"""What to do with a stray: a process of this state directory that no record in state.db knows.

A stray's reconciler died between starting it and writing it down, or state.db itself was lost
(a new disk, a wiped state directory). Its leader still carries its instance's tag and the
digest of the spec it was started with (`SENTINEL_SPEC`), so a stray whose instance is still
desired, as the same spec, is adopted rather than restarted; any other is stopped, so that
nothing runs twice (docs/reliability.md#f33-a-corrupt-state-database). Pure: the controller
finds the strays and carries out the verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sentinel.reconcile.desired import DesiredProcess

ADOPT = "adopt"


@dataclass(frozen=True, slots=True)
class StrayFacts:
    """What a stray carries: the spec digest in its leader's environment (None: no leader left, or no digest)."""

    name: str
    spec_hash: str | None
    held: bool = False  # its record (if any) says `sentinel stop`


def stray_verdict(stray: StrayFacts, desired: Mapping[str, DesiredProcess]) -> str:
    """`ADOPT`, or why the stray is stopped ("not in the config", …)."""
    spec = desired.get(stray.name)
    if spec is None:
        return "not in the config"
    if stray.held:
        return "held stopped"
    if spec.is_job:
        return "a job run no record knows"  # its run history is lost: a run is never adopted blind
    if stray.spec_hash is None:
        return "started by a reconciler that did not record its spec"
    if stray.spec_hash != spec.spec_hash:
        return "its spec has changed"
    return ADOPT
