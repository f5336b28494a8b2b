"""Spawning real children: output capture with stamps, exact exit statuses, clear one-line errors, no leaked fds."""

from __future__ import annotations

import os
import pwd
import signal
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sentinel.errors import SpawnError
from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from sentinel.runtime import probe
from sentinel.runtime.logfile import CONTINUED, LINE_MAX
from sentinel.runtime.manager import Runtime
from tests.integration.runtime.helpers import (
    STAMPED,
    Exits,
    log_bytes,
    log_texts,
    python,
    request,
    run,
    runtime,
    wait_exit,
)
from tests.support.wait import wait_for_async

LIMITS: dict[str, Any] = {"log_max_size": 10_000_000, "log_keep": 3}


def test_output_lines_arrive_stamped_with_stdout_and_stderr_merged(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        spawned = rt.spawn(python(state, "web", """
            import sys
            print("one")
            print("two", file=sys.stderr)
            print("three")
        """), **LIMITS)
        assert spawned.pgid == spawned.identity.pid
        assert await wait_exit(exits, "web") == ExitStatus(code=0)
        assert log_texts(state, "web") == ["one", "two", "three"]
        rt.release("web")

    run(scenario())


def test_partial_line_is_on_disk_at_once_and_completed_without_a_new_stamp(state: StateDir, tmp_path: Path) -> None:
    gate = tmp_path / "gate"

    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(python(state, "web", f"""
            import os, sys, time
            sys.stdout.write("abc")
            sys.stdout.flush()
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.005)
            print("def")
        """), **LIMITS)
        await wait_for_async(lambda: log_bytes(state, "web").endswith(b"abc"))
        assert STAMPED.match(log_bytes(state, "web"))
        gate.touch()
        await wait_exit(exits, "web")
        assert log_texts(state, "web") == ["abcdef"]
        rt.release("web")

    run(scenario())


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("raise SystemExit(3)", ExitStatus(code=3), id="exit-3"),
        pytest.param("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", ExitStatus(signal=signal.SIGKILL),
                     id="sigkill"),
        pytest.param("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", ExitStatus(signal=signal.SIGSEGV),
                     id="sigsegv"),
    ],
)
def test_exit_status_is_exact(state: StateDir, code: str, status: ExitStatus) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        spawned = rt.spawn(python(state, "job", code), **LIMITS)
        assert await wait_exit(exits, "job") == status
        assert len(exits.calls) == 1
        assert exits.calls[0][1] == spawned.identity
        assert rt.running() == {}
        assert not probe.matches(spawned.identity), "reaped: no zombie left"
        rt.release("job")

    run(scenario())


def test_last_lines_before_exit_are_in_the_log_when_the_exit_is_reported(state: StateDir) -> None:
    exits = Exits()
    lines_at_exit: list[int] = []

    def on_exit(name: str, identity: ProcessIdentity, status: ExitStatus) -> None:
        lines_at_exit.append(len(log_texts(state, name)))
        exits(name, identity, status)

    async def scenario() -> None:
        rt = Runtime(state, on_exit=on_exit, utc=lambda: datetime.now(UTC))
        rt.spawn(python(state, "burst", "for i in range(20000): print(f'line {i}')"), **LIMITS)
        await wait_exit(exits, "burst")
        rt.release("burst")

    run(scenario())
    assert lines_at_exit == [20000]
    assert log_texts(state, "burst") == [f"line {i}" for i in range(20000)]


