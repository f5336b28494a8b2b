"""Which processes fit under the reconciler's descriptor limit, and what to say about the rest. Pure.

Each running process costs the reconciler `PER_PROCESS` descriptors (measured: 14 open with
nothing running, 414 with 100 `sleep`s: its pidfd, output pipe, log file and spool file). On top
of what it holds with nothing running, `RESERVE` stays free for the API's connections, health
checks, state.db and the descriptors a start or restart holds for a moment, so neither the API
nor the restart path ever starves (docs/reliability.md#f43-many-processes). When the limit
cannot cover every desired instance, the first ones in dependency order (then by name) start and
the rest wait, `pending` with the reason `not_fitting` gives, rather than failing with "too many
open files" and looping in backoff.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

from sentinel.reconcile.order import process_of, ranks

PER_PROCESS = 4  # descriptors the reconciler holds for one running process
# Descriptors that even the API may not take (`api.serving` refuses a connection that would): starting and
# restarting processes, their logs, health checks, state.db, and the connections asyncio accepts in the few
# loop ticks before each is checked (`api.serving.ACCEPT_BURST` a tick).
SUPERVISION_RESERVE = 64
API_CONNECTIONS = 32  # descriptors kept for the API's connections when the processes take all they may
RESERVE = SUPERVISION_RESERVE + API_CONNECTIONS  # descriptors left free when deciding how many processes fit
NO_ROOM = "not started: too few file descriptors"  # how the reason of an instance that waits for room begins


@dataclass(frozen=True, slots=True)
class DescriptorBudget:
    """The reconciler's descriptor limit (soft, after raising it as far as the hard limit allows) and how many
    descriptors it holds with no process running."""

    limit: int
    base: int

    @property
    def room(self) -> int:
        """How many processes fit."""
        return max(0, (self.limit - self.base - RESERVE) // PER_PROCESS)


def needed(processes: int, base: int) -> int:
    """The descriptor limit `processes` running processes need, reserve included."""
    return base + RESERVE + PER_PROCESS * processes


def shortage(processes: int, budget: DescriptorBudget) -> str | None:
    """One line saying the limit is too low for `processes`, with what to raise it to; None if they all fit."""
    if processes <= budget.room:
        return None
    want = needed(processes, budget.base)
    return (f"{processes:,} processes need about {want:,} file descriptors; the limit is {budget.limit:,}: "
            f"raise it with `ulimit -n {want}` (or LimitNOFILE={want} in a systemd unit) before `sentinel up`; "
            f"{budget.room:,} processes start, the rest wait")


def not_fitting(instances: Iterable[str], depends_on: Mapping[str, Mapping[str, str]],
                budget: DescriptorBudget | None, running: Container[str] = ()) -> dict[str, str]:
    """instance -> why it waits, for the instances past the budget's room; empty when they all fit or there is
    no budget (no limit). Those `running` keep their place (they hold their descriptors already); the others
    take what is left in dependency order, ties by name."""
    names = sorted(instances)
    if budget is None or len(names) <= budget.room:
        return {}
    rank = ranks(depends_on)
    ordered = sorted(names, key=lambda name: (name not in running, rank.get(process_of(name, rank), 0), name))
    want = needed(len(names), budget.base)
    why = (f"{NO_ROOM} (the limit is {budget.limit:,}; {len(names):,} processes "
           f"need about {want:,})")
    return dict.fromkeys(ordered[budget.room:], why)
