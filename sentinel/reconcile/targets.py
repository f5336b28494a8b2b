"""Resolving CLI targets (`web`, `web.1`, `group:NAME`, `--all`) to instance names, and naming the ones that
match nothing. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sentinel.config.hints import closest
from sentinel.errors import TargetError
from sentinel.reconcile.desired import Desired


def resolve_targets(
    targets: Sequence[str], desired: Desired, *, everything: bool = False
) -> tuple[list[str], list[str]]:
    """(instances in name order, targets that match nothing)."""
    if everything:
        return sorted(desired), []
    found: set[str] = set()
    unknown: list[str] = []
    for target in targets:
        matches = set(_matches(target, desired))
        if matches:
            found |= matches
        else:
            unknown.append(target)
    return sorted(found), unknown


def _matches(target: str, desired: Desired) -> Iterable[str]:
    if target.startswith("group:"):
        group = target.removeprefix("group:")
        return (name for name, d in desired.items() if d.group == group)
    if target in desired:
        return (target,)
    return (name for name, d in desired.items() if d.process == target)


def target_error(unknown: Sequence[str], desired: Desired) -> TargetError:
    """The error for targets that match nothing, each with the closest name it may have meant (`workr` →
    `worker`), as unknown config keys get."""
    groups = {f"group:{d.group}" for d in desired.values() if d.group}
    known = {*desired, *(d.process for d in desired.values()), *groups}
    hints = {target: match for target in unknown if (match := closest(target, sorted(known))) is not None}
    return TargetError(list(unknown), hints)
