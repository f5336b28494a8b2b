"""Plans as text: the `diff` lines (config changes only, field names, never values) and the done lines."""

from __future__ import annotations

import pytest

from sentinel.reconcile.actions import Action, Forget, Plan, Restart, SetState, Start, Stop, Update
from sentinel.reconcile.observed import ExitStatus
from sentinel.reconcile.render import answer_line, diff_items, diff_lines, done_line, killed_line
from sentinel.states import ProcessState as S
from tests.unit.reconcile.scenarios import advance, crash, hold, restart, step, svc, world_after


@pytest.mark.parametrize(
    ("action", "line"),
    [
        pytest.param(Start(instance="web.1", reason="new in config", from_config=True), "+ web.1 start", id="start"),
        pytest.param(Stop(instance="old", reason="removed from config", forget=True, from_config=True), "- old stop",
                     id="stop"),
        pytest.param(Forget(instance="old", reason="removed from config", from_config=True), "- old stop",
                     id="forget-reads-as-stop"),
        pytest.param(Restart(instance="web", reason="command changed", fields=("command",), from_config=True),
                     "~ web restart (command)", id="restart"),
        pytest.param(Restart(instance="web", reason="env.TOKEN, user changed", fields=("env.TOKEN", "user"),
                             from_config=True), "~ web restart (env.TOKEN, user)", id="restart-several-fields"),
        pytest.param(Restart(instance="web", reason="spec changed", from_config=True), "~ web restart (spec changed)",
                     id="restart-without-fields-gives-the-reason"),
        pytest.param(Update(instance="web", reason="updated in place (restart.max_retries)",
                            fields=("restart.max_retries",)), "~ web update (restart.max_retries)", id="update"),
        pytest.param(SetState(instance="api", state=S.PENDING, reason="waiting for db", from_config=True),
                     "+ api start (waiting for db)", id="new-but-pending"),
        pytest.param(SetState(instance="web", state=S.RUNNING, from_config=True, not_applied=True,
                              reason="edit not applied: command not found: x; the running process goes on"),
                     "~ web edit not applied: command not found: x; the running process goes on",
                     id="edit-that-cannot-start"),
    ],
)
def test_diff_line_of_each_action_kind(action: Action, line: str) -> None:
    assert diff_lines(Plan((action,))) == [line]


RUNTIME_ONLY = [
    pytest.param(Start(instance="web", reason="backoff over", failures=1, restart=True), id="backoff-restart"),
    pytest.param(Start(instance="web", reason="exited 1, restarting in 0s (attempt 1)", failures=1, restart=True),
                 id="immediate-restart"),
    pytest.param(SetState(instance="web", state=S.BACKOFF, reason="exited 1", retry_at=1.0, failures=1,
                          exit=ExitStatus(code=1)), id="backoff"),
    pytest.param(Restart(instance="web", reason="restart requested"), id="requested-restart"),
    pytest.param(Stop(instance="web", reason="stopped by user"), id="held-stop"),
    pytest.param(Start(instance="web", reason="start requested"), id="requested-start"),
]


@pytest.mark.parametrize("action", RUNTIME_ONLY)
def test_runtime_only_actions_are_not_in_the_diff(action: Action) -> None:
    assert diff_lines(Plan((action,))) == []


def test_diff_of_a_whole_edit_lists_config_changes_in_plan_order() -> None:
    world = world_after({"web": svc(replicas=2), "old": svc("old"), "api": svc("api"), "w": svc("w")}, [crash("w")])
    world.edit_processes({
        "web": svc(replicas=3, env={"TOKEN": "t0p-s3cret"}),
        "api": svc("api", restart={"max_retries": 5}),
        "new": svc("new"),
        "w": svc("w"),
    })
    result = world.plan()
    assert diff_lines(result) == [
        "- old stop",
        "~ api update (restart.max_retries)",
        "+ new start",
        "~ web.0 restart (env.TOKEN)",
        "~ web.1 restart (env.TOKEN)",
        "+ web.2 start",
    ]
    assert any(isinstance(a, SetState) and a.instance == "w" for a in result.actions), "the crash is planned too"
    assert all("t0p-s3cret" not in line for line in diff_lines(result))
    items = diff_items(result)
    assert [(item["action"], item["instance"]) for item in items] == [
        ("stop", "old"), ("update", "api"), ("start", "new"), ("restart", "web.0"), ("restart", "web.1"),
        ("start", "web.2")]
    assert items[1] == {"action": "update", "instance": "api", "fields": ["restart.max_retries"],
                        "reason": "updated in place (restart.max_retries)"}
    assert items[3]["fields"] == ["env.TOKEN"]
    assert "t0p-s3cret" not in repr(items)


