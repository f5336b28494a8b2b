"""`start`, `stop`, `restart` by name, instance, group and --all; holds survive reconciler restarts."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

CONF = """
processes:
  db: {command: sleep 1000, group: back}
  web: {command: sleep 1000, replicas: 2, group: front}
"""


def test_stop_holds_until_start_even_across_restarts(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(CONF)
    r.start()
    r.wait_state("web.1", "running")
    result = r.cli("stop", "web.1")
    assert result.exit_code == 0 and result.output == "web.1: stopped (stopped by user)\n"
    r.stop()
    r.start()
    r.wait_state("web.0", "running")
    assert r.row("web.1")["state"] == "stopped"
    started = r.cli("start", "web.1")
    assert started.exit_code == 0 and started.output == "web.1: running\n"


def test_group_and_all_targets(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(CONF)
    r.start()
    pids = {n: r.wait_state(n, "running")["pid"] for n in ("db", "web.0", "web.1")}
    result = r.cli("restart", "group:front")
    assert result.output == "web.0: running\nweb.1: running\n"
    rows = r.rows()
    assert rows["db"]["pid"] == pids["db"]
    assert rows["web.0"]["pid"] != pids["web.0"] and rows["web.1"]["restarts"] == 0  # RESTARTS counts failures
    stopped = r.cli("stop", "--all")
    assert stopped.output.splitlines() == [f"{n}: stopped (stopped by user)" for n in ("db", "web.0", "web.1")]


def test_unknown_target_exits_1_and_changes_nothing(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(CONF)
    r.start()
    r.wait_state("db", "running")
    result = r.cli("stop", "db", "wbe", "group:nope")
    assert result.exit_code == 1
    assert result.stderr == "unknown processes: wbe, group:nope\n"
    assert r.row("db")["state"] == "running"
    assert r.cli("stop").exit_code == 1


def test_an_unknown_target_names_the_closest_process(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  worker: {command: sleep 1000, group: back}
  web: {command: sleep 1000, replicas: 2}
""")
    r.start()
    r.wait_state("worker", "running")
    result = r.cli("stop", "workr")
    assert (result.exit_code, result.stderr) == (1, "unknown process: workr (did you mean worker?)\n")
    several = r.cli("restart", "wrker", "group:bak", "zzz")
    assert several.stderr == ("unknown processes: wrker (did you mean worker?), group:bak (did you mean group:back?), "
                              "zzz\n")
    assert r.cli("status", "wokrer").stderr == "unknown process: wokrer (did you mean worker?)\n"
    assert r.row("worker")["state"] == "running"


def test_a_dependent_of_a_held_process_says_what_holds_it_and_how_to_release_it(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    """The issue's `stop postgres; down; up`: `app` does not just wait for postgres, it says why postgres will not
    come."""
    r = make_reconciler("""
processes:
  postgres: {command: sleep 1000}
  app: {command: sleep 1000, depends_on: [postgres]}
""")
    r.start()
    r.wait_state("app", "running")
    assert r.cli("stop", "postgres").exit_code == 0
    assert r.cli("down").exit_code == 0
    assert r.wait_exit() == 0
    r.start()
    held = "waiting for postgres (held stopped by `sentinel stop`; `sentinel start postgres` releases it)"
    wait_for(lambda: r.row("app")["reason"] == held, message=lambda: f"app: {r.row('app')}")
    assert r.row("app")["state"] == "pending"
    assert r.cli("start", "postgres").exit_code == 0
    r.wait_state("app", "running")
