"""Plans as text: the `diff` lines of docs/contract.md#cli and the one-line events of what was done. Pure.

Only field names are ever shown, never values, so secrets cannot leak through a diff.
"""

from __future__ import annotations

from typing import assert_never

from sentinel.reconcile.actions import Action, Forget, Plan, Restart, SetState, Start, Stop, Update


def diff_lines(plan: Plan) -> list[str]:
    """`+ web.1 start`, `- old stop`, `~ web restart (command)`, `~ web update (restart.max_retries)`, and for an
    edit that cannot start, which leaves the running process as it is:
    `~ web edit not applied: command not found: x; the running process goes on`."""
    return [line for action in plan.actions if action.from_config and (line := _diff_line(action))]


def diff_items(plan: Plan) -> list[dict[str, object]]:
    """The changes of `diff_lines` as data (`diff --json`): action, instance, fields, reason."""
    return [_diff_item(action) for action in plan.actions if action.from_config]


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
            verb = "update"
        case _:
            assert_never(action)
    fields = list(action.fields) if isinstance(action, Restart | Update) else []
    return {"action": verb, "instance": action.instance, "fields": fields, "reason": action.reason}


def _diff_line(action: Action) -> str:
    match action:
        case Start():
            return f"+ {action.instance} start"
        case SetState() if action.not_applied:
            return f"~ {action.instance} {action.reason}"
        case SetState():
            return f"+ {action.instance} start ({action.reason})"
        case Stop() | Forget():
            return f"- {action.instance} stop"
        case Restart():
            return f"~ {action.instance} restart ({', '.join(action.fields) or action.reason})"
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
            verb = "updated"
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


def answer_line(name: str, state: str, reason: str | None) -> str:
    """One process in the answer to `start`, `stop` or `restart`: 'web: running', 'web: stopped (stopped by
    user)'; a stop whose grace ended in SIGKILL says so as its event does: 'killed web: still running 3s after
    SIGTERM' (its record's reason is `killed_line` without the name)."""
    if state == "stopped" and reason and reason.startswith(f"{KILLED}: "):
        return f"{KILLED} {name}{reason.removeprefix(KILLED)}"
    detail = f" ({reason})" if reason and state != "running" else ""
    return f"{name}: {state}{detail}"
