"""Overlapping runs of a job (`concurrency: allow`): their instance names. Pure.

A job's own instance is its name (`backup`). A run asked for while that one still goes runs as
`backup+1` (the lowest free number): an instance with its own record, pid and history row, which
the planner leaves alone while it runs and forgets once it has ended. Its output goes to the job's
log. `+` cannot appear in a process name, so these names never clash with one from the file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from sentinel.instances import OVERLAP, numbered, overlap_name
from sentinel.reconcile.desired import DesiredProcess


def overlap_of(instance: str, desired: Mapping[str, DesiredProcess]) -> str | None:
    """The job whose overlapping run `instance` is (`backup+1` → `backup`), if that job is desired."""
    head = numbered(instance, OVERLAP)
    if head is None or head not in desired or not desired[head].is_job:
        return None
    return head


def spec_of(instance: str, desired: Mapping[str, DesiredProcess]) -> DesiredProcess | None:
    """The desired spec of `instance`: its own, or for an overlapping run its job's under its own name."""
    d = desired.get(instance)
    if d is not None:
        return d
    job = overlap_of(instance, desired)
    return replace(desired[job], name=instance) if job is not None else None


def free_overlap(job: str, taken: Collection[str]) -> str:
    """The first `job+N` (N ≥ 1) not in `taken`."""
    number = 1
    while overlap_name(job, number) in taken:
        number += 1
    return overlap_name(job, number)
