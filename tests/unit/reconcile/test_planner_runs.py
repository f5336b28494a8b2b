"""The planner over several passes against SimWorld: crash loops, scaling, adoption, wake times, secrets.

Where test_planner.py checks one plan, these drive a world through plan + apply until it
settles, and check where it ends up and what it took to get there.
"""

from __future__ import annotations

import pytest

from sentinel.reconcile.actions import SetState, Start, Stop
from sentinel.reconcile.observed import ExitStatus
from sentinel.reconcile.render import diff_lines
from sentinel.states import ProcessState as S
from tests.support.simworld import SimWorld
from tests.unit.reconcile.scenarios import T0, Event, adopt, crash, hold, job, restart, step, svc, world_after


def crash_loop(world: SimWorld, name: str, limit: int = 20) -> list[str]:
    """Crash `name` each time it runs, letting backoffs pass, until it stays down; the reasons recorded."""
    reasons: list[str] = []
    for _ in range(limit):
        if name not in world.live():
            break
        world.crash(name)
        result = world.step()
        reasons.extend(a.reason for a in result.actions if isinstance(a, SetState) and a.instance == name)
        world.converge()
    return reasons


def test_max_retries_3_fails_after_exactly_four_runs() -> None:
    world = world_after({"web": svc(restart={"max_retries": 3})}, [])
    reasons = crash_loop(world, "web")
    assert world.runs["web"] == 4
    assert world.state("web") is S.FAILED
    assert reasons == [
        "exited 1, restarting in 1s (attempt 1/3)",
        "exited 1, restarting in 2s (attempt 2/3)",
        "exited 1, restarting in 4s (attempt 3/3)",
        "exited 1; gave up after 4 runs in a row failed",
    ]
    assert world.plan().actions == ()
    assert world.plan().wake_at is None


def test_failed_process_restarts_afresh_when_its_command_changes() -> None:
    world = world_after({"web": svc(restart={"max_retries": 1})}, [])
    crash_loop(world, "web")
    assert world.state("web") is S.FAILED
    world.edit_processes({"web": svc("web --port 81", restart={"max_retries": 1})})
    world.settle()
    assert world.live() == {"web"}
    assert world.records["web"].failures == 0
    assert crash_loop(world, "web")[0] == "exited 1, restarting in 1s (attempt 1/1)"


def test_a_run_of_reset_after_clears_the_crash_loop() -> None:
    world = world_after({"web": svc(restart={"max_retries": 2, "reset_after": 10})}, [])
    world.crash("web")
    world.converge()
    world.crash("web")
    world.step()
    assert world.records["web"].failures == 2
    world.converge()
    world.advance(10)  # a run as long as reset_after
    world.crash("web")
    assert world.step().actions[0].reason == "exited 1, restarting in 1s (attempt 1/2)"
    assert world.records["web"].failures == 1


def test_a_short_run_keeps_the_crash_loop() -> None:
    world = world_after({"web": svc(restart={"reset_after": 10})}, [])
    world.crash("web")
    world.converge()
    world.advance(9.5)
    world.crash("web")
    assert world.step().actions[0].reason == "exited 1, restarting in 2s (attempt 2)"


def test_scale_up_starts_only_the_new_replicas() -> None:
    world = world_after({"web": svc(replicas=2)}, [])
    world.edit_processes({"web": svc(replicas=4)})
    result = world.plan()
    assert result.actions == (
        Start(instance="web.2", reason="new in config", from_config=True),
        Start(instance="web.3", reason="new in config", from_config=True),
    )
    assert diff_lines(result) == ["+ web.2 start", "+ web.3 start"]


def test_scale_down_stops_only_the_surplus_replicas() -> None:
    world = world_after({"web": svc(replicas=4)}, [])
    world.edit_processes({"web": svc(replicas=2)})
    result = world.plan()
    assert result.actions == (
        Stop(instance="web.2", reason="removed from config", forget=True, from_config=True),
        Stop(instance="web.3", reason="removed from config", forget=True, from_config=True),
    )
    world.apply(result)
    assert world.live() == {"web.0", "web.1"}
    assert set(world.records) == {"web.0", "web.1"}


def test_scale_from_one_renames_the_instance() -> None:
    world = world_after({"web": svc()}, [])
    world.edit_processes({"web": svc(replicas=2)})
    assert diff_lines(world.plan()) == ["- web stop", "+ web.0 start", "+ web.1 start"]
    world.settle()
    assert world.live() == {"web.0", "web.1"}


def test_scale_to_zero_stops_every_replica() -> None:
    world = world_after({"web": svc(replicas=3)}, [])
    world.edit_processes({"web": svc(replicas=0)})
    world.settle()
    assert world.live() == set()
    assert world.records == {}


def test_wake_at_is_the_earliest_retry() -> None:
    world = world_after({"a": svc("a", restart={"backoff": {"initial": 5}}), "b": svc("b")}, [])
    world.crash("a")
    world.advance(2)
    world.crash("b")
    result = world.step()
    assert [a.retry_at for a in result.actions if isinstance(a, SetState)] == [T0 + 5, T0 + 3]
    assert result.wake_at == T0 + 3
    world.clock.advance_to(T0 + 3)
    assert world.step().actions == (Start(instance="b", reason="backoff over", failures=1, restart=True,
                                                  retry=True),)
    assert world.plan().wake_at == T0 + 5


def test_secret_values_never_appear_in_a_plan() -> None:
    world = world_after({"web": svc(env={"API_TOKEN": "hunter2-old"})}, [])
    world.edit_processes({"web": svc(env={"API_TOKEN": "hunter2-new"})})
    result = world.plan()
    assert diff_lines(result) == ["~ web restart (env.API_TOKEN)"]
    assert "hunter2" not in repr(result)
    assert "hunter2" not in repr(world.records)


