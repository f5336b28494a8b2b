"""Running a real reconciler (`python -m sentinel up`) for black-box tests, and driving it.

`Reconciler.start()` launches it as a subprocess (so coverage counts it) and waits until it
answers on its socket; `cli(...)` runs a command in-process against the same state dir;
teardown stops it with SIGTERM (SIGKILL after a deadline). Process trees it leaves are the
marker fixture's job (tests/integration/conftest.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from sentinel.cli.main import cli
from sentinel.client import Client
from sentinel.paths import StateDir
from tests.support.wait import wait_for

LIMITED = (
    "import resource, runpy, sys\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
    "sys.argv[0] = 'sentinel'\n"
    "runpy.run_module('sentinel', run_name='__main__', alter_sys=True)\n"
)
ROOT = Path(__file__).resolve().parents[2]
# Reconcilers under test are strict: a state move outside the table of docs/states.md is an error, not a log line.
STRICT = {"SENTINEL_DEBUG": "1"}
ILLEGAL = "illegal_transition"
# `sentinel up` on a clock whose wall time the test moves, noticing a step of it within 0.2 s.
SHIFTED = (
    "import sys\n"
    "sys.path.insert(0, {root!r})\n"
    "from pathlib import Path\n"
    "from sentinel.daemon import DaemonOptions, run\n"
    "from sentinel.paths import StateDir\n"
    "from tests.support.shiftclock import ShiftedClock\n"
    "options = DaemonOptions(config={config!r}, environment={env!r}, state_dir=StateDir(Path({home!r})),\n"
    "                        wall_clock_check=0.2, strict=True)\n"
    "run(options, clock=ShiftedClock(Path({offset!r})))\n"
)


@dataclass
class Reconciler:
    """One reconciler on its own state directory, with its config file."""

    home: Path
    config: Path
    environment: str | None = None
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    fd_soft_limit: int | None = None  # start the reconciler with this soft RLIMIT_NOFILE
    fd_hard_limit: int | None = None  # … and this hard one (it cannot raise its soft limit past it)
    wall_clock: Path | None = None  # run it on a ShiftedClock reading this offset file (tests/support/shiftclock)
    # Run it in the mount namespace of this process (a small file system mounted at `home` there, seen by the
    # test through /proc/PID/root: tests/reliability/state_loss).
    namespace_of: int | None = None
    up_options: tuple[str, ...] = ()  # more options of `sentinel up`: ("--hostname", "web-1", "--label", "role=web")
    up_args: tuple[str, ...] | None = None  # `up` with these instead of `-f CONFIG` (`up --git URL …`)

    @property
    def state_dir(self) -> StateDir:
        """The state directory as the test reaches it."""
        return StateDir(self.home if self.namespace_of is None else Path(f"/proc/{self.namespace_of}/root{self.home}"))

    @property
    def client(self) -> Client:
        return Client(self.state_dir, timeout=30.0)

    @property
    def log(self) -> str:
        path = self.home.parent / f"{self.home.name}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, *, wait: bool = True) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "sentinel", "--state-dir", str(self.home), "up",
                *(self.up_args if self.up_args is not None else ("-f", str(self.config)))]
        if self.fd_soft_limit is not None or self.fd_hard_limit is not None:  # lower the limit in the child,
            hard = str(self.fd_hard_limit or "resource.getrlimit(resource.RLIMIT_NOFILE)[1]")  # then run as -m
            argv[1:3] = ["-c", LIMITED.format(soft=self.fd_soft_limit or self.fd_hard_limit, hard=hard)]
        if self.wall_clock is not None:
            argv[1:] = ["-c", SHIFTED.format(root=str(ROOT), home=str(self.home), config=str(self.config),
                                             offset=str(self.wall_clock), env=self.environment)]
        if self.environment:
            argv += ["--env", self.environment]
        argv += self.up_options
        if self.namespace_of is not None:
            argv[:0] = ["nsenter", "-t", str(self.namespace_of), "-m", "--"]
        out = open(self.home.parent / f"{self.home.name}.out", "ab")  # noqa: SIM115
        with out:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                            env={**os.environ, **STRICT, **self.extra_env})
        if wait:
            wait_for(self._answers, timeout=15.0, message=lambda: f"reconciler did not answer:\n{self.log}")
        return self.process

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"reconciler exited {self.process.returncode}:\n{self.log}")
        return self.client.alive()

    def cli(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--state-dir", str(self.state_dir.root), *args], input=input,
                                  catch_exceptions=False)

    def rows(self) -> dict[str, dict[str, Any]]:
        return {row["name"]: row for row in self.client.get("/v1/processes")["processes"]}

    def row(self, name: str) -> dict[str, Any]:
        return self.rows()[name]

    def wait_state(self, name: str, state: str, timeout: float = 10.0) -> dict[str, Any]:
        wait_for(lambda: self.rows().get(name, {}).get("state") == state, timeout=timeout,
                 message=lambda: f"{name} never became {state}: {self.rows().get(name)}\n{self.log[-3000:]}")
        return self.row(name)

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it will not go."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(5)
