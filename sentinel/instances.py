"""Instance names, the one place they are made and taken apart. Pure; imports nothing from sentinel.

A process runs as one instance named like it (`web`), or as replicas `web.0` … `web.N-1`; a
run of a job that overlaps the one going (`concurrency: allow`) is `backup+1`, `backup+2` … A
process name may itself hold a `.` (`v1.2`), so taking a name apart needs the names known.
"""

from __future__ import annotations

from collections.abc import Container

REPLICA = "."  # web.0
OVERLAP = "+"  # backup+1: `+` cannot appear in a process name


def instance_names(process: str, replicas: int) -> list[str]:
    """`web` for a single instance; `web.0` … `web.N-1` when replicas is more than one."""
    return [process] if replicas == 1 else [f"{process}{REPLICA}{index}" for index in range(replicas)]


def overlap_name(job: str, number: int) -> str:
    """The instance of the `number`-th run of `job` that overlaps the one going: `backup+1`."""
    return f"{job}{OVERLAP}{number}"


def numbered(instance: str, separator: str) -> str | None:
    """`web` for `web.1` (separator `.`), `backup` for `backup+2` (`+`): the name before a trailing
    separator and number; None when `instance` does not end so."""
    head, found, tail = instance.rpartition(separator)
    return head if found and head and tail.isdigit() else None


def process_of(instance: str, known: Container[str]) -> str:
    """The process an instance belongs to: `web.1` (a replica) or `backup+1` (a job's overlapping run) →
    `web`, `backup` when that is `known`, else the name itself."""
    if instance in known:
        return instance
    for separator in (REPLICA, OVERLAP):
        head = numbered(instance, separator)
        if head is not None and head in known:
            return head
    return instance


def is_instance_of(instance: str, name: str) -> bool:
    """`instance` is `name` itself or one of its replicas (`web.1` of `web`)."""
    return instance == name or numbered(instance, REPLICA) == name
