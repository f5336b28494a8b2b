"""Plans as text: the `diff` lines of docs/contract.md#cli and the one-line events of what was done. Pure.

Only field names are ever shown, never values, so secrets cannot leak through a diff.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import assert_never

from sentinel.reconcile.actions import Action, Forget, Plan, Restart, SetState, Start, Stop, Update

_PIDS_SHOWN = 5  # a wait for leftovers names this many pids, then "…"


def diff_lines(plan: Plan) -> list[str]:
    """`+ web.1 start`, `- old stop`, `~ web restart (command)`, `~ web update (restart.max_retries)`, and for an
    edit that cannot start, which leaves the running process as it is:
    `~ web edit not applied: command not found: x; the running process goes on`."""
    return [line for action in plan.actions if action.from_config and (line := _diff_line(action))]


def diff_items(plan: Plan) -> list[dict[str, object]]:
    """The changes of `diff_lines` as data (`diff --json`): action, instance, fields, reason."""
    return [_diff_item(action) for action in plan.actions if action.from_config]


def diff_answer(plan: Plan) -> dict[str, object]:
    """What `diff` shows of a plan, as the reconciler answers it: its `lines` and its `changes` (as data)."""
    return {"lines": diff_lines(plan), "changes": diff_items(plan)}


def _diff_item(action: Action) -> dict[str, object]:
    match action:
        case SetState() if action.not_applied:
            verb = "keep"
        case Start() | SetState():
            verb = "start"
        case Stop() | Forget():
            verb = "stop"
        case Restart():
            verb = "restart"
        case Update():
            verb = "reload" if action.reload else "update"
        case _:
            assert_never(action)
    fields = list(action.fields) if isinstance(action, Restart | Update) else []
    return {"action": verb, "instance": action.instance, "fields": fields, "reason": action.reason}


def _diff_line(action: Action) -> str:
    match action:
        case Start():
            return f"+ {action.instance} start"
        case SetState():
            return (f"~ {action.instance} {action.reason}" if action.not_applied  # an edit that cannot start
                    else f"+ {action.instance} start ({action.reason})")
        case Stop() | Forget():
            return f"- {action.instance} stop"
        case Restart():
            return f"~ {action.instance} restart ({', '.join(action.fields) or action.reason})"
        case Update() if action.reload:
            return f"~ {action.instance} reload ({action.reason})"
        case Update():
            return f"~ {action.instance} update ({', '.join(action.fields)})"
        case _:
            assert_never(action)


def done_line(action: Action) -> str:
    """What executing `action` did, for events and `apply` output: 'started web: new in config'."""
    match action:
        case Start():
            verb = "restarted" if action.restart else "started"
        case Stop():
            verb = "stopped"
        case Restart():
            verb = "restarted"
        case Update():
            verb = "reloaded" if action.reload else "updated"
        case SetState():
            verb = str(action.state)
        case Forget():
            verb = "removed"
        case _:
            assert_never(action)
    return f"{verb} {action.instance}: {action.reason}"


KILLED = "killed"


def killed_line(instance: str | None, signal: str, grace: float) -> str:
    """A stop whose grace ended in SIGKILL: 'killed web: still running 3s after SIGTERM' (without
    `instance`: 'killed: still running 3s after SIGTERM', the reason its record keeps)."""
    who = f" {instance}" if instance else ""
    return f"{KILLED}{who}: still running {grace:g}s after {signal}"


def leftover_line(instance: str, pids: Sequence[int], kill_in: float) -> str:
    """What a start waits for while what the last run left behind gets its stop grace: 'waiting for 1
    leftover process of app to exit (pid 41, SIGKILL in 14s)'."""
    return (f"waiting for {_leftovers(pids)} of {instance} to exit "
            f"({_pids(pids)}, SIGKILL in {math.ceil(max(kill_in, 0.0)):d}s)")


def leftovers_gone_line(instance: str, pids: Sequence[int], killed: bool) -> str:
    """The end of that wait: 'leftover process of app gone (pid 41)', '… killed (pid 41)' after SIGKILL."""
    return f"{_leftovers(pids)} of {instance} {'killed' if killed else 'gone'} ({_pids(pids)})"


def _leftovers(pids: Sequence[int]) -> str:
    return f"{len(pids)} leftover process{'' if len(pids) == 1 else 'es'}"


def _pids(pids: Sequence[int]) -> str:
    """'pid 41', 'pids 41, 42', at most `_PIDS_SHOWN` of them."""
    shown = ", ".join(map(str, pids[:_PIDS_SHOWN])) + (", …" if len(pids) > _PIDS_SHOWN else "")
    return f"pid{'' if len(pids) == 1 else 's'} {shown}"


def answer_line(name: str, state: str, reason: str | None) -> str:
    """One process in the answer to `start`, `stop` or `restart`: 'web: running', 'web: stopped (stopped by
    user)'; a stop whose grace ended in SIGKILL says so as its event does: 'killed web: still running 3s after
    SIGTERM' (its record's reason is `killed_line` without the name)."""
    if state == "stopped" and reason and reason.startswith(f"{KILLED}: "):
        return f"{KILLED} {name}{reason.removeprefix(KILLED)}"
    detail = f" ({reason})" if reason and state != "running" else ""
    return f"{name}: {state}{detail}"
