"""Reading process logs from the state directory: the last N lines, and following new ones.

Each instance writes `logs/NAME.log` (rotated to NAME.log.1 …); every line starts with its
UTC time stamp, so the lines of several instances merge in time order by sorting.
`follow` notices rotation (a new inode, or a file that shrank) and goes on from the new file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sentinel.loglines import STAMP_WIDTH, last_lines, log_files, parsed_line

__all__ = ["follow", "last_lines", "log_files", "of_run", "parsed_line", "printable", "run_lines", "streamed_line"]



def streamed_line(line: dict[str, Any]) -> str:
    """A line from the API (`Client.log_lines`) as the log files hold it: its time, `#RUN ` for a job's, its text."""
    label = f"#{line['run']} " if line["run"] is not None else ""
    return f"{line['time']} {label}{line['text']}\n"


def of_run(line: str, run: int) -> bool:
    """Whether `line` was written by run `run` of a job (labelled `#RUN ` after its time stamp)."""
    return line.startswith(f"#{run} ", STAMP_WIDTH)


def run_lines(files: list[Path], run: int, count: int) -> list[str]:
    """The last `count` lines of run `run` over `files` and all their rotated files, in time order."""
    found: list[str] = []
    for path in files:
        for older in [*reversed(_rotated(path)), path]:
            if older.exists():
                with open(older, "rb") as handle:
                    found.extend(line for raw in handle if of_run(line := raw.decode(errors="replace"), run))
    if len(files) > 1:
        found.sort(key=lambda line: line[:24])
    return found[-count:] if count else []


def _rotated(path: Path) -> list[Path]:
    """path.1, path.2, … that exist, newest first."""
    out, index = [], 1
    while (older := Path(f"{path}.{index}")).exists():
        out.append(older)
        index += 1
    return out


def follow(files: list[Path], sleep: Callable[[float], None], interval: float = 0.1,
           until: Callable[[], bool] | None = None) -> Iterator[str]:
    """New complete lines of `files` written from this call on, as they are written: forever (the caller stops
    on Ctrl-C), or until `until()` is true (checked between reads; the lines written before it are read)."""
    where: dict[Path, tuple[int, int]] = {}
    for path in files:  # now, not at the first next(): what is written in between is followed too
        info = _stat(path)
        where[path] = (info[0], info[1]) if info else (0, 0)
    return _following(files, where, sleep, interval, until)


def _following(files: list[Path], where: dict[Path, tuple[int, int]], sleep: Callable[[float], None],
               interval: float, until: Callable[[], bool] | None) -> Iterator[str]:
    partial: dict[Path, bytes] = {}
    while True:
        done = until is not None and until()
        for path in files:
            yield from _new_lines(path, where, partial)
        if done:
            return
        sleep(interval)


def _new_lines(path: Path, where: dict[Path, tuple[int, int]], partial: dict[Path, bytes]) -> Iterator[str]:
    info = _stat(path)
    if info is None:
        return
    inode, size = info
    old_inode, offset = where[path]
    if inode != old_inode or size < offset:
        offset = 0  # rotated or truncated: read the new file from its start
        partial[path] = b""
    if size == offset:
        where[path] = (inode, offset)
        return
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = partial.get(path, b"") + handle.read(size - offset)
    where[path] = (inode, size)
    *complete, rest = data.split(b"\n")
    partial[path] = rest
    for line in complete:
        yield line.decode(errors="replace") + "\n"


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_size)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(line: str) -> str:
    """`line` for a terminal: every control character but tab and the final newline written as an escape
    (`\\x1b`, `\\u2028`), so what a child printed can neither move the cursor nor look like another line."""
    body, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
    return _CONTROL.sub(_escape, body) + newline


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
