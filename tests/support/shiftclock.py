"""ShiftedClock: the real clock with its wall time moved by an offset a test sets from outside the process.

A black-box test of time zones and wall-clock jumps (docs/reliability.md#f27-daylight-saving,
docs/reliability.md#f28-wall-clock-jumps) runs a real reconciler whose wall clock starts at, say, 2025-03-09 01:59:57 in
New York, and then steps it back or forward like `date -s` would. The monotonic clock and sleeping stay real, as they do
when a machine's clock is stepped. The offset lives in a file (seconds, as text) that the test writes
with `set_wall` and the reconciler reads on every `now_utc()`; no product code knows of it.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


class ShiftedClock:
    """The Clock port (sentinel.clock) with wall time = real UTC + the offset in `offset_file`."""

    def __init__(self, offset_file: Path) -> None:
        self._file = offset_file
        self._stamp: tuple[int, int] | None = None
        self._offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic()

    def now_utc(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._read())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def _read(self) -> float:
        try:
            info = os.stat(self._file)
        except FileNotFoundError:
            return 0.0
        if (info.st_mtime_ns, info.st_ino) != self._stamp:
            self._stamp = (info.st_mtime_ns, info.st_ino)
            self._offset = float(self._file.read_text())
        return self._offset


def set_wall(offset_file: Path, wall: datetime) -> None:
    """Step the wall clock of the reconciler reading `offset_file` to `wall` (aware), now."""
    offset = (wall - datetime.now(UTC)).total_seconds()
    temporary = offset_file.with_name(offset_file.name + ".new")
    temporary.write_text(repr(offset))
    os.replace(temporary, offset_file)  # a new inode: the reader never sees half a number
