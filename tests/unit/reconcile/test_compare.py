"""`diff -f NEW --base OLD` (sentinel/reconcile/compare.py): the plan from a host converged on one config to
another, with the planner and the rendering a live `diff` uses."""

from __future__ import annotations

from typing import Any

from sentinel.config.models import Config
from sentinel.reconcile.compare import converged_on, moved, plan_change
from sentinel.reconcile.desired import expand
from sentinel.reconcile.render import diff_lines
from sentinel.states import ProcessState


def _desired(processes: dict[str, dict[str, Any]]) -> Any:
    return expand(Config.model_validate({"processes": processes}))


BASE: dict[str, dict[str, Any]] = {
    "web": {"command": "sleep 1", "replicas": 2, "cwd": "/srv/a/app", "hosts": ["web-*"],
            "health": {"tcp": "127.0.0.1:1"}},
    "old": {"command": "sleep 1"},
    "nightly": {"command": "true", "schedule": {"cron": "0 3 * * *"}},
    "manual": {"command": "true", "schedule": "manual"},
    "gone": {"command": "sleep 1", "replicas": 0},
}


def test_a_host_converged_on_a_config_has_nothing_to_do() -> None:
    desired = _desired(BASE)
    assert diff_lines(plan_change(desired, desired)) == []
    observed, records = converged_on(desired)
    assert sorted(observed) == ["old", "web.0", "web.1"]
    assert records["nightly"].state is ProcessState.SCHEDULED
    assert records["web.0"].state is ProcessState.RUNNING


def test_each_kind_of_change_is_shown_as_diff_shows_it() -> None:
    # hosts: is where a process runs, not how: changing it changes nothing on a host that still runs it
    new: dict[str, dict[str, Any]] = {**BASE, "web": {**BASE["web"], "replicas": 3, "hosts": ["web-1"]},
           "old": {"command": "sleep 2"}, "nightly": {**BASE["nightly"], "keep_runs": 5},
           "added": {"command": "sleep 1"}}
    del new["manual"]
    assert diff_lines(plan_change(_desired(BASE), _desired(new))) == [
        "- manual stop", "~ nightly update (keep_runs)", "+ added start", "~ old restart (command)", "+ web.2 start"]


def test_the_base_checkout_counts_as_where_the_new_file_is() -> None:
    config = Config.model_validate({"processes": BASE | {"outside": {"command": "sleep 1", "cwd": "/opt/x"},
                                                         "root": {"command": "sleep 1", "cwd": "/srv/a"},
                                                         "nowhere": {"command": "sleep 1"}}})
    there = moved(config, "/srv/a", "/tmp/b/")
    assert [there.processes[name].cwd for name in ("web", "outside", "root", "nowhere")] == [
        "/tmp/b/app", "/opt/x", "/tmp/b/", None]
    assert moved(config, "/srv/a", "/srv/a") == config
    assert moved(config, "/srv/ab", "/tmp").processes["web"].cwd == "/srv/a/app"
