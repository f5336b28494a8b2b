"""What the reconciler's own shutdown (`down`, SIGTERM) stops, and in which order. Pure.

Dependents stop before what they depend on; the instances of one rank stop at once. Each stop
is an ordinary `Stop`, so the records it leaves (`stopped`, kept for the next reconciler) come
from `record_after` like every other state change.
"""

from __future__ import annotations

from collections.abc import Collection

from sentinel.reconcile.actions import Stop
from sentinel.reconcile.desired import Desired
from sentinel.reconcile.order import process_of, ranks

SHUTDOWN = "reconciler stopped"


def shutdown_stops(desired: Desired, running: Collection[str]) -> tuple[tuple[Stop, ...], ...]:
    """The stops of every running instance in batches, in reverse dependency order (ties by name)."""
    rank = ranks({d.process: d.depends_on for d in desired.values()})
    level = {name: rank.get(process_of(name, rank), 0) for name in running}
    return tuple(
        tuple(Stop(instance=name, reason=SHUTDOWN) for name in sorted(running) if level[name] == batch)
        for batch in sorted(set(level.values()), reverse=True)
    )
