"""Restart policies, backoff, `failed`, spawn errors and process trees, with real processes."""

from __future__ import annotations

from collections.abc import Callable

import psutil

from tests.support.daemon import Reconciler
from tests.support.procs import command_of, instance_of, marked
from tests.support.wait import wait_for


def _messages(r: Reconciler, name: str | None = None) -> list[str]:
    return [e["message"] for e in r.client.get("/v1/events", process=name, limit=200)["events"]]


def test_crashed_process_is_replaced_at_once_with_zero_backoff(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  web: {command: sleep 1000, restart: {backoff: {initial: 0}}}
""")
    r.start()
    first = r.wait_state("web", "running")["pid"]
    psutil.Process(first).kill()
    wait_for(lambda: r.row("web")["pid"] not in (None, first) and r.row("web")["state"] == "running")
    assert r.row("web")["restarts"] == 1
    assert any(m.startswith("restarted web: killed by SIGKILL") for m in _messages(r, "web"))


def test_crash_loop_backs_off_then_fails_after_max_retries(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  bad:
    command: ["sh", "-c", "echo run >> runs.txt; exit 3"]
    restart: {max_retries: 2, backoff: {initial: 50ms, factor: 2}}
""")
    r.start()
    row = r.wait_state("bad", "failed")
    assert row["exit_code"] == 3 and row["pid"] is None
    assert (r.config.parent / "runs.txt").read_text().count("run") == 3  # max_retries: 2 = three runs
    messages = _messages(r, "bad")
    assert "bad exited 3, restarting in 0.05s (attempt 1/2)" in messages
    assert "bad exited 3, restarting in 0.1s (attempt 2/2)" in messages
    assert messages[-1] == "bad exited 3; gave up after 3 runs in a row failed"


def test_on_failure_leaves_a_clean_exit_alone(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  once: {command: "true", restart: {policy: on-failure}}
""")
    r.start()
    row = r.wait_state("once", "exited")
    assert row["exit_code"] == 0 and row["restarts"] == 0


def test_missing_program_is_one_line_event_and_never_a_traceback(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  ghost: {command: no-such-program-here --flag, restart: {max_retries: 0}}
  fine: {command: sleep 1000}
""")
    r.start()
    r.wait_state("ghost", "failed")
    assert r.row("fine")["state"] == "running"
    assert "ghost: command not found: no-such-program-here" in _messages(r, "ghost")
    assert "Traceback" not in r.log


def test_output_is_captured_with_time_stamps(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  talk: {command: ["sh", "-c", "echo hello; echo oops >&2; sleep 1000"]}
""")
    r.start()
    r.wait_state("talk", "running")
    wait_for(lambda: "oops" in r.cli("logs", "talk").output)
    lines = r.cli("logs", "talk").output.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["hello", "oops"]
    assert all(line[:4].isdigit() and line[10] == "T" and line[23] == "Z" for line in lines)


def test_stop_kills_the_whole_tree_including_escaped_children(make_reconciler: Callable[..., Reconciler]) -> None:
    script = "sleep 1000 & setsid sleep 1000 & trap '' TERM; wait"
    r = make_reconciler(f"""
processes:
  tree: {{command: ["sh", "-c", "{script}"], stop: {{timeout: 1s}}}}
""")
    r.start()
    leader = r.wait_state("tree", "running")["pid"]
    wait_for(lambda: len(psutil.Process(leader).children(recursive=True)) >= 2)
    family = [leader, *(c.pid for c in psutil.Process(leader).children(recursive=True))]
    result = r.cli("stop", "tree")
    assert result.exit_code == 0, result.output
    assert result.output == "tree: stopped (stopped by user)\n"

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    assert not any(alive(pid) for pid in family)


def _alive_with_instance(name: str, cmdline: list[str] | None = None) -> list[int]:
    """The test's live processes started as instance `name` (with this argv, if given)."""
    return [p.pid for p in marked() if instance_of(p) == name and cmdline in (None, command_of(p))]


def test_children_an_exited_leader_left_are_ended_before_the_restart(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("""
processes:
  leaky:
    command: ["sh", "-c", "sleep 1000 & sleep 0.3; exit 1"]
    restart: {max_retries: 2, backoff: {initial: 0}}
""")
    r.start()
    peak = 0

    def failed() -> bool:
        nonlocal peak
        peak = max(peak, len(_alive_with_instance("leaky", ["sleep", "1000"])))
        return bool(r.row("leaky")["state"] == "failed")

    wait_for(failed, timeout=15)
    assert peak == 1  # the sleep of one generation is gone before the next starts
    wait_for(lambda: not _alive_with_instance("leaky"))
