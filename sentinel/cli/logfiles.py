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

from sentinel.instances import REPLICA, numbered
from sentinel.paths import StateDir

BLOCK = 65536
STAMP_WIDTH = len("2026-11-26T02:35:57.123Z ")


def log_files(sd: StateDir, name: str) -> list[Path]:
    """The current log files of NAME: its own, or those of its instances NAME.0, NAME.1, …"""
    own = sd.log_file(name)
    if own.exists():
        return [own]
    if not sd.logs.is_dir():
        return []
    found = [
        sd.logs / entry for entry in os.listdir(sd.logs)
        if entry.endswith(".log") and numbered(entry.removesuffix(".log"), REPLICA) == name
    ]
    return sorted(found)


def last_lines(files: list[Path], count: int) -> list[str]:
    """The last `count` lines over `files` (and their newest rotated file), in time order."""
    if count == 0:
        return []
    lines: list[str] = []
    for path in files:
        mine = _tail(path, count)
        if len(mine) < count:
            mine = _tail(Path(f"{path}.1"), count - len(mine)) + mine
        lines.extend(mine)
    if len(files) > 1:
        lines.sort(key=lambda line: line[:24])
    return lines[-count:]


def of_run(line: str, run: int) -> bool:
    """Whether `line` was written by run `run` of a job (labelled `#RUN ` after its time stamp)."""
    return line.startswith(f"#{run} ", STAMP_WIDTH)


def parsed_line(line: str) -> dict[str, object]:
    """A log line as data (`logs --json`): its time, its text, and the run of a job that wrote it (or None)."""
    stamp, body = line[: STAMP_WIDTH - 1], line[STAMP_WIDTH:].rstrip("\n")
    label, space, rest = body.partition(" ")
    run = int(label[1:]) if space and label.startswith("#") and label[1:].isdigit() else None
    return {"time": stamp, "text": rest if run is not None else body, "run": run}


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


def _tail(path: Path, count: int) -> list[str]:
    """The last `count` lines of one file, reading backwards in blocks until it has them: what is read
    grows with what is printed (lines are at most LINE_MAX bytes), not with the file. Only `\\n` ends a line."""
    if not path.exists():
        return []
    blocks: list[bytes] = []
    newlines = 0
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        while position > 0 and newlines <= count:
            step = min(BLOCK, position)
            position -= step
            handle.seek(position)
            block = handle.read(step)
            blocks.append(block)
            newlines += block.count(b"\n")
    lines = b"".join(reversed(blocks)).split(b"\n")
    if position > 0:
        lines = lines[1:]  # the first one may be cut
    ended = [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return [line.decode(errors="replace") for line in ended[-count:]]


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(line: str) -> str:
    """`line` for a terminal: every control character but tab and the final newline written as an escape
    (`\\x1b`, `\\u2028`), so what a child printed can neither move the cursor nor look like another line."""
    body, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
    return _CONTROL.sub(_escape, body) + newline


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
