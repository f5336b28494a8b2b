"""Adoption: a process outlives its reconciler, the next one adopts it, and its output goes on without loss."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from tests.integration.runtime.helpers import log_texts, python, run, runtime, wait_exit
from tests.support.procs import marked_alive
from tests.support.wait import wait_for, wait_for_async

LIMITS: dict[str, Any] = {"log_max_size": 1_000_000_000, "log_keep": 1}
STUB = str(Path(__file__).with_name("reconciler_stub.py"))
REPO = Path(__file__).resolve().parents[3]


def _count(state: StateDir, name: str) -> int:
    try:
        return state.log_file(name).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_detached_child_keeps_printing_and_the_next_runtime_gets_every_line_once(state: StateDir,
                                                                                  tmp_path: Path) -> None:
    progress = tmp_path / "progress"

    def written() -> int:
        try:
            return int(progress.read_text() or -1)
        except (FileNotFoundError, ValueError):
            return -1

    async def scenario() -> None:
        first, first_exits = runtime(state)
        spawned = first.spawn(python(state, "web", f"""
            import os, time
            for i in range(3000):
                os.write(1, b"n %d\\n" % i)
                if i % 10 == 9:
                    with open({str(progress)!r}, "w") as f:
                        f.write(str(i))
                    time.sleep(0.001)
        """), **LIMITS)
        await wait_for_async(lambda: _count(state, "web") >= 300)
        first.detach()
        assert first.running() == {}
        at_detach = written()
        await wait_for_async(lambda: written() >= at_detach + 500, message="the child goes on while nobody reads")

        second, second_exits = runtime(state)
        assert second.adopt("web", spawned.identity, spawned.pgid, **LIMITS)
        assert dict(second.running()) == {"web": spawned}
        status = await wait_exit(second_exits, "web")
        # In one process the adopter is still the parent, so the status is exact (across processes
        # it is unknown: see the next test).
        assert status == ExitStatus(code=0)
        assert first_exits.calls == []
        second.release("web")

    run(scenario())
    assert log_texts(state, "web") == [f"n {i}" for i in range(3000)]


def test_adopting_a_process_that_has_exited_registers_nothing(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        spawned = rt.spawn(python(state, "job", "pass"), **LIMITS)
        await wait_exit(exits, "job")
        rt.release("job")
        other, _ = runtime(state)
        assert not other.adopt("job", spawned.identity, spawned.pgid, **LIMITS)
        assert other.running() == {}
        assert other.usage("job") is None

    run(scenario())


def _stub(state: StateDir, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, STUB, str(state.root), *args], stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def test_readers_sigkilled_mid_stream_lose_and_duplicate_nothing(state: StateDir) -> None:
    """docs/reliability.md#rules: 20,000 numbered lines through two reconcilers SIGKILLed while reading, then a
    third."""
    writer = """
import os, time
for i in range(20000):
    os.write(1, b"line %05d\\n" % i)
    if i % 10 == 9:
        time.sleep(0.001)
"""
    first, line = _stub(state, "spawn", "spew", sys.executable, "-c", writer)
    _, pid, create_time, pgid = line.split()
    identity = ProcessIdentity(int(pid), float(create_time))
    try:
        wait_for(lambda: _count(state, "spew") >= 3000, timeout=10)
    finally:
        _kill(first)
    second, answer = _stub(state, "adopt", "spew", pid, create_time, pgid)
    try:
        assert answer == "adopted"
        wait_for(lambda: _count(state, "spew") >= 10000, timeout=10)
    finally:
        _kill(second)
    assert 10000 <= _count(state, "spew") < 20000, "the writer was still writing when the readers died"

    async def scenario() -> ExitStatus:
        rt, exits = runtime(state)
        assert rt.adopt("spew", identity, int(pgid), **LIMITS)
        status = await wait_exit(exits, "spew", timeout=20)
        rt.release("spew")
        return status

    assert run(scenario()) == ExitStatus(), "not our child: its status went to its new parent"
    assert log_texts(state, "spew") == [f"line {i:05d}" for i in range(20000)]
    assert marked_alive() == []


def test_adopt_without_a_usable_log_still_watches_the_process(state: StateDir) -> None:
    async def scenario() -> None:
        first, _ = runtime(state)
        spawned = first.spawn(python(state, "web", "import time; time.sleep(60)"), **LIMITS)
        first.detach()
        state.log_file("web").unlink()
        state.log_file("web").mkdir()
        second, exits = runtime(state)
        assert second.adopt("web", spawned.identity, spawned.pgid, **LIMITS)
        assert second.adopt("web", spawned.identity, spawned.pgid, **LIMITS), "adopting it again changes nothing"
        other = ProcessIdentity(spawned.identity.pid, spawned.identity.create_time + 1)
        assert not second.adopt("web", other, spawned.pgid, **LIMITS)
        await second.stop("web", signal=signal.SIGTERM, timeout=5)
        assert exits.of("web") == [ExitStatus(signal=signal.SIGTERM)]
        assert marked_alive() == []

    run(scenario())
