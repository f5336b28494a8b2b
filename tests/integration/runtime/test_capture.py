"""Capture: the FIFO is read into the log, a killed reader's spooled chunk is finished exactly once."""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sentinel.errors import SpawnError
from sentinel.paths import StateDir
from sentinel.runtime.capture import Capture, ensure_fifo, spool_path
from sentinel.runtime.logfile import LogWriter
from tests.integration.runtime.helpers import log_texts, python, run, runtime, wait_exit
from tests.support.wait import wait_for_async

T0 = datetime(2026, 11, 26, 2, 35, 57, 123000, tzinfo=UTC)


def capture(state: StateDir, name: str = "web", max_size: int = 1_000_000, keep: int = 2) -> Capture:
    return Capture(state.fifo(name), LogWriter(state.log_file(name), max_size, keep, lambda: T0))


def feed(fifo: Path, data: bytes) -> None:
    """Write into the FIFO as a child would (it holds the pipe read-write)."""
    fd = os.open(fifo, os.O_RDWR)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_output_written_while_nobody_reads_is_read_by_the_next_capture(state: StateDir) -> None:
    ensure_fifo(state.fifo("web"))
    holder = os.open(state.fifo("web"), os.O_RDWR)  # the child's end keeps the pipe's contents alive
    try:
        first = capture(state)
        os.write(holder, b"one\n")
        assert first.drain() == 4
        first.close()
        os.write(holder, b"two\nthr")
        second = capture(state)
        second.drain()
        os.write(holder, b"ee\n")
        second.drain()
        second.close()
    finally:
        os.close(holder)
    assert log_texts(state, "web") == ["one", "two", "three"]


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(0, id="killed-before-writing-the-log"),
        pytest.param(10, id="killed-while-writing-the-log"),
        pytest.param(None, id="killed-before-emptying-the-spool"),
    ],
)
def test_a_chunk_left_in_the_spool_by_a_killed_reader_lands_in_the_log_exactly_once(
    state: StateDir, written: int | None
) -> None:
    log = LogWriter(state.log_file("web"), 1_000_000, 1, lambda: T0)
    log.write(b"before\n")
    before = log.size
    chunk = b"spooled 1\nspooled 2\npart"
    log.write(chunk)  # what the killed reader had written of the chunk (all, or `written` bytes of it)
    if written is not None:
        log.truncate(before + written)
    log.close()
    ensure_fifo(state.fifo("web"))
    spool_path(state.fifo("web")).write_bytes(struct.pack("<Q", before) + chunk)

    recovered = capture(state)
    feed(state.fifo("web"), b"ial\nafter\n")
    recovered.drain()
    recovered.close()
    assert log_texts(state, "web") == ["before", "spooled 1", "spooled 2", "partial", "after"]
    assert spool_path(state.fifo("web")).stat().st_size <= 8, "no chunk left pending"


def test_a_log_that_cannot_be_written_drops_output_but_keeps_the_pipe_flowing(state: StateDir) -> None:
    cap = capture(state)
    feed(state.fifo("web"), b"kept 1\n")
    cap.drain()
    shutil.rmtree(state.logs)
    state.logs.write_text("not a directory")  # the log can be neither written nor recreated
    feed(state.fifo("web"), b"lost\n")
    assert cap.drain() == 5
    assert cap.dropped == 5
    state.logs.unlink()
    feed(state.fifo("web"), b"kept 2\n")
    cap.drain()
    cap.close()
    assert log_texts(state, "web") == ["kept 2"]


def test_rotation_by_size_keeps_keep_files_and_loses_nothing_in_between(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        code = """
            import os, time
            for i in range(4000):
                os.write(1, b"%04d %s\\n" % (i, b"x" * 60))
                if i % 100 == 99:
                    time.sleep(0.002)
        """
        rt.spawn(python(state, "web", code), log_max_size=20_000, log_keep=3)
        await wait_exit(exits, "web")
        rt.release("web")

    run(scenario())
    names = sorted(p.name for p in state.logs.iterdir())
    assert names == ["web.log", "web.log.1", "web.log.2", "web.log.3"]
    numbers = [
        int(line.split()[1])
        for name in ("web.log.3", "web.log.2", "web.log.1", "web.log")
        for line in (state.logs / name).read_bytes().splitlines()
    ]
    assert numbers == list(range(numbers[0], 4000)), "the kept files hold a contiguous tail"
    for name in names[1:]:
        assert (state.logs / name).stat().st_size < 20_000 + 65536 * 2


def test_release_keeps_the_fifo_and_forget_removes_it(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(python(state, "web", "print('hi')"), log_max_size=1000, log_keep=1)
        await wait_exit(exits, "web")
        rt.release("web")
        assert state.fifo("web").exists()
        rt.forget("web")
        assert not state.fifo("web").exists()
        assert not spool_path(state.fifo("web")).exists()

    run(scenario())


def test_reading_does_not_spin_while_no_one_writes(state: StateDir) -> None:
    """The reader holds the FIFO read-write: no EOF, so no callbacks while the pipe is quiet."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        cap = capture(state)
        cap.start(loop)
        before = os.times()
        await asyncio.sleep(0.2)
        spent = os.times().user - before.user + os.times().system - before.system
        feed(state.fifo("web"), b"late\n")
        await wait_for_async(lambda: state.log_file("web").read_bytes().endswith(b"late\n"))
        cap.close()
        assert spent < 0.1

    run(scenario())


def test_a_child_writing_to_stderr_only_is_captured(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(python(state, "web", f"import sys; sys.stderr.write('err only\\n'); sys.exit({0})"), log_max_size=1000,
                 log_keep=1)
        await wait_exit(exits, "web")
        rt.release("web")

    run(scenario())
    assert log_texts(state, "web") == ["err only"]
    assert sys.executable


def test_without_a_usable_spool_output_is_still_captured(state: StateDir) -> None:
    ensure_fifo(state.fifo("web"))
    spool_path(state.fifo("web")).mkdir()  # cannot be opened as a file: read() and write() instead
    cap = capture(state)
    feed(state.fifo("web"), b"one\ntwo\n")
    cap.drain()
    cap.close()
    assert log_texts(state, "web") == ["one", "two"]


def test_a_log_that_cannot_be_opened_refuses_the_spawn_and_registers_nothing(state: StateDir) -> None:
    state.log_file("web").mkdir()

    async def scenario() -> None:
        rt, exits = runtime(state)
        with pytest.raises(SpawnError) as caught:
            rt.spawn(python(state, "web", "pass"), log_max_size=1000, log_keep=1)
        assert str(caught.value) == f"web: cannot capture output: {state.log_file('web')}: is a directory"
        assert exits.calls == []
        assert rt.running() == {}

    run(scenario())
