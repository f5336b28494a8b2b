"""'Did you mean' hints: only close matches, and a value written as a key points to the key it belongs to."""

from __future__ import annotations

import pytest

from sentinel.config.hints import closest, did_you_mean, value_hint
from sentinel.config.keys import key_hint, literal_values
from sentinel.config.models import Process, Restart


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        pytest.param("comand", ["command", "env_file"], "command", id="a-slip"),
        pytest.param("on_failure", ["command", "env_file", "restart"], None, id="not-close-enough"),
        pytest.param("workr", ["worker", "web"], "worker", id="a-name"),
        pytest.param("wbe", ["web"], None, id="two-letters-swapped-in-three"),
    ],
)
def test_closest_needs_a_close_match(word: str, choices: list[str], expected: str | None) -> None:
    assert closest(word, choices) == expected
    assert did_you_mean(word, choices) == (f"; did you mean '{expected}'?" if expected else "")


def test_a_value_written_as_a_key_points_to_its_setting() -> None:
    values = literal_values(Process)
    assert values["on-failure"] == "restart.policy: on-failure"
    assert values["forbid"] == "concurrency: forbid"
    assert value_hint("On_Failure", values) == "; did you mean 'restart.policy: on-failure'?"
    assert value_hint("sometimes", values) == ""
    assert key_hint("on_failure", Process) == "; did you mean 'restart.policy: on-failure'?"
    assert key_hint("always", Restart) == "; did you mean 'policy: always'?"
    assert key_hint("comand", Process) == "; did you mean 'command'?"
    assert key_hint("extend", Process, ("extends",)) == "; did you mean 'extends'?"
