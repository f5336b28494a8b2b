"""The reconciler's own log (sentinel/log.py, docs/architecture.md "The reconciler's own log"): one line
per event whatever the exception, a traceback only at debug or as a JSON field, `Burst`."""

from __future__ import annotations

import errno
import json
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel.api.serving import ApiServer
from sentinel.log import Burst, bound, configure, get_logger
from sentinel.logsettings import LogFormat, LogLevel

log = get_logger("sentinel.tests")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level, ours = root.handlers[:], root.level, logging.getLogger("sentinel").level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.getLogger("sentinel").setLevel(ours)


def logged(capsys: pytest.CaptureFixture[str], chosen: LogFormat, level: LogLevel = "info") -> list[str]:
    configure(chosen, level=level)
    try:
        token = "s3cret-token"  # a local of the failing frame
        raise ValueError("boom\nsecond line" if token else "")
    except ValueError:
        log.exception("went_wrong", process="web")
    return capsys.readouterr().err.splitlines()


def test_an_unexpected_error_is_one_logfmt_line_with_its_type_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = logged(capsys, "logfmt")
    assert "level=error event=went_wrong process=web" in line
    assert 'error="ValueError: boom\\nsecond line"' in line
    assert "Traceback" not in line


def test_at_debug_the_traceback_is_kept_on_the_same_line(capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = logged(capsys, "logfmt", "debug")
    assert "exception=" in line and "Traceback (most recent call last):\\n" in line


def test_json_carries_the_traceback_as_a_field(capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = logged(capsys, "json")
    record = json.loads(line)
    assert (record["event"], record["error"], record["process"]) == ("went_wrong", "ValueError: boom\nsecond line",
                                                                    "web")
    assert record["exception"][0]["exc_type"] == "ValueError"
    assert "s3cret-token" not in line  # frames without their local variables


def test_console_is_aligned_without_colour_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = logged(capsys, "auto")  # captured: not a TTY, so logfmt
    assert line.startswith("timestamp=")
    (line,) = logged(capsys, "console")
    assert "[error    ] went_wrong" in line and "\x1b[" not in line and "Traceback" not in line


def test_bound_fields_and_other_libraries_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure("logfmt")
    with bound(pass_id=7):
        log.info("inside")
    log.info("outside")
    logging.getLogger("asyncio").error("socket.accept() out of system resource")
    logging.getLogger("watchfiles.main").info("1 change detected")  # below other libraries' level
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith("event=inside pass_id=7") and lines[1].endswith("event=outside")
    assert 'level=error event="socket.accept() out of system resource"' in lines[2]


def test_detached_file_is_rotated_by_size_and_count(tmp_path: Path) -> None:
    path = tmp_path / "sentinel.log"
    configure("logfmt", file=path, max_size=300, keep=2)
    for number in range(40):
        log.info("numbered", number=number)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["sentinel.log", "sentinel.log.1", "sentinel.log.2"]
    assert all((tmp_path / name).stat().st_mode & 0o777 == 0o600 for name in files)
    assert "number=39" in path.read_text()


class Recorder:
    """A logger that keeps what it is asked to log (the Burst's only collaborator)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def warning(self, event: str, **fields: object) -> None:
        self.lines.append(("warning", event, fields))

    def info(self, event: str, **fields: object) -> None:
        self.lines.append(("info", event, fields))


def test_burst_logs_the_first_then_a_count_per_period_then_the_end() -> None:
    now = [0.0]
    recorder = Recorder()
    burst = Burst(recorder, "accept_failed", every=60.0, clock=lambda: now[0])  # type: ignore[arg-type]
    burst.ended("accepting_again")  # no burst: nothing
    for second in range(130):
        now[0] = float(second)
        burst.failed(error="EMFILE")
    assert burst.active
    burst.ended("accepting_again")
    assert recorder.lines == [
        ("warning", "accept_failed", {"error": "EMFILE"}),
        ("warning", "accept_failed", {"error": "EMFILE", "repeated": 60}),
        ("warning", "accept_failed", {"error": "EMFILE", "repeated": 60}),
        ("info", "accepting_again", {"failures": 130}),
    ]
    assert not burst.active


async def _never(scope: object, receive: object, send: object) -> None:
    raise AssertionError("no request expected")


def test_the_api_server_takes_the_loops_accept_failures_on_its_socket_only() -> None:
    ours, other = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    with ours, other:
        server = ApiServer(_never, ours)
        failure = {"message": "socket.accept() out of system resource", "socket": ours,
                   "exception": OSError(errno.EMFILE, "Too many open files")}
        assert server.loop_error(failure)
        assert server.loop_error(failure)
        assert not server.loop_error({**failure, "socket": other})
        assert not server.loop_error({"message": "Task exception was never retrieved"})


def test_the_reconciler_never_imports_rich() -> None:
    """structlog's console renderer imports rich whenever it is installed: 5 MB for tracebacks we never draw."""
    code = "import sys, sentinel.log; print([name for name in ('rich', 'better_exceptions') if sys.modules[name]])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"
