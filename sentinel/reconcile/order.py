"""Dependency order: rank each process by how deep it sits under `depends_on`. Pure.

Starts go in rank order (dependencies first), stops in reverse; ties by name (docs/conventions.md#deterministic-order).
Validation has already refused cycles; a dependency nothing is known about ranks 0, so what
depends on it still ranks above it (a removed process whose record is gone, for instance).
"""

from __future__ import annotations

from collections.abc import Mapping

from sentinel.instances import process_of

__all__ = ["process_of", "ranks"]  # process_of lives in sentinel.instances; the planner finds it here too


def ranks(depends_on: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
    """process → 0 for no dependencies, else 1 + the highest rank of what it depends on."""
    out: dict[str, int] = {}

    def rank(name: str, seen: frozenset[str]) -> int:
        if name in out:
            return out[name]
        deps = [d for d in depends_on.get(name, {}) if d not in seen]  # an unknown name ranks 0
        value = 1 + max(rank(d, seen | {name}) for d in deps) if deps else 0
        out[name] = value
        return value

    for name in sorted(depends_on):
        rank(name, frozenset())
    return out
