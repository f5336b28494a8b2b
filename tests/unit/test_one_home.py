"""One home each for instance names, signal names and pidfds (sentinel/instances.py, signames.py, pidfd.py).

The helpers, and a guard that the logic they hold is not written again elsewhere in the package.
"""

from __future__ import annotations

import ast
import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sentinel.instances import instance_names, is_instance_of, numbered, overlap_name, process_of
from sentinel.pidfd import PidfdReader
from sentinel.signames import short_signal_name, signal_name, signal_number

PACKAGE = Path(__file__).parents[2] / "sentinel"


def _pidfd(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "pidfd_open") or (
        isinstance(node, ast.Constant) and node.value == "pidfd_open")


def _signal_table(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "Signals"


def _name_split(node: ast.AST) -> bool:
    """`x.rpartition(".")` or `("+")`: taking an instance name apart."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "rpartition"
            and bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value in (".", "+"))


# Code only the home of each concept may hold, and that home.
HOMES = [(_pidfd, "pidfd.py"), (_signal_table, "signames.py"), (_name_split, "instances.py")]


@pytest.mark.parametrize(("written", "home"), HOMES, ids=[home for _, home in HOMES])
def test_written_once(written: Callable[[ast.AST], bool], home: str) -> None:
    found = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                   if any(written(node) for node in ast.walk(ast.parse(path.read_text()))))
    assert set(found) <= {home}, f"written outside {home}: {found}"


def test_instance_names() -> None:
    assert instance_names("web", 1) == ["web"]
    assert instance_names("web", 2) == ["web.0", "web.1"]
    assert overlap_name("backup", 2) == "backup+2"
    assert [numbered(name, ".") for name in ("web.1", "web", ".1", "web.x", "v1.2.10")] == [
        "web", None, None, None, "v1.2"]
    known = {"web", "v1.2", "backup"}
    assert [process_of(name, known) for name in ("web.1", "v1.2", "v1.2.0", "backup+3", "other.1")] == [
        "web", "v1.2", "v1.2", "backup", "other.1"]
    assert is_instance_of("web.1", "web") and is_instance_of("web", "web")
    assert not is_instance_of("web.x", "web") and not is_instance_of("webby.1", "web")


def test_signal_names() -> None:
    assert signal_name(9) == "SIGKILL"
    assert signal_name(999) == "signal 999"
    assert [short_signal_name(value) for value in (15, "SIGTERM", " term ", "HUP")] == ["TERM", "TERM", "TERM", "HUP"]
    assert signal_number("TERM") == signal.SIGTERM
    for bad in (999, "NOPE"):
        with pytest.raises(ValueError):
            short_signal_name(bad)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pidfds are Linux's")
def test_pidfd_reader_calls_back_once_the_process_has_exited() -> None:
    async def watch() -> int:
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[int] = loop.create_future()
        proc = subprocess.Popen(["sleep", "0.1"])
        calls: list[int] = []

        def on_exit() -> None:
            calls.append(proc.pid)
            if len(calls) == 1:
                reader.rearm()  # still readable: called back again at once
            else:
                reader.close()
                reader.close()  # idempotent
                exited.set_result(proc.wait())

        reader = PidfdReader(loop, proc.pid, on_exit)
        code = await asyncio.wait_for(exited, 10)
        assert calls == [proc.pid, proc.pid] and reader.fd == -1
        reader.rearm()  # closed: nothing to watch
        return code

    assert asyncio.run(watch()) == 0