def test_diff_item_of_a_new_instance_waiting_for_a_dependency() -> None:
    action = SetState(instance="api", state=S.PENDING, reason="waiting for db", from_config=True)
    assert diff_items(Plan((action,))) == [{"action": "start", "instance": "api", "fields": [],
                                            "reason": "waiting for db"}]


def test_diff_item_of_an_edit_that_cannot_start_keeps_the_running_process() -> None:
    action = SetState(instance="web", state=S.RUNNING, reason="edit not applied: x", from_config=True,
                      not_applied=True)
    assert diff_items(Plan((action,))) == [{"action": "keep", "instance": "web", "fields": [],
                                            "reason": "edit not applied: x"}]


def test_killed_line() -> None:
    assert killed_line("web", "SIGTERM", 3.0) == "killed web: still running 3s after SIGTERM"
    assert killed_line(None, "SIGINT", 0.5) == "killed: still running 0.5s after SIGINT"


@pytest.mark.parametrize(("state", "reason", "line"), [
    ("running", "restart requested", "web: running"),
    ("stopped", "stopped by user", "web: stopped (stopped by user)"),
    ("stopped", killed_line(None, "SIGTERM", 3.0), "killed web: still running 3s after SIGTERM"),
    ("stopped", None, "web: stopped"),
    ("failed", "killed by SIGKILL", "web: failed (killed by SIGKILL)"),
])
def test_answer_line_says_when_a_stop_ended_in_sigkill(state: str, reason: str | None, line: str) -> None:
    assert answer_line("web", state, reason) == line


def test_runtime_passes_show_no_diff() -> None:
    world = world_after({"web": svc(), "api": svc("api")}, [crash("web"), step(), advance(1), restart("api"),
                                                            hold("web")])
    assert world.plan().actions
    assert diff_lines(world.plan()) == []


@pytest.mark.parametrize(
    ("action", "line"),
    [
        pytest.param(Start(instance="web", reason="new in config"), "started web: new in config", id="start"),
        pytest.param(Start(instance="web", reason="backoff over", restart=True), "restarted web: backoff over",
                     id="restart-by-start"),
        pytest.param(Stop(instance="web", reason="stopped by user"), "stopped web: stopped by user", id="stop"),
        pytest.param(Restart(instance="web", reason="command changed"), "restarted web: command changed",
                     id="restart"),
        pytest.param(Update(instance="web", reason="updated in place (group)"), "updated web: updated in place (group)",
                     id="update"),
        pytest.param(SetState(instance="web", state=S.FAILED, reason="exited 1"), "failed web: exited 1",
                     id="set-state"),
        pytest.param(Forget(instance="web", reason="removed from config"), "removed web: removed from config",
                     id="forget"),
    ],
)
def test_done_line(action: Action, line: str) -> None:
    assert done_line(action) == line


def test_leftover_lines_count_name_and_round_up() -> None:
    from sentinel.reconcile.render import leftover_line, leftovers_gone_line

    assert leftover_line("app", [41], 13.2) == "waiting for 1 leftover process of app to exit (pid 41, SIGKILL in 14s)"
    assert leftover_line("app", [1, 2, 3, 4, 5, 6], -1.0) == (
        "waiting for 6 leftover processes of app to exit (pids 1, 2, 3, 4, 5, …, SIGKILL in 0s)")
    assert leftovers_gone_line("app", [41], killed=False) == "1 leftover process of app gone (pid 41)"
    assert leftovers_gone_line("app", [41, 42], killed=True) == "2 leftover processes of app killed (pids 41, 42)"
