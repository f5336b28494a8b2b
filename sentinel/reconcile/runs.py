"""Decisions about a job's runs taken between planning passes. Pure.

The scheduler (or `sentinel run`) asks for a run: `ask_run` says whether it goes ahead (the
planner then starts it) or is skipped, and why. A run that outlives its job's `timeout` is cut:
`overdue_runs` gives the stop that ends it, whose record change `record_after` makes like any
other (the job waits `scheduled` again; an overlapping run is forgotten). The controller only
carries these out, so `diff`, the tests' simulation and the state table see the same decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sentinel.config.units import format_duration
from sentinel.reconcile.actions import Stop
from sentinel.reconcile.desired import DesiredProcess
from sentinel.reconcile.observed import ProcessRecord
from sentinel.reconcile.overlap import overlap_of, spec_of
from sentinel.states import ProcessState

HELD_SKIP = "it is stopped (held)"
FORBID_SKIP = "its previous run is still going"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunAsked:
    """The run goes ahead: the job's record asks the planner for it (`records.run_requested`)."""

    job: str
    reason: str  # becomes the run's start reason: "scheduled run of 03:00Z"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSkipped:
    """The run does not happen; it is recorded as a skipped run with `reason`."""

    job: str
    reason: str


def ask_run(job: DesiredProcess, record: ProcessRecord | None, *, going: bool, manual: bool,
            why: str) -> RunAsked | RunSkipped:
    """A trigger (or `sentinel run`, `manual`) for `job`, whose last run is still `going` or not.

    A held job skips its triggers (a manual run is still asked for); under `concurrency: forbid`
    a trigger that finds the last run going is skipped; under `replace` it replaces that run."""
    if record is not None and record.held and not manual:
        return RunSkipped(job=job.name, reason=HELD_SKIP)
    if going and job.concurrency == "forbid":
        return RunSkipped(job=job.name, reason=FORBID_SKIP)
    replacing = going and job.concurrency == "replace"
    return RunAsked(job=job.name, reason=f"{why}, replacing the run still going" if replacing else why)


def overdue_runs(started: Mapping[str, float], desired: Mapping[str, DesiredProcess],
                 now: float) -> tuple[tuple[Stop, ...], float | None]:
    """The stops that end the runs (instance → monotonic start) that have outlived their job's `timeout`,
    and the seconds until the next run's deadline (None: no deadline)."""
    late: list[Stop] = []
    soonest: float | None = None
    for instance, start in sorted(started.items()):
        spec = spec_of(instance, desired)
        if spec is None or spec.run_timeout is None:
            continue
        left = start + spec.run_timeout - now
        if left <= 0:
            late.append(timed_out(instance, spec.run_timeout, overlapping=overlap_of(instance, desired) is not None))
        else:
            soonest = left if soonest is None else min(soonest, left)
    return tuple(late), soonest


def timed_out(instance: str, timeout: float, *, overlapping: bool) -> Stop:
    """The stop of a run cut at its `timeout`: the job waits `scheduled` for its next trigger; an overlapping
    run (`backup+1`) is gone with it."""
    reason = f"last run timed out after {format_duration(timeout)}"
    if overlapping:
        return Stop(instance=instance, reason=reason, forget=True)
    return Stop(instance=instance, reason=reason, then=ProcessState.SCHEDULED)
