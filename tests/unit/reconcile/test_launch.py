"""launch_problem: whether a spec can be started, decided on the facts alone (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sentinel.reconcile.launch import LaunchFacts, launch_problem

FINE = LaunchFacts(program="sleep", program_found=True, program_runnable=True, cwd="/srv", cwd_found=True,
                   user="app", user_found=True)


def test_a_spec_whose_program_cwd_and_user_exist_can_start() -> None:
    assert launch_problem(FINE) is None
    assert launch_problem(replace(FINE, user=None, user_found=False)) is None


@pytest.mark.parametrize(("facts", "problem"), [
    (replace(FINE, user_found=False), "unknown user 'app'"),
    (replace(FINE, cwd_found=False), "cwd /srv: no such directory"),
    (replace(FINE, program_found=False, program_runnable=False), "command not found: sleep"),
    (replace(FINE, program_runnable=False), "permission denied: sleep"),
])
def test_what_is_missing_is_named_in_the_words_of_spawn(facts: LaunchFacts, problem: str) -> None:
    assert launch_problem(facts) == problem


def test_nofile_above_the_hard_limit_cannot_start() -> None:
    from sentinel.reconcile.launch import LaunchFacts, launch_problem

    facts = LaunchFacts(program="w", program_found=True, program_runnable=True, cwd="/", cwd_found=True, user=None,
                        user_found=True, nofile=4096, nofile_hard=1024)
    assert launch_problem(facts) == "limits.nofile 4096 is above the hard open-file limit (1024)"
    assert launch_problem(LaunchFacts(program="w", program_found=True, program_runnable=True, cwd="/", cwd_found=True,
                                      user=None, user_found=True, nofile=4096, nofile_hard=None)) is None
