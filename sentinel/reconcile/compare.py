"""What applying one config would change on a host that runs another: `sentinel diff -f NEW --base OLD`. Pure.

No reconciler is asked: the host is taken to have converged on the old config (each service instance
running with the old spec, each job scheduled), and the plan towards the new one is made by the same
`plan` and shown by the same `render.diff_lines` as a `diff` against a live reconciler. The two files
are usually two checkouts of one repository in two directories (CI checks the base out beside the
change): `moved` takes the old one's working directories to where the new one's are, so that the
checkout's place is not a change.
"""

from __future__ import annotations

from collections.abc import Mapping

from sentinel.config.models import Config
from sentinel.reconcile.actions import Plan
from sentinel.reconcile.desired import DesiredProcess
from sentinel.reconcile.observed import ObservedProcess, ProcessIdentity, ProcessRecord
from sentinel.reconcile.planner import plan
from sentinel.states import ProcessState

_SETTLED = 0.0  # the time of the comparison: both worlds are taken as they are, nothing is waiting for time


def converged_on(desired: Mapping[str, DesiredProcess]) -> tuple[dict[str, ObservedProcess],
                                                                 dict[str, ProcessRecord]]:
    """The observations and records of a host that runs `desired` as it asks: services running (with a
    stand-in identity: no process is looked at), jobs scheduled, each with the spec it asks for."""
    observed: dict[str, ObservedProcess] = {}
    records: dict[str, ProcessRecord] = {}
    for number, (name, wanted) in enumerate(sorted(desired.items()), start=1):
        state = ProcessState.SCHEDULED if wanted.is_job else ProcessState.RUNNING
        records[name] = ProcessRecord(name=name, state=state, spec_hash=wanted.spec_hash,
                                      digests=dict(wanted.digests), started_at=_SETTLED)
        if not wanted.is_job:
            observed[name] = ObservedProcess(name=name, identity=ProcessIdentity(number, _SETTLED))
    return observed, records


def plan_change(base: Mapping[str, DesiredProcess], new: Mapping[str, DesiredProcess]) -> Plan:
    """The plan that takes a host converged on `base` to `new` (its config-caused actions are the diff)."""
    observed, records = converged_on(base)
    return plan(new, observed, records, _SETTLED)


def moved(config: Config, old_root: str, new_root: str) -> Config:
    """`config` (read below directory `old_root`) as if read below `new_root`: each process's `cwd` in
    `old_root` moves along (paths outside it stay)."""
    def place(cwd: str | None) -> str | None:
        if cwd is None or old_root == new_root:
            return cwd
        if cwd == old_root:
            return new_root
        if cwd.startswith(old_root.rstrip("/") + "/"):
            return new_root.rstrip("/") + "/" + cwd[len(old_root.rstrip("/")) + 1:]
        return cwd

    processes = {name: process.model_copy(update={"cwd": place(process.cwd)})
                 for name, process in config.processes.items()}
    return config.model_copy(update={"processes": processes})
