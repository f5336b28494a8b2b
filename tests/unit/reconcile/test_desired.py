"""expand(config): one DesiredProcess per instance, and digests that separate restart fields from settings."""

from __future__ import annotations

from typing import Any

import pytest

from sentinel.reconcile.desired import (
    _RepeatedValues,
    argv_of,
    changed_fields,
    digest,
    expand,
    is_run_field,
    reuse_unchanged,
    setting_digests,
)
from tests.support.simworld import make_config


def one(spec: dict[str, Any], env_file: dict[str, str] | None = None) -> Any:
    files = {"web": env_file} if env_file is not None else None
    return expand(make_config({"web": spec}), files)["web"]


def test_instances_in_name_order_with_replica_names() -> None:
    desired = expand(make_config({"web": {"command": "w", "replicas": 3}, "db": {"command": "d"},
                                  "none": {"command": "n", "replicas": 0}}))
    assert list(desired) == ["db", "web.0", "web.1", "web.2"]
    assert {d.process for d in desired.values()} == {"db", "web"}
    assert desired["web.0"].spec_hash == desired["web.2"].spec_hash


def test_instance_carries_what_the_runtime_needs() -> None:
    d = one({"command": "web --port 80", "env": {"A": "1"}, "user": "www", "group": "front",
             "depends_on": ["db"], "stop": {"signal": "INT", "timeout": "3s"}, "logs": {"max_size": "1KB", "keep": 2}},
            env_file={"A": "0", "B": "2"})
    assert d.argv == ("web", "--port", "80")
    assert dict(d.env) == {"A": "1", "B": "2"}
    assert (d.cwd, d.user, d.group, dict(d.depends_on)) == ("/tmp", "www", "front", {"db": "started"})
    assert (d.stop_signal, d.stop_timeout, d.log_keep, d.is_job) == ("INT", 3.0, 2, False)
    assert d.log_max_size == 1000


def test_shell_command_runs_under_sh() -> None:
    assert one({"command": "echo $HOME | wc", "shell": True}).argv == ("/bin/sh", "-c", "echo $HOME | wc")


def test_job_defaults_to_never_restart() -> None:
    d = one({"command": "report", "schedule": {"every": "1h"}})
    assert d.is_job
    assert d.restart.policy == "never"


def test_restart_rule_in_numbers() -> None:
    d = one({"command": "w", "restart": {"policy": "on-failure", "max_retries": 2, "reset_after": "5m",
                                         "exit_codes": [0, 3], "backoff": {"initial": "500ms", "max": "1m"}}})
    r = d.restart
    assert (r.policy, r.max_retries, r.initial, r.factor, r.max_delay, r.reset_after) == (
        "on-failure", 2, 0.5, 2.0, 60.0, 300.0)
    assert r.exit_codes == frozenset({0, 3})


@pytest.mark.parametrize(
    ("change", "restarts"),
    [
        pytest.param({"command": "w --v2"}, True, id="command"),
        pytest.param({"command": ["w", "--v2"]}, True, id="command-as-list"),
        pytest.param({"shell": True}, True, id="shell"),
        pytest.param({"env": {"A": "2"}}, True, id="env-value"),
        pytest.param({"env": {"A": "1", "B": "1"}}, True, id="env-added"),
        pytest.param({"cwd": "/srv"}, True, id="cwd"),
        pytest.param({"user": "www"}, True, id="user"),
        pytest.param({"restart": {"policy": "never"}}, False, id="restart-policy"),
        pytest.param({"stop": {"timeout": 1}}, False, id="stop-timeout"),
        pytest.param({"logs": {"keep": 1}}, False, id="logs"),
        pytest.param({"group": "g"}, False, id="group"),
        pytest.param({"health": {"tcp": "127.0.0.1:80"}}, False, id="health"),
        pytest.param({"limits": {"memory": "1GB"}}, False, id="limits"),
        pytest.param({"depends_on": ["db"]}, False, id="depends-on"),
    ],
)
def test_spec_hash_covers_run_fields_only(change: dict[str, Any], restarts: bool) -> None:
    base = {"command": "w", "env": {"A": "1"}}
    before, after = one(base), one({**base, **change})
    changed = changed_fields(before.digests, after.digests)
    assert changed
    assert (before.spec_hash != after.spec_hash) is restarts
    assert any(is_run_field(f) for f in changed) is restarts


def test_replica_count_is_neither_run_field_nor_setting() -> None:
    one_web = expand(make_config({"web": {"command": "w", "replicas": 2}}))["web.0"]
    three = expand(make_config({"web": {"command": "w", "replicas": 3}}))["web.0"]
    assert (one_web.spec_hash, dict(one_web.digests)) == (three.spec_hash, dict(three.digests))


def test_env_file_contents_are_run_fields() -> None:
    base = {"command": "w"}
    assert one(base, {"TOKEN": "a"}).spec_hash != one(base, {"TOKEN": "b"}).spec_hash
    assert changed_fields(one(base, {"TOKEN": "a"}).digests, one(base, {"TOKEN": "b"}).digests) == ("env.TOKEN",)


def test_digests_hold_no_values() -> None:
    d = one({"command": "w", "env": {"TOKEN": "hunter2"}})
    assert "hunter2" not in repr(d.digests)
    assert "env.TOKEN" in d.digests


