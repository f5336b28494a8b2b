"""Log lines as the log files hold them (`sentinel.runtime.logfile` writes them): finding a process's
files, reading their last lines, and a line as data. Shared by `sentinel logs` reading the files and
the API answering `/v1/processes/{name}/logs` (docs/contract.md#logs-over-the-api); the standard library only.

Each instance writes `logs/NAME.log` (rotated to NAME.log.1 …); every line starts with its
UTC time stamp, so the lines of several instances merge in time order by sorting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from sentinel.instances import REPLICA, numbered
from sentinel.paths import StateDir

BLOCK = 65536
STAMP_WIDTH = len("2026-11-26T02:35:57.123Z ")
STAMPED = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")  # how each line starts
OWN_MARK = "──"  # starts each line the reconciler writes itself (a job run's start and end)
STREAMS = ("output", "sentinel")  # a line's `stream`: the child's stdout and stderr (one pipe), or the reconciler's


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


def last_lines(files: list[Path], count: int, max_bytes: int | None = None) -> list[str]:
    """The last `count` lines over `files` (and their newest rotated file), in time order; with `max_bytes`,
    only the lines within the last `max_bytes` read of each file (the API's answers stay bounded)."""
    if count == 0:
        return []
    lines: list[str] = []
    for path in files:
        mine = _tail(path, count, max_bytes)
        if len(mine) < count and (max_bytes is None or sum(map(len, mine)) < max_bytes):
            mine = _tail(Path(f"{path}.1"), count - len(mine), max_bytes) + mine
        lines.extend(mine)
    if len(files) > 1:
        lines.sort(key=lambda line: line[:24])
    return lines[-count:]


def parsed_line(line: str) -> dict[str, object]:
    """A log line as data (`logs --json`): its time, its text, and the run of a job that wrote it (or None)."""
    stamp, body = line[: STAMP_WIDTH - 1], line[STAMP_WIDTH:].rstrip("\n")
    label, space, rest = body.partition(" ")
    run = int(label[1:]) if space and label.startswith("#") and label[1:].isdigit() else None
    return {"time": stamp, "text": rest if run is not None else body, "run": run}


def unfinished_line(path: Path, longest: int) -> bytes:
    """The end of `path` after its last newline: the line being written (a line has at most `longest` bytes)."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - longest - 1)
            handle.seek(start)
            end = handle.read()
    except FileNotFoundError:
        return b""
    return end[end.rfind(b"\n") + 1:]


def line_message(line: str, redact: Callable[[str], str] = str) -> dict[str, object]:
    """A log line as the API sends it: `parsed_line` with its `stream` (`STREAMS`), its text passed through `redact`."""
    parsed = parsed_line(line)
    text = str(parsed["text"])
    return {"time": parsed["time"], "stream": "sentinel" if text.startswith(OWN_MARK) else "output",
            "text": redact(text), "run": parsed["run"]}


def _tail(path: Path, count: int, max_bytes: int | None = None) -> list[str]:
    """The last `count` lines of one file, reading backwards in blocks until it has them: what is read
    grows with what is printed (lines are at most LINE_MAX bytes), not with the file. Only `\\n` ends a line."""
    if not path.exists():
        return []
    blocks: list[bytes] = []
    newlines = 0
    with open(path, "rb") as handle:
        position = size = handle.seek(0, os.SEEK_END)
        while position > 0 and newlines <= count and (max_bytes is None or size - position < max_bytes):
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
