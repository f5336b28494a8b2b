"""When is the world where the desired state puts it? What `apply` waits for, and what it reports. Pure.

An instance is settled when it is running, exited as expected, held stopped, or a job waiting
for its schedule; `failed` is final but not converged. `apply` stops waiting when everything
is settled, or when what is left can only be failed instances and those pending on them.
"""

from __future__ import annotations

from collections.abc import Collection

from sentinel.reconcile.desired import Desired
from sentinel.reconcile.observed import Records
from sentinel.reconcile.overlap import overlap_of
from sentinel.states import ProcessState

S = ProcessState
SETTLED = frozenset({S.RUNNING, S.EXITED, S.STOPPED, S.SCHEDULED})


def unsettled(desired: Desired, records: Records, busy: Collection[str]) -> list[str]:
    """Instances not yet where the desired state puts them, with why: 'web: backoff (exited 1, …)'."""
    out = [f"{name}: stopping" for name in sorted(busy)]
    for name in sorted(desired.keys() - set(busy)):
        record = records.get(name)
        if record is None:
            out.append(f"{name}: not started")
        elif record.state not in SETTLED:
            reason = f" ({record.reason})" if record.reason else ""
            out.append(f"{name}: {record.state}{reason}")
    gone = records.keys() - desired.keys() - set(busy)
    out += [f"{name}: being removed" for name in sorted(gone) if overlap_of(name, desired) is None]
    return out


def nothing_more_to_wait_for(lines: list[str]) -> bool:
    """True when nothing is unsettled, or only failed instances and the ones pending on them are."""
    return all(": failed" in line or ": pending" in line for line in lines)