def test_long_lines_are_cut_and_continued_and_invalid_utf8_passes_through_intact(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(python(state, "spew", """
            import sys
            out = sys.stdout.buffer
            out.write(b"x" * 262144 + b"\\n")
            out.write(b"bad \\xff\\xfe bytes\\n")
            out.write(b"y" * 262144 + b"\\n")
            out.write(b"no newline at the end")
        """), **LIMITS)
        await wait_exit(exits, "spew")
        rt.release("spew")

    run(scenario())
    pieces = [line[STAMPED.match(line).end():] for line in log_bytes(state, "spew").split(b"\n")]  # type: ignore[union-attr]
    assert all(len(piece) <= len(CONTINUED) + LINE_MAX for piece in pieces)
    whole: list[bytes] = []
    for piece in pieces:
        if piece.startswith(CONTINUED):
            whole[-1] += piece.removeprefix(CONTINUED)
        else:
            whole.append(piece)
    assert whole == [b"x" * 262144, b"bad \xff\xfe bytes", b"y" * 262144, b"no newline at the end"]


def test_child_inherits_only_stdin_stdout_stderr(state: StateDir, tmp_path: Path) -> None:
    leak = os.open(tmp_path / "leak", os.O_CREAT | os.O_RDWR, 0o600)
    os.set_inheritable(leak, True)

    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(python(state, "fds", """
            import os
            def is_open(fd):
                try:
                    os.fstat(fd)
                except OSError:
                    return False
                return True
            print(sorted(fd for fd in range(1024) if is_open(fd)))
        """), **LIMITS)
        await wait_exit(exits, "fds")
        rt.release("fds")

    try:
        run(scenario())
    finally:
        os.close(leak)
    assert log_texts(state, "fds") == ["[0, 1, 2]"]


def test_stdout_is_the_fifo_held_read_write_and_stdin_is_dev_null(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(python(state, "fds", """
            import fcntl, os, stat
            print(stat.S_ISFIFO(os.fstat(1).st_mode), os.fstat(1) == os.fstat(2))
            print(fcntl.fcntl(1, fcntl.F_GETFL) & (os.O_ACCMODE | os.O_NONBLOCK) == os.O_RDWR)
            print(os.readlink("/proc/self/fd/0"))
        """), **LIMITS)
        await wait_exit(exits, "fds")
        rt.release("fds")

    run(scenario())
    assert log_texts(state, "fds") == ["True True", "True", "/dev/null"]
    assert stat.S_ISFIFO(os.lstat(state.fifo("fds")).st_mode)
    assert stat.S_IMODE(os.lstat(state.fifo("fds")).st_mode) == 0o600


@pytest.mark.parametrize(
    ("argv", "cwd", "message"),
    [
        pytest.param(("nosuchprog",), None, "web: command not found: nosuchprog", id="missing-program"),
        pytest.param(("/nonexistent/prog",), None, "web: command not found: /nonexistent/prog", id="missing-path"),
        pytest.param((sys.executable,), "/x/nowhere", "web: cwd /x/nowhere: no such directory", id="bad-cwd"),
        pytest.param((), None, "web: empty command", id="empty"),
    ],
)
def test_spawn_errors_are_one_line(state: StateDir, argv: tuple[str, ...], cwd: str | None, message: str) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        req = request(state, "web", argv)
        if cwd is not None:
            req = request(state, "web", argv, cwd=Path(cwd))
        with pytest.raises(SpawnError) as caught:
            rt.spawn(req, **LIMITS)
        assert str(caught.value) == message
        assert rt.running() == {}
        assert exits.calls == []

    run(scenario())


def test_not_executable_and_cwd_not_a_directory(state: StateDir, tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)

    async def scenario() -> None:
        rt, _ = runtime(state)
        with pytest.raises(SpawnError, match=f"^web: permission denied: {script}$"):
            rt.spawn(request(state, "web", (str(script),)), **LIMITS)
        with pytest.raises(SpawnError, match=f"^web: cwd {script}: not a directory$"):
            rt.spawn(request(state, "web", ("true",), cwd=script), **LIMITS)

    run(scenario())


def test_unknown_user_is_refused(state: StateDir) -> None:
    async def scenario() -> None:
        rt, _ = runtime(state)
        with pytest.raises(SpawnError, match=r"^web: unknown user 'no-such-user-xyz'$"):
            rt.spawn(request(state, "web", ("true",), user="no-such-user-xyz"), **LIMITS)

    run(scenario())


@pytest.mark.skipif(os.geteuid() == 0, reason="the refusal is for reconcilers not running as root")
def test_another_user_needs_root(state: StateDir) -> None:
    async def scenario() -> None:
        rt, _ = runtime(state)
        with pytest.raises(SpawnError, match=r"^web: user 'root' needs the reconciler to run as root$"):
            rt.spawn(request(state, "web", ("true",), user="root"), **LIMITS)

    run(scenario())


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_user_runs_the_child_as_that_user_with_its_home(state: StateDir, tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    os.chmod(tmp_path, 0o755)

    async def scenario() -> None:
        rt, exits = runtime(state)
        script = 'echo "$(id -u) $(id -g) $HOME $USER $LOGNAME"'
        rt.spawn(request(state, "web", ("/bin/sh", "-c", script), cwd=tmp_path, user="nobody"), **LIMITS)
        assert await wait_exit(exits, "web") == ExitStatus(code=0)
        rt.release("web")

    run(scenario())
    assert log_texts(state, "web") == [f"{nobody.pw_uid} {nobody.pw_gid} {nobody.pw_dir} nobody nobody"]


def test_spawning_a_running_name_twice_is_refused(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        spawned = rt.spawn(python(state, "web", "import time; time.sleep(30)"), **LIMITS)
        with pytest.raises(SpawnError, match=f"^web: already running \\(pid {spawned.identity.pid}\\)$"):
            rt.spawn(python(state, "web", "pass"), **LIMITS)
        await rt.stop("web", signal=signal.SIGTERM, timeout=5)
        assert exits.of("web") == [ExitStatus(signal=signal.SIGTERM)]
        rt.spawn(python(state, "web", "pass"), **LIMITS)  # after the exit: a new run
        await wait_for_async(lambda: len(exits.of("web")) == 2)
        rt.forget("web")
        assert not state.fifo("web").exists()

    run(scenario())


@pytest.mark.parametrize("crowded", [False, True])
def test_child_gets_the_open_file_limit_asked_for_and_ours_is_unchanged(state: StateDir, crowded: bool) -> None:
    """Our own limit is set for the moment of the spawn when the descriptors we hold fit under the child's;
    with more open (`crowded`), the child sets its own. Either way the child has it and we keep ours."""
    import dataclasses
    import resource

    from sentinel.runtime.spawn import FD_MARGIN

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(FD_MARGIN + 8)] if crowded else []
    wanted = FD_MARGIN + 4 if crowded else 200

    async def scenario() -> None:
        rt, exits = runtime(state)
        req = python(state, "lim", "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
        rt.spawn(dataclasses.replace(req, nofile=wanted), **LIMITS)
        assert await wait_exit(exits, "lim") == ExitStatus(code=0)
        assert log_texts(state, "lim") == [str(wanted)]
        rt.release("lim")

    try:
        run(scenario())
    finally:
        for fd in held:
            os.close(fd)
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == before
