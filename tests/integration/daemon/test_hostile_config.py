"""Hostile config values against a real reconciler (issue #11): interpolation cannot add arguments."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

INJECTION = 'a b" "--evil $(touch PWNED)'


def test_an_interpolated_value_stays_one_argument_and_runs_nothing(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  echo:
    command: printf '[%s]\\n' "${NAME}" ${NAME}
    restart: {policy: never}
""")
    r.extra_env = {"NAME": INJECTION}
    r.start()
    r.wait_state("echo", "exited")
    wait_for(lambda: r.cli("logs", "echo").output.count("[") >= 2)
    lines = [line.split(" ", 1)[-1] for line in r.cli("logs", "echo").output.splitlines()]
    assert lines[-2:] == [f"[{INJECTION}]"] * 2
    assert not (r.config.parent / "PWNED").exists()
