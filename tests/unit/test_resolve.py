"""Merge semantics of templates, defaults, environments and includes (pure dict-in, dict-out steps)."""

from __future__ import annotations

from typing import Any

import pytest

from sentinel.config import resolve
from sentinel.errors import ConfigError


@pytest.mark.parametrize(
    ("base", "over", "merged"),
    [
        pytest.param({"a": 1}, {"b": 2}, {"a": 1, "b": 2}, id="disjoint-keys-union"),
        pytest.param({"a": 1}, {"a": 2}, {"a": 2}, id="scalar-overrides"),
        pytest.param({"env": {"A": "1", "B": "2"}}, {"env": {"B": "3"}}, {"env": {"A": "1", "B": "3"}},
                     id="maps-merge-by-key"),
        pytest.param({"cmd": ["a", "b"]}, {"cmd": ["c"]}, {"cmd": ["c"]}, id="lists-replace"),
        pytest.param({"health": {"tcp": "x:1"}}, {"health": None}, {}, id="null-deletes-inherited"),
        pytest.param({}, {"cwd": None}, {"cwd": None}, id="null-with-nothing-inherited-stays"),
        pytest.param({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"c": 9}}}, {"a": {"b": {"c": 9, "d": 2}}},
                     id="deep"),
        pytest.param({"a": {"b": 1}}, {"a": "text"}, {"a": "text"}, id="scalar-replaces-map"),
        pytest.param({"a": "text"}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="map-replaces-scalar"),
    ],
)
def test_merge(base: dict[str, Any], over: dict[str, Any], merged: dict[str, Any]) -> None:
    assert resolve.merge(base, over) == merged


def test_merge_does_not_change_its_inputs() -> None:
    base = {"env": {"A": "1"}}
    over = {"env": {"B": "2"}}
    resolve.merge(base, over)
    assert base == {"env": {"A": "1"}}
    assert over == {"env": {"B": "2"}}


TEMPLATES = {
    "py": {"command": "python -m app", "env": {"PYTHONUNBUFFERED": "1"}, "stop": {"timeout": "5s"}},
    "quiet": {"env": {"LOG": "warn"}, "stop": {"signal": "INT"}},
    "child": {"extends": "py", "env": {"CHILD": "1"}},
    "loop_a": {"extends": "loop_b"},
    "loop_b": {"extends": "loop_a"},
}


@pytest.mark.parametrize(
    ("process", "defaults", "expected"),
    [
        pytest.param({"extends": "py"}, None,
                     {"command": "python -m app", "env": {"PYTHONUNBUFFERED": "1"}, "stop": {"timeout": "5s"}},
                     id="one-template"),
        pytest.param({"extends": ["py", "quiet"], "command": "mine"}, None,
                     {"command": "mine", "env": {"PYTHONUNBUFFERED": "1", "LOG": "warn"},
                      "stop": {"timeout": "5s", "signal": "INT"}},
                     id="templates-in-order-then-process-wins"),
        pytest.param({"extends": "child"}, None,
                     {"command": "python -m app", "env": {"PYTHONUNBUFFERED": "1", "CHILD": "1"},
                      "stop": {"timeout": "5s"}},
                     id="templates-extend-templates"),
        pytest.param({"command": "x", "restart": {"max_retries": 1}},
                     {"restart": {"policy": "on-failure", "max_retries": 5}},
                     {"command": "x", "restart": {"policy": "on-failure", "max_retries": 1}},
                     id="defaults-lie-under-the-process"),
        pytest.param({"extends": "py"}, {"command": "default", "env": {"D": "1"}},
                     {"command": "python -m app", "env": {"D": "1", "PYTHONUNBUFFERED": "1"},
                      "stop": {"timeout": "5s"}},
                     id="defaults-lie-under-templates"),
        pytest.param({"extends": "py", "stop": None}, None,
                     {"command": "python -m app", "env": {"PYTHONUNBUFFERED": "1"}},
                     id="process-null-removes-template-value"),
    ],
)
def test_expand_process(process: dict[str, Any], defaults: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert resolve.expand_process("web", process, TEMPLATES, defaults) == expected


def test_unknown_template_is_named_with_a_hint() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve.expand_process("web", {"extends": "pyy"}, TEMPLATES, None)
    assert "processes.web.extends: unknown template 'pyy'; did you mean 'py'?" in str(caught.value)


def test_template_cycle_is_named() -> None:
    with pytest.raises(ConfigError, match="templates extend each other in a cycle: loop_a -> loop_b -> loop_a"):
        resolve.expand_process("web", {"extends": "loop_a"}, TEMPLATES, None)


def test_extends_must_name_templates() -> None:
    with pytest.raises(ConfigError, match="must be a template name or a list of them"):
        resolve.expand_process("web", {"extends": {"py": 1}}, TEMPLATES, None)


def test_a_template_that_is_not_a_mapping_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"templates\.bad: must be a mapping"):
        resolve.expand_process("web", {"extends": "bad"}, {"bad": "text"}, None)


DOC = {
    "processes": {"web": {"command": "serve", "replicas": 1}},
    "environments": {"prod": {"processes": {"web": {"replicas": 8}, "extra": {"command": "x"}}}, "empty": None},
}


def test_no_environment_drops_the_overlays() -> None:
    assert resolve.overlay_environment(DOC, None) == {"processes": {"web": {"command": "serve", "replicas": 1}}}


def test_environment_overlay_merges_over_the_document() -> None:
    assert resolve.overlay_environment(DOC, "prod") == {
        "processes": {"web": {"command": "serve", "replicas": 8}, "extra": {"command": "x"}}
    }


def test_an_empty_environment_changes_nothing() -> None:
    assert resolve.overlay_environment(DOC, "empty") == {"processes": {"web": {"command": "serve", "replicas": 1}}}


def test_unknown_environment_lists_the_defined_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'prd'; did you mean 'prod'\? \(defined: empty, prod\)"):
        resolve.overlay_environment(DOC, "prd")


def test_an_environment_that_is_not_a_mapping_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"environments\.bad: must be a mapping"):
        resolve.overlay_environment({"environments": {"bad": [1]}}, "bad")