def test_adopted_process_is_not_restarted_on_the_next_pass() -> None:
    """A live process found without a record is adopted, and the next pass leaves it alone."""
    world = world_after({"web": svc()}, [])
    world.adopt("web")
    assert world.step().actions == (SetState(instance="web", state=S.RUNNING, reason="adopted"),)
    assert world.plan().actions == ()


def test_held_running_process_whose_file_changed_is_not_stopped_only_to_start_again() -> None:
    """`sentinel stop web` and an edit of web before the next pass: the edit releases the hold, so web is
    restarted with the new spec in one pass rather than stopped in one and started in the next."""
    world = world_after({"web": svc()}, [])
    world.hold("web")
    world.edit_processes({"web": svc("web --port 81")})
    plans = world.settle()
    assert world.live() == {"web"}
    assert world.records["web"].spec_hash == world.desired["web"].spec_hash
    assert len(plans) == 1


def test_exit_with_a_new_spec_still_waits_for_its_dependencies() -> None:
    """web exits while the file gives it a new command and a dependency on db, which is held:
    web must not start before db runs."""
    world = world_after({"db": svc("db"), "web": svc()}, [hold("db"), step(), crash("web")])
    world.edit_processes({"db": svc("db"), "web": svc("web --port 81", depends_on=["db"])})
    world.settle()
    assert "web" not in world.live()
    assert world.state("web") is S.PENDING


@pytest.mark.parametrize(
    ("policy", "events"),
    [
        pytest.param("always", [], id="running"),
        pytest.param("always", [crash("web"), step()], id="backoff"),
        pytest.param("never", [crash("web"), step()], id="failed"),
        pytest.param("never", [crash("web", 0), step()], id="exited"),
        pytest.param("always", [hold("web"), step()], id="held"),
    ],
)
def test_service_that_becomes_a_job_moves_along_the_state_table(policy: str, events: list[Event]) -> None:
    """Every record change is an edge of states.ALLOWED, including a service turned into a job."""
    world = world_after({"web": svc(restart={"policy": policy})}, events)
    world.edit_processes({"web": job()})
    if "web" in world.live():
        world.crash("web", 0)  # a job's run ends
    world.settle()
    held = "web" in world.records and world.records["web"].held
    assert world.state("web") is (S.STOPPED if held else S.SCHEDULED)  # a held job stays stopped


# Each of the following takes two passes with no time passing, where property (a) (a plan applied
# leaves nothing to plan) asks for one: the second pass does what the first could have done.


def test_completed_dependency_starts_its_dependent_in_the_pass_that_sees_it_exit() -> None:
    world = world_after({"migrate": svc("migrate", restart={"policy": "never"}),
                         "api": svc("api", depends_on={"migrate": "completed"})}, [crash("migrate", 0)])
    plans = world.settle()
    assert world.live() == {"api"}
    assert [a for p in plans for a in p.actions] == [
        SetState(instance="migrate", state=S.EXITED, reason="exited 0", failures=0, exit=ExitStatus(code=0)),
        Start(instance="api", reason="dependencies ready"),
    ]
    assert len(plans) == 1


def test_a_job_whose_run_ended_well_starts_its_dependent_in_the_same_pass() -> None:
    """The property's counterexample (#10): the pass that records the job's run as `last run exited 0` starts
    the process that waits for the job to complete, next to a crash of another process."""
    world = world_after({"db": svc("db"), "web": job("web", restart={"policy": "never"}),
                         "cache": svc("cache", replicas=2), "worker": svc("worker", depends_on={"web": "completed"})},
                        [lambda world: world.ask_run("web"), step(), crash("web", 0), crash("cache.1", 1)])
    assert world.state("worker") is S.PENDING
    first = world.step()
    assert Start(instance="worker", reason="dependencies ready") in first.actions
    assert world.plan().actions == ()


def test_due_restart_of_a_waiting_dependent_goes_straight_to_pending() -> None:
    """Zero backoff, but db is held: web is pending at once, not first in a backoff that is already over."""
    world = world_after({"db": svc("db"), "web": svc(depends_on=["db"], restart={"backoff": {"initial": 0}})},
                        [hold("db"), step(), crash("web")])
    plans = world.settle()
    assert world.state("web") is S.PENDING
    assert len(plans) == 1


def test_setting_change_and_exit_in_one_pass_are_both_taken() -> None:
    world = world_after({"web": svc(restart={"policy": "never"})}, [crash("web")])
    world.edit_processes({"web": svc(restart={"policy": "never", "max_retries": 2})})
    plans = world.settle()
    assert world.state("web") is S.FAILED
    assert world.records["web"].digests == world.desired["web"].digests
    assert len(plans) == 1


def test_restart_request_and_exit_in_one_pass_are_settled_in_that_pass() -> None:
    world = world_after({"web": svc(restart={"policy": "never"})}, [restart("web"), crash("web")])
    plans = world.settle()
    assert world.live() == {"web"}
    assert len(plans) == 1


def test_process_without_record_that_failed_still_restarts_on_a_command_change() -> None:
    """A process found running without a record exits and fails; a later command change starts
    it with the new command, as for any failed process, rather than updating it in place."""
    world = world_after({"web": svc(restart={"policy": "never"})}, [adopt("web"), crash("web")])
    world.settle()
    assert world.state("web") is S.FAILED
    world.edit_processes({"web": svc("web --port 81", restart={"policy": "never"})})
    assert world.plan().actions == (Start(instance="web", reason="command changed", from_config=True),)