@pytest.mark.parametrize(
    ("old", "new", "fields"),
    [
        pytest.param({"a": "1"}, {"a": "1"}, (), id="same"),
        pytest.param({"a": "1", "b": "1"}, {"a": "2", "b": "1"}, ("a",), id="changed"),
        pytest.param({"b": "1"}, {"a": "1", "b": "1"}, ("a",), id="added"),
        pytest.param({"a": "1", "c": "1"}, {"a": "1"}, ("c",), id="removed"),
        pytest.param({}, {"z": "1", "a": "1"}, ("a", "z"), id="sorted"),
    ],
)
def test_changed_fields(old: dict[str, str], new: dict[str, str], fields: tuple[str, ...]) -> None:
    assert changed_fields(old, new) == fields


@pytest.mark.parametrize(
    ("path", "run"),
    [("command", True), ("env.TOKEN", True), ("cwd", True), ("user", True), ("shell", True),
     ("restart.max_retries", False), ("environment", False), ("group", False)],
)
def test_is_run_field(path: str, run: bool) -> None:
    assert is_run_field(path) is run


def test_processes_sharing_settings_get_the_digests_each_would_get_alone() -> None:
    config = make_config({"a": {"command": "a"}, "b": {"command": "b", "replicas": 2},
                          "c": {"command": "c", "stop": {"timeout": "3s"}}, "d": {"command": "d"}})
    desired = expand(config)
    for name, spec in desired.items():
        alone = setting_digests(config.processes[spec.process])
        assert {key: value for key, value in spec.digests.items() if key in alone} == alone, name
    assert desired["a"].digests["stop.timeout"] == desired["b.1"].digests["stop.timeout"]
    assert desired["a"].digests["stop.timeout"] != desired["c"].digests["stop.timeout"]
    assert desired["d"].digests["restart.policy"] == desired["c"].digests["restart.policy"]


def test_digest_is_stable_and_order_free() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest("1") != digest(1)
    assert len(digest(None)) == 16


def test_an_expansion_digests_each_value_as_digest_does() -> None:
    """Values made once per expansion: equal keys that are different JSON (1, True, 1.0; 0.0, -0.0) stay apart."""
    values: list[Any] = ["1", 1, True, 1.0, 0.0, -0.0, 0, False, None, "", [1], {"a": 1}]
    repeated = _RepeatedValues()
    assert [repeated(value) for value in values * 2] == [digest(value) for value in values * 2]
    assert len({digest(value) for value in values}) == len(values)


def test_argv_of_list_command_with_shell_is_joined() -> None:
    process = make_config({"w": {"command": "echo 'a b'", "shell": True}}).processes["w"]
    assert argv_of(process) == ("/bin/sh", "-c", "echo 'a b'")


def test_watched_files_are_reload_fields_and_nofile_a_run_field() -> None:
    from sentinel.reconcile.actions import Plan, Update
    from sentinel.reconcile.observed import ObservedProcess, ProcessIdentity, ProcessRecord
    from sentinel.reconcile.planner import plan
    from sentinel.reconcile.render import diff_lines
    from sentinel.states import ProcessState

    spec = {"command": "nginx", "reload": {"signal": "HUP", "watch": ["nginx.conf"]}}
    config = make_config({"web": spec})
    old = expand(config, None, {"web": {"nginx.conf": "aaa"}})["web"]
    new = expand(config, None, {"web": {"nginx.conf": "bbb"}})
    assert old.reloads and old.reload_signal == "HUP" and old.spec_hash == new["web"].spec_hash
    record = ProcessRecord(name="web", state=ProcessState.RUNNING, spec_hash=old.spec_hash, digests=dict(old.digests))
    observed = {"web": ObservedProcess(name="web", identity=ProcessIdentity(1, 0.0))}
    result = plan(new, observed, {"web": record}, 0.0)
    assert result.actions == (Update(instance="web", reason="nginx.conf changed", fields=("nginx.conf",),
                                     reload=True),)
    assert diff_lines(result) == ["~ web reload (nginx.conf changed)"]
    assert diff_lines(Plan()) == []
    # A file that only starts being watched is no change to reload for.
    assert plan(new, observed, {"web": ProcessRecord(name="web", state=ProcessState.RUNNING,
                                                     spec_hash=old.spec_hash, digests={})}, 0.0).actions[0] != \
        result.actions[0]
    assert is_run_field("limits.nofile") and not is_run_field("limits.memory")
    unset, limited = one({"command": "w"}), one({"command": "w", "limits": {"nofile": 4096}})
    assert unset.nofile is None and limited.nofile == 4096 and "limits.nofile" not in unset.digests
    assert unset.spec_hash != limited.spec_hash
    assert one({"command": "w", "reload": {"command": "w -s reload"}}).reload_argv == ("w", "-s", "reload")
    assert one({"command": "w", "stop": {"mode": "mixed"}}).stop_mode == "mixed"


def test_an_edit_keeps_the_instances_it_leaves_as_they_were() -> None:
    before = expand(make_config({"web": {"command": "serve"}, "db": {"command": "db"}}))
    after = reuse_unchanged(before, expand(make_config({"web": {"command": "serve"}, "db": {"command": "db2"},
                                                        "new": {"command": "x"}})))
    assert after["web"] is before["web"]  # equal: the one the running instance was started from
    assert after["db"] is not before["db"] and after["db"].argv == ("db2",)
    assert list(after) == ["db", "new", "web"]
