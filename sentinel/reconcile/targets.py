"""Resolving CLI targets (`web`, `web.1`, `group:NAME`, `--all`) to instance names. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
